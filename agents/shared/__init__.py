"""Agent-side parts the shipped systems share: text tools, personal-data masking, the
inquiry classifier, knowledge-base retrieval, sentiment and the model clients.

Modules are imported by name (``from agents.shared.text import tokenize``); nothing is
imported here so that an agent pays only for the tools it uses.
"""

__all__: list[str] = []
