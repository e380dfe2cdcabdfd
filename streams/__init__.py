"""The agentstream runtime."""

__all__: list[str] = []
