"""Model clients: ``offline`` (deterministic, no network, every output labelled) and
``openai`` (any OpenAI-compatible chat-completions endpoint). Agents ask
``model_client(settings)`` for the configured one and code against ``ModelClient``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.shared.models.base import (
    ModelClient,
    ModelError,
    ModelUnavailable,
    ReviewResult,
    SectionKind,
    SectionPlan,
)

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from config import Settings

__all__ = [
    "ModelClient",
    "ModelError",
    "ModelUnavailable",
    "ReviewResult",
    "SectionKind",
    "SectionPlan",
    "model_client",
]

_clients: dict[tuple[Any, ...], ModelClient] = {}


def model_client(
    settings: Settings, metrics_registry: CollectorRegistry | None = None
) -> ModelClient:
    """The configured model client, built once per process for the same model settings
    and registry: every agent of a worker then shares its connection pool, concurrency
    limit and circuit breaker."""
    m = settings.models
    key = (*m.model_dump().values(), id(metrics_registry))
    client = _clients.get(key)
    if client is None:
        if m.provider == "openai":
            from agents.shared.models.openai_compat import OpenAICompatModel

            client = OpenAICompatModel(m, metrics_registry=metrics_registry)
        else:
            from agents.shared.models.offline import OfflineModel

            client = OfflineModel()
        _clients[key] = client
    return client
