"""How the router combines rules, the model and memory (a scripted model stands in for
the classifier: these tests are about the combination rule, not about the model; the
cache is the real one, on streams.testing's in-memory Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from agents.shared.classifier import Classification
from agents.support.memory import Turn
from agents.support.routing import Router, cache_key, combine
from agents.support.rules import RuleResult
from config import Settings
from streams import Cache
from streams.testing import MemoryRedis


class ScriptedModel:
    label = "scripted"

    def __init__(self, category: str, urgency: str = "normal", confidence: float = 0.7):
        self.answer = Classification(category, urgency, confidence)
        self.calls: list[tuple[str, str, list[str]]] = []

    async def classify(self, text: str, lang: str, history: list[str]) -> Classification:
        self.calls.append((text, lang, history))
        return self.answer


@pytest.fixture
def redis() -> MemoryRedis:
    return MemoryRedis()


@pytest.fixture
async def cache(redis: MemoryRedis) -> AsyncIterator[Cache]:
    settings = Settings()
    without_l3 = settings.cache.model_copy(update={"l3_url": ""})
    cache = Cache("router", settings.model_copy(update={"cache": without_l3}))
    await cache.start(redis)
    yield cache
    await cache.stop()


def rules_guess(category: str | None, confidence: float, urgency: str | None = None) -> Any:
    return RuleResult(category, confidence, urgency, {})  # type: ignore[arg-type]


def turn(inquiry: str, category: str) -> Turn:
    return Turn(inquiry, "my upload crashes", "en", category, "normal", "2025-01-01T00:00:00")  # type: ignore[arg-type]


def test_agreement_boosts_the_confidence() -> None:
    d = combine(rules_guess("billing", 0.6), Classification("billing", "normal", 0.7), "m")
    assert (d.category, d.route, d.model) == ("billing", "combined", "m")
    assert d.confidence == pytest.approx(1 - 0.4 * 0.3)


def test_disagreement_takes_the_more_confident() -> None:
    model_wins = combine(rules_guess("billing", 0.5), Classification("faq", "low", 0.8), "m")
    assert (model_wins.category, model_wins.confidence, model_wins.route) == ("faq", 0.8, "model")
    rules_win = combine(rules_guess("complaint", 0.7), Classification("faq", "low", 0.4), "m")
    assert (rules_win.category, rules_win.confidence, rules_win.route) == (
        "complaint",
        0.7,
        "rules",
    )


def test_urgency_is_the_most_urgent_of_both() -> None:
    d = combine(
        rules_guess("technical", 0.5, "critical"), Classification("technical", "low", 0.9), "m"
    )
    assert d.urgency == "critical"
    d = combine(rules_guess("technical", 0.5, None), Classification("technical", "high", 0.9), "m")
    assert d.urgency == "high"


def test_no_rule_means_the_model_decides() -> None:
    d = combine(rules_guess(None, 0.0), Classification("sales", "normal", 0.66), "m")
    assert (d.category, d.confidence, d.route) == ("sales", 0.66, "model")


def test_unknown_model_category_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        combine(rules_guess(None, 0.0), Classification("weather", "normal", 0.9), "m")


async def test_confident_rules_do_not_ask_the_model() -> None:
    model = ScriptedModel("faq")
    decision = await Router(model, threshold=0.75).decide("I demand a refund now", "en")
    assert (decision.category, decision.route, decision.model) == ("billing", "rules", "rules")
    assert model.calls == []


async def test_a_follow_up_asks_the_model_with_history_and_caches_it(
    cache: Cache, redis: MemoryRedis
) -> None:
    model = ScriptedModel("sales", confidence=0.9)
    router = Router(model, threshold=0.75, cache=cache)
    history = [turn("i0", "technical")]
    text = "And do you have a plan for schools?"
    first = await router.decide(text, "en", history)
    again = await router.decide(text, "en", history)
    assert first == again
    assert first.category == "sales"
    assert model.calls == [(text, "en", ["my upload crashes"])]
    key = cache_key("scripted", text, "en", ["my upload crashes"])
    stored = [k async for k in redis.scan_iter(match="agentstream:cache:router:*")]
    assert stored == [f"agentstream:cache:router:{key}".encode()]
    assert await cache.get(key) == {"category": "sales", "urgency": "normal", "confidence": 0.9}


async def test_a_self_contained_question_is_classified_without_the_history() -> None:
    """A customer who asked about crashes and then asks "are you hiring engineers?" is
    asking about jobs: the earlier turn must not pull the question back to it."""
    model = ScriptedModel("general", confidence=0.6)
    router = Router(model, threshold=0.75)
    decision = await router.decide("Are you hiring engineers?", "en", [turn("i0", "technical")])
    assert decision.category == "general"
    assert model.calls == [("Are you hiring engineers?", "en", [])]


async def test_an_unsure_follow_up_keeps_the_previous_category() -> None:
    model = ScriptedModel("general", confidence=0.4)
    router = Router(model, threshold=0.75)
    alone = await router.decide("still the same", "en")
    followed = await router.decide("still the same", "en", [turn("i0", "technical")])
    assert alone.category == "general"
    assert (followed.category, followed.route) == ("technical", "combined")


async def test_a_sure_follow_up_is_not_overridden() -> None:
    router = Router(ScriptedModel("billing", confidence=0.95), threshold=0.75)
    d = await router.decide("still waiting", "en", [turn("i0", "technical")])
    assert d.category == "billing"


async def test_cached_classifications_are_keyed_by_the_models_version(cache: Cache) -> None:
    """A model retrained on other data must not be served the answers cached for the
    one before it."""
    model = ScriptedModel("faq", confidence=0.6)
    text = "something nobody wrote a rule for"
    await Router(model, 0.75, cache, version="offline:aaa").decide(text, "en")
    await Router(model, 0.75, cache, version="offline:aaa").decide(text, "en")
    await Router(model, 0.75, cache, version="offline:bbb").decide(text, "en")
    assert len(model.calls) == 2
