"""The operator commands against the real broker: topics list|create|describe, send (one
message, JSON lines from a file or stdin), tail and lag."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from click.testing import Result
from typer.testing import CliRunner

from config import Settings
from streams import connection
from streams.connection import client_kwargs, ensure_topics
from streams.tools.cli import cli
from tests.integration.helpers import collect
from tests.integration.workers import ROOT

runner = CliRunner()


@pytest.fixture(autouse=True)
def broker_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands read their settings from the environment, as on a terminal."""
    monkeypatch.setenv("AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS", settings.kafka.bootstrap_servers)
    return


async def agentstream(*args: str, stdin: bytes | None = None) -> Result:
    """``agentstream ARGS`` in this process (its own event loop, in a thread)."""
    return await asyncio.to_thread(runner.invoke, cli, list(args), input=stdin)


def _subprocess_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers}


async def _produce(
    settings: Settings,
    topic: str,
    records: list[tuple[int, bytes | None, bytes, list[tuple[str, bytes]]]],
) -> None:
    """(partition, key, value, headers) records, in order."""
    producer = AIOKafkaProducer(acks="all", **client_kwargs(settings.kafka))
    await producer.start()
    try:
        for partition, key, value, headers in records:
            await producer.send_and_wait(
                topic, value, key=key, partition=partition, headers=headers
            )
    finally:
        await producer.stop()


def _lines(result: Result) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]


# -- topics ------------------------------------------------------------------------------
# It lists every topic of the broker, which the tests running beside it create and delete
# (a topic deleted between the listing and its description is left out).
@pytest.mark.serial
async def test_topics_create_list_and_describe(settings: Settings, topic: str) -> None:
    created = await agentstream("topics", "create", topic, "--partitions", "3",
                                "--config", "retention.ms=3600000", "--json")  # fmt: skip
    assert created.exit_code == 0, created.stderr
    assert orjson.loads(created.stdout)["partitions"] == 3

    again = await agentstream("topics", "create", topic)
    assert again.exit_code == 1
    assert again.stderr.startswith("error: ")
    assert "already exists" in again.stderr

    listed = await agentstream("topics", "list", "--match", topic, "--json")
    assert listed.exit_code == 0, listed.stderr
    assert orjson.loads(listed.stdout) == [
        {"name": topic, "partitions": 3, "replication": 1, "internal": False}
    ]
    internal = await agentstream("topics", "list", "--match", "__consumer_offsets")
    assert "__consumer_offsets" not in internal.stdout
    with_all = await agentstream("topics", "list", "--all", "--match", "__consumer_offsets")
    assert "__consumer_offsets" in with_all.stdout

    await _produce(settings, topic, [(1, b"k", b"{}", [])] * 5 + [(2, None, b"{}", [])])
    described = await agentstream("topics", "describe", topic, "--json")
    assert described.exit_code == 0, described.stderr
    info = orjson.loads(described.stdout)
    assert info["configs"] == {"retention.ms": "3600000"}
    offsets = {p["partition"]: (p["earliest"], p["latest"]) for p in info["partitions"]}
    assert offsets == {0: (0, 0), 1: (0, 5), 2: (0, 1)}
    assert all(p["leader"] in p["isr"] and p["isr"] == p["replicas"] for p in info["partitions"])

    pretty = await agentstream("topics", "describe", topic, "--all-configs")
    assert "retention.ms=3600000" in pretty.stdout
    assert "cleanup.policy=delete" in pretty.stdout  # a default, shown with --all-configs

    unknown = await agentstream("topics", "describe", f"{topic}-missing")
    assert unknown.exit_code == 1
    assert unknown.stderr == f"error: topic '{topic}-missing' does not exist on the cluster\n"


# -- send --------------------------------------------------------------------------------
async def test_send_one_message_prints_its_ce_id(settings: Settings, topic: str) -> None:
    await ensure_topics(settings.kafka, [topic], 1)
    sent = await agentstream("send", topic, "test.Thing", '{"a": 1}', "--key", "k1")
    assert sent.exit_code == 0, sent.stderr
    ce_id = sent.stdout.strip()
    as_json = await agentstream("send", topic, "test.Thing", '{"a": 2}', "--json")
    assert orjson.loads(as_json.stdout)["mailbox"] == topic

    first, second = await collect(settings, topic, 2)
    assert (first.key, orjson.loads(first.value)) == (b"k1", {"a": 1})
    headers = {k: v.decode() for k, v in first.headers}
    assert (headers["ce_id"], headers["ce_type"]) == (ce_id, "test.Thing")
    assert dict(second.headers)["ce_id"].decode() == orjson.loads(as_json.stdout)["ce_id"]


async def test_send_json_lines_skips_bad_lines_and_says_which(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    await ensure_topics(settings.kafka, [topic], 2)
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"c": "x", "n": 1}\nnot json\n\n[1]\n{"c": "y", "n": 2}\n{"c": 3, "n": 3}\n')
    sent = await agentstream("send", topic, "test.Line", "--file", str(lines), "--key-field", "c")
    assert sent.exit_code == 1
    assert "line 2: not JSON" in sent.stderr
    assert "line 4: a JSON object is needed, not list" in sent.stderr
    assert "error: 2 bad line(s) skipped, 0 message(s) not sent" in sent.stderr
    assert sent.stdout.startswith("sent 3, failed 0, bad lines 2 (skipped)")

    records = await collect(settings, topic, 3)
    by_key = {r.key: orjson.loads(r.value) for r in records}
    assert by_key == {b"x": {"c": "x", "n": 1}, b"y": {"c": "y", "n": 2}, b"3": {"c": 3, "n": 3}}
    assert {dict(r.headers)["ce_type"] for r in records} == {b"test.Line"}

    lines.write_text('{"n": 1}\n{"n": 2}\n')
    clean = await agentstream("send", topic, "test.Line", "-f", str(lines), "--json")
    assert clean.exit_code == 0, clean.stderr
    summary = orjson.loads(clean.stdout)
    assert (summary["sent"], summary["failed"], summary["bad_lines"]) == (2, 0, 0)

    piped = await agentstream("send", topic, "test.Line", "-f", "-",
                              stdin=b'{"n": 4}\n\xff{"n": 5}\n{"n": 6}\n')  # fmt: skip
    assert piped.exit_code == 1
    assert "line 2: not JSON" in piped.stderr  # bytes that are not UTF-8 end no read
    assert piped.stdout.startswith("sent 2, failed 0, bad lines 1")


async def test_send_from_stdin_keeps_to_the_rate(settings: Settings, topic: str) -> None:
    await ensure_topics(settings.kafka, [topic], 1)
    lines = "".join(orjson.dumps({"n": i}).decode() + "\n" for i in range(10))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams", "send", topic, "test.Rated", "--file", "-",
        "--rate", "20", cwd=ROOT, env=_subprocess_env(settings),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate(lines.encode())
    assert proc.returncode == 0, err.decode()
    assert out.decode().startswith("sent 10, failed 0, bad lines 0")
    records = await collect(settings, topic, 10)
    assert [orjson.loads(r.value)["n"] for r in records] == list(range(10))
    # ten messages at 20 a second: the last is due 9/20 s after the first
    assert records[-1].timestamp - records[0].timestamp >= 400


async def test_send_to_a_missing_topic_is_an_error(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTSTREAM_KAFKA__UNKNOWN_TOPIC_WAIT", "0.5")
    sent = await agentstream("send", f"{topic}-missing", "test.Thing", "{}")
    assert sent.exit_code == 1
    assert sent.stderr.startswith(f"error: topic '{topic}-missing' does not exist")


# -- tail --------------------------------------------------------------------------------
async def test_tail_reads_what_is_there_and_exits(settings: Settings, topic: str) -> None:
    await ensure_topics(settings.kafka, [topic], 2)
    headers = [("ce_type", b"test.Thing"), ("ce_id", b"id-1")]
    await _produce(settings, topic, [
        (0, b"a", b'{"n": 0}', headers), (0, b"a", b'{"n": 1}', headers),
        (1, None, b"plain text", []), (1, b"b", b'{"n": 3}', headers),
    ])  # fmt: skip

    everything = await agentstream("tail", topic, "--json")
    assert everything.exit_code == 0, everything.stderr
    got = _lines(everything)
    assert sorted((r["partition"], r["offset"]) for r in got) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    first = next(r for r in got if (r["partition"], r["offset"]) == (0, 0))
    assert first["key"] == "a"
    assert first["value"] == {"n": 0}
    assert first["headers"] == {"ce_type": "test.Thing", "ce_id": "id-1"}
    assert str(first["timestamp"]).endswith("+00:00")
    text = next(r for r in got if (r["partition"], r["offset"]) == (1, 0))
    assert (text["key"], text["value"], text["headers"]) == (None, "plain text", {})
    assert "4 record(s)" in everything.stderr

    limited = await agentstream("tail", topic, "--json", "--max", "2")
    assert len(_lines(limited)) == 2
    one = await agentstream("tail", topic, "--json", "--partition", "1")
    assert {r["partition"] for r in _lines(one)} == {1}
    last = await agentstream("tail", topic, "--json", "--last", "1")
    assert sorted((r["partition"], r["offset"]) for r in _lines(last)) == [(0, 1), (1, 1)]

    pretty = await agentstream("tail", topic, "--partition", "0")
    assert pretty.exit_code == 0
    assert "key=a" in pretty.stdout
    assert "ce_type=test.Thing" in pretty.stdout
    assert '"n": 1' in pretty.stdout

    missing = await agentstream("tail", f"{topic}-missing")
    assert missing.exit_code == 1
    assert "does not exist" in missing.stderr
    no_partition = await agentstream("tail", topic, "--partition", "7")
    assert no_partition.exit_code == 1
    assert "has no partition 7 (it has 2)" in no_partition.stderr


async def test_tail_since_starts_at_a_point_in_time(settings: Settings, topic: str) -> None:
    await ensure_topics(settings.kafka, [topic], 2)
    await _produce(settings, topic, [(p, None, b'"before"', []) for p in (0, 1)])
    await asyncio.sleep(0.3)
    middle = datetime.now(UTC)
    await asyncio.sleep(0.3)
    await _produce(settings, topic, [(p, None, b'"after"', []) for p in (0, 1, 1)])

    since = await agentstream("tail", topic, "--json", "--since", middle.isoformat())
    assert since.exit_code == 0, since.stderr
    assert [r["value"] for r in _lines(since)] == ["after"] * 3
    hour = await agentstream("tail", topic, "--json", "--since", "1h")
    assert sorted(str(r["value"]) for r in _lines(hour)) == ["after"] * 3 + ["before"] * 2


async def test_tail_follow_prints_new_records_only(settings: Settings, topic: str) -> None:
    await ensure_topics(settings.kafka, [topic], 1)
    await _produce(settings, topic, [(0, None, b'"old"', [])])
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams", "tail", topic, "--follow", "--json", "--max", "3",
        cwd=ROOT, env=_subprocess_env(settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    communicate = asyncio.ensure_future(proc.communicate())
    deadline = time.monotonic() + 60
    n = 0
    while not communicate.done() and time.monotonic() < deadline:
        await _produce(settings, topic, [(0, None, orjson.dumps(f"new-{n}"), [])])
        n += 1
        await asyncio.wait([communicate], timeout=0.5)
    out, err = await communicate
    assert proc.returncode == 0, err.decode()
    values = [orjson.loads(line)["value"] for line in out.decode().splitlines()]
    assert len(values) == 3
    assert "old" not in values
    assert all(str(v).startswith("new-") for v in values)


async def test_tail_read_committed_hides_aborted_transactions(
    settings: Settings, topic: str
) -> None:
    await ensure_topics(settings.kafka, [topic], 1)
    producer = AIOKafkaProducer(transactional_id=f"tx-{topic}", **client_kwargs(settings.kafka))
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(topic, b'"committed"')
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b'"aborted"')
        await producer.abort_transaction()
    finally:
        await producer.stop()

    everything = await agentstream("tail", topic, "--json", "--read-uncommitted")
    assert [r["value"] for r in _lines(everything)] == ["committed", "aborted"]
    committed = await agentstream("tail", topic, "--json", "--read-committed")
    assert committed.exit_code == 0, committed.stderr
    assert [r["value"] for r in _lines(committed)] == ["committed"]
    default = await agentstream("tail", topic, "--json")  # kafka.isolation_level
    assert [r["value"] for r in _lines(default)] == ["committed"]


async def test_tail_joins_no_group_and_commits_nothing(
    settings: Settings, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ensure_topics(settings.kafka, [topic], 1)
    await _produce(settings, topic, [(0, None, b"1", [])])
    seen: list[dict[str, object]] = []

    class Watched(AIOKafkaConsumer):  # type: ignore[misc]
        def __init__(self, *topics: str, **options: object) -> None:
            super().__init__(*topics, **options)
            seen.append(options)

        async def commit(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("tail committed")

    monkeypatch.setattr(connection, "AIOKafkaConsumer", Watched)
    result = await agentstream("tail", topic, "--json")
    assert result.exit_code == 0, result.stderr
    assert len(_lines(result)) == 1
    (options,) = seen
    assert options["group_id"] is None
    assert options["enable_auto_commit"] is False
    assert options["isolation_level"] == "read_committed"  # the settings' default


# -- lag ---------------------------------------------------------------------------------
async def test_lag_per_partition_and_in_total(settings: Settings, topic: str, group: str) -> None:
    await ensure_topics(settings.kafka, [topic], 2)
    await _produce(settings, topic, [(0, None, b"{}", [])] * 3 + [(1, None, b"{}", [])] * 2)
    consumer = AIOKafkaConsumer(group_id=group, enable_auto_commit=False,
                                **client_kwargs(settings.kafka))  # fmt: skip
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): 1})
    finally:
        await consumer.stop()

    lag = await agentstream("lag", group, "--json")
    assert lag.exit_code == 0, lag.stderr
    report = orjson.loads(lag.stdout)
    assert report["partitions"] == [
        {"topic": topic, "partition": 0, "committed": 1, "end": 3, "lag": 2},
        {"topic": topic, "partition": 1, "committed": None, "end": 2, "lag": 2},
    ]
    assert report["total"] == 4
    pretty = await agentstream("lag", group)
    assert f"total lag of {group}: 4" in pretty.stdout

    elsewhere = await agentstream("lag", group, "--topic", f"{topic}-other")
    assert elsewhere.exit_code == 1
    assert "no committed offsets in topic" in elsewhere.stderr
    unknown = await agentstream("lag", f"{group}-unknown")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith(f"error: consumer group '{group}-unknown' has no committed")
