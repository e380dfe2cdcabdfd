"""Debian's PostgreSQL on 127.0.0.1, a cluster of the project's own under the local home,
started in the background by ``agentstream postgres up``.

The cluster is made by ``initdb`` with one superuser, ``agentstream``, trusted on
loopback only (no password: nothing but this machine reaches it), and a database of the
same name. PostgreSQL refuses to run as root: as root the cluster belongs to the
``postgres`` user (Debian's package creates it) and its programs run through
``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from streams.tools.local.process import Daemon, LocalServiceError

USER = "agentstream"
DATABASE = "agentstream"
HINT = "Install it with: apt-get install -y postgresql"


@dataclass(frozen=True)
class PostgresStatus:
    running: bool
    pid: int | None
    url: str
    version: str | None


def pg_program(name: str) -> str:
    """The path of PostgreSQL program ``name``: on PATH, or in Debian's versioned
    ``/usr/lib/postgresql/<version>/bin`` (the newest)."""
    found = shutil.which(name)
    if found is not None:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise LocalServiceError(f"PostgreSQL's {name} not found. {HINT}")
    return candidates[-1]


class LocalPostgres:
    """The project's own local PostgreSQL; every method is idempotent."""

    def __init__(self, settings: Settings) -> None:
        self.port = settings.local.postgres_port
        self.home = settings.local.home.resolve() / "postgres"
        self.data = self.home / "data"
        self.timeout = settings.local.start_timeout
        self.daemon = Daemon("postgres", self.home / "postgres.pid", self.home / "postgres.log")
        self.url = f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def up(self) -> PostgresStatus:
        if self.daemon.pid() is None:
            if self.ready():
                raise LocalServiceError(
                    f"something not started by agentstream already listens on {self.port}"
                )
            self._init()
            argv = [pg_program("postgres"), "-D", str(self.data), "-p", str(self.port),
                    "-c", "listen_addresses=127.0.0.1",
                    "-c", f"unix_socket_directories={self.home}"]  # fmt: skip
            self.daemon.spawn(self._as_owner(argv), cwd=self.home)
        self.daemon.wait_until(self.ready, self.timeout)
        self._create_database()
        return self.status()

    def down(self) -> bool:
        return self.daemon.stop()

    def status(self) -> PostgresStatus:
        pid = self.daemon.pid()
        ready = self.ready()
        return PostgresStatus(pid is not None and ready, pid, self.url, self.version())

    def ready(self) -> bool:
        """Whether a server accepts connections on the port."""
        probe = [pg_program("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port),
                 "-U", USER, "-d", "postgres", "-q"]  # fmt: skip
        return subprocess.run(probe, check=False, timeout=10).returncode == 0

    def version(self) -> str | None:
        try:
            out = self.psql("SHOW server_version", database="postgres")
        except LocalServiceError:
            return None
        return out.strip() or None

    def psql(self, sql: str, database: str = DATABASE) -> str:
        """Run one statement as the superuser; its rows, tab-separated."""
        argv = [pg_program("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER,
                "-d", database, "-v", "ON_ERROR_STOP=1", "-tAc", sql]  # fmt: skip
        run = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
        if run.returncode != 0:
            raise LocalServiceError(f"psql failed: {run.stderr.strip()}")
        return run.stdout

    def _init(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if (self.data / "PG_VERSION").exists():
            self._own(self.home)
            return
        self._own(self.home)
        argv = [pg_program("initdb"), "-D", str(self.data), "-U", USER, "--auth=trust",
                "--encoding=UTF8", "--locale=C.UTF-8"]  # fmt: skip
        run = subprocess.run(
            self._as_owner(argv), capture_output=True, text=True, check=False, timeout=120
        )
        if run.returncode != 0:
            raise LocalServiceError(f"initdb failed: {run.stderr.strip() or run.stdout.strip()}")

    def _create_database(self) -> None:
        exists = self.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",  # noqa: S608 - a constant
            "postgres",
        )
        if not exists.strip():
            self.psql(f"CREATE DATABASE {DATABASE}", "postgres")

    @staticmethod
    def _root() -> bool:
        return os.geteuid() == 0

    def _as_owner(self, argv: list[str]) -> list[str]:
        """``argv`` run as the cluster's owner: ``postgres`` when we are root."""
        if not self._root():
            return argv
        runuser = shutil.which("runuser")
        if runuser is None:
            raise LocalServiceError("running as root needs runuser (util-linux) for PostgreSQL")
        return [runuser, "-u", "postgres", "--", *argv]

    def _own(self, path: Path) -> None:
        if not self._root():
            return
        try:
            shutil.chown(path, "postgres", "postgres")
            for child in path.rglob("*"):
                shutil.chown(child, "postgres", "postgres")
        except LookupError as e:
            raise LocalServiceError(f"no postgres user to run PostgreSQL as root. {HINT}") from e
        # The owner must reach the home through every parent directory.
        for parent in path.parents:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
