"""A late reply to a reply topic that is gone: the asker gave up and deleted its private
reply topic before a slow agent answered. The reply becomes one dead letter naming the
topic, its input is committed, and nothing else of the worker waits meanwhile (aiokafka's
producer would otherwise retry the record for its whole request timeout, 40 s by
default, and keep the event loop busy doing so)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from config import Settings
from streams import App, Batch, Client, Context, RequestTimeout, UnknownTopic
from streams.connection import client_kwargs
from streams.dlq import DeadLetter, read
from tests.integration.test_windows import Tick, Tock

SLOW_CALL = 3.0
#: Far below the producer's request timeout (40 s): a stall would show as a gap of tens
#: of seconds, while a loaded 2-core machine may delay a reply by a second or two.
MAX_GAP = 5.0


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_late_reply_to_a_deleted_topic_is_one_dead_letter_and_stalls_nothing(
    settings: Settings, topic: str
) -> None:
    slow_mailbox, fast_mailbox = f"{topic}-slow", f"{topic}-fast"
    app = App(f"app-{topic}", settings)

    @app.agent(slow_mailbox, name="slow", batch=Batch(max_size=10, within=0.05))
    async def slow(msg: Tick, ctx: Context) -> Tock:
        if msg.seq > 0:
            await asyncio.sleep(SLOW_CALL)
        return Tock(key=msg.key, seq=msg.seq)

    @app.agent(fast_mailbox, name="fast", batch=Batch(max_size=10, within=0.05))
    async def fast(msg: Tick, ctx: Context) -> Tock:
        return Tock(key=msg.key, seq=msg.seq)

    answered: list[float] = []  # when each of the fast agent's replies came back
    async with app.running(), Client(settings) as steady:
        await _first_answer(steady, fast_mailbox)
        await _first_answer(steady, slow_mailbox)

        async def keep_asking() -> None:
            for i in range(10_000):
                with contextlib.suppress(RequestTimeout):
                    await steady.ask(fast_mailbox, Tick(key=f"f{i}", seq=i), timeout=30)
                    answered.append(time.monotonic())
                await asyncio.sleep(0.1)

        asking = asyncio.create_task(keep_asking())
        try:
            leaving = Client(settings)
            await leaving.start()
            try:  # a first answer: the worker's producer now knows the reply topic
                await leaving.ask(slow_mailbox, Tick(key="s", seq=0), timeout=30)
                with pytest.raises(RequestTimeout):
                    await leaving.ask(slow_mailbox, Tick(key="s", seq=1), timeout=0.5)
                gone = leaving._reply_topic
            finally:
                await leaving.stop()  # deletes its reply topic; the slow call is still on
            started = time.monotonic()
            letters: list[DeadLetter] = []
            while time.monotonic() - started < 30 and not letters:
                await asyncio.sleep(0.5)
                letters = await read(settings.kafka, f"{slow_mailbox}.dlq")
            lettered = time.monotonic() - started
            await asyncio.sleep(3)  # the fast agent keeps answering after the dead letter
            committed = await _committed(settings, app.id, slow_mailbox)
            letters = await read(settings.kafka, f"{slow_mailbox}.dlq")
        finally:
            asking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asking

    during = [t for t in answered if t >= started]
    gaps = [b - a for a, b in itertools.pairwise(answered)]
    print(
        f"dead letter {lettered:.1f} s after the reply topic was deleted; fast agent: "
        f"{len(during)} replies meanwhile, largest gap {max(gaps, default=0):.2f} s"
    )
    assert len(letters) == 1, [d.headers for d in letters]
    letter = letters[0]
    assert letter.header("dlq.stage") == "produce"
    assert gone is not None
    assert gone in letter.header("dlq.error.message")
    offset = int(letter.header("dlq.original.offset"))
    assert committed == offset + 1, "the late reply's input is not committed after its dead letter"
    assert len(during) > 20, f"the fast agent answered only {len(during)} asks meanwhile"
    assert max(gaps) < MAX_GAP, f"the fast agent went {max(gaps):.1f} s without answering"


async def _first_answer(client: Client, mailbox: str) -> None:
    """The app's consumer joins its group within a few seconds; ask until it answers."""
    for _ in range(30):
        try:
            await client.ask(mailbox, Tick(key="warm", seq=-1), timeout=2)
        except (RequestTimeout, UnknownTopic):
            continue
        return
    raise AssertionError(f"{mailbox} never answered")


async def _committed(settings: Settings, group: str, topic: str) -> int | None:
    """The group's committed offset of partition 0 of ``topic``."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings.kafka))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    found = [m.offset for tp, m in offsets.items() if tp.topic == topic and tp.partition == 0]
    return found[0] if found else None
