"""Exactly-once under faults (3 workers, 12-partition mailbox, outcomes read with
read_committed): kill -9 of random workers, a worker frozen past its session timeout
(the zombie), and a broker restart. Every event ends as exactly one result or dead
letter; the at-least-once runs of the same faults are scenarios 1, 3 and 4."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import pytest

from config import Settings
from tests.chaos.cluster import PrivateKafka
from tests.chaos.harness import Chaos
from tests.chaos.profiles import Profile, current
from tests.chaos.verifier import jobs

pytestmark = pytest.mark.timeout(current().timeout)


async def test_kill_9_under_exactly_once_neither_loses_nor_duplicates(
    settings: Settings, tmp_path: Path, profile: Profile
) -> None:
    mailbox = f"chaos-eos-kill-{uuid.uuid4().hex[:8]}"
    async with Chaos(
        "eos-kill-9", settings, tmp_path, profile, {mailbox: False}, guarantee="exactly_once"
    ) as chaos:
        records = jobs(mailbox, profile.events)
        feeding = asyncio.create_task(chaos.send(records, profile.rate))
        for _ in range(profile.kills):
            await chaos.watch(profile.kill_every)
            await chaos.bounce(signal.SIGKILL)
        ids = await feeding
        await chaos.settle(ids, profile.settle)
        repeated = await chaos.repeated_side_effects(mailbox, ids)
        v = await chaos.verdict(
            "11-eos-kill-9",
            ids,
            extra={"handler re-runs (outside the transaction)": repeated},
        )
    assert v.extra["SIGKILL"] == profile.kills
    assert (v.lost, v.duplicates, v.dead_letters, v.out_of_order) == (0, 0, 0, 0), v.lost_ids
    assert not chaos.crashes, f"workers quit: {chaos.crashes}"


async def test_a_zombie_worker_is_fenced_and_duplicates_nothing(
    settings: Settings, tmp_path: Path, profile: Profile
) -> None:
    """SIGSTOP past the session timeout: the frozen worker's partitions move, their new
    owners' producers fence it; on SIGCONT its open transactions fail, it exits 1 and
    is restarted (``supervise``); nothing it did after losing the partitions shows."""
    mailbox = f"chaos-eos-stop-{uuid.uuid4().hex[:8]}"
    async with Chaos(
        "eos-sigstop", settings, tmp_path, profile, {mailbox: False}, guarantee="exactly_once"
    ) as chaos:
        chaos.supervise = True
        ids, _ = await chaos.freeze_one(mailbox)
        v = await chaos.verdict(
            "12-eos-sigstop", ids, extra={"stopped for": f"{profile.stop_for:.0f} s"}
        )
    assert (v.lost, v.duplicates, v.dead_letters, v.out_of_order) == (0, 0, 0, 0), v.lost_ids
    assert all(code != 0 for _, code in chaos.crashes)  # only a fenced worker quits (exit 1)


async def test_a_broker_restart_under_exactly_once_neither_loses_nor_duplicates(
    settings: Settings, tmp_path: Path, profile: Profile
) -> None:
    broker = PrivateKafka(settings, tmp_path / "broker")
    await broker.start()
    mailbox = f"chaos-eos-broker-{uuid.uuid4().hex[:8]}"
    try:
        async with Chaos(
            "eos-broker",
            broker.settings,
            tmp_path,
            profile,
            {mailbox: False},
            guarantee="exactly_once",
        ) as chaos:
            chaos.supervise = True
            ids, outage = await chaos.broker_outage(broker, mailbox)
            v = await chaos.verdict(
                "13-eos-broker-restart", ids, extra={"broker down": f"{outage:.0f} s"}
            )
    finally:
        await broker.stop()
    assert (v.lost, v.duplicates, v.dead_letters, v.out_of_order) == (0, 0, 0, 0), v.lost_ids
