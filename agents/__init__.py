"""Agents that ship with agentstream."""

__all__: list[str] = []
