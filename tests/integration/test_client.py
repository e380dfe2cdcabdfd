"""client.ask across processes, and a clear error when nobody answers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from config import Settings
from streams import App, Client, Context, RequestFailed, RequestTimeout, Retry, UnknownTopic
from streams.connection import ensure_topics
from tests.integration.apps import Result, Work
from tests.integration.helpers import event, produce
from tests.integration.workers import Workers


async def test_ask_round_trip_across_processes(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    source = f"from tests.integration.apps import build\napp = build({topic!r}, partitions=1)\n"
    workers = Workers(settings, tmp_path, source)
    workers.start(0)
    try:
        async with Client(settings) as client:
            reply = None
            for _ in range(60):  # the worker needs a few seconds to join its group
                try:
                    reply = await client.ask(topic, Work(id="q1"), timeout=2)
                    break
                except (RequestTimeout, UnknownTopic):  # the worker creates the topic
                    continue
            assert reply is not None, workers.logs()
            result = reply.parse(Result)
            assert result.id == "q1"
            assert result.worker != 0
            again = await client.ask(topic, Work(id="q2"), timeout=5)
            assert again.parse(Result).id == "q2"
            assert again.envelope.correlationid != reply.envelope.correlationid
    finally:
        workers.stop_all()


async def test_ask_without_an_agent_times_out_clearly(settings: Settings, topic: str) -> None:
    await ensure_topics(settings.kafka, [topic], 1)
    async with Client(settings) as client:
        with pytest.raises(RequestTimeout, match=rf"no reply from {topic} within 0.5s"):
            await client.ask(topic, Work(id="nobody"), timeout=0.5)


async def test_sending_to_a_topic_the_cluster_lacks_fails_clearly(
    settings: Settings, topic: str
) -> None:
    kafka = settings.kafka.model_copy(update={"unknown_topic_wait": 0.5})
    async with Client(settings.model_copy(update={"kafka": kafka})) as client:
        with pytest.raises(UnknownTopic, match=rf"topic '{topic}' does not exist"):
            await client.send(topic, Work(id="lost"))


async def test_results_since_a_moment_skip_older_ones_and_miss_none(
    settings: Settings, topic: str
) -> None:
    await ensure_topics(settings.kafka, [topic], 2)

    def results(prefix: str, n: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
        return [(b"k%d" % i, *event(Result(id=f"{prefix}{i}", worker=0))) for i in range(n)]

    await produce(settings, topic, results("old", 5))
    await asyncio.sleep(0.05)
    since = time.time()
    await produce(settings, topic, results("new", 6))  # before the iteration starts
    got: list[str] = []
    async with Client(settings) as client:
        async for reply in client.results(topic, since=since):
            got.append(reply.parse(Result).id)
            if len(got) == 6:
                await produce(settings, topic, results("later", 2))  # while it runs
            if len(got) == 8:
                break
    assert sorted(got) == sorted([f"new{i}" for i in range(6)] + ["later0", "later1"])


async def test_ask_fails_at_once_when_the_request_becomes_a_dead_letter(
    settings: Settings, topic: str
) -> None:
    app = App(f"app-{topic}", settings)

    @app.agent(topic, retry=Retry(attempts=1))
    async def work(msg: Work, ctx: Context) -> Result:
        if msg.fail:
            raise ValueError(f"{msg.id} cannot be done")
        return Result(id=msg.id, worker=0)

    async with app.running(), Client(settings) as client:
        assert (await client.ask(topic, Work(id="ok"), timeout=30)).parse(Result).id == "ok"
        started = time.monotonic()
        with pytest.raises(RequestFailed, match=r"stage handle: builtins.ValueError: bad cannot"):
            await client.ask(topic, Work(id="bad", fail=True), timeout=30)
        took = time.monotonic() - started
    print(f"a dead-lettered request failed its ask after {took:.2f}s (timeout 30 s)")
    assert took < 10


async def test_concurrent_first_asks_share_one_reply_topic(settings: Settings, topic: str) -> None:
    app = App(f"app-{topic}", settings)

    @app.agent(topic)
    async def work(msg: Work, ctx: Context) -> Result:
        return Result(id=msg.id, worker=0)

    async with app.running(), Client(settings) as client:
        replies = await asyncio.gather(
            *(client.ask(topic, Work(id=str(i)), timeout=30) for i in range(20))
        )
        topics = {r.topic for r in replies}
    assert sorted(r.parse(Result).id for r in replies) == sorted(str(i) for i in range(20))
    assert len(topics) == 1
