"""The customer-service system end to end on the real broker and Redis (offline model):
one reply, escalation and quality record per inquiry; no personal data past preprocess;
a person's answer reaching the asker; memory across restarts; kill -9 of a worker and a
Redis outage without losing an inquiry."""

from __future__ import annotations

import asyncio
import collections
import logging
import signal
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from agents.shared.models.offline import OfflineModel
from agents.support import SupportApp, Topics, create_app
from config import RedisSettings, Settings
from schemas.support import Escalation, HumanAnswer, Inquiry, Quality, Reply
from streams import Client
from streams.client import Reply as Received
from streams.connection import client_kwargs, partitions_of
from tests.integration.processes import EnvWorkers, PrivateRedis
from tests.integration.workers import wait_until
from tests.support_fixtures import EMAIL, PII, inquiry, shipped_inquiries

ASK_TIMEOUT = 90.0


class Tail:
    """Reads support topics from the start and keeps every record by topic."""

    def __init__(self, settings: Settings, topics: list[str]) -> None:
        self.consumer = AIOKafkaConsumer(
            *topics, auto_offset_reset="earliest", enable_auto_commit=False,
            **client_kwargs(settings.kafka),
        )  # fmt: skip
        self.records: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)

    async def __aenter__(self) -> Tail:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def poll(self) -> None:
        for batch in (await self.consumer.getmany(timeout_ms=200)).values():
            for r in batch:
                self.records[r.topic].append(orjson.loads(r.value))

    def ids(self, topic: str) -> collections.Counter[str]:
        return collections.Counter(v["inquiry_id"] for v in self.records[topic])

    async def until(self, topic: str, ids: set[str], limit: float) -> None:
        async def done() -> bool:
            await self.poll()
            return ids <= set(self.ids(topic))

        await wait_until(done, limit, f"every inquiry in {topic}")


async def all_values(settings: Settings, prefix: str, exclude: set[str]) -> dict[str, list[bytes]]:
    """Every value of every topic of the app (``<prefix>support.*``), read to its end."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings.kafka))
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(f"{prefix}support.")]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **client_kwargs(settings.kafka))
    await consumer.start()
    values: dict[str, list[bytes]] = {}
    try:
        for name in sorted(set(names) - exclude):
            tps = [TopicPartition(name, p) for p in await partitions_of(settings.kafka, name)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            got: list[bytes] = []
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                for batch in (await consumer.getmany(*tps, timeout_ms=500)).values():
                    got.extend(r.value or b"" for r in batch)
            values[name] = got
    finally:
        await consumer.stop()
    return values


async def ask_and_send(
    client: Client, topics: Topics, texts: list[tuple[str, str | None]]
) -> tuple[list[Reply], list[str]]:
    """Ask the first half (replies come back to the asker), send the rest (replies go to
    the replies topic); the asked replies and the sent inquiries' ids."""
    half = len(texts) // 2
    sem = asyncio.Semaphore(16)

    async def ask(i: int, text: str, lang: str | None) -> Reply:
        async with sem:
            msg = inquiry(i, text, lang)
            got = await client.ask(
                topics.inquiries, msg, key=msg.customer_id.encode(), timeout=ASK_TIMEOUT
            )
            return got.parse(Reply)

    sent = [
        (await client.send(topics.inquiries, m, key=m.customer_id.encode())).id
        for m in (inquiry(i, *tl) for i, tl in enumerate(texts[half:], half))
    ]
    asked = await asyncio.gather(*(ask(i, *tl) for i, tl in enumerate(texts[:half])))
    return list(asked), sent


async def answer_as_a_person(client: Client, topics: Topics, esc: Escalation) -> None:
    """What the console does: a HumanAnswer to the escalation's reply topic."""
    answer = HumanAnswer(
        ticket=esc.ticket, inquiry_id=esc.inquiry_id, customer_id=esc.customer_id,
        text="We fixed it on our side; please try again.", agent_name="Ana",
        category=esc.category, urgency=esc.urgency, received_at=esc.received_at,
    )  # fmt: skip
    await client.send(
        topics.human_answers, answer, key=esc.customer_id.encode(),
        replyto=esc.reply_topic, correlationid=esc.correlation_id,
    )  # fmt: skip


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
async def test_every_inquiry_ends_in_one_reply_and_no_personal_data_leaks(
    settings: Settings, unique: str, caplog: pytest.LogCaptureFixture, guarantee: str
) -> None:
    caplog.set_level(logging.INFO)  # what a worker logs by default
    prefix = f"{unique}."
    settings = settings.model_copy(update={"guarantee": guarantee})
    app = create_app(settings, OfflineModel(), prefix)
    assert app.guarantee == guarantee
    t = app.names
    rows = shipped_inquiries(per_lang=28)
    texts = [(r["text"], r["lang"]) for r in rows] + [(text, None) for text in PII.values()]
    human_replies: list[Received] = []

    async def on_unmatched(reply: Received) -> None:
        human_replies.append(reply)

    async with (
        app.running(),
        Client(settings, on_unmatched=on_unmatched) as client,
        Tail(settings, [t.replies, t.escalations, t.quality]) as tail,
    ):
        asked, sent = await ask_and_send(client, t, texts)
        all_ids = {r.inquiry_id for r in asked} | set(sent)
        assert len(all_ids) == len(texts)
        await tail.until(t.replies, set(sent), ASK_TIMEOUT)
        await tail.until(t.quality, all_ids, ASK_TIMEOUT)

        # A person answers an escalated inquiry that was asked: the answer goes to the
        # system's stable replies topic (the escalation's reply_topic), not to the
        # asker's private topic, which may be gone by then.
        escalations = {e["ticket"]: Escalation(**e) for e in tail.records[t.escalations]}
        mine = [r for r in asked if r.status == "escalated" and r.ticket]
        assert mine, "some asked inquiries should have been escalated"
        esc = escalations[str(mine[0].ticket)]
        await answer_as_a_person(client, t, esc)

        async def human_reply_arrived() -> bool:
            await tail.poll()
            quality = tail.records[t.quality]
            human = [r for r in tail.records[t.replies] if r["status"] == "human"]
            return bool(human) and any(q["status"] == "human" for q in quality)

        await wait_until(human_reply_arrived, ASK_TIMEOUT, "the person's answer")
        await asyncio.sleep(2)  # anything extra would have arrived by now
        await tail.poll()

    on_topic = [Reply(**v) for v in tail.records[t.replies]]
    replies = [r for r in on_topic if r.status != "human"] + asked
    by_id = collections.Counter(r.inquiry_id for r in replies)
    assert set(by_id) == all_ids
    assert set(by_id.values()) == {1}, "exactly one reply per inquiry"
    assert {r.status for r in replies} <= {"answered", "escalated"}
    escalated = {r.inquiry_id: str(r.ticket) for r in replies if r.status == "escalated"}
    esc_ids = collections.Counter(e["inquiry_id"] for e in tail.records[t.escalations])
    assert esc_ids == collections.Counter(escalated.keys()), "one escalation per reply"
    assert all(escalations[ticket].inquiry_id == i for i, ticket in escalated.items())
    quality = [Quality(**q) for q in tail.records[t.quality]]
    first = collections.Counter(q.inquiry_id for q in quality if q.status != "human")
    assert first == collections.Counter(all_ids), "one quality record per reply"
    assert [q.inquiry_id for q in quality if q.status == "human"] == [esc.inquiry_id]

    assert esc.reply_topic == t.replies
    assert not human_replies, "nothing reaches the asker's private topic unasked"
    (human,) = [r for r in on_topic if r.status == "human"]
    assert (human.inquiry_id, human.model, human.ticket) == (esc.inquiry_id, "human", esc.ticket)

    answered = [r for r in replies if r.status == "answered"]
    assert answered, "some inquiries should have been answered from the knowledge base"
    assert all(r.sources and r.model == "offline" for r in answered)
    counts = collections.Counter((r.status, r.category) for r in replies)
    print(f"\n{len(replies)} inquiries: {dict(sorted(counts.items()))}")

    values = await all_values(settings, prefix, exclude={t.inquiries})
    assert {t.triage, t.kb, t.replies, t.escalations, t.outcomes, t.quality} <= set(values)
    for topic, records in values.items():
        for value in records:
            for raw in PII:
                assert raw.encode() not in value, f"{raw!r} leaked into {topic}"
            assert not EMAIL.search(value), f"an email address leaked into {topic}: {value!r}"
    assert {k: len(v) for k, v in values.items() if k.endswith(".dlq") and v} == {}
    assert not [text for text, _ in texts if text in caplog.text], "inquiry text in a log"


async def ask_reply(client: Client, topics: Topics, customer: str, text: str) -> Reply:
    msg = Inquiry(customer_id=customer, text=text)
    got = await client.ask(topics.inquiries, msg, key=customer.encode(), timeout=ASK_TIMEOUT)
    return got.parse(Reply)


async def test_memory_survives_a_restart_and_routes_a_follow_up(
    settings: Settings, unique: str
) -> None:
    prefix = f"{unique}."
    first = "The desktop app crashes every time I upload a large file"
    follow_up = "still happening"
    topics = Topics(prefix)
    async with Client(settings) as client:
        async with create_app(settings, OfflineModel(), prefix).running():
            before = await ask_reply(client, topics, "mem-1", first)
        # A new app (as after a worker restart): only Redis remembers the conversation.
        async with create_app(settings, OfflineModel(), prefix).running():
            after = await ask_reply(client, topics, "mem-1", follow_up)
            stranger = await ask_reply(client, topics, "mem-2", follow_up)

    assert before.category == "technical"
    assert after.category == "technical", "the follow-up is routed by the earlier turn"
    assert stranger.category != "technical", "without a conversation it is not technical"
    redis = aioredis.Redis.from_url(settings.redis.url)
    try:
        raw = await redis.lrange(f"agentstream:state:{prefix}support:memory:mem-1", 0, -1)
        ttl = await redis.ttl(f"agentstream:state:{prefix}support:memory:mem-1")
    finally:
        await redis.aclose()
    turns = [orjson.loads(r) for r in raw]
    assert [t["text"] for t in turns] == [first, follow_up]
    assert [t["inquiry_id"] for t in turns] == [before.inquiry_id, after.inquiry_id]
    assert 0 < ttl <= settings.support.memory_ttl


def load(n: int) -> list[Inquiry]:
    """``n`` shipped test inquiries (cycled) from 50 customers."""
    rows = shipped_inquiries(per_lang=1000)
    return [inquiry(i, rows[i % len(rows)]["text"], customers=50) for i in range(n)]


async def send_all(client: Client, topics: Topics, msgs: list[Inquiry]) -> list[str]:
    ids = []
    for msg in msgs:
        envelope = await client.send(topics.inquiries, msg, key=msg.customer_id.encode())
        ids.append(envelope.id)
    return ids


def worker_logs(tmp: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in tmp.glob("worker-*.log"))


def duplicates(tail: Tail, topic: str) -> int:
    counts = tail.ids(topic)
    return sum(counts.values()) - len(counts)


async def dead_letters(settings: Settings, prefix: str) -> dict[str, int]:
    values = await all_values(settings, prefix, exclude=set())
    return {t: len(v) for t, v in values.items() if t.endswith(".dlq") and v}


@pytest.mark.slow
@pytest.mark.timeout(420)
async def test_kill_9_of_a_worker_loses_no_inquiry(
    settings: Settings, unique: str, tmp_path: Path
) -> None:
    prefix = f"{unique}."
    topics = Topics(prefix)
    module = f"from agents.support import create_app\n\napp = create_app(prefix={prefix!r})\n"
    workers = EnvWorkers(settings, tmp_path, module)
    msgs = load(300)
    try:
        for slot in (0, 1):
            workers.start(slot)
        for slot in (0, 1):
            await wait_until(lambda s=slot: workers.ready(s), 120, f"worker {slot} ready")
        async with (
            Client(settings) as client,
            Tail(settings, [topics.replies, topics.quality]) as tail,
        ):
            ids = await send_all(client, topics, msgs[:150])

            async def some_replies() -> bool:
                await tail.poll()
                return len(tail.ids(topics.replies)) >= 40

            await wait_until(some_replies, 120, "the first replies")
            workers.signal(1, signal.SIGKILL)
            ids += await send_all(client, topics, msgs[150:])
            workers.start(1)
            await tail.until(topics.replies, set(ids), 240)
            await tail.until(topics.quality, set(ids), 120)
    finally:
        workers.stop_all()
    lost = set(ids) - set(tail.ids(topics.replies))
    print(
        f"\nkill -9 with {len(ids)} inquiries: lost {len(lost)}, duplicate replies "
        f"{duplicates(tail, topics.replies)}, duplicate quality records "
        f"{duplicates(tail, topics.quality)}; exits {workers.exit_codes}"
    )
    assert not lost
    assert (int(signal.SIGKILL), -int(signal.SIGKILL)) in workers.exit_codes
    logs = worker_logs(tmp_path)
    assert not [m.text for m in msgs if m.text in logs], "inquiry text in a worker's log"
    assert await dead_letters(settings, prefix) == {}


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_a_redis_outage_loses_nothing_and_heals_by_itself(
    settings: Settings, unique: str, tmp_path: Path
) -> None:
    prefix = f"{unique}."
    topics = Topics(prefix)
    redis_server = PrivateRedis(tmp_path / "redis")
    await redis_server.start()
    private = settings.model_copy(update={"redis": RedisSettings(url=redis_server.url)})
    app: SupportApp = create_app(private, OfflineModel(), prefix)
    msgs = load(120)
    try:
        async with (
            app.running(),
            Client(settings) as client,
            Tail(settings, [topics.replies, topics.quality]) as tail,
        ):
            ids = await send_all(client, topics, msgs[:40])
            await tail.until(topics.replies, set(ids), 120)
            redis_server.stop()
            ids += await send_all(client, topics, msgs[40:])
            await asyncio.sleep(10)  # inquiries arrive and wait while Redis is away
            during = len(tail.ids(topics.replies))
            await redis_server.start()
            await tail.until(topics.replies, set(ids), 120)
            await tail.until(topics.quality, set(ids), 60)
            assert app.failure() is None
    finally:
        if redis_server.proc is not None:
            redis_server.stop()
    print(
        f"\nRedis away 10 s: {during - 40} of 80 inquiries replied meanwhile, lost "
        f"{len(set(ids) - set(tail.ids(topics.replies)))}, duplicates "
        f"{duplicates(tail, topics.replies)}"
    )
    assert await dead_letters(settings, prefix) == {}
