"""How the router decides: rules first, the model when the rules are unsure, and one
documented way of combining the two.

* Rules at or above ``rules_confidence``: their category, their urgency (``normal``
  when no urgency pattern matched); the model is not asked (route ``rules``).
* Otherwise the model classifies, with the customer's recent turns as history:
  - no rule matched: the model's answer (route ``model``);
  - rules and model agree: the category, with the confidence boosted to the noisy-OR of
    both (``1 - (1 - r)(1 - m)``; route ``combined``);
  - they disagree: the more confident one wins with its own confidence (route
    ``rules`` or ``model``, whichever won).
  Urgency is the most urgent of the rules' and the model's.
* The conversation counts only for a text that refers back to it ("and ...", "still",
  "again", "还是", "...呢？", :func:`agents.support.signals.refers_back`): the model is
  given the customer's recent turns, and a text still below ``rules_confidence`` takes
  the category of the previous turn ("it still does not work" is about whatever did not
  work before). A self-contained question is classified on its own text, however short
  ("are you hiring?" after a question about crashes is about jobs).

Model classifications are cached by a hash of the model's label, the masked text, its
language and the history they were made with (the same words from a customer with
another history may mean something else).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from agents.shared.classifier import Classification
from agents.shared.text import clean
from agents.support import rules
from agents.support.memory import Turn
from agents.support.rules import RuleResult
from agents.support.signals import refers_back
from schemas.support import CATEGORIES, URGENCIES, Category, Lang, Urgency

Route = Literal["rules", "model", "combined"]


class Classifier(Protocol):
    """The part of a model client the router uses."""

    label: str

    async def classify(self, text: str, lang: str, history: list[str]) -> Classification: ...


class ComputeCache(Protocol):
    """The part of ``streams.cache.Cache`` the router uses."""

    async def get_or_compute(self, key: str, compute: Callable[[], Awaitable[Any]]) -> Any: ...


@dataclass(frozen=True, slots=True)
class Decision:
    category: Category
    urgency: Urgency
    confidence: float
    route: Route
    model: str  # the model client that decided or confirmed; "rules" when none was asked


def combine(found: RuleResult, model: Classification, label: str) -> Decision:
    """Rules that were not sure enough, combined with the model's classification."""
    category = _category(model.category)
    urgency = rules.most_urgent(found.urgency, _urgency(model.urgency))
    m = _unit(model.confidence)
    if found.category is None:
        return Decision(category, urgency, m, "model", label)
    r = found.confidence
    if found.category == category:
        return Decision(category, urgency, round(1 - (1 - r) * (1 - m), 4), "combined", label)
    if r > m:
        return Decision(found.category, urgency, r, "rules", label)
    return Decision(category, urgency, m, "model", label)


class Router:
    """Rules, then the model, then memory; see the module docstring."""

    def __init__(
        self,
        model: Classifier,
        threshold: float,
        cache: ComputeCache | None = None,
        version: str | None = None,
    ) -> None:
        self.model = model
        self.threshold = threshold
        self.cache = cache
        # What cached classifications are keyed by: the model and what it was built from.
        self.version = version or model.label

    async def decide(self, text: str, lang: Lang, history: Sequence[Turn] = ()) -> Decision:
        found = rules.apply(text)
        if found.category is not None and found.confidence >= self.threshold:
            urgency = found.urgency or "normal"
            return Decision(found.category, urgency, found.confidence, "rules", "rules")
        follow_up = bool(history) and refers_back(clean(text).lower())
        past = [t.text for t in history] if follow_up else []
        decision = combine(found, await self._classify(text, lang, past), self.model.label)
        if follow_up and decision.confidence < self.threshold:
            previous = history[-1].category
            return Decision(
                previous, decision.urgency, decision.confidence, "combined", decision.model
            )
        return decision

    async def _classify(self, text: str, lang: Lang, history: list[str]) -> Classification:
        if self.cache is None:
            return await self.model.classify(text, lang, history)

        async def compute() -> dict[str, Any]:
            c = await self.model.classify(text, lang, history)
            return {"category": c.category, "urgency": c.urgency, "confidence": c.confidence}

        key = cache_key(self.version, text, lang, history)
        cached = await self.cache.get_or_compute(key, compute)
        return Classification(cached["category"], cached["urgency"], float(cached["confidence"]))


def cache_key(model: str, text: str, lang: str, history: Sequence[str]) -> str:
    """A hash of the model's version, the (masked) text, its language and the history it
    is read with."""
    digest = hashlib.sha256("\x1f".join((model, lang, text, *history)).encode()).hexdigest()
    return f"classify:{digest[:40]}"


def _category(value: str) -> Category:
    if value not in CATEGORIES:
        raise ValueError(f"the model answered an unknown category {value!r}")
    return value


def _urgency(value: str) -> Urgency:
    if value not in URGENCIES:
        raise ValueError(f"the model answered an unknown urgency {value!r}")
    return value


def _unit(value: float) -> float:
    return round(min(1.0, max(0.0, float(value))), 4)
