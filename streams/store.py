"""The cache's L3: a durable key-value table behind SQLAlchemy's async engine.

Embedded SQLite by default (``sqlite+aiosqlite:///.agentstream/cache.sqlite3``: the
parent directory and the table are created at start); a URL switches to a server
(``postgresql+asyncpg://...``). One table serves every cache, keyed by cache name and
key, with the expiry as a wall-clock timestamp: an expired row is never returned, and
rows expired for good are deleted when a store starts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Double,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateIndex, CreateTable

SQLITE_BUSY_TIMEOUT = 30.0  # seconds a writer waits for another process's write lock

metadata = MetaData()
entries = Table(
    "agentstream_cache",
    metadata,
    Column("cache", String(200), primary_key=True),
    Column("key", String(1000), primary_key=True),
    Column("value", LargeBinary, nullable=False),
    Column("expires_at", Double, nullable=False),
)
by_expiry = Index("agentstream_cache_expires_at", entries.c.expires_at)


class Store:
    """Rows of one cache: ``get`` returns the value and its expiry, ``put`` upserts."""

    def __init__(self, url: str, cache: str) -> None:
        self.url = url
        self.cache = cache
        self._engine: AsyncEngine | None = None

    async def start(self) -> None:
        self._engine = engine = _engine(self.url)
        async with engine.begin() as conn:
            await conn.execute(CreateTable(entries, if_not_exists=True))
            await conn.execute(CreateIndex(by_expiry, if_not_exists=True))
            await conn.execute(delete(entries).where(entries.c.expires_at <= time.time()))

    async def stop(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def get(self, key: str) -> tuple[bytes, float] | None:
        """The value and its expiry (epoch seconds), or None when absent or expired."""
        query = select(entries.c.value, entries.c.expires_at).where(
            self._row(key), entries.c.expires_at > time.time()
        )
        async with self._connected().connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (bytes(row[0]), float(row[1]))

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        """Insert or replace, portably (no dialect's upsert): a row another worker
        inserted between our update and our insert is updated on the second round."""
        values = {"value": value, "expires_at": time.time() + ttl}
        engine = self._connected()
        for attempt in range(2):
            try:
                async with engine.begin() as conn:
                    changed = await conn.execute(
                        update(entries).where(self._row(key)).values(values)
                    )
                    if not changed.rowcount:
                        await conn.execute(
                            insert(entries).values(cache=self.cache, key=key, **values)
                        )
            except IntegrityError:
                if attempt:
                    raise
            else:
                return

    async def delete(self, key: str) -> None:
        async with self._connected().begin() as conn:
            await conn.execute(delete(entries).where(self._row(key)))

    def _row(self, key: str) -> Any:
        return and_(entries.c.cache == self.cache, entries.c.key == key)

    def _connected(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError(f"the L3 store of cache {self.cache!r} is not started")
        return self._engine


def _engine(url: str) -> AsyncEngine:
    """An engine for ``url``; for a SQLite file, its directory exists and writers of
    several processes wait for each other instead of failing with "database is locked"."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})

    @event.listens_for(engine.sync_engine, "connect")
    def _wal(dbapi_conn: Any, _record: Any) -> None:
        # Readers do not block the writer and the writer does not block readers.
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return engine
