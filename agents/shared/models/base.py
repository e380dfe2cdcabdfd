"""What every model client offers agents, and the two ways a model call fails.

::

    ModelError(Exception)              the model answered, but not usably (malformed
                                       JSON, wrong schema, a refused request): running
                                       the same call again would not help
    ModelUnavailable(ConnectionError)  no answer: 429 or 5xx after the retries, a
                                       connection error, a timeout, the breaker open.
                                       A ConnectionError, so the runtime treats it as a
                                       transient outage and retries the event later
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from agents.shared.classifier import Classification
    from agents.shared.retrieval import KBEntry

SectionKind = Literal["research", "creative", "technical", "editor"]
SECTION_KINDS: tuple[SectionKind, ...] = ("research", "creative", "technical", "editor")


class ModelError(Exception):
    """The model answered with something unusable; not worth retrying."""


class ModelUnavailable(ConnectionError):
    """The model gave no answer in time (transient: the runtime retries the event)."""


@dataclass(frozen=True, slots=True)
class SectionPlan:
    """One section of a planned piece: who writes it (``kind``) and what it covers."""

    title: str
    kind: SectionKind
    brief: str


@dataclass(frozen=True, slots=True)
class ReviewResult:
    """A reviewer's verdict: ``score`` in [0, 1] and what to fix."""

    score: float
    findings: tuple[str, ...]


@runtime_checkable
class ModelClient(Protocol):
    """A model as the agents use it. ``label`` names it in every output that used it
    ("offline" or "openai:<model>"); ``offline`` says no real model was involved."""

    label: str
    offline: bool

    async def classify(self, text: str, lang: str, history: list[str]) -> Classification: ...

    async def answer(self, question: str, lang: str, passages: list[KBEntry]) -> str: ...

    async def plan(
        self, topic: str, audience: str, sections: list[str] | None
    ) -> list[SectionPlan]: ...

    async def write(self, kind: str, title: str, topic: str, audience: str, brief: str) -> str: ...

    async def review(self, title: str, text: str, round: int) -> ReviewResult: ...

    async def revise(self, title: str, text: str, findings: list[str]) -> str: ...

    async def aclose(self) -> None: ...
