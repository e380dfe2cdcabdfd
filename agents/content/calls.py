"""Model calls with a deadline that never raise: each stage decides what a failure
means for it (another writer, a standard plan, an unrevised draft)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger("agentstream.content")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str


async def bounded(call: Awaitable[T], deadline: float, what: str) -> T | Failure:
    """The call's result, or why there is none within ``deadline`` seconds."""
    try:
        async with asyncio.timeout(deadline):
            return await call
    except TimeoutError:
        reason = f"{what}: no answer within {deadline:g}s"
    except Exception as e:  # noqa: BLE001 - any model failure has the same remedy here
        reason = f"{what}: {type(e).__name__}: {e}"
    log.warning("%s", reason)
    return Failure(reason)
