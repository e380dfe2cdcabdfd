import asyncio

import pytest

from streams.errors import HandlerTimeout
from streams.invoke import invoke


async def immediate(x: int) -> int:
    return x * 2


async def waits(x: int, steps: int) -> int:
    for _ in range(steps):
        await asyncio.sleep(0)
    await asyncio.sleep(0.001)
    return x + 1


async def fails_after_wait() -> None:
    await asyncio.sleep(0)
    raise ValueError("late")


async def fails_at_once() -> None:
    raise KeyError("early")


async def own_timeout() -> None:
    await asyncio.sleep(0)
    raise TimeoutError("from the handler")


async def test_a_call_that_never_waits_returns_its_value() -> None:
    assert await invoke(immediate(21), 1.0) == 42


async def test_a_call_that_waits_is_continued_to_its_result() -> None:
    assert await invoke(waits(1, 3), 1.0) == 2


async def test_errors_before_and_after_waiting_reach_the_caller() -> None:
    with pytest.raises(KeyError, match="early"):
        await invoke(fails_at_once(), 1.0)
    with pytest.raises(ValueError, match="late"):
        await invoke(fails_after_wait(), 1.0)


async def test_running_past_the_deadline_is_a_handler_timeout() -> None:
    with pytest.raises(HandlerTimeout, match=r"past 0\.01s"):
        await invoke(asyncio.sleep(10), 0.01)


async def test_a_timeout_raised_by_the_handler_itself_is_not_ours() -> None:
    with pytest.raises(TimeoutError, match="from the handler") as raised:
        await invoke(own_timeout(), 1.0)
    assert not isinstance(raised.value, HandlerTimeout)


async def test_cancelling_the_caller_cancels_the_call() -> None:
    cleaned = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            cleaned.set()

    task = asyncio.create_task(invoke(slow(), 30))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned.is_set()


async def test_other_awaitables_are_awaited_under_the_deadline() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    with pytest.raises(HandlerTimeout):
        await invoke(future, 0.01)
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    done.set_result(7)
    assert await invoke(done, 1.0) == 7
