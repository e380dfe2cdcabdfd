"""Keyed state on the real Redis: the API with its TTLs and bounds, waiting out an outage,
and an agent's memory surviving a restart of its app."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from config import Settings
from schemas import Message
from streams import App, Context
from streams.state import KeyedState
from tests.integration.helpers import collect, event, produce
from tests.integration.processes import PrivateRedis


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis.url)
    yield client
    await client.aclose()


@pytest.fixture
def state(redis: aioredis.Redis) -> KeyedState:
    return KeyedState(redis, f"app-{uuid.uuid4().hex[:8]}")


async def test_values_are_json_under_the_apps_namespace(
    state: KeyedState, redis: aioredis.Redis
) -> None:
    assert await state.get("missing") is None
    await state.put("profile", {"name": "Lì", "tags": ["vip"], "n": 3})
    assert await state.get("profile") == {"name": "Lì", "tags": ["vip"], "n": 3}
    raw = await redis.get(f"{state.prefix}profile")
    assert state.prefix.startswith("agentstream:state:app-")
    assert raw == b'{"name":"L\xc3\xac","tags":["vip"],"n":3}'
    assert await redis.pttl(f"{state.prefix}profile") == -1  # no ttl: no expiry
    await state.delete("profile")
    assert await state.get("profile") is None


async def test_put_with_a_ttl_expires(state: KeyedState, redis: aioredis.Redis) -> None:
    await state.put("short", 1, ttl=0.2)
    assert 0 < await redis.pttl(f"{state.prefix}short") <= 200
    await asyncio.sleep(0.3)
    assert await state.get("short") is None


async def test_append_keeps_the_last_items_and_restarts_the_ttl(
    state: KeyedState, redis: aioredis.Redis
) -> None:
    seen = [await state.append("turns", {"i": i}, keep=3, ttl=60) for i in range(5)]
    assert seen[0] == [{"i": 0}]
    assert seen[2] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert seen[4] == [{"i": 2}, {"i": 3}, {"i": 4}]
    assert await redis.llen(f"{state.prefix}turns") == 3
    assert await state.items("turns") == seen[4]
    assert await state.items("nothing here") == []
    assert 50_000 < await redis.pttl(f"{state.prefix}turns") <= 60_000
    # Without a ttl, the expiry set before stays.
    await state.append("turns", {"i": 5}, keep=3)
    assert 0 < await redis.pttl(f"{state.prefix}turns") <= 60_000
    await state.append("short", "x", keep=2, ttl=0.2)
    await asyncio.sleep(0.3)
    assert await state.append("short", "y", keep=2) == ["y"]
    with pytest.raises(ValueError, match="keep must be at least 1"):
        await state.append("turns", 1, keep=0)


async def test_put_field_counts_the_fields_for_fan_in(
    state: KeyedState, redis: aioredis.Redis
) -> None:
    assert await state.put_field("job-1", "research", {"words": 120}, ttl=60) == 1
    assert await state.put_field("job-1", "draft", "text", ttl=60) == 2
    assert await state.put_field("job-1", "research", {"words": 130}, ttl=60) == 2  # redelivered
    assert await state.fields("job-1") == {"research": {"words": 130}, "draft": "text"}
    assert 0 < await redis.pttl(f"{state.prefix}job-1") <= 60_000
    assert await state.fields("nothing") == {}
    with pytest.raises(ValueError, match="ttl must be positive"):
        await state.put_field("job-1", "x", 1, ttl=0)


async def test_a_write_waits_for_redis_to_come_back(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path / "redis")
    await server.start()
    client = aioredis.Redis.from_url(server.url)
    state = KeyedState(client, "outage")
    try:
        await state.put("k", "before")
        server.stop()
        write = asyncio.create_task(state.put("k", "during"))
        await asyncio.sleep(1.0)
        assert not write.done()  # retried, not failed
        await server.start()
        await asyncio.wait_for(write, 30)
        assert await state.get("k") == "during"
    finally:
        await client.aclose()
        if server.proc is not None:
            server.stop()


class Note(Message):
    text: str


class Notes(Message):
    texts: list[str]


def notes_app(settings: Settings, mailbox: str) -> App:
    """The same app each run: it remembers the last three notes per key."""
    app = App(f"app-{mailbox}", settings)

    @app.agent(mailbox)
    async def remember(msg: Note, ctx: Context) -> Notes:
        assert ctx.key is not None
        items = await ctx.state.append(f"notes:{ctx.key.decode()}", msg.text, keep=3, ttl=60)
        return Notes(texts=items)

    return app


async def test_an_agents_state_survives_a_restart_of_its_app(
    settings: Settings, topic: str, redis: aioredis.Redis
) -> None:
    async with notes_app(settings, topic).running():
        await produce(settings, topic, [(b"ann", *event(Note(text=t))) for t in ("a", "b")])
        first = await collect(settings, f"{topic}.replies", 2)
    assert [Notes.model_validate_json(r.value).texts for r in first] == [["a"], ["a", "b"]]

    async with notes_app(settings, topic).running():
        await produce(settings, topic, [(b"ann", *event(Note(text=t))) for t in ("c", "d")])
        replies = await collect(settings, f"{topic}.replies", 4)
    texts = [Notes.model_validate_json(r.value).texts for r in replies]
    assert texts[2:] == [["a", "b", "c"], ["b", "c", "d"]]
    assert await redis.exists(f"agentstream:state:app-{topic}:notes:ann") == 1


async def test_the_apps_state_exists_from_start_to_stop(settings: Settings, topic: str) -> None:
    app = notes_app(settings, topic)
    assert app.state is None
    async with app.running():
        assert app.state is not None
        assert app.state.prefix == f"agentstream:state:app-{topic}:"
    assert app.state is None
