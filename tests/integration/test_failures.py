"""Failures around a worker: an outage of Redis under an idempotent agent is ridden out
without a restart; a ``FatalError`` from a handler stops the worker with a non-zero code
so that another worker takes its partitions over; a dead agent makes /healthz say so."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiokafka.partitioner import DefaultPartitioner

from config import RedisSettings, Settings
from tests.integration.apps import Work
from tests.integration.helpers import event, produce
from tests.integration.processes import EnvWorkers, PrivateRedis
from tests.integration.test_delivery import Outcomes, _app_module, _inputs, _topics_exist
from tests.integration.workers import ROOT, Workers, wait_until

PARTITIONS = 4
Record = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


async def _seen(outcomes: Outcomes, count: int) -> bool:
    return await outcomes.poll() >= count


def _alive(workers: Workers, slot: int, pid: int, when: str) -> None:
    proc = workers.procs[slot]
    code = proc.poll()
    assert proc.pid == pid, f"worker {slot} was restarted"
    assert code is None, f"worker {slot} (pid {pid}) exited with {code} {when}\n{workers.logs()}"


# -- Redis outage ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.serial  # 10,000 events must be through within 45 s of Redis's return
@pytest.mark.timeout(240)
async def test_idempotent_agent_rides_out_a_redis_outage_without_a_restart(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    n, outage, recovery_limit = 10_000, 20.0, 45.0
    redis_server = PrivateRedis(tmp_path / "redis")
    await redis_server.start()
    private = settings.model_copy(update={"redis": RedisSettings(url=redis_server.url)})
    ids, records = _inputs(n)
    workers = EnvWorkers(private, tmp_path, _app_module(topic, idempotent=True))
    outcomes = Outcomes(settings, topic)
    workers.start(0)
    pid = workers.procs[0].pid

    async def feed() -> None:  # 1,000 events a second: most arrive while Redis is down
        for i in range(0, n, 200):
            await produce(settings, topic, records[i : i + 200])
            await asyncio.sleep(0.2)

    feeding: asyncio.Task[None] | None = None
    try:
        await wait_until(lambda: _topics_exist(settings, topic), 60, "the app's topics")
        await outcomes.consumer.start()
        feeding = asyncio.create_task(feed())
        await wait_until(lambda: _seen(outcomes, 2000), 60, "2,000 outcomes")
        redis_server.stop()  # events are in flight and keep coming
        at_stop = await outcomes.poll()
        down_at = time.monotonic()
        while time.monotonic() - down_at < outage:
            _alive(workers, 0, pid, "while Redis was down")
            await outcomes.poll()
            await asyncio.sleep(0.5)
        await feeding
        during = await outcomes.poll()
        print(f"outcomes: {at_stop} when Redis stopped, {during} after {outage:.0f} s without it")
        await redis_server.start()
        back_at = time.monotonic()

        async def all_seen() -> bool:
            _alive(workers, 0, pid, "after Redis came back")
            return await _seen(outcomes, n)

        await wait_until(all_seen, recovery_limit, f"all {n} outcomes after Redis returned")
        recovered = time.monotonic() - back_at
        _alive(workers, 0, pid, "at the end")
        repeated = await _repeated_side_effects(redis_server.url, topic, ids)
        code = workers.terminate(0)
    except AssertionError:
        print(workers.logs())
        raise
    finally:
        if feeding is not None and not feeding.done():
            feeding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeding
        try:
            workers.stop_all()
            await outcomes.consumer.stop()
        finally:
            if redis_server.proc is not None:
                redis_server.stop()
    print(
        f"Redis outage of {outage:.0f} s under an idempotent agent, {n} events, one worker "
        f"(pid {pid}): all {n} outcomes {recovered:.1f} s after it returned; "
        f"{len(outcomes.results)} results, "
        f"{len(outcomes.dead)} dead letters, {outcomes.duplicates()} duplicate outcomes, "
        f"{repeated} repeated side effects; exit code on SIGTERM {code}"
    )
    assert set(outcomes.results) | set(outcomes.dead) == set(ids)
    # The handler's own Redis calls fail during the outage too: Retry.outage rides them out.
    assert not outcomes.dead, f"{len(outcomes.dead)} events dead-lettered during the outage"
    assert code == 0, f"SIGTERM exit code {code} (None: still running 30 s later)"


async def _repeated_side_effects(url: str, mailbox: str, ids: list[str]) -> int:
    client = aioredis.Redis.from_url(url)
    try:
        counts = await client.mget([f"sidefx:{mailbox}:{i}" for i in ids])
    finally:
        await client.aclose()
    return sum(1 for c in counts if c is not None and int(c) > 1)


# -- FatalError --------------------------------------------------------------------------
def _fatal_app_module(mailbox: str) -> str:
    """Events with ``fail=True`` are fatal on a worker started with TEST_FATAL_WORKER=1 and
    ordinary everywhere else."""
    return f"""\
import os

from streams import App, Batch, Context, FatalError
from tests.integration.apps import Result, Work

app = App("app-{mailbox}", partitions={PARTITIONS})


@app.agent({mailbox!r}, batch=Batch(max_size=50, within=0.1))
async def work(msg: Work, ctx: Context) -> Result:
    if msg.fail and os.environ.get("TEST_FATAL_WORKER") == "1":
        raise FatalError(f"{{msg.id}} is fatal on this worker")
    return Result(id=msg.id, worker=os.getpid())
"""


def _fatal_inputs(
    n: int, first_fatal: int, per_partition: int
) -> tuple[list[str], list[Record], set[str]]:
    """``n`` events keyed over 97 keys; from index ``first_fatal`` on, ``per_partition``
    fatal ones on each partition of the mailbox."""
    partition_of = DefaultPartitioner()
    fatal_left = dict.fromkeys(range(PARTITIONS), per_partition)
    ids: list[str] = []
    records: list[Record] = []
    fatal_ids: set[str] = set()
    for i in range(n):
        key = f"key-{i % 97}".encode()
        p = partition_of(key, list(range(PARTITIONS)), list(range(PARTITIONS)))
        fatal = i >= first_fatal and fatal_left[p] > 0 and i % 7 == 0
        ids.append(uuid.uuid4().hex)
        if fatal:
            fatal_left[p] -= 1
            fatal_ids.add(ids[-1])
        value, headers = event(Work(id=ids[-1], fail=fatal))
        records.append((key, value, headers))
    assert not any(fatal_left.values()), "every partition has fatal events"
    return ids, records, fatal_ids


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_fatal_error_stops_the_worker_and_another_takes_over(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    n, warmup_max, exit_limit = 1000, 300, 30.0
    ids, records, fatal_ids = _fatal_inputs(n, first_fatal=warmup_max, per_partition=2)
    workers = EnvWorkers(
        settings, tmp_path, _fatal_app_module(topic), slot_env={0: {"TEST_FATAL_WORKER": "1"}}
    )
    outcomes = Outcomes(settings, topic)
    workers.start(0)
    workers.start(1)
    fatal_pid, other_pid = workers.procs[0].pid, workers.procs[1].pid
    try:
        await wait_until(lambda: _topics_exist(settings, topic), 60, "the app's topics")
        await outcomes.consumer.start()
        pids = {fatal_pid, other_pid}
        sent = await _warm_up(settings, topic, records[:warmup_max], outcomes, pids)
        started = time.monotonic()
        await produce(settings, topic, records[sent:])  # with the fatal events
        proc = workers.procs[0]
        while proc.poll() is None and time.monotonic() - started < exit_limit:
            await outcomes.poll()
            await asyncio.sleep(0.2)
        code = proc.poll()
        exited_after = time.monotonic() - started
        assert code is not None, f"worker 0 still runs {exit_limit:.0f} s after its fatal events"
        workers.procs.pop(0)
        workers.exit_codes.append((0, code))
        await wait_until(lambda: _seen(outcomes, n), 90, f"all {n} outcomes")
        _alive(workers, 1, other_pid, "after taking over")
    except AssertionError:
        print(workers.logs())
        raise
    finally:
        workers.stop_all()
        await outcomes.consumer.stop()
    fatal_results = {i: outcomes.where[i] for i in fatal_ids}
    print(
        f"{n} events, {len(fatal_ids)} fatal ones: worker 0 exited with {code} "
        f"{exited_after:.1f} s after they were sent; {len(outcomes.results)} results, "
        f"{len(outcomes.dead)} dead letters, {outcomes.duplicates()} duplicate outcomes"
    )
    assert code != 0, "a fatal error must exit non-zero"
    assert set(outcomes.results) | set(outcomes.dead) == set(ids)
    for event_id, where in fatal_results.items():  # handled again by worker 1, normally
        assert other_pid in {w[3] for w in where if w[0] != ".dlq"}, (event_id, where)


async def _warm_up(
    settings: Settings, topic: str, records: list[Record], outcomes: Outcomes, pids: set[int]
) -> int:
    """Send ordinary events in chunks until both workers have handled some (both hold
    partitions); returns how many were sent."""
    sent = 0
    while sent < len(records):
        await produce(settings, topic, records[sent : sent + 50])
        sent += 50
        await wait_until(lambda s=sent: _seen(outcomes, s), 60, f"{sent} warm-up outcomes")
        handled_by = {w[3] for where in outcomes.where.values() for w in where}
        if pids <= handled_by:
            return sent
        await asyncio.sleep(1)
    raise AssertionError(f"both workers never held partitions during {sent} warm-up events")


# -- /healthz ----------------------------------------------------------------------------
def _healthz_script(mailbox: str) -> str:
    """An app and its web endpoints in one process, without the worker's exit on a crash,
    so /healthz can be asked while the agent is dead. It prints its web port. (A separate
    process, not this one: an app whose agent died may never finish stopping.)"""
    return f"""\
import asyncio
import os

from streams import App, Batch, Context
from streams.web import WebServer
from tests.integration.apps import Result, Work

app = App("app-{mailbox}")


@app.agent({mailbox!r}, batch=Batch(max_size=10, within=0.05))
async def work(msg: Work, ctx: Context) -> Result:
    if msg.fail:
        from streams.errors import FatalError

        raise FatalError(f"{{msg.id}} is fatal")
    return Result(id=msg.id, worker=os.getpid())


async def main() -> None:
    web = WebServer(app, 0, host="127.0.0.1")
    port = await web.start()
    await app.start()
    print(port, flush=True)
    await asyncio.Event().wait()  # until killed


asyncio.run(main())
"""


@pytest.mark.timeout(90)
async def test_healthz_answers_503_while_an_agent_is_dead(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    script = tmp_path / "healthz_app.py"
    script.write_text(_healthz_script(topic))
    env = {
        **os.environ,
        "AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "AGENTSTREAM_REDIS__URL": settings.redis.url,
        "PYTHONPATH": str(ROOT),  # this checkout's runtime, as for the workers
    }
    log_path = tmp_path / "healthz_app.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(script), cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=log,
        )  # fmt: skip
    statuses: list[int] = []
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(60):
            line = await proc.stdout.readline()
        assert line.strip().isdigit(), f"no port printed: {log_path.read_text()[-3000:]}"
        url = f"http://127.0.0.1:{int(line)}/healthz"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as response:
                assert response.status == 200, await response.text()
            await produce(settings, topic, [(b"k", *event(Work(id="fatal", fail=True)))])
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and proc.returncode is None:
                async with http.get(url) as response:
                    statuses.append(response.status)
                    if response.status == 503:
                        break
                await asyncio.sleep(0.2)
    finally:
        exit_code = proc.returncode  # None: it still ran
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    print(f"/healthz after a fatal error, {len(statuses)} polls: {dict(Counter(statuses))}")
    assert statuses[-1:] == [503], (
        f"/healthz answered {statuses[-1:]} after a fatal error (exit code of the app "
        f"process: {exit_code})\n" + log_path.read_text(errors="replace")[-3000:]
    )
