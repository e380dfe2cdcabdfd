"""Delivery across worker processes: one outcome per event, nothing lost on kill -9,
nothing lost or duplicated on SIGTERM, no duplicated side effects when idempotent."""

from __future__ import annotations

import collections
import signal
import uuid
from pathlib import Path

import orjson
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from config import Settings
from streams.connection import client_kwargs
from tests.integration.apps import Work
from tests.integration.helpers import event, produce
from tests.integration.workers import Workers, wait_until

PARTITIONS = 4

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


class Outcomes:
    """Tails the reply and dead-letter topics and counts outcomes per input id."""

    def __init__(self, settings: Settings, mailbox: str) -> None:
        self.consumer = AIOKafkaConsumer(
            f"{mailbox}.replies", f"{mailbox}.dlq",
            auto_offset_reset="earliest", enable_auto_commit=False,
            **client_kwargs(settings.kafka),
        )  # fmt: skip
        self.results: collections.Counter[str] = collections.Counter()
        self.dead: collections.Counter[str] = collections.Counter()
        self.where: dict[str, list[tuple[str, int, int, int | None]]] = {}

    async def poll(self) -> int:
        batches = await self.consumer.getmany(timeout_ms=100)
        for records in batches.values():
            for r in records:
                target = self.dead if r.topic.endswith(".dlq") else self.results
                body = orjson.loads(r.value)
                target[body["id"]] += 1
                self.where.setdefault(body["id"], []).append(
                    (r.topic[-4:], r.partition, r.offset, body.get("worker"))
                )
        return len(set(self.results) | set(self.dead))

    def duplicates(self) -> int:
        return (
            sum(self.results.values())
            + sum(self.dead.values())
            - len(set(self.results) | set(self.dead))
        )


def _inputs(n: int, fail_every: int = 0) -> tuple[list[str], list]:
    ids = [uuid.uuid4().hex for _ in range(n)]
    records = []
    for i, id_ in enumerate(ids):
        fail = bool(fail_every) and i % fail_every == 0
        value, headers = event(Work(id=id_, fail=fail))
        records.append((f"key-{i % 97}".encode(), value, headers))
    return ids, records


def _app_module(mailbox: str, idempotent: bool = False) -> str:
    return (
        "from tests.integration.apps import build\n"
        f"app = build({mailbox!r}, partitions={PARTITIONS}, idempotent={idempotent})\n"
    )


async def _run(
    settings: Settings,
    tmp_path: Path,
    mailbox: str,
    n: int,
    disruptions: list[signal.Signals],
    idempotent: bool = False,
    fail_every: int = 0,
) -> tuple[list[str], Outcomes, Workers]:
    ids, records = _inputs(n, fail_every)
    workers = Workers(settings, tmp_path, _app_module(mailbox, idempotent))
    outcomes = Outcomes(settings, mailbox)
    workers.start(0)
    workers.start(1)
    try:
        await wait_until(lambda: _topics_exist(settings, mailbox), 60, "the app's topics")
        await produce(settings, mailbox, records[:100])
        await outcomes.consumer.start()
        await wait_until(lambda: _seen(outcomes, 100), 120, "the first 100 outcomes")
        await produce(settings, mailbox, records[100:])
        for i, sig in enumerate(disruptions):
            target = n * (i + 1) // (len(disruptions) + 1)
            await wait_until(lambda t=target: _seen(outcomes, t), 180, f"{target} outcomes")
            slot = i % 2
            code = workers.signal(slot, sig)
            if sig == signal.SIGTERM:
                assert code == 0, workers.logs()
            workers.start(slot)
            await wait_until(lambda s=slot: workers.ready(s), 60, f"worker {slot} ready")
        await wait_until(lambda: _seen(outcomes, n), 240, f"all {n} outcomes")
    except AssertionError:
        print(workers.logs())
        raise
    finally:
        workers.stop_all()
        await outcomes.consumer.stop()
    return ids, outcomes, workers


async def _topics_exist(settings: Settings, mailbox: str) -> bool:
    admin = AIOKafkaAdminClient(**client_kwargs(settings.kafka))
    await admin.start()
    try:
        return f"{mailbox}.dlq" in await admin.list_topics()
    finally:
        await admin.close()


async def _seen(outcomes: Outcomes, count: int) -> bool:
    return await outcomes.poll() >= count


async def test_every_event_has_exactly_one_outcome(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    ids, outcomes, _ = await _run(settings, tmp_path, topic, 10_000, [], fail_every=100)
    assert set(outcomes.results) | set(outcomes.dead) == set(ids)
    assert not set(outcomes.results) & set(outcomes.dead)
    assert len(outcomes.dead) == 100
    dups = {k: v for k, v in outcomes.where.items() if len(v) > 1}
    assert outcomes.duplicates() == 0, list(dups.items())[:10]


async def test_kill_9_loses_nothing(settings: Settings, topic: str, tmp_path: Path) -> None:
    kills = [signal.SIGKILL] * 3
    ids, outcomes, _ = await _run(settings, tmp_path, topic, 20_000, kills, fail_every=500)
    assert set(outcomes.results) | set(outcomes.dead) == set(ids)
    print(f"kill -9 x3 over 20,000 events: {outcomes.duplicates()} duplicate outcomes")


async def test_kill_9_with_idempotent_agent_never_repeats_side_effects(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    kills = [signal.SIGKILL] * 3
    ids, outcomes, _ = await _run(settings, tmp_path, topic, 20_000, kills, idempotent=True)
    assert set(outcomes.results) | set(outcomes.dead) == set(ids)
    redis = aioredis.Redis.from_url(settings.redis.url)
    try:
        counts = await redis.mget([f"sidefx:{topic}:{i}" for i in ids])
    finally:
        await redis.aclose()
    repeated = [c for c in counts if c is not None and int(c) > 1]
    print(
        f"idempotent, kill -9 x3 over 20,000 events: {outcomes.duplicates()} duplicate "
        f"outcomes, {len(outcomes.dead)} dead letters, {len(repeated)} repeated side effects"
    )
    assert repeated == []


async def test_sigterm_loses_and_duplicates_nothing(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    stops = [signal.SIGTERM] * 3
    ids, outcomes, workers = await _run(settings, tmp_path, topic, 20_000, stops)
    assert set(outcomes.results) == set(ids)
    assert outcomes.duplicates() == 0
    assert [code for _, code in workers.exit_codes] == [0] * 5
