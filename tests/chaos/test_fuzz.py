"""Property-based fuzzing of what a worker does with a record before any handler runs:
CloudEvents headers, byte decoding, schema validation and dispatch. Whatever the bytes and
headers, no exception escapes, and every record is either a valid message or exactly one
dead letter with a stage and a reason."""

from __future__ import annotations

from typing import Any, cast

import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from config import Limits
from schemas import Envelope, EnvelopeError
from streams.agent import AgentSpec, routes_of
from streams.codec import decode_json, parse
from streams.context import Context
from streams.deadletter import dead_letter_headers
from streams.delivery import Delivery
from streams.errors import DecodeError, SchemaError, Stage
from streams.metrics import Metrics
from streams.policy import Batch, Retry
from streams.processor import Processor
from streams.records import Inbound
from tests.chaos.chaosapp import Done, Job
from tests.chaos.profiles import current

EXAMPLES = 300 if current().name == "short" else 5000
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,  # no timing assertions: speed belongs to bench/
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LIMITS = Limits(max_message_bytes=4096, max_json_depth=8)
INTAKE_STAGES = {"decode", "validate", "dispatch"}
CE_HEADERS = ["ce_id", "ce_type", "ce_source", "ce_specversion", "ce_time", "ce_replyto",
              "ce_correlationid", "ce_causationid", "content-type", "traceparent"]  # fmt: skip

text = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)
header_values = st.one_of(text.map(str.encode), st.binary(max_size=40))
header_names = st.one_of(st.sampled_from(CE_HEADERS), st.text(max_size=20))
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=30,
)
job_like = st.fixed_dictionaries(
    {"id": text, "key": text, "seq": st.integers(-(2**63), 2**63 - 1)},
    optional={"fail": st.booleans(), "sleep": st.floats(0, 10), "extra": json_values},
)
valid_jobs = st.fixed_dictionaries(
    {"id": text, "key": text, "seq": st.integers(-(2**63), 2**63 - 1)},
    optional={"fail": st.booleans(), "sleep": st.floats(0, 10)},
)
values = st.one_of(
    valid_jobs.map(orjson.dumps),
    st.none(),
    st.binary(max_size=300),
    json_values.map(orjson.dumps),
    job_like.map(orjson.dumps),
    job_like.map(lambda d: orjson.dumps(d)[:-1]),  # truncated
)


@st.composite
def header_lists(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    """Random headers, often on top of a valid envelope of a known or unknown type."""
    base: list[tuple[str, bytes]] = []
    if draw(st.integers(0, 3)):
        ce_type = draw(st.sampled_from([Job.message_type, Job.message_type, "chaos.Other"]))
        base = Envelope.new(ce_type, "fuzz").to_headers()
    noise = draw(st.lists(st.tuples(header_names, header_values), max_size=4))
    merged = base + noise
    return draw(st.permutations(merged)) if draw(st.booleans()) else merged


class Recorder:
    """Stands in for :class:`Delivery` at intake: records dead letters, builds their
    headers as the real one does."""

    def __init__(self) -> None:
        self.letters: list[tuple[str, BaseException, int, list[tuple[str, bytes]]]] = []
        self.finished_records: list[Inbound] = []

    def dead_letter(
        self, record: Inbound, stage: Stage, error: BaseException, attempts: int
    ) -> None:
        headers = dead_letter_headers(record, "fuzz", stage, error, attempts)
        self.letters.append((stage, error, attempts, headers))

    def finished(self, record: Inbound) -> None:
        self.finished_records.append(record)


async def _handler(msg: Job, ctx: Context) -> Done:
    return Done(id=msg.id, key=msg.key, seq=msg.seq, worker=0)


def _processor(recorder: Recorder) -> Processor:
    routes, _ = routes_of(_handler)
    spec = AgentSpec(
        name="fuzz", mailbox="fuzz", reply_topic="fuzz.replies", batch=Batch(), concurrency=1,
        backlog=10, retry=Retry(), timeout=1.0, idempotent=False, routes=routes,
    )  # fmt: skip
    return Processor(spec, cast(Delivery, recorder), Metrics(), LIMITS)


@fuzz
@given(value=values, headers=header_lists(), key=st.none() | st.binary(max_size=20))
def test_any_record_is_a_message_or_exactly_one_dead_letter(
    value: bytes | None, headers: list[tuple[str, bytes]], key: bytes | None
) -> None:
    recorder = Recorder()
    record = Inbound("fuzz", 0, 7, key, value, list(headers))
    ready = _processor(recorder).prepare(record)
    event("a message" if ready else f"a dead letter ({recorder.letters[0][0]})")
    if ready is not None:
        _, route, msg = ready
        assert recorder.letters == []
        assert isinstance(msg, route.model)
        assert record.envelope is not None
        assert record.envelope.type == route.model.message_type
        return
    assert len(recorder.letters) == 1, recorder.letters
    assert recorder.finished_records == [record]
    stage, error, attempts, letter_headers = recorder.letters[0]
    assert stage in INTAKE_STAGES
    assert str(error)
    assert attempts == 0
    assert letter_headers[: len(headers)] == headers  # the original headers, untouched
    context = dict(letter_headers[len(headers) :])
    assert context["dlq.stage"] == stage.encode()
    assert all(isinstance(v, bytes) for _, v in letter_headers)


def _envelope_or_reason(headers: list[tuple[str, bytes]]) -> Envelope | str:
    try:
        return Envelope.from_headers(headers)
    except EnvelopeError as e:
        return str(e)


@fuzz
@given(headers=st.lists(st.tuples(header_names, header_values), max_size=12))
def test_headers_make_an_envelope_or_an_envelope_error(headers: list[tuple[str, bytes]]) -> None:
    envelope = _envelope_or_reason(headers)
    if isinstance(envelope, str):
        assert envelope  # the reason
        return
    assert all((envelope.id, envelope.type, envelope.source))
    assert Envelope.from_headers(envelope.to_headers()) == envelope


@fuzz
@given(
    ce_type=text, source=text, correlationid=st.none() | text, replyto=st.none() | text,
    causationid=st.none() | text,
)  # fmt: skip
def test_envelopes_survive_their_headers(
    ce_type: str, source: str, correlationid: str | None, replyto: str | None,
    causationid: str | None,
) -> None:  # fmt: skip
    env = Envelope.new(ce_type, source, correlationid=correlationid, replyto=replyto,
                       causationid=causationid)  # fmt: skip
    assert Envelope.from_headers(env.to_headers()) == env
    successor = Envelope.from_headers(env.successor_headers("chaos.Next", "fuzz", forward=True))
    assert (successor.correlationid, successor.causationid, successor.replyto) == (
        env.correlationid,
        env.id,
        env.replyto,
    )


def _decoded(raw: bytes | None) -> Any:
    try:
        return decode_json(raw, LIMITS.max_message_bytes, LIMITS.max_json_depth)
    except DecodeError as e:
        return e


def _parsed(raw: bytes | None) -> Job | DecodeError | SchemaError:
    try:
        return parse(Job, raw, LIMITS.max_message_bytes, LIMITS.max_json_depth)
    except (DecodeError, SchemaError) as e:
        return e


@fuzz
@given(raw=values)
def test_decoding_raises_only_decode_or_schema_errors(raw: bytes | None) -> None:
    decoded = _decoded(raw)
    if isinstance(decoded, DecodeError):
        assert str(decoded)
    else:
        assert raw is not None
        assert orjson.loads(raw) == decoded
    parsed = _parsed(raw)
    assert isinstance(parsed, Job) or str(parsed)
    if isinstance(parsed, Job):
        assert not isinstance(decoded, DecodeError)
