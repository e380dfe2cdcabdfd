"""Dead letters read back, replayed to their topic, and refused past the replay limit;
the `agentstream dlq` commands on the same topic."""

from __future__ import annotations

import asyncio
import os
import sys

from config import Settings
from streams import App, Context, Retry
from streams.deadletter import REPLAYS_HEADER
from streams.dlq import read, replay
from tests.integration.apps import Result, Work
from tests.integration.helpers import collect, event, produce
from tests.integration.workers import ROOT


async def test_replay_sends_originals_back_and_stops_endless_loops(
    settings: Settings, topic: str
) -> None:
    broken = {"a", "b"}
    app = App(f"app-{topic}", settings)

    @app.agent(topic, retry=Retry(attempts=1))
    async def work(msg: Work, ctx: Context) -> Result:
        if msg.id in broken:
            raise ValueError(f"{msg.id} is broken")
        return Result(id=msg.id, worker=0)

    async with app.running():
        await produce(settings, topic, [(b"k", *event(Work(id=i))) for i in "abc"])
        assert len(await collect(settings, f"{topic}.dlq", 2)) == 2
        letters = await read(settings.kafka, f"{topic}.dlq")
        assert [(d.header("dlq.stage"), d.replays) for d in letters] == [("handle", 0)] * 2
        assert all(REPLAYS_HEADER not in dict(d.original_headers()) for d in letters)

        broken.discard("a")  # "a" was fixed meanwhile, "b" still fails
        outcome = await replay(settings.kafka, letters, max_replays=1)
        assert (len(outcome.replayed), len(outcome.refused)) == (2, 0)
        replies = await collect(settings, f"{topic}.replies", 2)
        assert sorted(Result.model_validate_json(r.value).id for r in replies) == ["a", "c"]
        assert len(await collect(settings, f"{topic}.dlq", 3)) == 3

        again = await read(settings.kafka, topic + ".dlq", lambda d: d.replays >= 1)
        assert [Work.model_validate_json(d.value or b"").id for d in again] == ["b"]
        outcome = await replay(settings.kafka, again, max_replays=1)
        assert (len(outcome.replayed), len(outcome.refused)) == (0, 1)

    listed = await _cli(settings, "list", topic)
    assert f"3 dead letter(s) in {topic}.dlq: 3 handle" in listed
    shown = await _cli(settings, "show", topic, again[0].position)
    assert "dlq.stage: handle" in shown
    assert "ValueError: b is broken" in shown
    assert f"{REPLAYS_HEADER}: 1" in shown


async def _cli(settings: Settings, *args: str) -> str:
    """``agentstream dlq ARGS`` in a process of its own; its stdout."""
    env = {**os.environ, "AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams", "dlq", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_an_idempotent_agent_handles_a_replayed_dead_letter(
    settings: Settings, topic: str
) -> None:
    """The claim of a dead-lettered event is dropped, so its replay is handled, not
    skipped as a duplicate."""
    broken = {"a"}
    app = App(f"app-{topic}", settings)

    @app.agent(topic, retry=Retry(attempts=1), idempotent=True)
    async def work(msg: Work, ctx: Context) -> Result:
        if msg.id in broken:
            raise ValueError(f"{msg.id} is broken")
        return Result(id=msg.id, worker=0)

    async with app.running():
        await produce(settings, topic, [(b"k", *event(Work(id=i))) for i in "ab"])
        assert len(await collect(settings, f"{topic}.dlq", 1)) == 1
        assert len(await collect(settings, f"{topic}.replies", 1)) == 1
        broken.clear()
        letters = await read(settings.kafka, f"{topic}.dlq")
        outcome = await replay(settings.kafka, letters, max_replays=3)
        assert len(outcome.replayed) == 1
        replies = await collect(settings, f"{topic}.replies", 2)
    assert sorted(Result.model_validate_json(r.value).id for r in replies) == ["a", "b"]
