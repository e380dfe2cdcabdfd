"""OpenTelemetry spans: one per handled event and one per window, linked across topics
through the W3C ``traceparent`` header, so a request that goes through several agents
(router, knowledge base, reply; or a plan fanned out to writers and back) is one trace.

Off by default (``AGENTSTREAM_TRACING__ENABLED``); when off, the runtime never calls
into this module. Every event span is a child of the span that produced the event (its
``traceparent``), and the records an event produces (results, ``ctx.send``/``forward``,
the ``Failed`` reply of a dead letter) carry the event span's own ``traceparent``. A
window span covers the window's intake (decode, validation, claims, hand-over; for a
batch agent, the batch handler too) and links to the spans of its events' producers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from config import TracingSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from streams.agent import AgentSpec
    from streams.batching import Window
    from streams.records import Inbound

log = logging.getLogger(__name__)
_PROPAGATOR = TraceContextTextMapPropagator()
INSTRUMENTATION = "agentstream"


class Tracing:
    """Starts and ends the runtime's spans with one tracer."""

    def __init__(self, tracer: trace.Tracer, group: str) -> None:
        self.tracer = tracer
        self.group = group  # the consumer group: the app id

    # -- events -------------------------------------------------------------------------
    @contextlib.contextmanager
    def event(self, spec: AgentSpec, record: Inbound) -> Iterator[Span]:
        """The span of handling ``record``; current while the handler runs (so the
        handler's own spans nest under it); sets ``record.trace``, the traceparent of
        what the event produces."""
        span = self._start(spec, record)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield span
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            otel_context.detach(token)
            _set_outcome(span, record)
            span.end()

    def events(self, spec: AgentSpec, records: list[Inbound]) -> contextlib.ExitStack:
        """Event spans for every record of a batch handler's call (not made current: the
        call is on behalf of all of them; the window span is current instead)."""
        stack = contextlib.ExitStack()
        for record in records:
            stack.callback(_finish, self._start(spec, record), record)
        return stack

    def _start(self, spec: AgentSpec, record: Inbound) -> Span:
        """The span of handling ``record``, the child of its producer's; ``record.trace``
        becomes its traceparent."""
        span = self.tracer.start_span(
            f"process {record.topic}",
            context=parent_of(record),
            kind=SpanKind.CONSUMER,
            attributes=self._record_attributes(spec, record),
        )
        record.trace = traceparent_of(span)
        return span

    def _record_attributes(self, spec: AgentSpec, record: Inbound) -> dict[str, str | int]:
        attrs: dict[str, str | int] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": record.topic,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": self.group,
            "agentstream.agent": spec.name,
        }
        if record.envelope is not None:
            attrs["messaging.message.id"] = record.envelope.id
            attrs["cloudevents.event_type"] = record.envelope.type
        return attrs

    # -- windows ------------------------------------------------------------------------
    @contextlib.contextmanager
    def window(self, spec: AgentSpec, window: Window[object]) -> Iterator[Span]:
        """The span of one window's intake; current while it lasts."""
        span = self.tracer.start_span(
            f"window {spec.mailbox}",
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "receive",
                "messaging.destination.name": spec.mailbox,
                "messaging.batch.message_count": len(window.items),
                "messaging.consumer.group.name": self.group,
                "agentstream.agent": spec.name,
                "agentstream.window.close_reason": window.reason,
                "agentstream.window.waited_s": window.waited,
            },
        )
        with trace.use_span(span, end_on_exit=True):
            yield span

    def link_window(self, span: Span, records: list[Inbound]) -> None:
        """Link the window span to the producers of its events, and count the rejected."""
        for record in records:
            if record.envelope is not None and record.envelope.traceparent:
                parent = trace.get_current_span(parent_of(record)).get_span_context()
                if parent.is_valid:
                    span.add_link(parent)
        rejected = sum(1 for r in records if r.letter is not None)
        span.set_attribute("agentstream.window.rejected", rejected)


def parent_of(record: Inbound) -> otel_context.Context | None:
    """The context of the span that produced ``record`` (None: a new trace)."""
    envelope = record.envelope
    if envelope is None or not envelope.traceparent:
        return otel_context.Context()  # a root span, not a child of whatever is current
    return _PROPAGATOR.extract({"traceparent": envelope.traceparent})


def traceparent_of(span: Span) -> str | None:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, trace.set_span_in_context(span))
    return carrier.get("traceparent")


def current_traceparent() -> str | None:
    """The traceparent of the current span, if one is recording (for ``Client.send``)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def _set_outcome(span: Span, record: Inbound) -> None:
    span.set_attribute("agentstream.attempts", record.attempts)
    if record.letter is not None:
        span.set_attribute("agentstream.outcome", "dead_letter")
        span.set_status(Status(StatusCode.ERROR, "dead-lettered"))
    else:
        span.set_attribute("agentstream.outcome", "result" if record.outputs else "no_output")


def _finish(span: Span, record: Inbound) -> None:
    _set_outcome(span, record)
    span.end()


# -- set-up -------------------------------------------------------------------------------
def setup(settings: TracingSettings, app_id: str) -> Tracing | None:
    """The app's :class:`Tracing`, or None when tracing is off. Uses the process's tracer
    provider when one is already set (the application configured OpenTelemetry itself);
    otherwise installs one exporting over OTLP/HTTP when an endpoint is set, or to the
    console."""
    if not settings.enabled:
        return None
    from opentelemetry.sdk.trace import TracerProvider

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = _provider(settings, settings.service_name or app_id)
        trace.set_tracer_provider(provider)
    return Tracing(provider.get_tracer(INSTRUMENTATION), app_id)


def _provider(settings: TracingSettings, service: str) -> TracerProvider:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": service}),
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
    )
    exporter: SpanExporter
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint)
        log.info("tracing: spans of %s go to %s (OTLP/HTTP)", service, settings.otlp_endpoint)
    else:
        exporter = ConsoleSpanExporter()
        log.info("tracing: spans of %s go to the console (no OTLP endpoint set)", service)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def shutdown() -> None:
    """Flush and stop the process's tracer provider (at worker exit)."""
    from opentelemetry.sdk.trace import TracerProvider

    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()
