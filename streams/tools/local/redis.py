"""Debian's redis-server on 127.0.0.1, started in the background by ``agentstream redis up``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

import redis
import redis.exceptions

from config import Settings
from streams.tools.local.kafka import LOCAL_HOSTS
from streams.tools.local.process import Daemon, LocalServiceError, require_executable


@dataclass(frozen=True)
class RedisStatus:
    running: bool
    pid: int | None
    url: str
    version: str | None


class LocalRedis:
    """The project's own local Redis; every method is idempotent."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.redis.url
        parsed = urlparse(self.url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 6379
        self.home = settings.local.home.resolve() / "redis"
        self.timeout = settings.local.start_timeout
        self.daemon = Daemon("redis", self.home / "redis.pid", self.home / "redis.log")

    def up(self) -> RedisStatus:
        if self.host not in LOCAL_HOSTS:
            raise LocalServiceError(
                f"redis url points at {self.host}; the local redis only runs on 127.0.0.1"
            )
        if self.daemon.pid() is None:
            if self.version() is not None:
                raise LocalServiceError(
                    f"something not started by agentstream already listens on {self.port}"
                )
            server = require_executable(
                "redis-server", "Install it with: apt-get install -y redis-server"
            )
            self.home.mkdir(parents=True, exist_ok=True)
            argv = [server, "--bind", "127.0.0.1", "--port", str(self.port),
                    "--dir", str(self.home), "--save", "", "--appendonly", "no",
                    "--daemonize", "no"]  # fmt: skip
            self.daemon.spawn(argv, cwd=self.home)
        self.daemon.wait_until(lambda: self.version() is not None, self.timeout)
        return self.status()

    def down(self) -> bool:
        return self.daemon.stop()

    def status(self) -> RedisStatus:
        pid = self.daemon.pid()
        version = self.version()
        return RedisStatus(pid is not None and version is not None, pid, self.url, version)

    def version(self) -> str | None:
        """The server version if it answers PING, else None."""
        client = redis.Redis(host=self.host, port=self.port, socket_timeout=1.0)
        try:
            client.ping()
            info = client.info("server")
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            return None
        finally:
            client.close()
        return str(info.get("redis_version"))
