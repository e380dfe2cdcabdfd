"""The operator commands' pure parts (--since, JSON lines, records as JSON, app
descriptions) and their refusals that need no broker: bad arguments, a broker that does
not answer, an app that cannot be loaded."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiokafka.structs import ConsumerRecord
from typer.testing import CliRunner

from schemas import Message
from streams import App, Batch, BatchContext, Context, Retry, handler
from streams.tools.appinfo import agent_dict, kind_of, reply_types
from streams.tools.cli import cli
from streams.tools.jsonlines import BadLine, Line, key_of, parse_line
from streams.tools.sending import Pacer
from streams.tools.tail import parse_since, record_dict

NOW = datetime(2025, 5, 1, 12, 0, 0, tzinfo=UTC)


# -- --since -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("500ms", timedelta(milliseconds=500)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_since_takes_durations_back_from_now(text: str, back: timedelta) -> None:
    assert parse_since(text, NOW) == NOW - back


def test_since_takes_iso_times_with_and_without_a_zone() -> None:
    assert parse_since("2025-05-01T10:00:00Z", NOW) == datetime(2025, 5, 1, 10, tzinfo=UTC)
    assert parse_since("2025-05-01T13:00:00+02:00", NOW) == datetime(2025, 5, 1, 11, tzinfo=UTC)
    local = parse_since("2025-04-30T08:00:00", NOW)
    assert local.tzinfo is not None  # a wall-clock time is taken as local time
    assert local.replace(tzinfo=None) == datetime(2025, 4, 30, 8)


@pytest.mark.parametrize("text", ["yesterday", "15", "m15", "1h-", "2025-13-01", ""])
def test_since_refuses_what_is_neither(text: str) -> None:
    with pytest.raises(ValueError, match="neither a duration"):
        parse_since(text, NOW)


def test_since_refuses_the_future() -> None:
    with pytest.raises(ValueError, match="future"):
        parse_since("2025-05-02T00:00:00Z", NOW)


# -- JSON lines --------------------------------------------------------------------------
def test_a_line_is_one_json_object_with_an_optional_key() -> None:
    assert parse_line(1, '{"a": 1}\n') == Line(1, b'{"a":1}', None)
    assert parse_line(2, '{"a": 1}', key=b"k") == Line(2, b'{"a":1}', b"k")
    assert parse_line(3, '{"c": "x7", "a": 1}', key_field="c") == Line(
        3, b'{"c":"x7","a":1}', b"x7"
    )
    assert parse_line(4, "   \n") is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "a JSON object is needed, not list"),
        ('"text"', "a JSON object is needed, not str"),
        ('{"a": 1}', "no 'c' field for the key"),
        ('{"c": null}', "no 'c' field for the key"),
        ('{"c": {"nested": 1}}', "holds a dict, not a scalar"),
    ],
)
def test_a_bad_line_says_why_with_its_number(text: str, reason: str) -> None:
    bad = parse_line(7, text, key_field="c")
    assert isinstance(bad, BadLine)
    assert bad.number == 7
    assert reason in bad.reason


def test_keys_from_numbers_and_booleans_are_their_json() -> None:
    assert key_of({"k": 42}, "k") == b"42"
    assert key_of({"k": True}, "k") == b"true"
    assert key_of({"k": "é"}, "k") == "é".encode()


# -- records as JSON ---------------------------------------------------------------------
def _record(
    value: bytes | None, headers: list[tuple[str, bytes]], key: bytes | None = None
) -> ConsumerRecord:
    return ConsumerRecord(
        topic="t", partition=1, offset=9, timestamp=1_746_100_800_123, timestamp_type=0,
        key=key, value=value, checksum=None, serialized_key_size=0,
        serialized_value_size=0, headers=headers,
    )  # fmt: skip


def test_a_record_as_json_decodes_key_headers_and_value() -> None:
    r = record_dict(_record(b'{"x": [1]}', [("ce_type", b"a.B"), ("h", b"1"), ("h", b"2")], b"k"))
    assert r == {
        "topic": "t", "partition": 1, "offset": 9,
        "timestamp": "2025-05-01T12:00:00.123+00:00", "timestamp_ms": 1_746_100_800_123,
        "key": "k", "headers": {"ce_type": "a.B", "h": ["1", "2"]}, "value": {"x": [1]},
    }  # fmt: skip
    assert orjson.loads(orjson.dumps(r)) == r


def test_a_value_that_is_not_json_is_text_and_none_stays_none() -> None:
    assert record_dict(_record(b"plain \xff text", []))["value"] == "plain \\xff text"
    assert record_dict(_record(None, []))["value"] is None
    assert record_dict(_record(b"1", []))["key"] is None


# -- what an app declares ----------------------------------------------------------------
class Ask(Message):
    text: str


class Other(Message):
    n: int


class Answer(Message):
    text: str


def _app() -> App:
    app = App("shapes")

    @app.agent("in.fn", batch=Batch(max_size=7, within=0.5, eager=False), concurrency=3,
               retry=Retry(attempts=2, backoff=0.1), timeout=4.0, idempotent=True)  # fmt: skip
    async def fn(msg: Ask | Other, ctx: Context) -> Answer | None:
        return None

    @app.agent("in.batch", reply_to="out.batch")
    async def batched(batch: list[Ask], ctx: BatchContext) -> list[Answer | None]:
        return []

    @app.agent("in.class")
    class Routed:
        @handler
        async def ask(self, msg: Ask, ctx: Context) -> Answer:
            return Answer(text=msg.text)

        @handler
        async def other(self, msg: Other, ctx: Context) -> None:
            return None

    return app


def test_each_agent_shape_with_its_policies_and_types() -> None:
    fn, batched, routed = _app().specs
    assert [kind_of(s) for s in (fn, batched, routed)] == ["function", "batch", "handlers"]
    described = agent_dict(fn)
    assert described["batch"] == {"max_size": 7, "within": 0.5, "eager": False}
    assert described["retry"]["attempts"] == 2
    assert (described["concurrency"], described["timeout"], described["idempotent"]) == (
        3, 4.0, True,
    )  # fmt: skip
    assert described["messages"] == {
        "test_operator_cli.Ask": "tests.unit.test_operator_cli.Ask",
        "test_operator_cli.Other": "tests.unit.test_operator_cli.Other",
    }
    assert described["dead_letter_topic"] == "in.fn.dlq"
    assert agent_dict(batched)["reply_topic"] == "out.batch"
    for spec in (fn, batched, routed):
        assert list(reply_types(spec)) == ["test_operator_cli.Answer"]


# -- refusals without a broker -----------------------------------------------------------
runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["send", "t", "a.B"], "give either PAYLOAD or --file"),
        (["send", "t", "a.B", "{}", "--file", "x"], "give either PAYLOAD or --file"),
        (["send", "t", "a.B", "{}", "--rate", "5"], "--key-field and --rate go with --file"),
        (["send", "t", "a.B", "-f", "x", "--key", "k", "--key-field", "c"], "exclude each other"),
        (["send", "t", "a.B", "[1]"], "PAYLOAD: a JSON object is needed"),
        (["send", "t", "a.B", "-f", "/nonexistent/x.jsonl"], "cannot read /nonexistent/x.jsonl"),
        (["tail", "t", "--since", "1h", "--from-beginning"], "exclude each other"),
        (["tail", "t", "--since", "soon"], "--since: 'soon' is neither"),
        (["topics", "create", "t", "--config", "nonsense"], "'nonsense' is not NAME=VALUE"),
        (["agents", "no_such_module_here:app"], "cannot load 'no_such_module_here:app'"),
        (["schema", "export", "agents.echo"], "APP must look like 'package.module:app'"),
    ],
)
def test_bad_arguments_are_one_error_line_and_exit_2(args: list[str], said: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert result.stderr.startswith("error: ")
    assert said in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["topics", "list"],
        ["topics", "describe", "t"],
        ["send", "t", "a.B", "{}"],
        ["tail", "t"],
        ["lag", "g"],
    ],
)
def test_an_unreachable_broker_is_one_error_line_and_exit_1(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9")
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: cannot reach the Kafka broker at 127.0.0.1:9")
    assert "Traceback" not in result.output + result.stderr


# -- the rate of send --file -------------------------------------------------------------
async def test_the_pacer_spreads_calls_from_the_first_one() -> None:
    pacer = Pacer(50.0)
    await asyncio.sleep(0.1)  # time before the first call does not count
    started = time.monotonic()
    for _ in range(6):
        await pacer.wait()
    elapsed = time.monotonic() - started
    assert 0.1 <= elapsed < 0.5  # the sixth call is due 5/50 s after the first
    unlimited = Pacer(None)
    started = time.monotonic()
    for _ in range(1000):
        await unlimited.wait()
    assert time.monotonic() - started < 0.1
