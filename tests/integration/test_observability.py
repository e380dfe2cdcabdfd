"""A worker's /metrics, /healthz and /readyz, in process and from `agentstream worker`."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from prometheus_client import generate_latest

from config import Settings
from streams import App, Batch, Client, Context
from streams.web import WebServer
from tests.integration.apps import Result, Work
from tests.integration.helpers import collect, event, produce
from tests.integration.workers import Workers, wait_until


async def _get(url: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
        http.get(url) as response,
    ):
        return response.status, await response.text()


def _sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the text exposition, matched by name and labels."""
    for line in metrics.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_metrics_health_and_readiness_in_process(settings: Settings, topic: str) -> None:
    app = App(f"app-{topic}", settings)

    @app.agent(topic)
    async def work(msg: Work, ctx: Context) -> Result:
        return Result(id=msg.id, worker=0)

    web = WebServer(app, 0, host="127.0.0.1")
    port = await web.start()
    base = f"http://127.0.0.1:{port}"
    try:
        status, body = await _get(f"{base}/readyz")
        assert (status, orjson.loads(body)["running"]) == (503, False)
        async with app.running():

            async def ready() -> bool:
                return (await _get(f"{base}/readyz"))[0] == 200

            await wait_until(ready, 30, "readiness")
            readiness: dict[str, Any] = orjson.loads((await _get(f"{base}/readyz"))[1])
            assert readiness["partitions"] == [f"{topic}:0"]
            assert readiness["broker"] is True

            await produce(settings, topic, [(b"k", *event(Work(id=str(i)))) for i in range(50)])
            assert len(await collect(settings, f"{topic}.replies", 50)) == 50
            status, metrics = await _get(f"{base}/metrics")
            assert status == 200
            labels = {"agent": "work", "topic": topic}
            assert _sample(metrics, "agentstream_messages_consumed_total", **labels) == 50
            assert _sample(metrics, "agentstream_messages_produced_total", **labels) == 50
            assert _sample(metrics, "agentstream_handler_duration_seconds_count", **labels) == 50

            async def caught_up() -> bool:  # reported every 2 s: end minus committed offset
                metrics = (await _get(f"{base}/metrics"))[1]
                return _sample(metrics, "agentstream_consumer_lag", partition="0", **labels) == 0

            await wait_until(caught_up, 15, "consumer lag 0")
            assert (await _get(f"{base}/healthz"))[0] == 200
        status, body = await _get(f"{base}/readyz")
        assert (status, orjson.loads(body)["running"]) == (503, False)
    finally:
        await web.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_worker_serves_its_endpoints_and_refuses_a_taken_port(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    source = f"from tests.integration.apps import build\napp = build({topic!r}, partitions=1)\n"
    workers = Workers(settings, tmp_path, source)
    port = _free_port()
    workers.env["AGENTSTREAM_WEB_PORT"] = str(port)
    workers.start(0)
    try:

        async def ready() -> bool:
            try:
                return (await _get(f"http://127.0.0.1:{port}/readyz"))[0] == 200
            except aiohttp.ClientError:
                return False

        await wait_until(ready, 60, "the worker's /readyz")
        async with Client(settings) as client:
            for i in range(3):
                reply = await client.ask(topic, Work(id=f"q{i}"), timeout=10)
                assert reply.parse(Result).id == f"q{i}"
        metrics = (await _get(f"http://127.0.0.1:{port}/metrics"))[1]
        consumed = _sample(metrics, "agentstream_messages_consumed_total", topic=topic)
        assert consumed == 3, workers.logs()

        workers.start(1)  # same port, already taken by worker 0
        code = workers.procs.pop(1).wait(timeout=60)
        assert code == 1
        assert f"cannot serve /metrics on 0.0.0.0:{port}" in workers.logs()
    finally:
        workers.stop_all()


async def test_consumer_lag_counts_what_backpressure_holds_back(
    settings: Settings, topic: str
) -> None:
    """With 10,000 events behind a slow agent, most of them paused in the broker or
    waiting in the inbox, the lag is everything not yet committed, and it goes down."""
    app = App(f"app-{topic}", settings)

    @app.agent(topic, batch=Batch(max_size=10, within=0.05), concurrency=4)
    async def work(msg: Work, ctx: Context) -> Result:
        await asyncio.sleep(0.02)
        return Result(id=msg.id, worker=0)

    n = 10_000
    await produce(settings, topic, [(b"%d" % i, *event(Work(id=str(i)))) for i in range(n)])
    labels = {"agent": "work", "topic": topic, "partition": "0"}

    def sample(name: str, **extra: str) -> float | None:
        return _sample(generate_latest(app.metrics.registry).decode(), name, **extra)

    async with app.running():

        async def reported() -> bool:
            return sample("agentstream_consumer_lag", **labels) is not None

        await wait_until(reported, 30, "a consumer lag report")
        await asyncio.sleep(2.5)  # a report taken while the agent works through its backlog
        first = sample("agentstream_consumer_lag", **labels)
        consumed = sample("agentstream_messages_consumed_total", agent="work", topic=topic)
        await asyncio.sleep(4.5)
        later = sample("agentstream_consumer_lag", **labels)
    assert first is not None
    assert consumed is not None
    assert later is not None
    print(f"lag {first:.0f} with {consumed:.0f} of {n} taken; {later:.0f} 4.5 s later")
    assert first >= n - consumed  # nothing taken and not committed is left out
    assert later < first
