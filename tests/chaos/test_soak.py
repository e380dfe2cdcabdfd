"""Scenario 10 (long profile only): steady load for a long time. Memory must level off
after the warm-up and the workers must log no ERROR line."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from config import Settings
from tests.chaos.cluster import rss_mib
from tests.chaos.harness import Chaos
from tests.chaos.profiles import Profile, current
from tests.chaos.verifier import jobs

pytestmark = [pytest.mark.chaos(long_only=True), pytest.mark.timeout(current().timeout)]

WARM_UP = 0.2  # of the run: caches, pools and allocator arenas fill up
MAX_GROWTH = 0.10
SAMPLE_EVERY = 5.0


async def test_a_long_steady_run_levels_off_in_memory_and_logs_no_error(
    settings: Settings, tmp_path: Path, profile: Profile
) -> None:
    mailbox = f"chaos-soak-{uuid.uuid4().hex[:8]}"
    events = int(profile.soak * profile.soak_rate)
    async with Chaos("soak", settings, tmp_path, profile, {mailbox: False}) as chaos:
        pids = [p.pid for p in chaos.workers.procs.values()]
        samples: dict[int, list[tuple[float, float]]] = {pid: [] for pid in pids}
        feeding = asyncio.create_task(chaos.send(jobs(mailbox, events), profile.soak_rate))
        started = time.monotonic()
        while not feeding.done():
            await chaos.watch(SAMPLE_EVERY)
            for pid in pids:
                samples[pid].append((time.monotonic() - started, rss_mib(pid)))
        ids = await feeding
        await chaos.settle(ids, profile.settle)
        growth = {pid: _growth(s, profile.soak * WARM_UP) for pid, s in samples.items()}
        errors = [line for line in _whole_logs(chaos).splitlines() if " ERROR " in line]
        v = await chaos.verdict(
            "10-soak",
            ids,
            extra={
                "duration": f"{profile.soak / 60:.0f} min at {profile.soak_rate:.0f}/s",
                "RSS growth after warm-up": f"{max(growth.values()):.1%}",
                "ERROR lines": len(errors),
            },
        )
    assert (v.lost, v.dead_letters) == (0, 0), v.lost_ids
    assert max(growth.values()) < MAX_GROWTH, growth
    assert not errors, errors[:20]
    assert not chaos.crashes


def _growth(samples: list[tuple[float, float]], warm_up: float) -> float:
    """RSS at the end (mean of the last minute) over RSS at the end of the warm-up."""
    after = [rss for t, rss in samples if t >= warm_up]
    base = after[0]
    last_minute = [rss for t, rss in samples if t >= samples[-1][0] - 60]
    return (sum(last_minute) / len(last_minute) - base) / base


def _whole_logs(chaos: Chaos) -> str:
    return "\n".join(
        p.read_text(errors="replace") for p in sorted(chaos.workers.tmp.glob("worker-*.log"))
    )
