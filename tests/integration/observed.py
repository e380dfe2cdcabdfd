"""A worker process of :mod:`tests.integration.metrics_app` serving /metrics on a known
port, and load for it: the observability tests' common ground."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from config import Settings
from tests.integration.helpers import collect, event, produce
from tests.integration.metrics_app import Job
from tests.integration.processes import EnvWorkers, free_port
from tests.integration.workers import wait_until


async def get(url: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
        http.get(url) as response,
    ):
        return response.status, await response.text()


@asynccontextmanager
async def observed_worker(settings: Settings, topic: str, tmp: Path) -> AsyncIterator[int]:
    """``agentstream worker`` running the metrics app on ``topic``, ready (it holds its
    partition); yields its web port. SIGTERM at the end."""
    workers, port = _start(settings, topic, tmp)
    try:

        async def ready() -> bool:
            try:
                return (await get(f"http://127.0.0.1:{port}/readyz"))[0] == 200
            except aiohttp.ClientError:
                return False

        try:
            await wait_until(ready, 60, "the worker's /readyz")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{workers.logs()}") from e
        yield port
    finally:
        workers.stop_all()


def _start(settings: Settings, topic: str, tmp: Path) -> tuple[EnvWorkers, int]:
    tmp.mkdir(parents=True, exist_ok=True)
    source = f"from tests.integration.metrics_app import build\napp = build({topic!r})\n"
    workers = EnvWorkers(settings, tmp, source)
    port = free_port()
    workers.env["AGENTSTREAM_WEB_PORT"] = str(port)
    workers.env["AGENTSTREAM_CACHE__L3_URL"] = f"sqlite+aiosqlite:///{tmp / 'cache.sqlite3'}"
    workers.start(0)
    return workers, port


async def send_jobs(settings: Settings, topic: str, n: int, failing: int = 0) -> None:
    """``n`` jobs, the last ``failing`` of them asking to fail; returns once every reply
    and dead letter was written."""
    jobs = [Job(id=f"j{i}", n=i % 20, fail=i >= n - failing) for i in range(n)]
    await produce(settings, topic, [(b"%d" % i, *event(job)) for i, job in enumerate(jobs)])
    replies = await collect(settings, f"{topic}.replies", n - failing)
    assert len(replies) == n - failing
    if failing:
        assert len(await collect(settings, f"{topic}.dlq", failing)) == failing
