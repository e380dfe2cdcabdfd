"""A model behind any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama,
llama.cpp server, ...), called the way a worker with hundreds of events in flight needs:

- one pooled keep-alive session per loop (``pool.py``), at most
  ``settings.max_concurrency`` calls in flight per model (a call keeps its slot while it
  backs off, so a rate-limited endpoint is not hit by the others meanwhile);
- each attempt bounded by ``settings.timeout``; a timed-out call is not retried here (a
  model that took that long once likely will again, and the runtime retries the event);
- 429, 5xx and connection errors retried ``settings.max_retries`` times, waiting what
  ``Retry-After`` asks (capped) or exponential backoff with jitter;
- a circuit breaker (``breaker.py``) that refuses calls at once while the endpoint keeps
  failing;
- answers parsed and validated; what cannot be used is a ``ModelError``, what never came
  a ``ModelUnavailable`` (see ``base.py``).

The API key goes out only in the ``Authorization`` header; it is never logged.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
from pydantic import ValidationError

from agents.shared.classifier import Classification
from agents.shared.models import prompts
from agents.shared.models.backoff import backoff, retry_after
from agents.shared.models.base import ModelError, ModelUnavailable, ReviewResult, SectionPlan
from agents.shared.models.breaker import CircuitBreaker, State
from agents.shared.models.metrics import ModelMetrics
from agents.shared.models.pool import SessionPool

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from agents.shared.retrieval import KBEntry
    from config.settings import ModelSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Again:
    """An attempt that failed transiently: why, and what the server asked us to wait."""

    reason: str
    asked: float | None


class OpenAICompatModel:
    offline = False

    def __init__(
        self,
        settings: ModelSettings,
        *,
        metrics_registry: CollectorRegistry | None = None,
        pool_limit: int | None = None,
        keepalive: float = 30.0,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        retry_after_cap: float = 30.0,
    ) -> None:
        self.label = f"openai:{settings.model}"
        self.settings = settings
        self._url = settings.base_url.rstrip("/") + "/chat/completions"
        self._backoff = (backoff, max_backoff, retry_after_cap)
        headers = {"Accept": "application/json"}
        if settings.api_key is not None:
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        self._pool = SessionPool(
            limit=pool_limit or settings.max_concurrency,
            concurrency=settings.max_concurrency,
            keepalive=keepalive,
            headers=headers,
        )
        self.metrics = ModelMetrics.on(metrics_registry)
        self._calls = itertools.count()
        self._breaker = CircuitBreaker(
            settings.breaker_failures, settings.breaker_reset, on_change=self._breaker_changed
        )
        self.metrics.breaker_open.labels(settings.model).set(0)

    def __repr__(self) -> str:
        return f"OpenAICompatModel({self.label!r}, {self.settings.base_url!r})"

    # -- the ModelClient protocol -------------------------------------------------------

    async def classify(self, text: str, lang: str, history: list[str]) -> Classification:
        got = await self._chat(
            prompts.classify(text, lang, history),
            temperature=0.0,
            max_tokens=200,
            parse=lambda s: prompts.parse(s, prompts.ClassifyAnswer),
        )
        return Classification(category=got.category, urgency=got.urgency, confidence=got.confidence)

    async def answer(self, question: str, lang: str, passages: list[KBEntry]) -> str:
        return await self._text(prompts.answer(question, lang, passages), 0.2, 600)

    async def plan(
        self, topic: str, audience: str, sections: list[str] | None
    ) -> list[SectionPlan]:
        got = await self._chat(
            prompts.plan(topic, audience, sections),
            temperature=0.3,
            max_tokens=800,
            parse=lambda s: prompts.parse(s, prompts.PlanAnswer),
        )
        if sections and len(got.sections) != len(sections):
            raise ModelError(
                f"asked to plan {len(sections)} sections, the model planned {len(got.sections)}"
            )
        titles = sections or [s.title for s in got.sections]
        return [SectionPlan(t, s.kind, s.brief) for t, s in zip(titles, got.sections, strict=True)]

    async def write(self, kind: str, title: str, topic: str, audience: str, brief: str) -> str:
        return await self._text(prompts.write(kind, title, topic, audience, brief), 0.7, 1200)

    async def review(self, title: str, text: str, round: int) -> ReviewResult:
        got = await self._chat(
            prompts.review(title, text, round),
            temperature=0.0,
            max_tokens=500,
            parse=lambda s: prompts.parse(s, prompts.ReviewAnswer),
        )
        return ReviewResult(score=got.score, findings=tuple(got.findings))

    async def revise(self, title: str, text: str, findings: list[str]) -> str:
        return await self._text(prompts.revise(title, text, findings), 0.3, 1500)

    async def aclose(self) -> None:
        await self._pool.aclose()

    # -- one call: slot, attempts, backoff ----------------------------------------------

    async def _text(self, messages: prompts.Messages, temperature: float, max_tokens: int) -> str:
        return await self._chat(
            messages,
            temperature=temperature,
            max_tokens=max_tokens,
            parse=prompts.nonempty,
            json_mode=False,
        )

    async def _chat(
        self,
        messages: prompts.Messages,
        *,
        temperature: float,
        max_tokens: int,
        parse: Callable[[str], T],
        json_mode: bool = True,
    ) -> T:
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        lane = self._pool.lane()
        call = next(self._calls)
        base, cap, asked_cap = self._backoff
        retries = self.settings.max_retries
        async with lane.slots:
            for attempt in range(retries + 1):
                got = await self._attempt(lane.session, body, parse)
                if not isinstance(got, _Again):
                    return got
                failure = got
                if attempt == retries:
                    break
                wait = (
                    backoff(attempt, base=base, cap=cap, salt=str(call))
                    if got.asked is None
                    else min(got.asked, asked_cap)
                )
                log.info(
                    "model %s: %s; retry %d/%d in %.2fs",
                    self.label,
                    got.reason,
                    attempt + 1,
                    retries,
                    wait,
                )
                await asyncio.sleep(wait)
        raise ModelUnavailable(f"{self.label}: {failure.reason} (after {retries} retries)")

    async def _attempt(
        self, session: aiohttp.ClientSession, body: dict[str, Any], parse: Callable[[str], T]
    ) -> T | _Again:
        if not self._breaker.allow():
            self._count("breaker_open")
            raise ModelUnavailable(
                f"{self.label}: circuit breaker open after {self._breaker.failures} failures "
                f"in a row; next probe within {self._breaker.reset}s"
            )
        probing = self._breaker.state == "half-open"
        try:
            return await self._exchange(session, body, parse)
        finally:
            if probing:  # a probe that ended without a verdict: the next caller probes
                self._breaker.abandoned()

    async def _exchange(
        self, session: aiohttp.ClientSession, body: dict[str, Any], parse: Callable[[str], T]
    ) -> T | _Again:
        started = time.monotonic()
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        try:
            async with session.post(self._url, json=body, timeout=timeout) as resp:
                status, data = resp.status, await resp.read()
                asked = retry_after(resp.headers.get("Retry-After"))
        except TimeoutError as e:
            self._failed("timeout", started)
            raise ModelUnavailable(
                f"{self.label}: no answer within {self.settings.timeout}s"
            ) from e
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as e:
            self._failed("connection_error", started)
            return _Again(f"connection error ({type(e).__name__}: {e})", None)
        self.metrics.latency.labels(self.settings.model).observe(time.monotonic() - started)
        if status == 200:
            self._breaker.succeeded()
            return self._accept(data, parse)
        if status == 429:
            self._count("rate_limited")
            return _Again("429 Too Many Requests", asked)
        if status >= 500:
            self._count("server_error")
            self._breaker.failed()
            return _Again(f"HTTP {status}", asked)
        self._count("rejected")
        self._breaker.succeeded()  # the endpoint is up; the request is what is wrong
        excerpt = data[:300].decode("utf-8", "replace")
        raise ModelError(f"{self.label}: HTTP {status}: {excerpt}")

    def _accept(self, data: bytes, parse: Callable[[str], T]) -> T:
        try:
            completion = prompts.Completion.model_validate_json(data)
            content = completion.choices[0].message.content if completion.choices else None
        except ValidationError as e:
            self._count("bad_answer")
            raise ModelError(f"{self.label}: not a chat completion: {e}") from e
        if completion.usage is not None:
            self.metrics.tokens.labels(self.settings.model, "prompt").inc(
                completion.usage.prompt_tokens
            )
            self.metrics.tokens.labels(self.settings.model, "completion").inc(
                completion.usage.completion_tokens
            )
        try:
            value = parse(content or "")
        except ModelError:
            self._count("bad_answer")
            raise
        self._count("ok")
        return value

    # -- bookkeeping --------------------------------------------------------------------

    def _count(self, outcome: str) -> None:
        self.metrics.requests.labels(self.settings.model, outcome).inc()

    def _failed(self, outcome: str, started: float) -> None:
        self.metrics.latency.labels(self.settings.model).observe(time.monotonic() - started)
        self._count(outcome)
        self._breaker.failed()

    def _breaker_changed(self, state: State) -> None:
        self.metrics.breaker_open.labels(self.settings.model).set(0 if state == "closed" else 1)
        if state == "open":
            log.warning(
                "model %s: circuit breaker open, calls refused for %.1fs",
                self.label,
                self._breaker.reset,
            )
        elif state == "closed":
            log.info("model %s: circuit breaker closed", self.label)
