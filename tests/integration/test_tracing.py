"""Tracing over the real broker: a request that goes through a chain of agents (a function
agent forwarding to a batch agent, which forwards to a third and fans out to a fourth) is
one trace, each span the child of the span that produced its event."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from config import Settings, TracingSettings
from schemas import Envelope, Message
from streams import App, BatchContext, Client, Context, RequestTimeout, UnknownTopic
from streams.codec import encode
from tests.integration.helpers import collect, produce
from tests.integration.workers import Workers, wait_until

EXPORTER = InMemorySpanExporter()


class Hop(Message):
    path: list[str]


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider, recording into memory (set once per process)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    yield EXPORTER
    EXPORTER.clear()


def _of_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [
        s
        for s in exporter.get_finished_spans()
        if s.context is not None and s.context.trace_id == trace_id
    ]


def _process(spans: list[ReadableSpan], agent: str) -> ReadableSpan:
    found = [
        s
        for s in spans
        if s.name.startswith("process ") and (s.attributes or {}).get("agentstream.agent") == agent
    ]
    assert len(found) == 1, [(s.name, s.attributes) for s in spans]
    return found[0]


def _id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def _parent(span: ReadableSpan) -> int | None:
    return None if span.parent is None else int(span.parent.span_id)


async def test_a_chain_of_agents_is_one_trace(
    settings: Settings, topic: str, spans: InMemorySpanExporter
) -> None:
    traced = settings.model_copy(update={"tracing": TracingSettings(enabled=True)})
    a, b, c, audit = (f"{topic}-{x}" for x in ("a", "b", "c", "audit"))
    app = App(f"app-{topic}", traced)

    @app.agent(a)
    async def first(msg: Hop, ctx: Context) -> None:
        with trace.get_tracer("tests").start_as_current_span("handler's own work"):
            await ctx.forward(b, Hop(path=[*msg.path, "a"]), key=ctx.key)

    @app.agent(b)
    async def second(batch: list[Hop], ctx: BatchContext) -> list[None]:
        for i, msg in enumerate(batch):
            await ctx.forward(c, Hop(path=[*msg.path, "b"]), index=i)
            await ctx.send(audit, Hop(path=msg.path), index=i)
        return [None] * len(batch)

    @app.agent(c)
    async def third(msg: Hop, ctx: Context) -> Hop:
        return Hop(path=[*msg.path, "c"])

    @app.agent(audit)
    async def audited(msg: Hop, ctx: Context) -> Hop:
        return Hop(path=[*msg.path, "audited"])

    tracer = trace.get_tracer("tests")
    async with app.running(), Client(settings) as client:
        reply = None
        for _ in range(30):  # the agents need a few seconds to join their group
            with tracer.start_as_current_span("ask") as root:
                try:
                    reply = await client.ask(a, Hop(path=[]), key=b"k", timeout=2)
                    break
                except (RequestTimeout, UnknownTopic):
                    continue
        assert reply is not None
        await collect(settings, f"{audit}.replies", 1)

    assert reply.parse(Hop).path == ["a", "b", "c"]
    trace_id = root.get_span_context().trace_id
    mine = _of_trace(spans, trace_id)
    pa, pb, pc, paudit = (_process(mine, n) for n in ("first", "second", "third", "audited"))
    # Each event's span is the child of the span that produced the event.
    assert _parent(pa) == root.get_span_context().span_id
    assert _parent(pb) == _id(pa)
    assert _parent(pc) == _id(pb)
    assert _parent(paudit) == _id(pb)
    # The handler's own span nests under its event's span.
    own = [s for s in mine if s.name == "handler's own work"]
    assert [_parent(s) for s in own] == [_id(pa)]
    # The reply carries the last agent's span.
    assert reply.envelope.traceparent is not None
    assert reply.envelope.traceparent.split("-")[2] == f"{_id(pc):016x}"
    attrs = dict(pc.attributes or {})
    assert attrs["messaging.destination.name"] == c
    assert attrs["messaging.system"] == "kafka"
    assert attrs["agentstream.outcome"] == "result"
    assert attrs["agentstream.attempts"] == 1
    assert isinstance(attrs["messaging.kafka.offset"], int)
    assert attrs["messaging.destination.partition.id"] == "0"
    assert attrs["messaging.consumer.group.name"] == f"app-{topic}"
    assert dict(pa.attributes or {})["agentstream.outcome"] == "result"  # it forwarded
    # Windows: a span per window, linked to the producers of its events.
    windows = [s for s in spans.get_finished_spans() if s.name == f"window {c}"]
    assert windows
    assert any(link.context.span_id == _id(pb) for w in windows for link in w.links)


async def test_a_dead_letter_is_an_error_span_and_untraced_events_start_a_trace(
    settings: Settings, topic: str, spans: InMemorySpanExporter
) -> None:
    traced = settings.model_copy(update={"tracing": TracingSettings(enabled=True)})
    app = App(f"app-{topic}", traced)

    @app.agent(topic)
    async def broken(msg: Hop, ctx: Context) -> Hop:
        raise ValueError("not today")

    async with app.running(), Client(settings) as client:
        await client.send(topic, Hop(path=["x"]))  # no span is current: no traceparent
        letters = await collect(settings, f"{topic}.dlq", 1)

    assert Envelope.from_headers(letters[0].headers).traceparent is None
    failed = [
        s
        for s in spans.get_finished_spans()
        if s.name == f"process {topic}"
        and (s.attributes or {}).get("agentstream.agent") == "broken"
    ]
    assert len(failed) == 1
    span = failed[0]
    assert span.parent is None  # a trace of its own
    assert dict(span.attributes or {})["agentstream.outcome"] == "dead_letter"
    assert dict(span.attributes or {})["agentstream.attempts"] == 1  # not retriable
    assert span.status.status_code == trace.StatusCode.ERROR


WORKER_APP = """
import logging
from streams import App, Context
from tests.integration.test_tracing import Hop

app = App("app-{topic}", partitions=1)
log = logging.getLogger("testapp")

@app.agent("{topic}")
async def hop(msg: Hop, ctx: Context) -> Hop:
    log.warning("hop %s", msg.path)
    return Hop(path=[*msg.path, "hop"])
"""


async def test_a_worker_exports_spans_over_otlp_and_logs_json_lines_with_the_trace(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    """A worker process with tracing on and JSON logs: its spans reach an OTLP/HTTP
    endpoint in the trace of the incoming event, and every log line is a JSON object;
    those logged while handling name the agent, the event and the trace."""
    received: list[bytes] = []

    async def traces(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=200)

    server = web.Application()
    server.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    workers = Workers(settings, tmp_path, WORKER_APP.format(topic=topic))
    workers.env.update(
        AGENTSTREAM_LOG_FORMAT="json",
        AGENTSTREAM_TRACING__ENABLED="true",
        AGENTSTREAM_TRACING__OTLP_ENDPOINT=f"http://127.0.0.1:{port}/v1/traces",
        AGENTSTREAM_TRACING__SERVICE_NAME="hop-service",
    )
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    envelope = Envelope.new(Hop.message_type, "tests")
    envelope.traceparent = f"00-{trace_id}-00f067aa0ba902b7-01"
    try:
        workers.start(0)
        await wait_until(lambda: workers.ready(0), 60, "the worker joining its group")
        await produce(settings, topic, [(b"k", encode(Hop(path=[])), envelope.to_headers())])
        replies = await collect(settings, f"{topic}.replies", 1)
        assert len(replies) == 1
        # The exit flushes the queued spans (to this loop's server: not blocked meanwhile).
        assert await asyncio.to_thread(workers.signal, 0, signal.SIGTERM) == 0
    finally:
        workers.stop_all()
        await runner.cleanup()

    spans = [
        (resource, span)
        for body in received
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    handled = [s for _, s in spans if s.name == f"process {topic}"]
    assert len(handled) == 1
    assert handled[0].trace_id.hex() == trace_id
    assert handled[0].parent_span_id.hex() == "00f067aa0ba902b7"
    services = {a.value.string_value for r, _ in spans for a in r.resource.attributes}
    assert "hop-service" in services
    reply = Envelope.from_headers(replies[0].headers)
    assert reply.traceparent == f"00-{trace_id}-{handled[0].span_id.hex()}-01"

    lines = [ln for ln in workers.log_files[0].read_text().splitlines() if ln.strip()]
    parsed = [orjson.loads(ln) for ln in lines]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= p.keys() for p in parsed)
    hop = [p for p in parsed if p["logger"] == "testapp"]
    assert len(hop) == 1
    assert (hop[0]["agent"], hop[0]["event_id"]) == ("hop", envelope.id)
    assert (hop[0]["trace_id"], hop[0]["span_id"]) == (trace_id, handled[0].span_id.hex())
