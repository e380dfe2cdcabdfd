"""One pooled keep-alive HTTP session per event loop, and the per-model limit on calls
in flight.

Opening a TCP (and TLS) connection per model call costs more than many answers take;
the session's connector keeps up to ``limit`` connections open between calls and hands
them to whichever call comes next. aiohttp sessions and asyncio semaphores belong to the
loop that created them, hence one of each per loop (a worker has one loop; tests and
tools may run several one after another).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp


@dataclass(slots=True)
class Lane:
    session: aiohttp.ClientSession
    slots: asyncio.Semaphore


class SessionPool:
    def __init__(
        self, *, limit: int, concurrency: int, keepalive: float, headers: dict[str, str]
    ) -> None:
        self.limit = limit
        self.concurrency = concurrency
        self.keepalive = keepalive
        self._headers = headers
        self._lanes: dict[asyncio.AbstractEventLoop, Lane] = {}

    def lane(self) -> Lane:
        """The running loop's session and semaphore, opened on first use."""
        loop = asyncio.get_running_loop()
        lane = self._lanes.get(loop)
        if lane is None or lane.session.closed:
            for old in [k for k in self._lanes if k.is_closed()]:
                del self._lanes[old]
            connector = aiohttp.TCPConnector(limit=self.limit, keepalive_timeout=self.keepalive)
            session = aiohttp.ClientSession(connector=connector, headers=self._headers)
            lane = self._lanes[loop] = Lane(session, asyncio.Semaphore(self.concurrency))
        return lane

    async def aclose(self) -> None:
        """Close the running loop's session (a later call opens a new one)."""
        lane = self._lanes.pop(asyncio.get_running_loop(), None)
        if lane is not None:
            await lane.session.close()
