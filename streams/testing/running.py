"""Running an app's agents in memory until something holds: a reply arrived, or no
agent has work left.

Work is counted per agent from its inbox: records queued, records its loop took, and
records it acknowledged or released. An agent is idle when nothing is queued, every
record it took is settled, and its lanes and delivery are idle. A window waiting for
more records is closed (as if its ``within`` had run out) once no record can reach it:
nothing queued for any agent and nothing being handled anywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from streams.app import App
from streams.testing.broker import Inbox
from streams.testing.transport import MemoryTransport

SETTLED_TURNS = 3  # loop turns with nothing to do before the app counts as drained
BUSY_SPINS = 100  # loop turns polled without pause while work moves, then POLL
POLL = 0.001


class Runner:
    """Runs the agents of ``app`` on ``transport`` until a condition holds."""

    def __init__(self, app: App, transport: MemoryTransport) -> None:
        self.app = app
        self.transport = transport
        self.raised: BaseException | None = None  # the agents' failure ``until`` raised

    async def until(
        self,
        done: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109 - the callers' deadline
        *,
        flush: bool = True,
        settled_turns: int = SETTLED_TURNS,
    ) -> None:
        """Run until ``done()`` holds (for ``settled_turns`` more loop turns). Raises what
        stopped an agent, and ``TimeoutError`` naming the agents still busy after
        ``timeout`` seconds. With ``flush``, windows nothing can reach are closed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet = spins = 0
        seen = self._progress()
        while True:
            if (failure := self.app.failure()) is not None:
                self.raised = failure
                raise failure
            if not done():
                quiet = 0
            elif quiet >= settled_turns:
                return
            else:
                quiet += 1
            if flush:
                self._cut_windows()
            if loop.time() >= deadline:
                raise TimeoutError(self._busy())
            progress = self._progress()
            spins = 0 if progress != seen else spins + 1
            seen = progress
            await asyncio.sleep(0 if spins < BUSY_SPINS else POLL)

    def idle(self) -> bool:
        """No agent has work left."""
        loops = self.app.loops
        return all(
            not inbox and inbox.taken == inbox.settled
            and loops[name].lanes.idle and loops[name].delivery.idle
            for name, inbox, _ in self._agents()
        )  # fmt: skip

    def _agents(self) -> list[tuple[str, Inbox, int]]:
        """Each agent's name, inbox and records taken but not acknowledged."""
        loops = self.app.loops
        return [
            (name, inbox, loops[name].acks.pending)
            for name, inbox in self.transport.inboxes.items()
        ]

    def _cut_windows(self) -> None:
        """Close the windows waiting for more records once no record can reach them:
        nothing queued in any mailbox, nothing being handled anywhere."""
        agents = self._agents()
        if any(inbox or pending for _, inbox, pending in agents):
            return
        for _, inbox, pending in agents:
            if inbox.taken > inbox.settled + pending and inbox.waiting:
                inbox.cut()

    def _progress(self) -> tuple[int, int]:
        inboxes = self.transport.inboxes.values()
        return sum(i.taken for i in inboxes), sum(i.settled for i in inboxes)

    def _busy(self) -> str:
        busy = [
            f"{name} ({len(inbox)} queued, {inbox.taken - inbox.settled} taken and not done)"
            for name, inbox, _ in self._agents()
            if inbox or inbox.taken != inbox.settled
        ]
        if not busy:
            return "every agent is idle"
        return (
            "still busy: " + ", ".join(busy) + " (a handler failing with a transient error "
            "is retried for Retry.outage seconds; TestApp(outage=...) shortens that)"
        )
