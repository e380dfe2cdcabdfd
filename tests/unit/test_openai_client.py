"""The OpenAI-compatible client against a real chat-completions server on 127.0.0.1,
started here with aiohttp.web: retries, Retry-After, timeouts, validation, the circuit
breaker, the concurrency limit and connection reuse, as the server saw them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from agents.shared import models
from agents.shared.models import ModelError, ModelUnavailable, model_client
from agents.shared.models.backoff import backoff, retry_after
from agents.shared.models.openai_compat import OpenAICompatModel
from config import Settings
from config.settings import ModelSettings

Step = Callable[[web.Request], Awaitable[web.StreamResponse]]
KEY = "sk-test-not-a-real-key"


def completion(content: str, prompt_tokens: int = 11, completion_tokens: int = 7) -> Step:
    async def step(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "id": "cmpl-1",
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
            }
        )

    return step


def status(code: int, headers: dict[str, str] | None = None) -> Step:
    async def step(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"error": {"message": f"status {code}"}}, status=code, headers=headers
        )

    return step


def raw(body: str) -> Step:
    async def step(request: web.Request) -> web.StreamResponse:
        return web.Response(text=body, content_type="application/json")

    return step


CLASSIFIED = completion('{"category": "billing", "urgency": "high", "confidence": 0.9}')


@dataclass
class Seen:
    at: float
    port: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class ChatServer:
    """Answers POST /v1/chat/completions with the scripted steps in order, then with
    ``default``; records every request and the most requests in flight at once."""

    default: Step = CLASSIFIED
    delay: float = 0.0
    script: list[Step] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    inflight: int = 0
    max_inflight: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            assert request.transport is not None
            port = request.transport.get_extra_info("peername")[1]
            body = await request.json()
            self.seen.append(Seen(time.monotonic(), port, body, dict(request.headers)))
            step = self.script.pop(0) if self.script else self.default
            if self.delay:
                await asyncio.sleep(self.delay)
            return await step(request)
        finally:
            self.inflight -= 1

    async def hang(self, request: web.Request) -> web.StreamResponse:
        """A step that answers only when the test ends (past any client timeout)."""
        await self.release.wait()
        return await CLASSIFIED(request)


@pytest.fixture
async def server() -> AsyncIterator[ChatServer]:
    chat = ChatServer()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    chat.url = f"http://{host}:{port}/v1"
    yield chat
    chat.release.set()
    await runner.cleanup()


Factory = Callable[..., OpenAICompatModel]


@pytest.fixture
async def make(server: ChatServer) -> AsyncIterator[Factory]:
    made: list[OpenAICompatModel] = []

    def build(**overrides: Any) -> OpenAICompatModel:
        options = {
            "provider": "openai",
            "base_url": server.url,
            "model": "test-model",
            "api_key": SecretStr(KEY),
            "timeout": 5.0,
            "max_concurrency": 4,
            "max_retries": 2,
            "breaker_failures": 50,
            "breaker_reset": 30.0,
        }
        tuning = ("backoff", "max_backoff", "retry_after_cap", "pool_limit")
        client_options = {k: overrides.pop(k) for k in tuning if k in overrides}
        client = OpenAICompatModel(
            ModelSettings.model_validate({**options, **overrides}, strict=True),
            metrics_registry=CollectorRegistry(),
            **{"backoff": 0.01, "max_backoff": 0.05, **client_options},
        )
        made.append(client)
        return client

    yield build
    for client in made:
        await client.aclose()


def sample(client: OpenAICompatModel, name: str, **labels: str) -> float:
    value = client.metrics.registry.get_sample_value(name, {"model": "test-model", **labels})
    return value or 0.0


def outcomes(client: OpenAICompatModel, outcome: str) -> float:
    return sample(client, "agentstream_model_requests_total", outcome=outcome)


async def test_a_normal_answer_is_parsed_and_its_tokens_counted(
    server: ChatServer, make: Factory
) -> None:
    client = make()

    got = await client.classify("where is my invoice", "en", ["hello"])

    assert (got.category, got.urgency, got.confidence) == ("billing", "high", 0.9)
    assert client.label == "openai:test-model"
    [request] = server.seen
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "test-model"
    assert request.body["response_format"] == {"type": "json_object"}
    assert request.body["temperature"] == 0.0
    assert request.body["max_tokens"] > 0
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]
    assert "where is my invoice" in request.body["messages"][1]["content"]
    assert sample(client, "agentstream_model_tokens_total", kind="prompt") == 11
    assert sample(client, "agentstream_model_tokens_total", kind="completion") == 7
    assert outcomes(client, "ok") == 1
    assert sample(client, "agentstream_model_latency_seconds_count") == 1
    assert sample(client, "agentstream_model_breaker_open") == 0


async def test_text_calls_are_plain_and_structured_calls_validated(
    server: ChatServer, make: Factory
) -> None:
    client = make()
    server.script = [
        completion("  Refunds take 5 days.  "),
        completion('{"sections": [{"title": "x", "kind": "research", "brief": "facts"},'
                   ' {"title": "y", "kind": "editor", "brief": "wrap up"}]}'),
        completion('{"score": 0.4, "findings": ["too short"]}'),
    ]  # fmt: skip

    text = await client.answer("refund?", "en", [])
    plan = await client.plan("Kafka", "engineers", ["Intro", "Summary"])
    verdict = await client.review("Intro", "text", 1)

    assert text == "Refunds take 5 days."
    assert "response_format" not in server.seen[0].body
    assert [(s.title, s.kind, s.brief) for s in plan] == [
        ("Intro", "research", "facts"),
        ("Summary", "editor", "wrap up"),
    ]
    assert '["Intro", "Summary"]' in server.seen[1].body["messages"][1]["content"]
    assert (verdict.score, verdict.findings) == (0.4, ("too short",))


async def test_429_waits_what_retry_after_asks_then_succeeds(
    server: ChatServer, make: Factory
) -> None:
    client = make()
    server.script = [status(429, {"Retry-After": "1"})]

    got = await client.classify("invoice", "en", [])

    assert got.category == "billing"
    first, second = server.seen
    assert second.at - first.at >= 1.0
    assert outcomes(client, "rate_limited") == 1
    assert outcomes(client, "ok") == 1


async def test_retry_after_as_an_http_date_and_capped(server: ChatServer, make: Factory) -> None:
    client = make(retry_after_cap=0.3)
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    server.script = [status(503, {"Retry-After": later})]

    got = await client.classify("invoice", "en", [])

    assert got.category == "billing"
    first, second = server.seen
    assert second.at - first.at >= 0.3  # waited the cap, not the hour asked (test timeout 120 s)


def test_retry_after_reads_seconds_and_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after("7", now=now) == 7.0
    assert retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after("soon", now=now) is None
    assert retry_after(None) is None
    waits = [backoff(n, base=0.5, cap=4.0, salt="a") for n in range(6)]
    assert all(0.25 * 2**n <= w <= 0.5 * 2**n for n, w in enumerate(waits[:3]))
    assert all(2.0 <= w <= 4.0 for w in waits[3:])


async def test_500_then_success(server: ChatServer, make: Factory) -> None:
    client = make()
    server.script = [status(500)]

    got = await client.classify("invoice", "en", [])

    assert got.category == "billing"
    assert len(server.seen) == 2
    assert outcomes(client, "server_error") == 1
    assert outcomes(client, "ok") == 1


async def test_500_always_is_unavailable_after_the_retries(
    server: ChatServer, make: Factory
) -> None:
    client = make(max_retries=3)
    server.default = status(502)

    with pytest.raises(ModelUnavailable, match="HTTP 502"):
        await client.classify("invoice", "en", [])

    assert len(server.seen) == 4
    assert outcomes(client, "server_error") == 4
    assert isinstance(ModelUnavailable("x"), ConnectionError)


async def test_an_answer_past_the_timeout_is_unavailable(server: ChatServer, make: Factory) -> None:
    client = make(timeout=0.3)
    server.script = [server.hang]

    with pytest.raises(ModelUnavailable, match=r"no answer within 0\.3s"):
        await client.classify("invoice", "en", [])

    assert len(server.seen) == 1  # a timed-out call is not retried
    assert outcomes(client, "timeout") == 1


@pytest.mark.parametrize(
    "step",
    [
        raw("this is not json"),
        raw('{"choices": "none"}'),
        completion("not json at all"),
        completion('{"category": "weather", "urgency": "high", "confidence": 0.9}'),
        completion('{"category": "billing", "urgency": "high", "confidence": 7}'),
        completion(""),
    ],
    ids=["body", "shape", "content", "category", "confidence", "empty"],
)
async def test_a_malformed_answer_is_a_model_error_and_not_retried(
    server: ChatServer, make: Factory, step: Step
) -> None:
    client = make()
    server.script = [step]

    with pytest.raises(ModelError):
        await client.classify("invoice", "en", [])

    assert len(server.seen) == 1
    assert outcomes(client, "bad_answer") == 1


async def test_a_refused_request_is_a_model_error(server: ChatServer, make: Factory) -> None:
    client = make()
    server.script = [status(401)]

    with pytest.raises(ModelError, match="HTTP 401"):
        await client.answer("refund?", "en", [])

    assert len(server.seen) == 1
    assert outcomes(client, "rejected") == 1


async def test_the_breaker_opens_refuses_unsent_and_closes_after_a_probe(
    server: ChatServer, make: Factory
) -> None:
    client = make(max_retries=0, breaker_failures=3, breaker_reset=0.5)
    server.script = [status(500)] * 3

    for _ in range(3):
        with pytest.raises(ModelUnavailable, match="HTTP 500"):
            await client.classify("invoice", "en", [])
    with pytest.raises(ModelUnavailable, match="circuit breaker open"):
        await client.classify("invoice", "en", [])

    assert len(server.seen) == 3  # the refused call never reached the server
    assert outcomes(client, "breaker_open") == 1
    assert sample(client, "agentstream_model_breaker_open") == 1

    await asyncio.sleep(0.6)
    server.script = [status(500)]  # the first probe fails: open again at once
    with pytest.raises(ModelUnavailable, match="HTTP 500"):
        await client.classify("invoice", "en", [])
    with pytest.raises(ModelUnavailable, match="circuit breaker open"):
        await client.classify("invoice", "en", [])
    assert len(server.seen) == 4

    await asyncio.sleep(0.6)
    got = await client.classify("invoice", "en", [])  # the second probe succeeds

    assert got.category == "billing"
    assert sample(client, "agentstream_model_breaker_open") == 0
    await client.classify("invoice", "en", [])
    assert len(server.seen) == 6


async def test_half_open_lets_exactly_one_probe_through(server: ChatServer, make: Factory) -> None:
    client = make(max_retries=0, breaker_failures=1, breaker_reset=0.3)
    server.script = [status(500)]
    with pytest.raises(ModelUnavailable, match="HTTP 500"):
        await client.classify("invoice", "en", [])
    await asyncio.sleep(0.4)
    arrived, answered = asyncio.Event(), asyncio.Event()

    async def slow_probe(request: web.Request) -> web.StreamResponse:
        arrived.set()
        await answered.wait()
        return await CLASSIFIED(request)

    server.script = [slow_probe]
    probe = asyncio.create_task(client.classify("invoice", "en", []))
    await arrived.wait()
    with pytest.raises(ModelUnavailable, match="circuit breaker open"):
        await client.classify("invoice", "en", [])
    answered.set()

    assert (await probe).category == "billing"
    assert len(server.seen) == 2
    assert (await client.classify("invoice", "en", [])).category == "billing"


async def test_a_closed_client_opens_a_new_pool_when_used_again(
    server: ChatServer, make: Factory
) -> None:
    client = make()
    await client.classify("invoice", "en", [])
    await client.aclose()

    got = await client.classify("invoice", "en", [])

    assert got.category == "billing"
    assert len({s.port for s in server.seen}) == 2  # the first connection went with the pool


async def test_calls_in_flight_never_exceed_max_concurrency(
    server: ChatServer, make: Factory
) -> None:
    client = make(max_concurrency=3, pool_limit=10)  # the semaphore limits, not the pool
    server.delay = 0.1

    got = await asyncio.gather(*(client.classify(f"q{i}", "en", []) for i in range(12)))

    assert len(got) == len(server.seen) == 12
    assert server.max_inflight == 3


async def test_one_pool_of_keep_alive_connections_serves_every_call(
    server: ChatServer, make: Factory
) -> None:
    client = make(max_concurrency=2)
    server.delay = 0.02

    for _ in range(3):
        await asyncio.gather(*(client.classify("q", "en", []) for _ in range(6)))
    for _ in range(4):
        await client.answer("q", "en", [])

    assert len(server.seen) == 22
    assert len({s.port for s in server.seen}) <= 2


async def test_the_key_is_never_logged_nor_shown(
    server: ChatServer, make: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make(max_retries=1)
    server.script = [status(503), status(400)]

    with caplog.at_level(logging.DEBUG), pytest.raises(ModelError) as failure:
        await client.answer("refund?", "en", [])

    assert "retry 1/1" in caplog.text
    assert KEY not in caplog.text
    assert KEY not in repr(client)
    assert KEY not in str(failure.value)


async def test_model_client_builds_the_configured_one_once(server: ChatServer) -> None:
    registry = CollectorRegistry()
    settings = Settings(
        models=ModelSettings(provider="openai", base_url=server.url, model="test-model")
    )

    client = model_client(settings, registry)
    try:
        assert isinstance(client, OpenAICompatModel)
        assert model_client(settings, registry) is client
        got = await client.classify("invoice", "en", [])
        assert got.category == "billing"
        assert "Authorization" not in server.seen[0].headers  # no key configured: none sent
        assert (
            registry.get_sample_value(
                "agentstream_model_requests_total", {"model": "test-model", "outcome": "ok"}
            )
            == 1
        )
    finally:
        await client.aclose()
    other_model = settings.models.model_copy(update={"model": "other-model"})
    other = model_client(Settings(models=other_model), registry)
    assert isinstance(other, OpenAICompatModel)
    assert other is not client
    assert other.metrics is client.metrics  # one set of metrics per registry, labelled by model
    offline = model_client(Settings())
    assert offline.offline
    assert offline.label == "offline"
    assert models.__all__ == sorted(models.__all__)
    assert all(hasattr(models, name) for name in models.__all__)
