"""One scenario's world: its topics, worker processes of the chaos app, a producer that
seeds events, the verifier's reader, and the disruptions applied to the workers."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from config import Settings
from streams.app import Guarantee
from streams.connection import client_kwargs
from tests.chaos.chaosapp import module_source, side_effect_key
from tests.chaos.cluster import PrivateKafka, create_mailboxes, lag
from tests.chaos.profiles import Profile
from tests.chaos.verifier import Reader, Record, Verdict, jobs, judge, table
from tests.integration.processes import EnvWorkers


class Chaos:
    """``async with Chaos(...) as chaos``: topics created, reader started, ``workers``
    worker processes ready; on exit the workers are stopped (killed if they hang)."""

    def __init__(
        self,
        scenario: str,
        settings: Settings,
        tmp: Path,
        profile: Profile,
        mailboxes: dict[str, bool],
        *,
        workers: int = 3,
        partitions: int = 12,
        backlog: int | None = None,
        worker_env: dict[str, str] | None = None,
        guarantee: Guarantee = "at_least_once",
    ) -> None:
        self.scenario = scenario
        self.settings = settings
        self.profile = profile
        self.mailboxes = mailboxes
        self.partitions = partitions
        self.app_id = f"chaos-{scenario}-{uuid.uuid4().hex[:8]}"
        source = module_source(self.app_id, mailboxes, backlog=backlog, guarantee=guarantee)
        self.workers = EnvWorkers(settings, tmp, source)
        self.workers.env.update(worker_env or {})
        self.size = workers
        self.reader = Reader(settings, list(mailboxes))
        self.disruptions: dict[str, int] = {}
        self.crashes: list[tuple[int, int]] = []  # (slot, exit code) of workers that quit
        self.supervise = False  # restart workers that quit, as a process supervisor would
        self.placed: dict[str, tuple[int, int]] = {}  # id -> (partition, offset) in its mailbox
        self.started = 0.0
        self._producer: AIOKafkaProducer | None = None

    async def __aenter__(self) -> Chaos:
        await create_mailboxes(self.settings.kafka, list(self.mailboxes), self.partitions)
        await self.reader.start()
        self._producer = AIOKafkaProducer(
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_request_size=16 * 1024 * 1024,
            request_timeout_ms=180_000,  # seeding rides out a broker outage
            **client_kwargs(self.settings.kafka),
        )
        await self._producer.start()
        for slot in range(self.size):
            self.workers.start(slot)
        await asyncio.gather(*(self.ready(slot) for slot in range(self.size)))
        self.started = time.monotonic()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if kind is not None:
                print(f"\n--- worker logs of {self.scenario} ---\n{self.workers.logs()}")
            await asyncio.to_thread(self.workers.stop_all)
        finally:
            if self._producer is not None:
                await self._producer.stop()
            await self.reader.stop()
            await self._forget_side_effects()

    # -- events -------------------------------------------------------------------------
    async def send(self, records: list[Record], rate: float | None = None) -> list[str]:
        """Send ``records`` (at ``rate`` per second, else at once); their ids, once every
        one is acknowledged."""
        assert self._producer is not None
        producer = self._producer
        step = max(1, int(rate / 10)) if rate else len(records) or 1
        futures = []
        for i in range(0, len(records), step):
            futures += [
                await producer.send(r.topic, r.value, r.key, headers=r.headers)
                for r in records[i : i + step]
            ]
            if rate:
                await asyncio.sleep(0.1)
        for r, meta in zip(records, await asyncio.gather(*futures), strict=True):
            self.placed[r.id] = (meta.partition, meta.offset)
        return [r.id for r in records]

    async def settle(self, ids: list[str], limit: float) -> bool:
        """Read outcomes until every id has one, or the group has committed every mailbox
        to its end twice in a row with outcomes still missing (they will not come), or
        ``limit`` seconds passed. True when every id has an outcome."""
        wanted = set(ids)
        deadline = time.monotonic() + limit
        checked, idle = time.monotonic(), 0
        while time.monotonic() < deadline:
            await self.reader.poll()
            self.notice_crashes()
            if wanted <= self.reader.tally.outcomes():
                return True
            if time.monotonic() - checked >= 2.0:
                checked = time.monotonic()
                idle = idle + 1 if await self._all_committed() else 0
                if idle >= 3:
                    await self.reader.to_end()
                    return wanted <= self.reader.tally.outcomes()
        return False

    async def _all_committed(self) -> bool:
        kafka = self.settings.kafka
        for mailbox in self.mailboxes:
            if await lag(kafka, self.app_id, mailbox, self.partitions) > 0:
                return False
        return True

    async def watch(self, seconds: float) -> None:
        """Let ``seconds`` pass while reading outcomes and noticing workers that quit."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            await self.reader.poll(timeout_ms=int(min(left, 0.2) * 1000))
            self.notice_crashes()

    async def verdict(
        self,
        scenario: str,
        ids: list[str],
        *,
        mailboxes: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Verdict:
        """Read every outcome topic to its end and judge the events ``ids`` of
        ``mailboxes`` (default: all); printed and written as JSON."""
        await self.reader.to_end()
        seconds = time.monotonic() - self.started
        extra = {**self.disruptions, **(extra or {})}
        if self.crashes:
            extra["worker exits"] = len(self.crashes)
        boxes = mailboxes or list(self.mailboxes)
        tally = self.reader.tally
        verdict = judge(scenario, self.profile.name, boxes, ids, tally, seconds, extra)
        verdict.write()
        print(f"\n{table([verdict])}")
        return verdict

    async def repeated_side_effects(self, mailbox: str, ids: list[str]) -> int:
        """Ids whose handler ran (``INCR``) more than once."""
        client = aioredis.Redis.from_url(self.settings.redis.url)
        try:
            counts = []
            for i in range(0, len(ids), 5000):
                chunk = ids[i : i + 5000]
                counts += await client.mget([side_effect_key(mailbox, x) for x in chunk])
        finally:
            await client.aclose()
        return sum(1 for c in counts if c is not None and int(c) > 1)

    async def _forget_side_effects(self) -> None:
        with contextlib.suppress(OSError, aioredis.RedisError):
            client = aioredis.Redis.from_url(self.settings.redis.url, socket_timeout=5)
            try:
                for mailbox in self.mailboxes:
                    keys = [k async for k in client.scan_iter(side_effect_key(mailbox, "*"))]
                    for i in range(0, len(keys), 5000):
                        await client.unlink(*keys[i : i + 5000])
            finally:
                await client.aclose()

    # -- scenario bodies shared by both delivery guarantees ------------------------------
    async def freeze_one(self, mailbox: str) -> tuple[list[str], int]:
        """Events at the profile's rate while one worker is SIGSTOPped past its session
        timeout, then SIGCONTed; their ids once settled, and the frozen worker's slot."""
        profile = self.profile
        feeding = asyncio.create_task(self.send(jobs(mailbox, profile.events), profile.rate))
        await self.watch(profile.kill_every)
        frozen = self.live()[0]
        await self.pause(frozen, profile.stop_for)
        ids = await feeding
        await self.settle(ids, profile.settle)
        return ids, frozen

    async def broker_outage(self, broker: PrivateKafka, mailbox: str) -> tuple[list[str], float]:
        """Events at the profile's rate while ``broker`` is stopped and started again;
        their ids once settled, and how long the broker did not answer."""
        profile = self.profile
        feeding = asyncio.create_task(self.send(jobs(mailbox, profile.events), profile.rate))
        await self.watch(profile.kill_every)
        await broker.stop()
        down = time.monotonic()
        await self.watch(profile.broker_outage)
        await broker.start()
        outage = time.monotonic() - down
        ids = await feeding
        await self.settle(ids, profile.settle)
        return ids, outage

    # -- workers ------------------------------------------------------------------------
    async def ready(self, slot: int, limit: float = 90.0) -> None:
        deadline = time.monotonic() + limit
        while not await self.workers.ready(slot):
            proc = self.workers.procs.get(slot)
            if proc is None or proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker {slot} did not become ready:\n{self.workers.logs()}")
            await asyncio.sleep(0.2)

    def live(self) -> list[int]:
        return sorted(s for s, p in self.workers.procs.items() if p.poll() is None)

    def notice_crashes(self) -> None:
        """Workers that exited by themselves are recorded, and restarted when
        ``supervise`` is on."""
        for slot, proc in list(self.workers.procs.items()):
            code = proc.poll()
            if code is not None:
                self.workers.procs.pop(slot)
                self.crashes.append((slot, code))
                if self.supervise:
                    self.workers.start(slot)

    async def kill(self, slot: int, sig: signal.Signals) -> int:
        """Send ``sig`` and wait for the exit; the exit code."""
        self._count(sig.name)
        return await asyncio.to_thread(self.workers.signal, slot, sig)

    async def bounce(self, sig: signal.Signals, wait_ready: bool = False) -> tuple[int, int]:
        """``sig`` to a random live worker, then start it again: (slot, exit code)."""
        slot = random.choice(self.live())
        code = await self.kill(slot, sig)
        self.workers.start(slot)
        if wait_ready:
            await self.ready(slot)
        return slot, code

    async def pause(self, slot: int, seconds: float) -> None:
        """SIGSTOP a worker for ``seconds``, then SIGCONT it."""
        self._count("SIGSTOP")
        proc = self.workers.procs[slot]
        proc.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(seconds)
        finally:
            proc.send_signal(signal.SIGCONT)

    def _count(self, what: str) -> None:
        self.disruptions[what] = self.disruptions.get(what, 0) + 1
