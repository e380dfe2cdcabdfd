"""The cache's L3 store on a SQLite file: created on demand, upserts, expiry, one table
for every cache."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from streams.store import FLUSH_AT, FLUSH_EVERY, Store


def url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def test_the_directory_and_table_are_created_and_values_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "cache.sqlite3"
    store = Store(url(db), "kb")
    await store.start()
    try:
        assert await store.get("k") is None
        await store.put("k", b'{"v":1}', ttl=60)
        found = await store.get("k")
        assert found is not None
        assert found[0] == b'{"v":1}'
        await store.put("k", b'{"v":2}', ttl=60)  # replaces
        assert (await store.get("k") or (b"", 0.0))[0] == b'{"v":2}'
        await store.delete("k")
        assert await store.get("k") is None
    finally:
        await store.stop()
    assert db.exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_expired_rows_are_not_returned_and_are_purged_at_start(tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite3"
    store = Store(url(db), "kb")
    await store.start()
    await store.put("short", b"1", ttl=0.05)
    await store.put("long", b"2", ttl=60)
    await asyncio.sleep(0.1)
    assert await store.get("short") is None
    assert await store.get("long") is not None
    await store.stop()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM agentstream_cache").fetchone() == (2,)
    again = Store(url(db), "kb")
    await again.start()
    await again.stop()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT key FROM agentstream_cache").fetchall() == [("long",)]


async def test_caches_share_the_table_but_not_their_keys(tmp_path: Path) -> None:
    kb, models = Store(url(tmp_path / "c.db"), "kb"), Store(url(tmp_path / "c.db"), "models")
    await kb.start()
    await models.start()
    try:
        await kb.put("k", b"kb", ttl=60)
        assert await models.get("k") is None
        await models.put("k", b"models", ttl=60)
        assert (await kb.get("k") or (b"", 0.0))[0] == b"kb"
    finally:
        await kb.stop()
        await models.stop()


async def test_two_workers_writing_the_same_keys_at_once_both_succeed(tmp_path: Path) -> None:
    one, two = Store(url(tmp_path / "c.db"), "kb"), Store(url(tmp_path / "c.db"), "kb")
    await one.start()
    await two.start()
    try:
        await asyncio.gather(
            *(s.put(f"k{i % 5}", str(i).encode(), ttl=60) for i in range(40) for s in (one, two))
        )
        for i in range(5):
            assert await one.get(f"k{i}") is not None
    finally:
        await one.stop()
        await two.stop()


async def test_writes_are_behind_and_share_one_commit(tmp_path: Path) -> None:
    """Rows put meanwhile are written together, visible to this store at once and to
    others after the flush; stop writes what is left."""
    db = tmp_path / "cache.sqlite3"
    store, other = Store(url(db), "c"), Store(url(db), "c")
    await store.start()
    await other.start()
    try:
        for i in range(300):
            await store.put(f"k{i}", b"%d" % i, ttl=60)
        assert (await store.get("k7") or (b"", 0.0))[0] == b"7"  # from memory
        assert await other.get("k7") is None  # not committed yet
        await asyncio.sleep(FLUSH_EVERY * 4)
        assert (await other.get("k299") or (b"", 0.0))[0] == b"299"
        for i in range(FLUSH_AT + 10):  # past FLUSH_AT: written without waiting
            await store.put(f"n{i}", b"x", ttl=60)
        await store.put("last", b"y", ttl=60)
    finally:
        await store.stop()  # flushes "last"
        await other.stop()
    with sqlite3.connect(db) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM agentstream_cache").fetchone()
    assert rows == 300 + FLUSH_AT + 10 + 1
