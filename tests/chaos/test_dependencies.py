"""Scenarios 3, 8 and 9: what the workers depend on goes away while events flow: the
broker (a private one), the dead-letter topic, Redis (a private one). The shared broker
and Redis other tests use are never stopped."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from config import RedisSettings, Settings
from tests.chaos.cluster import PrivateKafka, committed, set_dlq_writable
from tests.chaos.harness import Chaos
from tests.chaos.profiles import Profile, current
from tests.chaos.verifier import jobs
from tests.integration.processes import PrivateRedis

pytestmark = pytest.mark.timeout(current().timeout)


async def test_a_broker_stopped_mid_run_loses_nothing(
    settings: Settings, tmp_path: Path, profile: Profile
) -> None:
    broker = PrivateKafka(settings, tmp_path / "broker")
    await broker.start()
    mailbox = f"chaos-broker-{uuid.uuid4().hex[:8]}"
    try:
        async with Chaos("broker", broker.settings, tmp_path, profile, {mailbox: False}) as chaos:
            ids, outage = await chaos.broker_outage(broker, mailbox)
            v = await chaos.verdict(
                "3-broker-outage", ids, extra={"broker down": f"{outage:.0f} s"}
            )
    finally:
        await broker.stop()
    assert (v.lost, v.out_of_order) == (0, 0), v.lost_ids
    assert not chaos.crashes, f"workers quit: {chaos.crashes}"


async def test_an_unwritable_dead_letter_topic_holds_its_events_offsets(
    settings: Settings, tmp_path: Path, profile: Profile
) -> None:
    """The dead-letter topic refuses every write for ``dlq_outage`` seconds. Behaviour: a
    worker that cannot write a dead letter stops (exit 1) without committing its event;
    restarted (as its supervisor would), it stops again until the topic takes writes.
    Meanwhile no partition's committed offset may pass its first failed event."""
    mailbox = f"chaos-dlq-{uuid.uuid4().hex[:8]}"
    async with Chaos("dlq", settings, tmp_path, profile, {mailbox: False}) as chaos:
        chaos.supervise = True
        records = jobs(mailbox, profile.events, fail_every=100)
        failing = {r.id for r in records[99::100]}
        await set_dlq_writable(settings.kafka, mailbox, writable=False)
        ids = await chaos.send(records)
        first_failure: dict[int, int] = {}
        for event_id in failing:
            partition, offset = chaos.placed[event_id]
            first_failure[partition] = min(offset, first_failure.get(partition, offset))
        passed, held = await _watch_commits(chaos, mailbox, first_failure, profile.dlq_outage)
        exits_meanwhile = len(chaos.crashes)
        await set_dlq_writable(settings.kafka, mailbox, writable=True)
        await chaos.settle(ids, profile.settle)
        v = await chaos.verdict(
            "8-dlq-unwritable",
            ids,
            extra={
                "unwritable": f"{profile.dlq_outage:.0f} s",
                "partitions held at their failure": f"{held}/{len(first_failure)}",
                "commits past a failed event": passed,
            },
        )
    assert passed == 0
    assert exits_meanwhile > 0  # the outage was felt
    assert {code for _, code in chaos.crashes} == {1}, chaos.crashes
    assert v.lost == 0, v.lost_ids
    assert set(chaos.reader.tally.dead) == failing


async def _watch_commits(
    chaos: Chaos, mailbox: str, first_failure: dict[int, int], seconds: float
) -> tuple[int, int]:
    """Sample the group's commits for ``seconds``: (samples where a partition's commit
    passed its first failed event, partitions committed up to exactly that event)."""
    passed = 0
    latest: dict[int, int] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        latest = await committed(chaos.settings.kafka, chaos.app_id, mailbox)
        passed += sum(1 for p, o in latest.items() if o > first_failure.get(p, o))
        await chaos.watch(0.5)
    held = sum(1 for p, o in first_failure.items() if latest.get(p) == o)
    return passed, held


async def test_redis_down_under_idempotent_agents_stalls_then_recovers(
    settings: Settings, tmp_path: Path, profile: Profile
) -> None:
    """Behaviour: idempotency claims are retried until Redis answers and the handler's own
    Redis calls are retried for up to ``Retry.outage`` (60 s): the agents stall, then go
    on by themselves; nothing is lost or dead-lettered."""
    redis_server = PrivateRedis(tmp_path / "redis")
    await redis_server.start()
    private = settings.model_copy(update={"redis": RedisSettings(url=redis_server.url)})
    mailbox = f"chaos-redis-{uuid.uuid4().hex[:8]}"
    try:
        async with Chaos("redis", private, tmp_path, profile, {mailbox: True}) as chaos:
            records = jobs(mailbox, profile.events)
            feeding = asyncio.create_task(chaos.send(records, profile.rate))
            await chaos.watch(profile.kill_every)
            redis_server.stop()
            await chaos.watch(profile.redis_outage)
            at_restart = len(chaos.reader.tally.outcomes())
            await redis_server.start()
            ids = await feeding
            await chaos.settle(ids, profile.settle)
            repeated = await chaos.repeated_side_effects(mailbox, ids)
            v = await chaos.verdict(
                "9-redis-outage", ids,
                extra={"Redis down": f"{profile.redis_outage:.0f} s",
                   "repeated side effects": repeated},
            )  # fmt: skip
    finally:
        if redis_server.proc is not None:
            redis_server.stop()
    assert at_restart < len(ids)  # the outage did stall the agents
    assert (v.lost, v.dead_letters) == (0, 0), v.lost_ids
    assert repeated == 0
    assert not chaos.crashes, f"workers quit: {chaos.crashes}"
