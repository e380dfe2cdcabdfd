"""The customer-service system: inquiries in, replies out, people for what the agents
cannot answer, and a quality record for every reply (see docs/support.md).

::

    agentstream worker agents.support:app --workers 2
    agentstream ask support.inquiries support.Inquiry '{"customer_id": "c1", "text": "..."}'

Agents (one app, ``support``, 6 partitions), wired only through topics: preprocess ->
router -> knowledge_base | technical | complaints -> the customer (+ escalations for
people); handoff (a person's answer) -> the customer; quality_monitor (every reply).
"""

from __future__ import annotations

from agents.shared.models.base import ModelClient
from agents.support import answering, handoff, intake
from agents.support.app import SupportApp, Topics
from config import Settings


def create_app(
    settings: Settings | None = None, model: ModelClient | None = None, prefix: str = ""
) -> SupportApp:
    """The app with every agent declared. Without ``model`` the configured model client
    (``settings.models``) is built when the app starts; ``prefix`` goes before every topic
    name and the app id (``<prefix>support``)."""
    app = SupportApp(settings or Settings(), model, prefix)
    intake.register(app)
    answering.register(app)
    handoff.register(app)
    return app


app = create_app()

__all__ = ["SupportApp", "Topics", "app", "create_app"]
