"""The gateway over HTTP against the real broker, Redis and the real support app, all in
this process: inquiries and replies, refusals, the console's sign-in, CSRF and answers."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import test_utils, web

from agents.console import create_gateway
from agents.support import create_app
from config import RedisSettings, Settings
from config.settings import GatewaySettings

Http = test_utils.TestClient[web.Request, web.Application]
TOKEN = secrets.token_urlsafe(32)
COMPLAINT = (
    "This is unacceptable. I was charged twice, nobody answers, and I want to file a "
    "formal complaint about your terrible service."
)
QUESTION = "How do I reset my password?"


def with_gateway(settings: Settings, **overrides: Any) -> Settings:
    gateway = GatewaySettings(
        **{
            "console_token": TOKEN,
            "session_secret": "s" * 32,
            "reply_timeout": 60.0,
            **overrides,
        }
    )
    return settings.model_copy(update={"gateway": gateway})


async def wait_until(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {seconds}s")
        await asyncio.sleep(0.3)


@contextlib.asynccontextmanager
async def running_support(settings: Settings, prefix: str) -> AsyncIterator[None]:
    """The real support app, ready: it holds its partitions."""
    app = create_app(settings, prefix=prefix)
    async with app.running():

        async def ready() -> bool:
            return bool((await app.readiness(1.0))["ready"])

        await wait_until(ready, 60, "the support app's readiness")
        yield


@contextlib.asynccontextmanager
async def http_gateway(settings: Settings, prefix: str) -> AsyncIterator[Http]:
    server = test_utils.TestServer(create_gateway(settings, prefix))
    async with test_utils.TestClient(server) as client:
        yield client


@pytest.fixture(scope="module")
async def prefix(settings: Settings) -> AsyncIterator[str]:
    """A support app of this module's own, running for all its tests."""
    name = f"gw{uuid.uuid4().hex[:8]}."
    async with running_support(settings, name):
        yield name


@pytest.fixture
async def http(settings: Settings, prefix: str) -> AsyncIterator[Http]:
    async with http_gateway(with_gateway(settings), prefix) as client:
        yield client


async def ask(http: Http, text: str) -> tuple[int, dict[str, Any]]:
    """Ask as the client's customer (its cookie, minted by the first inquiry)."""
    answer = await http.post("/api/inquiries", json={"text": text})
    return answer.status, await answer.json()


async def my_messages(http: Http) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await (await http.get("/api/messages")).json())["messages"]
    return found


async def sign_in(http: Http) -> str:
    """Sign in through the form; the CSRF token of the signed-in session."""
    page = await (await http.get("/login")).text()
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    answer = await http.post("/login", data={"csrf": csrf, "token": TOKEN}, allow_redirects=False)
    assert answer.status == 303, await answer.text()
    console = await (await http.get("/agent")).text()
    return console.split('name="csrf" value="')[1].split('"')[0]


async def test_an_inquiry_gets_its_reply(http: Http) -> None:
    assert await (await http.get("/api/messages")).json() == {"customer_id": None, "messages": []}
    answer = await http.post("/api/inquiries", json={"text": QUESTION})
    assert answer.status == 200, await answer.text()
    reply = await answer.json()
    who = reply["customer_id"]
    assert who.startswith("web-")  # minted by the gateway, kept by the cookie it set
    assert reply["status"] in ("answered", "escalated")
    assert reply["text"]
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    messages = await (await http.get("/api/messages")).json()
    assert messages["customer_id"] == who
    assert [m["id"] for m in messages["messages"]] == [reply["id"]]
    again = await (await http.post("/api/inquiries", json={"text": QUESTION})).json()
    assert again["customer_id"] == who


async def test_a_reply_after_the_timeout_still_reaches_the_customer(
    settings: Settings, prefix: str
) -> None:
    async with http_gateway(with_gateway(settings, reply_timeout=0.001), prefix) as http:
        status, answer = await ask(http, QUESTION)
        assert (status, answer["status"]) == (202, "pending")

        async def arrived() -> bool:
            return len(await my_messages(http)) == 1

        await wait_until(arrived, 30, "the late reply in the customer's messages")
        mine = await (await http.get("/api/messages")).json()
        assert mine["messages"][0]["customer_id"] == mine["customer_id"]


async def test_bad_requests_are_refused_clearly(http: Http) -> None:
    bad_json = await http.post(
        "/api/inquiries", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status == 400
    assert "not valid JSON" in (await bad_json.json())["error"]
    schema = await http.post("/api/inquiries", json={"text": ""})
    assert schema.status == 400
    assert (await schema.json())["error"].startswith("text: String should have at least")
    not_json = await http.post("/api/inquiries", data={"text": "x"})
    assert not_json.status == 415


async def test_an_oversized_body_is_413(http: Http) -> None:
    limit = GatewaySettings().max_body_bytes
    body = {"text": "x" * (limit + 1)}
    answer = await http.post("/api/inquiries", json=body)
    assert answer.status == 413
    assert f"over {limit} bytes" in (await answer.json())["error"]


async def test_a_client_over_its_rate_gets_429(settings: Settings) -> None:
    tight = with_gateway(settings, inquiries={"rate": 0.01, "burst": 2})
    # A prefix of its own: its quotas in Redis are this test's alone.
    async with http_gateway(tight, f"rate{uuid.uuid4().hex[:8]}.") as http:
        codes = []
        for _ in range(3):
            answer = await http.post(
                "/api/inquiries", data=b"{}", headers={"Content-Type": "application/json"}
            )
            codes.append(answer.status)
        assert codes == [400, 400, 429]
        assert int(answer.headers["Retry-After"]) >= 1


async def test_the_console_refuses_strangers(http: Http) -> None:
    unsigned = await http.post("/agent/answer", data={"ticket": "T", "text": "hi"})
    assert unsigned.status == 401
    wrong_bearer = await http.post(
        "/agent/answer", json={"ticket": "T", "text": "hi"}, headers={"Authorization": "Bearer x"}
    )
    assert wrong_bearer.status == 401
    assert (await http.get("/api/escalations")).status == 401
    assert (await http.get("/api/kpis")).status == 401
    page = await http.get("/agent", allow_redirects=False)
    assert (page.status, page.headers["Location"]) == (303, "/login")
    other = await http.get("/api/customers/web-0123/messages")
    assert other.status == 401


async def test_a_wrong_token_signs_nobody_in(http: Http) -> None:
    page = await (await http.get("/login")).text()
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    refused = await http.post("/login", data={"csrf": csrf, "token": "guess"})
    assert refused.status == 401
    assert "Set-Cookie" not in refused.headers
    assert "Wrong console token." in await refused.text()
    no_csrf = await http.post("/login", data={"token": TOKEN})
    assert no_csrf.status == 403
    assert "Set-Cookie" not in no_csrf.headers
    assert (await http.get("/agent", allow_redirects=False)).status == 303


async def test_a_persons_answer_reaches_the_customer(http: Http) -> None:
    status, escalated = await ask(http, COMPLAINT)
    assert (status, escalated["status"]) == (200, "escalated")
    ticket = escalated["ticket"]
    bearer = {"Authorization": f"Bearer {TOKEN}"}

    async def listed() -> bool:
        found = await (await http.get("/api/escalations", headers=bearer)).json()
        return ticket in {e["ticket"] for e in found["escalations"]}

    await wait_until(listed, 30, f"escalation {ticket} in the console")

    csrf = await sign_in(http)
    console = await (await http.get("/agent")).text()
    assert ticket in console
    form = {"ticket": ticket, "text": "We refunded the second charge.", "agent_name": "Ana"}
    forged = await http.post("/agent/answer", data={**form, "csrf": "forged"})
    assert forged.status == 403
    sent = await http.post("/agent/answer", data={**form, "csrf": csrf}, allow_redirects=False)
    assert (sent.status, sent.headers["Location"]) == (303, f"/agent?answered={ticket}")

    async def answered() -> bool:
        return any(m["status"] == "human" for m in await my_messages(http))

    await wait_until(answered, 30, "the person's answer in the customer's messages")
    messages = await my_messages(http)
    assert [m["status"] for m in messages] == ["escalated", "human"]
    assert messages[1]["text"] == "We refunded the second charge."
    assert (messages[1]["agent"], messages[1]["ticket"]) == ("Ana", ticket)
    assert not await listed()
    again = await http.post("/agent/answer", json=form, headers=bearer)
    assert again.status == 409
    unknown = await http.post("/agent/answer", json={**form, "ticket": "T-none"}, headers=bearer)
    assert unknown.status == 404


async def test_a_persons_answer_reaches_the_customer_after_their_gateway_stopped(
    settings: Settings, prefix: str
) -> None:
    """The gateway that took the inquiry is gone (its private reply topic with it); a
    person answers from another replica and the customer sees the answer there."""
    async with http_gateway(with_gateway(settings), prefix) as first:
        _, escalated = await ask(first, COMPLAINT)
    assert escalated["status"] == "escalated"
    ticket, who = escalated["ticket"], escalated["customer_id"]
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with http_gateway(with_gateway(settings), prefix) as second:

        async def listed() -> bool:
            found = await (await second.get("/api/escalations", headers=bearer)).json()
            return ticket in {e["ticket"] for e in found["escalations"]}

        await wait_until(listed, 30, f"escalation {ticket} in the other replica's console")
        form = {"ticket": ticket, "text": "We called you back.", "agent_name": "Bo"}
        sent = await second.post("/agent/answer", json=form, headers=bearer)
        assert sent.status == 200, await sent.text()

        async def answered() -> list[dict[str, Any]]:
            got = await (await second.get(f"/api/customers/{who}/messages", headers=bearer)).json()
            return [m for m in got["messages"] if m["status"] == "human"]

        await wait_until(answered, 30, "the person's answer in the customer's messages")
        (human,) = await answered()
        assert (human["text"], human["ticket"]) == ("We called you back.", ticket)


async def test_kpis_count_the_replies(http: Http) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    await ask(http, QUESTION)

    async def counted() -> bool:
        kpis = await (await http.get("/api/kpis", headers=bearer)).json()
        return int(kpis["records"]) >= 1

    await wait_until(counted, 30, "a quality record in the KPIs")
    kpis = await (await http.get("/api/kpis", headers=bearer)).json()
    assert kpis["inquiries"] >= 1
    assert 0 <= kpis["automation_rate"] <= 1


async def test_health_and_readiness_say_which_part_is_missing(
    settings: Settings, prefix: str
) -> None:
    async with http_gateway(with_gateway(settings), prefix) as http:
        assert (await http.get("/healthz")).status == 200
        ready = await http.get("/readyz")
        assert (ready.status, await ready.json()) == (
            200, {"ready": True, "kafka": True, "redis": True}
        )  # fmt: skip
    away = RedisSettings(url=f"redis://127.0.0.1:{_closed_port()}/0")
    async with http_gateway(
        with_gateway(settings).model_copy(update={"redis": away}), prefix
    ) as http:
        assert (await http.get("/healthz")).status == 200
        unready = await http.get("/readyz")
        assert (unready.status, (await unready.json())["redis"]) == (503, False)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
