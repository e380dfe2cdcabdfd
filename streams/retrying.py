"""Retrying a dependency (Redis, the broker) until it answers again.

Runtime calls that must succeed for the agent to go on (idempotency claims, keyed state)
wait out transient failures with capped exponential backoff instead of stopping the
agent; flow control pauses the agent's partitions meanwhile. Errors that are not
transient propagate at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from streams.errors import is_transient

T = TypeVar("T")

FIRST_DELAY = 0.05
MAX_DELAY = 2.0
LOG_EVERY = 10.0  # seconds between warnings while a dependency stays away


async def retrying(
    op: Callable[[], Awaitable[T]],
    what: str,
    log: logging.Logger,
    *,
    transient: Callable[[BaseException], bool] = is_transient,
    between: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """Await ``op()`` until it succeeds; ``transient`` errors are retried with backoff and
    logged (once, then every ``LOG_EVERY`` seconds); others propagate. ``between`` runs
    after each backoff, before the next attempt (to renew a client, say)."""
    delay = FIRST_DELAY
    failures = 0
    since = logged = 0.0
    while True:
        if failures and between is not None:
            await between()
        try:
            result = await op()
        except Exception as e:
            if not transient(e):
                raise
            now = time.monotonic()
            if failures == 0:
                since = now
            failures += 1
            if now - logged >= LOG_EVERY:
                logged = now
                log.warning(
                    "%s unavailable for %.1fs (%d attempts), retrying: %s",
                    what, now - since, failures, e,
                )  # fmt: skip
            await asyncio.sleep(delay / 2 + random.uniform(0, delay / 2))  # noqa: S311
            delay = min(MAX_DELAY, delay * 2)
        else:
            if failures:
                log.warning(
                    "%s back after %.1fs (%d failed attempts)",
                    what, time.monotonic() - since, failures,
                )  # fmt: skip
            return result
