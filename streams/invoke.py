"""Run one handler call under the agent's timeout, cheaply when it does not wait.

Many handler calls finish without ever suspending (rules, cache hits, pure transforms).
Arming an ``asyncio.timeout`` for them costs more than the handler itself, and a call
that never yields to the loop cannot be interrupted by a timer anyway. So the first step
of the coroutine runs eagerly; only a call that suspends is continued under the timeout
(the same idea as Python 3.12's eager tasks).
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, TypeVar

from streams.errors import HandlerTimeout

T = TypeVar("T")


async def invoke(call: Awaitable[T], seconds: float) -> T:
    """Await ``call``; raise :class:`HandlerTimeout` if it runs past ``seconds``."""
    if isinstance(call, types.CoroutineType):
        try:
            pending = call.send(None)
        except StopIteration as finished:
            return finished.value  # type: ignore[no-any-return] # the coroutine's result
        call = _resume(call, pending)
    try:
        async with asyncio.timeout(seconds) as deadline:
            return await call
    except TimeoutError as e:
        if deadline.expired():
            raise HandlerTimeout(f"handler ran past {seconds}s") from e
        raise


@types.coroutine
def _resume(call: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, Any, Any]:
    """Continue a coroutine whose first step already ran and yielded ``pending``: hand
    what it yields to the task, and what the task sends or throws back to it."""
    while True:
        try:
            sent = yield pending
        except GeneratorExit:
            call.close()
            raise
        except BaseException as thrown:  # noqa: BLE001 - cancellation goes to the call
            try:
                pending = call.throw(thrown)
            except StopIteration as finished:
                return finished.value
        else:
            try:
                pending = call.send(sent)
            except StopIteration as finished:
                return finished.value
