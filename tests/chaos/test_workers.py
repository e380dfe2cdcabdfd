"""Scenarios 1, 2, 4 and 5: worker processes killed, bounced, frozen, added and removed
while events flow (3 workers, 12-partition mailboxes)."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
import uuid
from pathlib import Path

import pytest

from config import Settings
from tests.chaos.cluster import lag
from tests.chaos.harness import Chaos
from tests.chaos.profiles import Profile, current
from tests.chaos.verifier import Record, jobs

pytestmark = pytest.mark.timeout(current().timeout)


def _interleave(*streams: list[Record]) -> list[Record]:
    return [r for group in itertools.zip_longest(*streams) for r in group if r is not None]


async def test_kill_9_loses_nothing_and_idempotent_agents_never_repeat_a_side_effect(
    settings: Settings, tmp_path: Path, profile: Profile
) -> None:
    plain, idem = f"chaos-kill-{uuid.uuid4().hex[:8]}", f"chaos-kill-idem-{uuid.uuid4().hex[:8]}"
    half = profile.events // 2
    mailboxes = {plain: False, idem: True}
    async with Chaos("kill-9", settings, tmp_path, profile, mailboxes) as chaos:
        plain_records, idem_records = jobs(plain, half), jobs(idem, half)
        feeding = asyncio.create_task(
            chaos.send(_interleave(plain_records, idem_records), profile.rate)
        )
        for _ in range(profile.kills):
            await chaos.watch(profile.kill_every)
            await chaos.bounce(signal.SIGKILL)
        await feeding
        plain_ids, idem_ids = [r.id for r in plain_records], [r.id for r in idem_records]
        await chaos.settle(plain_ids + idem_ids, profile.settle)
        repeated = await chaos.repeated_side_effects(plain, plain_ids)
        repeated_idem = await chaos.repeated_side_effects(idem, idem_ids)
        v = await chaos.verdict(
            "1-kill-9", plain_ids, mailboxes=[plain], extra={"repeated side effects": repeated}
        )
        vi = await chaos.verdict(
            "1-kill-9-idempotent",
            idem_ids,
            mailboxes=[idem],
            extra={"repeated side effects": repeated_idem},
        )
    assert v.extra["SIGKILL"] == profile.kills
    assert (v.lost, vi.lost) == (0, 0), (v.lost_ids, vi.lost_ids)
    assert repeated_idem == 0
    assert v.dead_letters == 0  # a plain agent runs a redelivered event again
    assert (v.out_of_order, vi.out_of_order) == (0, 0)


async def test_sigterm_bounces_lose_and_duplicate_nothing(
    settings: Settings, tmp_path: Path, profile: Profile
) -> None:
    mailbox = f"chaos-term-{uuid.uuid4().hex[:8]}"
    async with Chaos("sigterm", settings, tmp_path, profile, {mailbox: False}) as chaos:
        records = jobs(mailbox, profile.events)
        feeding = asyncio.create_task(chaos.send(records, profile.rate))
        codes = []
        for _ in range(profile.bounces):
            await chaos.watch(profile.kill_every)
            _, code = await chaos.bounce(signal.SIGTERM, wait_ready=True)
            codes.append(code)
        ids = await feeding
        await chaos.settle(ids, profile.settle)
        v = await chaos.verdict("2-sigterm", ids)
    assert codes == [0] * profile.bounces
    assert (v.lost, v.duplicates, v.dead_letters, v.out_of_order) == (0, 0, 0, 0), v.lost_ids
    assert not chaos.crashes


async def test_a_worker_stopped_past_its_session_timeout_commits_no_stale_work(
    settings: Settings, tmp_path: Path, profile: Profile
) -> None:
    """SIGSTOP: the group moves the frozen worker's partitions after the 6 s session
    timeout; on SIGCONT it finds itself out of the group, rejoins, and what it had handled
    but not committed is handled again by the new owners (duplicates, not losses)."""
    mailbox, backlog = f"chaos-stop-{uuid.uuid4().hex[:8]}", 2000
    async with Chaos(
        "sigstop", settings, tmp_path, profile, {mailbox: False}, backlog=backlog
    ) as chaos:
        ids, frozen = await chaos.freeze_one(mailbox)
        v = await chaos.verdict(
            "4-sigstop", ids, extra={"stopped for": f"{profile.stop_for:.0f} s"}
        )
        assert frozen in chaos.live(), "the resumed worker exited"
    assert (v.lost, v.dead_letters) == (0, 0), v.lost_ids
    assert v.duplicates <= backlog  # at most what it held uncommitted
    assert v.out_of_order == 0


# SIGTERM is sent to workers while they start: on a machine busy with other tests a
# worker may still be importing, and dies of the signal instead of exiting 0.
@pytest.mark.serial
async def test_a_rebalance_storm_loses_nothing_and_lag_returns_to_zero(
    settings: Settings, tmp_path: Path, profile: Profile
) -> None:
    mailbox = f"chaos-storm-{uuid.uuid4().hex[:8]}"
    async with Chaos("storm", settings, tmp_path, profile, {mailbox: False}) as chaos:
        records = jobs(mailbox, profile.events)
        feeding = asyncio.create_task(chaos.send(records, profile.rate * 0.5))
        codes = await _storm(chaos, profile.storm, profile.storm_every)
        ids = await feeding
        await chaos.settle(ids, profile.settle)
        drained_in = await _lag_to_zero(chaos, mailbox, profile.settle)
        v = await chaos.verdict(
            "5-rebalance-storm", ids,
            extra={"members at the end": len(chaos.live()), "lag 0 after": f"{drained_in:.0f} s"},
        )  # fmt: skip
    assert codes, "the storm stopped no worker"
    assert set(codes) == {0}, codes
    assert (v.lost, v.dead_letters) == (0, 0), v.lost_ids
    assert v.out_of_order == 0


async def _storm(chaos: Chaos, seconds: float, every: float) -> list[int]:
    """Every ``every`` seconds add a worker (up to 5) or SIGTERM one (down to 1), in
    turns; the SIGTERM exit codes."""
    codes: list[int] = []
    next_slot = itertools.count(chaos.size)
    deadline = time.monotonic() + seconds
    for turn in itertools.count():
        if time.monotonic() >= deadline:
            break
        await chaos.watch(every)
        live = chaos.live()
        if (turn % 2 == 0 and len(live) < 5) or len(live) <= 1:
            chaos.workers.start(next(next_slot))
            chaos.disruptions["joins"] = chaos.disruptions.get("joins", 0) + 1
        else:
            codes.append(await chaos.kill(live[turn % len(live)], signal.SIGTERM))
    return codes


async def _lag_to_zero(chaos: Chaos, mailbox: str, limit: float) -> float:
    """Seconds until the group's committed offsets reach the mailbox's end offsets."""
    started = time.monotonic()
    while (left := await lag(chaos.settings.kafka, chaos.app_id, mailbox, 12)) > 0:
        if time.monotonic() - started > limit:
            raise AssertionError(f"consumer lag still {left} after {limit:.0f} s")
        await asyncio.sleep(0.5)
    return time.monotonic() - started
