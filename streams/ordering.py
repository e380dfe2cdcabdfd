"""Parallel handling inside a window: same key in order, different keys concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterator
from typing import TypeVar

T = TypeVar("T")


def group_by_key(items: list[T], key: Callable[[T], Hashable | None]) -> list[list[T]]:
    """Groups in first-seen order; items keep their order inside a group. A ``None`` key
    means no ordering constraint, so each such item is a group of its own."""
    groups: dict[Hashable, list[T]] = {}
    out: list[list[T]] = []
    for item in items:
        k = key(item)
        if k is None:
            out.append([item])
            continue
        group = groups.get(k)
        if group is None:
            group = groups[k] = []
            out.append(group)
        group.append(item)
    return out


async def run_keyed(
    items: list[T],
    key: Callable[[T], Hashable | None],
    handle: Callable[[T], Awaitable[None]],
    concurrency: int,
) -> None:
    """Run ``handle`` over every item: per key sequentially, across keys with at most
    ``concurrency`` running at once. ``handle`` is expected not to raise."""
    groups = group_by_key(items, key)
    workers = min(concurrency, len(groups))
    pending: Iterator[list[T]] = iter(groups)

    async def worker() -> None:
        for group in pending:
            for item in group:
                await handle(item)

    if workers <= 1:
        await worker()
    else:
        await asyncio.gather(*(worker() for _ in range(workers)))
