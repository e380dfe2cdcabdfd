"""The customer-service app: its topics, and what its agents share in one process (the
model client, the knowledge base, the caches, the KPIs)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TypeVar

from agents.shared.classifier import InquiryClassifier
from agents.shared.datasets import fingerprint
from agents.shared.models import model_client
from agents.shared.models.base import ModelClient
from agents.shared.retrieval import KnowledgeBase
from agents.shared.sentiment import sentiment
from agents.support.catalogue import Catalogue
from agents.support.gate import CALIBRATION_FILES, Gate
from agents.support.kpis import Kpis
from agents.support.metrics import SupportMetrics
from agents.support.routing import Router
from config import Settings
from streams import App
from streams.errors import ConfigurationError

PARTITIONS = 6
MODEL_DATA = ("cues.json", "kb.jsonl", "kb_queries.jsonl", "catalogue.json", *CALIBRATION_FILES)
T = TypeVar("T")


@dataclass(frozen=True)
class Topics:
    """Every topic of the system, each name behind ``prefix`` (tests and benchmarks run
    side by side with their own prefix)."""

    prefix: str = ""

    def _t(self, name: str) -> str:
        return f"{self.prefix}support.{name}"

    @property
    def inquiries(self) -> str:
        return self._t("inquiries")

    @property
    def classify(self) -> str:
        """Classification only: an Inquiry in, its Routed decision back (no reply to the
        customer, no memory)."""
        return self._t("classify")

    @property
    def triage(self) -> str:
        return self._t("triage")

    @property
    def kb(self) -> str:
        return self._t("kb")

    @property
    def technical(self) -> str:
        return self._t("technical")

    @property
    def complaints(self) -> str:
        return self._t("complaints")

    @property
    def replies(self) -> str:
        """Where customer replies go when the inquiry named no ``ce_replyto``."""
        return self._t("replies")

    @property
    def escalations(self) -> str:
        return self._t("escalations")

    @property
    def human_answers(self) -> str:
        return self._t("human_answers")

    @property
    def outcomes(self) -> str:
        return self._t("outcomes")

    @property
    def quality(self) -> str:
        return self._t("quality")


class SupportApp(App):
    """An :class:`App` that also owns the model client (built at start from the settings
    unless one was given), the knowledge base and the topics no agent of it reads
    (escalations, for people)."""

    def __init__(self, settings: Settings, model: ModelClient | None, prefix: str) -> None:
        super().__init__(f"{prefix}support", settings, partitions=PARTITIONS)
        # ``names``, not ``topics``: App.topics() lists the topics the agents read.
        self.names = Topics(prefix)
        self.declare_topic(self.names.escalations)  # for people: no agent of ours reads it
        self.kpis = Kpis()
        self.support_metrics = SupportMetrics(self.metrics.registry)
        self.router_cache = self.cache("router")
        self.kb_cache = self.cache("kb")
        self._given_model = model
        self._model: ModelClient | None = model
        self._gate: Gate | None = None
        self._router: Router | None = None

    @property
    def model(self) -> ModelClient:
        return _started(self._model)

    @property
    def model_version(self) -> str:
        """The model's label and a hash of the shipped data (the classifier's training
        set, its cues, the knowledge base): the caches key answers by it, so answers of
        an older model or knowledge base are never served."""
        return f"{self.model.label}:{fingerprint(*MODEL_DATA)}"

    @property
    def gate(self) -> Gate:
        return _started(self._gate)

    @property
    def kb(self) -> KnowledgeBase:
        return self.gate.kb

    @property
    def catalogue(self) -> Catalogue:
        return self.gate.catalogue

    @property
    def router(self) -> Router:
        return _started(self._router)

    async def start(self) -> None:
        if self._model is None:
            self._model = model_client(self.settings, self.metrics.registry)
        support = self.settings.support
        self._gate = await asyncio.to_thread(
            _load_models, self._model.offline, support.answer_confidence
        )
        self._router = Router(
            self._model, support.rules_confidence, self.router_cache, self.model_version
        )
        await super().start()

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            if self._given_model is None and self._model is not None:
                await self._model.aclose()
                self._model = None


def _load_models(offline: bool, threshold: float) -> Gate:
    """Build the shipped models before the agents run: each trains or indexes on first
    use (about a second), which inside a handler would block every agent's loop."""
    if offline:
        InquiryClassifier.shipped()
    sentiment("")
    return Gate.shipped(threshold)


def _started(value: T | None) -> T:
    if value is None:
        raise ConfigurationError("the support app is not started")
    return value
