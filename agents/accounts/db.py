"""The account database's engine, sessions and migrations.

``migrate(url)`` brings a database to the newest revision of ``migrations/`` (Alembic,
run on our own async engine's connection); ``connect(url)`` is the engine and session
factory the account service uses. SQLite (the default, a file under ``.agentstream``)
runs with foreign keys on and WAL; PostgreSQL by a ``postgresql+asyncpg://`` URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def engine(url: str) -> AsyncEngine:
    """An async engine for ``url``; a SQLite file's folder is made if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        made = create_async_engine(url)
        event.listen(made.sync_engine, "connect", _sqlite_pragmas)
        return made
    return create_async_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def sessions(made: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(made, expire_on_commit=False)


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(url: str) -> str:
    """Bring the database at ``url`` to the newest revision; the revision it is at."""
    made = engine(url)
    try:
        async with made.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(_config(sync), "head"))
        return await revision(made) or ""
    finally:
        await made.dispose()


async def revision(made: AsyncEngine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    async with made.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def head() -> str:
    """The newest revision of ``migrations/``."""
    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None  # noqa: S101 - the package ships its migrations
    return found
