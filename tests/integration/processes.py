"""Processes for failure tests: a private redis-server to stop and start at will, and
worker processes with extra environment per slot."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import redis.asyncio as aioredis
import redis.exceptions

from config import Settings
from tests.integration.workers import Workers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of one test, on its own port and data directory (append-only file
    on, so its keys survive a stop and start). The shared Redis is never touched."""

    def __init__(self, home: Path) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise AssertionError("redis-server not found on PATH (apt-get install redis-server)")
        self.server = server
        self.home = home
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        argv = [self.server, "--bind", "127.0.0.1", "--port", str(self.port),
                "--dir", str(self.home), "--save", "", "--appendonly", "yes",
                "--daemonize", "no"]  # fmt: skip
        with (self.home / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own argv
                argv, cwd=self.home, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    async def start(self, limit: float = 15.0) -> None:
        """Spawn the server and wait until it answers PING."""
        self.spawn()
        client = aioredis.Redis.from_url(self.url, socket_timeout=1.0)
        try:
            async with asyncio.timeout(limit):
                while True:
                    try:
                        if await client.ping():
                            return
                    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                        pass
                    assert self.proc is not None
                    if self.proc.poll() is not None:
                        raise AssertionError(f"redis-server exited: {self.log()}")
                    await asyncio.sleep(0.1)
        finally:
            await client.aclose()

    def stop(self) -> int:
        """SIGTERM (redis flushes its append-only file) and wait for the exit."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self.proc = None
        return code

    def log(self) -> str:
        return (self.home / "redis.log").read_text(errors="replace")[-2000:]


class EnvWorkers(Workers):
    """:class:`Workers` whose slots may each get extra environment variables, and whose
    stop kills (-9) a worker that does not exit after SIGTERM instead of leaving it."""

    def __init__(
        self,
        settings: Settings,
        tmp: Path,
        module_source: str,
        slot_env: dict[int, dict[str, str]] | None = None,
    ) -> None:
        super().__init__(settings, tmp, module_source)
        self.slot_env = slot_env or {}

    def start(self, slot: int) -> None:
        base = self.env
        self.env = {**base, **self.slot_env.get(slot, {})}
        try:
            super().start(slot)
        finally:
            self.env = base

    def terminate(self, slot: int, limit: float = 30.0) -> int | None:
        """SIGTERM, then the exit code; None if it still ran after ``limit`` s (killed)."""
        proc = self.procs.pop(slot)
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            self.exit_codes.append((int(signal.SIGKILL), proc.wait()))
            return None
        self.exit_codes.append((int(signal.SIGTERM), code))
        return code

    def stop_all(self) -> None:
        for slot in list(self.procs):
            self.terminate(slot)
