"""Message models: the event envelope and every message type."""

__all__: list[str] = []
