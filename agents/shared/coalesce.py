"""Many small calls of a CPU-bound model made into few large ones.

The shipped models (scikit-learn pipelines) spend most of a single prediction in their
fixed cost per call (input checks, feature unions, calibrated folds), not in the text.
Agents handle events concurrently, so calls arrive together: :class:`Coalesced` gathers
the calls made within ``window`` seconds of the first and answers them all from one call
of the model on every distinct input; inputs seen before come from a bounded memo. A
failed call fails every caller waiting on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

WINDOW = 0.001  # seconds the first call of a batch waits for others
MEMO = 20_000  # answers kept; the memo starts over when full


class Coalesced(Generic[K, V]):
    """``await coalesced(inputs)``: the answers of ``many(inputs)``, computed together
    with those of the calls made meanwhile."""

    def __init__(
        self, many: Callable[[list[K]], list[V]], window: float = WINDOW, memo: int = MEMO
    ) -> None:
        self.many = many
        self.window = window
        self.limit = memo
        self._memo: dict[K, V] = {}
        self._waiting: list[tuple[list[K], asyncio.Future[dict[K, V]]]] = []

    async def __call__(self, inputs: list[K]) -> list[V]:
        memo = self._memo
        missing = [i for i in inputs if i not in memo]
        if not missing:
            return [memo[i] for i in inputs]
        loop = asyncio.get_running_loop()
        done: asyncio.Future[dict[K, V]] = loop.create_future()
        if not self._waiting:
            loop.call_later(self.window, self._run)
        self._waiting.append((missing, done))
        known = {i: memo[i] for i in inputs if i in memo}
        found = {**known, **await done}
        return [found[i] for i in inputs]

    def _run(self) -> None:
        waiting, self._waiting = self._waiting, []
        unique = list(dict.fromkeys(i for inputs, _ in waiting for i in inputs))
        try:
            answers = dict(zip(unique, self.many(unique), strict=True))
        except Exception as e:  # noqa: BLE001 - every waiting call gets the error
            for _, done in waiting:
                if not done.done():
                    done.set_exception(e)
            return
        if len(self._memo) + len(unique) > self.limit:
            self._memo.clear()
        self._memo.update(answers)
        for inputs, done in waiting:
            if not done.done():
                done.set_result({i: answers[i] for i in inputs})
