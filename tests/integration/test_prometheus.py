"""A real Prometheus scraping a real worker: what it counts is what was sent, the
project's rules load and evaluate, and `agentstream report --prometheus` reads it back."""

from __future__ import annotations

import time
from pathlib import Path

from config import Settings
from streams.tools import report
from streams.tools.report_sources import from_prometheus
from tests.integration.observed import observed_worker, send_jobs
from tests.integration.prometheus import PrometheusServer
from tests.integration.workers import wait_until

N = 300


async def test_prometheus_counts_every_event_a_worker_handled(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    async with observed_worker(settings, topic, tmp_path / "worker") as port:
        prometheus = PrometheusServer(tmp_path / "prometheus", [f"127.0.0.1:{port}"])
        await prometheus.start()
        started = time.time()
        try:

            async def scraped() -> bool:
                return await prometheus.value('up{job="agentstream-worker"}') == 1

            await wait_until(scraped, 30, "Prometheus's first scrape of the worker")
            await send_jobs(settings, topic, N)

            handled = f'sum(agentstream_handler_duration_seconds_count{{topic="{topic}"}})'

            async def counted() -> bool:
                return await prometheus.value(handled) == N

            await wait_until(counted, 30, f"{handled} == {N}")
            assert await prometheus.value(handled) == N
            consumed = f'sum(agentstream_messages_consumed_total{{topic="{topic}"}})'
            produced = f'sum(agentstream_messages_produced_total{{topic="{topic}"}})'
            assert await prometheus.value(consumed) == N
            assert await prometheus.value(produced) == N

            # The project's rules load and evaluate against the worker's series.
            groups = (await prometheus.api("rules"))["groups"]
            assert {g["name"] for g in groups} == {
                "agentstream.recording",
                "agentstream.support",
                "agentstream.alerts",
            }
            assert all(r["health"] == "ok" for g in groups for r in g["rules"]), groups
            rate = f'agent_topic:agentstream_messages_consumed:rate5m{{topic="{topic}"}}'

            async def recorded() -> bool:
                return (await prometheus.value(rate) or 0) > 0

            await wait_until(recorded, 30, rate)

            snapshots = await from_prometheus(
                prometheus.url, time.time() - started + 2, 1.0, time.time()
            )
            totals = report.build(prometheus.url, snapshots).totals
            assert (totals.handled, totals.consumed, totals.produced) == (N, N, N)
            assert totals.handled_by_agent == {"work": N}
        finally:
            assert prometheus.stop() == 0, prometheus.log()
