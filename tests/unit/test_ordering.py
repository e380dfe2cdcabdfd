import asyncio
import random

from streams.ordering import group_by_key, run_keyed


def test_group_by_key_keeps_order_and_splits_none() -> None:
    items = [("a", 1), (None, 2), ("b", 3), ("a", 4), (None, 5)]
    assert group_by_key(items, lambda i: i[0]) == [
        [("a", 1), ("a", 4)],
        [(None, 2)],
        [("b", 3)],
        [(None, 5)],
    ]


async def test_same_key_in_order_across_keys_bounded() -> None:
    items = [(f"k{i % 7}", i) for i in range(200)]
    seen: dict[str, list[int]] = {}
    running = peak = 0

    async def handle(item: tuple[str, int]) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(random.random() / 1000)
        seen.setdefault(item[0], []).append(item[1])
        running -= 1

    await run_keyed(items, lambda i: i[0], handle, concurrency=4)
    assert peak == 4
    for k, values in seen.items():
        assert values == sorted(values), k
    assert sum(len(v) for v in seen.values()) == 200
