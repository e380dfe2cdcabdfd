"""The cache's L3: a durable key-value table behind SQLAlchemy's async engine.

Embedded SQLite by default (``sqlite+aiosqlite:///.agentstream/cache.sqlite3``: the
parent directory and the table are created at start); a URL switches to a server
(``postgresql+asyncpg://...``). One table serves every cache, keyed by cache name and
key, with the expiry as a wall-clock timestamp: an expired row is never returned, and
rows expired for good are deleted when a store starts.

Writes of computed values are behind: ``put`` keeps the row in memory (``get`` sees it
at once) and a flush writes what gathered in one transaction, ``FLUSH_EVERY`` seconds
after the first pending row or at once past ``FLUSH_AT`` rows. One statement and one
commit per flush instead of a transaction per row: measured under the customer-service
flow, per-row commits cost about a quarter of a worker's CPU. Explicit sets, and every
write while Redis is away (L3 is then what workers share), are written before ``put``
returns. SQLite runs with ``synchronous=NORMAL`` (WAL): a commit survives the process,
not a power cut, which is what a cache needs. A row whose flush fails is lost to L3 only
(it is in L2); ``stop`` flushes what is left.
"""

from __future__ import annotations

import asyncio
import logging
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
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateIndex, CreateTable

log = logging.getLogger(__name__)
SQLITE_BUSY_TIMEOUT = 30.0  # seconds a writer waits for another process's write lock
FLUSH_EVERY = 0.05  # seconds a written row may wait for others to share its commit
FLUSH_AT = 500  # rows that flush at once
#: Dialects with an upsert that takes many rows in one statement.
UPSERTS: dict[str, Any] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}

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
        self._pending: dict[str, tuple[bytes, float]] = {}  # key -> (value, expires_at)
        self._writing: dict[str, tuple[bytes, float]] = {}  # the flush under way
        self._flushing: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._engine = engine = _engine(self.url)
        async with engine.begin() as conn:
            await conn.execute(CreateTable(entries, if_not_exists=True))
            await conn.execute(CreateIndex(by_expiry, if_not_exists=True))
            await conn.execute(delete(entries).where(entries.c.expires_at <= time.time()))

    async def stop(self) -> None:
        if self._flushing is not None:
            await asyncio.wait([self._flushing])
        if self._pending:
            await self._flush(now=True)
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def get(self, key: str) -> tuple[bytes, float] | None:
        """The value and its expiry (epoch seconds), or None when absent or expired."""
        pending = self._pending.get(key) or self._writing.get(key)
        if pending is not None:
            return pending if pending[1] > time.time() else None
        query = select(entries.c.value, entries.c.expires_at).where(
            self._row(key), entries.c.expires_at > time.time()
        )
        async with self._connected().connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (bytes(row[0]), float(row[1]))

    async def put(self, key: str, value: bytes, ttl: float, *, behind: bool = True) -> None:
        """Insert or replace; ``behind``: with the next flush, else before returning."""
        self._connected()
        row = (value, time.time() + ttl)
        if not behind:
            self._pending.pop(key, None)
            await self._write({key: row})
            return
        self._pending[key] = row
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())

    async def _flush(self, *, now: bool = False) -> None:
        """Write the pending rows in one transaction (after ``FLUSH_EVERY`` seconds unless
        ``FLUSH_AT`` rows are waiting or ``now``), again while more gathered meanwhile."""
        try:
            while self._pending:
                if not now and len(self._pending) < FLUSH_AT:
                    await asyncio.sleep(FLUSH_EVERY)
                rows = self._writing = self._pending
                self._pending = {}
                try:
                    await self._write(rows)
                except (SQLAlchemyError, OSError) as e:
                    log.warning("cache %s: %d rows not written to L3: %r", self.cache, len(rows), e)
                finally:
                    self._writing = {}
        finally:
            if not now:
                self._flushing = None

    async def _write(self, rows: dict[str, tuple[bytes, float]]) -> None:
        engine = self._connected()
        upsert = UPSERTS.get(engine.dialect.name)
        values = [
            {"cache": self.cache, "key": k, "value": v, "expires_at": e}
            for k, (v, e) in rows.items()
        ]
        async with engine.begin() as conn:
            if upsert is not None:
                statement = upsert(entries)
                excluded = statement.excluded
                await conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[entries.c.cache, entries.c.key],
                        set_={"value": excluded.value, "expires_at": excluded.expires_at},
                    ),
                    values,
                )
            else:
                for row in values:
                    await self._replace(conn, row)

    async def _replace(self, conn: AsyncConnection, row: dict[str, Any]) -> None:
        """Insert or replace one row, portably: a row another worker inserted between our
        update and our insert is updated on the second round."""
        key, changes = row["key"], {"value": row["value"], "expires_at": row["expires_at"]}
        for attempt in range(2):
            try:
                async with conn.begin_nested():
                    changed = await conn.execute(
                        update(entries).where(self._row(key)).values(changes)
                    )
                    if not changed.rowcount:
                        await conn.execute(insert(entries).values(row))
            except IntegrityError:
                if attempt:
                    raise
            else:
                return

    async def delete(self, key: str) -> None:
        self._pending.pop(key, None)
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
        cursor.execute("PRAGMA synchronous=NORMAL")  # a commit survives the process
        cursor.close()

    return engine
