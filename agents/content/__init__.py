"""The content-creation system: a request becomes a planned, written, reviewed and
published piece, every stage an agent and every hand-over a topic (docs/content.md).

agentstream worker agents.content:app
agentstream ask content.requests content.ContentRequest \\
    '{"topic": "event streaming", "audience": "store managers"}' --timeout 120
"""

from __future__ import annotations

from agents.content import integrator, planner, publisher, review, writers
from agents.content.app import ContentApp
from agents.content.topics import Topics
from agents.shared.models.base import ModelClient
from config import Settings
from config.settings import ContentSettings


def create_app(
    settings: Settings | None = None,
    model: ModelClient | None = None,
    *,
    prefix: str = "",
    options: ContentSettings | None = None,
) -> ContentApp:
    """The app with every agent declared. ``model`` replaces the configured model client
    (tests); ``prefix`` goes before every topic name and the app id, so several
    deployments share a cluster without sharing mailboxes; ``options`` replace
    ``settings.content`` (``AGENTSTREAM_CONTENT__*``)."""
    settings = settings or Settings()
    app = ContentApp(settings, model, prefix, options or settings.content)
    for stage in (planner, writers, integrator, review, publisher):
        stage.register(app)
    return app


app = create_app()

__all__ = ["ContentApp", "Topics", "app", "create_app"]
