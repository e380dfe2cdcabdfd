"""The content app: every agent of the system on one consumer group, with one model
client per process."""

from __future__ import annotations

from agents.content.topics import Topics
from agents.shared.models import model_client
from agents.shared.models.base import ModelClient
from config import Settings
from config.settings import ContentSettings
from streams import App, ConfigurationError


class ContentApp(App):
    """An :class:`App` that also owns the model client its agents call. Without one
    given, the configured client (``settings.models``) is built at start, not at import,
    and closed at stop."""

    def __init__(
        self,
        settings: Settings | None,
        model: ModelClient | None,
        prefix: str,
        options: ContentSettings,
    ) -> None:
        super().__init__(f"{prefix}content", settings, partitions=options.partitions)
        self.mailboxes = Topics.with_prefix(prefix)
        self.options = options
        self._model = model
        self._owns_model = model is None

    @property
    def model(self) -> ModelClient:
        if self._model is None:
            raise ConfigurationError(f"app {self.id!r}: the model client is built at start()")
        return self._model

    async def start(self) -> None:
        if self._model is None:
            self._model = model_client(self.settings, self.metrics.registry)
        await super().start()

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            if self._owns_model and self._model is not None:
                model, self._model = self._model, None
                await model.aclose()
