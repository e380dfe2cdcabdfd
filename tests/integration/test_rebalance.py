"""A rebalance waits for in-flight work only within the revocation budget: a call stuck
for a minute does not hold the group, and what was abandoned is handled again."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import aiohttp
import pytest

from config import Settings
from tests.integration.apps import Work
from tests.integration.helpers import event, produce
from tests.integration.processes import EnvWorkers, free_port
from tests.integration.test_delivery import Outcomes, _topics_exist
from tests.integration.workers import wait_until

PARTITIONS = 4
STUCK_SECONDS = 60.0
REVOKE_TIMEOUT = 3.0


def _app_module(mailbox: str) -> str:
    """Events with ``fail=True`` stand for a model call stuck for a minute."""
    return f"""\
import asyncio
import os

from streams import App, Batch, Context, Retry
from tests.integration.apps import Result, Work

app = App("app-{mailbox}", partitions={PARTITIONS})


@app.agent({mailbox!r}, batch=Batch(max_size=50, within=0.05), concurrency=8,
           timeout=90, retry=Retry(attempts=1, outage=0))
async def work(msg: Work, ctx: Context) -> Result:
    if msg.fail:
        await asyncio.sleep({STUCK_SECONDS})
    return Result(id=msg.id, worker=os.getpid())
"""


def _events(n: int, stuck: int = 0) -> tuple[list[str], list]:
    """Events with keys of their own (a key shared with a stuck event would wait)."""
    ids = [uuid.uuid4().hex for _ in range(n)]
    records = []
    for i, id_ in enumerate(ids):
        value, headers = event(Work(id=id_, fail=i < stuck))
        records.append((id_.encode(), value, headers))
    return ids, records


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_stuck_call_does_not_hold_a_rebalance_past_the_budget(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    env = {
        "AGENTSTREAM_LIMITS__REVOKE_TIMEOUT": str(REVOKE_TIMEOUT),
        "AGENTSTREAM_LIMITS__SHUTDOWN_TIMEOUT": "5",  # the stuck calls are abandoned at exit
    }
    workers = EnvWorkers(settings, tmp_path, _app_module(topic), {0: env, 1: env})
    outcomes = Outcomes(settings, topic)
    stuck_ids, stuck = _events(4, stuck=4)  # one per partition, most likely
    first_ids, first = _events(200)
    later_ids, later = _events(200)
    try:
        await _first_worker(settings, topic, workers, outcomes, stuck + first)
        await wait_until(lambda: _count(outcomes, first_ids), 60, "the first 200 outcomes")
        joined = time.monotonic()
        workers.start(1)  # a rebalance while four calls are stuck in worker 0
        await wait_until(lambda: workers.ready(1), 60, "worker 1 ready")
        await wait_until(lambda: _abandoned(workers), 40, "worker 0 to abandon its stuck calls")
        await produce(settings, topic, later)
        await wait_until(lambda: _count(outcomes, later_ids), 60, "200 outcomes after the join")
        took = time.monotonic() - joined
        logs = workers.logs()
    finally:
        workers.stop_all()
        await outcomes.consumer.stop()
    print(
        f"a second worker joined while 4 calls were stuck for {STUCK_SECONDS:.0f} s; "
        f"revocation budget {REVOKE_TIMEOUT:.0f} s: 200 new events answered {took:.1f} s "
        f"after the join"
    )
    assert took < STUCK_SECONDS / 2, logs
    assert not set(stuck_ids) & set(outcomes.results)  # none finished: nothing committed


async def _first_worker(
    settings: Settings, topic: str, workers: EnvWorkers, outcomes: Outcomes, records: list
) -> None:
    """Worker 0 running, the outcomes read, then ``records`` sent."""
    workers.start(0)
    await wait_until(lambda: _topics_exist(settings, topic), 60, "the app's topics")
    await wait_until(lambda: workers.ready(0), 60, "worker 0 ready")
    await outcomes.consumer.start()
    await produce(settings, topic, records)


async def _abandoned(workers: EnvWorkers) -> bool:
    return "abandoned" in workers.log_files[0].read_text(errors="replace")


async def _count(outcomes: Outcomes, ids: list[str]) -> bool:
    await outcomes.poll()
    return all(i in outcomes.results for i in ids)


def _held_app_module(mailbox: str) -> str:
    """A backlog of 40 over 4 partitions: a partition holds 10 records at most. With
    ``TESTAPP_OTHER`` set, the worker reads another topic in the same group: its joining
    is a rebalance that leaves every partition of the mailbox where it was."""
    return f"""\
import asyncio
import os

from streams import App, Batch, Context, Retry
from tests.integration.apps import Result, Work

app = App("app-{mailbox}", partitions={PARTITIONS})
mailbox = {mailbox!r} + ("-other" if os.environ.get("TESTAPP_OTHER") else "")


@app.agent(mailbox, batch=Batch(max_size=10, within=0.05), concurrency=8, backlog=40,
           timeout=90, retry=Retry(attempts=1, outage=0))
async def work(msg: Work, ctx: Context) -> Result:
    if msg.fail:
        await asyncio.sleep({HELD_SECONDS})
    return Result(id=msg.id, worker=os.getpid())
"""


HELD_SECONDS = 30.0  # outlasts worker 1's start and the revocation budget


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_partition_held_behind_a_slow_call_flows_again_after_a_rebalance(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    """Worker 0 holds the slow call's partition (paused on its own) when a worker of
    another topic joins its group: the revocation abandons the call and lets the
    partition go, and worker 0, assigned it again, must take its records again: every
    event gets its result, nothing stays paused or set aside."""
    port = free_port()
    env = {"AGENTSTREAM_LIMITS__REVOKE_TIMEOUT": str(REVOKE_TIMEOUT)}
    workers = EnvWorkers(
        settings, tmp_path, _held_app_module(topic),
        {0: {**env, "AGENTSTREAM_WEB_PORT": str(port)}, 1: {**env, "TESTAPP_OTHER": "1"}},
    )  # fmt: skip
    outcomes = Outcomes(settings, topic)
    slow_ids, slow = _events(1, stuck=1)
    ids, others = _events(400)
    try:
        await _first_worker(settings, topic, workers, outcomes, slow + others)
        await wait_until(lambda: _held(port), 30, "worker 0 to hold the slow call's partition")
        workers.start(1)
        await wait_until(lambda: workers.ready(1), 60, "worker 1 ready")
        await wait_until(lambda: _abandoned(workers), 40, "worker 0 to abandon the slow call")
        await wait_until(lambda: _count(outcomes, ids + slow_ids), 90, "every outcome")
        logs = workers.logs()
    finally:
        workers.stop_all()
        await outcomes.consumer.stop()
    assert outcomes.duplicates() <= len(ids), logs  # at most handled again, never lost


async def _held(port: int) -> bool:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as r:
        text = await r.text()
    return any(
        line.startswith("agentstream_partitions_held{") and float(line.split()[-1]) >= 1
        for line in text.splitlines()
    )
