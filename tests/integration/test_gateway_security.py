"""The gateway's security over HTTP, against the real broker, Redis and support app: a
customer is who their credential says (never a field of the body), console sessions end
when they are ended, a ticket is answered once, errors carry the headers and no
traceback, every quota holds across replicas, and a DEBUG log holds no personal data.
One test per defect of the probe (numbered as in docs/console.md, "Security model")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from aiohttp import ClientSession, CookieJar

from agents.console import create_gateway
from agents.console.sessions import SessionRecords
from agents.console.state import GATEWAY
from config import Settings
from schemas import Envelope
from schemas.support import Inquiry
from streams import Client, ConfigurationError
from tests.integration.helpers import find, produce
from tests.integration.test_gateway import (
    COMPLAINT,
    QUESTION,
    TOKEN,
    Http,
    ask,
    http_gateway,
    my_messages,
    running_support,
    sign_in,
    wait_until,
    with_gateway,
)

JWT_KEY = "j" * 16 + "W" * 16
AGENTSTREAM = str(Path(sys.executable).parent / "agentstream")
BEARER = {"Authorization": f"Bearer {TOKEN}"}
MULTIPART = b'--b\r\nContent-Disposition: form-data; name="token"\r\n\r\nx\r\n--b--\r\n'


@pytest.fixture(scope="module")
async def prefix(settings: Settings) -> AsyncIterator[str]:
    name = f"gs{uuid.uuid4().hex[:8]}."
    async with running_support(settings, name):
        yield name


# The tests of the quotas use prefixes (so quotas) of their own; the others sign in and
# post freely.
ROOMY = {"sign_in": {"rate": 50, "burst": 500}, "inquiries": {"rate": 50, "burst": 500}}


@pytest.fixture
async def http(settings: Settings, prefix: str) -> AsyncIterator[Http]:
    async with http_gateway(with_gateway(settings, **ROOMY), prefix) as client:
        yield client


@contextlib.asynccontextmanager
async def browser_of(http: Http) -> AsyncIterator[ClientSession]:
    """Another browser (a cookie jar of its own) on the same gateway."""
    base = str(http.make_url("/"))
    async with ClientSession(base_url=base, cookie_jar=CookieJar(unsafe=True)) as other:
        yield other


def id_token(subject: str, **claims: Any) -> str:
    body = {"sub": subject, "aud": "agentstream-support", "exp": time.time() + 300, **claims}
    return jwt.encode(body, JWT_KEY, algorithm="HS256")


# -- 1. identity ---------------------------------------------------------------------------
async def test_1_a_caller_cannot_act_or_read_as_another_customer(http: Http) -> None:
    status, alice_reply = await ask(http, QUESTION)
    assert status == 200
    alice = alice_reply["customer_id"]
    async with browser_of(http) as mallory:
        named = await mallory.post("/api/inquiries", json={"customer_id": alice, "text": "hi"})
        assert named.status == 403
        assert "Set-Cookie" not in named.headers  # no identity is handed out for a refusal
        assert (await mallory.get(f"/api/customers/{alice}/messages")).status == 401
        own = await (await mallory.get("/api/messages")).json()
        assert own == {"customer_id": None, "messages": []}
        forged = await mallory.get("/api/messages", cookies={"as_customer": f"{alice}.AAAA"})
        assert (await forged.json())["messages"] == []
    assert [m["id"] for m in await my_messages(http)] == [alice_reply["id"]]


async def test_1_a_signed_identity_names_the_customer_and_travels_in_the_envelope(
    settings: Settings, prefix: str
) -> None:
    jwt_mode = {"identity": "jwt", "jwt": {"key": JWT_KEY}}
    async with http_gateway(with_gateway(settings, **jwt_mode), prefix) as http:
        customer = f"shop-{uuid.uuid4().hex[:8]}"
        mine = {"Authorization": f"Bearer {id_token(customer)}"}
        answer = await http.post("/api/inquiries", json={"text": QUESTION}, headers=mine)
        assert answer.status == 200, await answer.text()
        assert (await answer.json())["customer_id"] == customer
        assert "Set-Cookie" not in answer.headers
        other = await http.post(
            "/api/inquiries", json={"customer_id": "alice-1", "text": "hi"}, headers=mine
        )
        assert other.status == 403
        assert (await http.post("/api/inquiries", json={"text": "hi"})).status == 401
        expired = {"Authorization": f"Bearer {id_token(customer, exp=time.time() - 600)}"}
        refused = await http.post("/api/inquiries", json={"text": "hi"}, headers=expired)
        assert refused.status == 401
        assert "expired" in (await refused.json())["error"]
        got = await (await http.get("/api/messages", headers=mine)).json()
        assert got["customer_id"] == customer
        assert len(got["messages"]) == 1
        assert (await http.get("/api/messages")).status == 401
    # The inquiry on the topic carries the identity the gateway set (ce_authid).
    record = await find(
        settings,
        f"{prefix}support.inquiries",
        lambda r: orjson.loads(r.value).get("customer_id") == customer,
    )
    envelope = Envelope.from_headers(record.headers)
    assert (envelope.authtype, envelope.authid) == ("app_user", customer)


async def test_1_7_the_support_app_dead_letters_an_inquiry_not_of_its_authenticated_customer(
    settings: Settings, prefix: str
) -> None:
    """Behind the gateway: an event whose auth context names another customer than its
    body, or a customer id outside the safe alphabet, is a dead letter, never handled."""
    topic = f"{prefix}support.inquiries"
    async with Client(settings, source="tests") as client:
        with pytest.raises(Exception, match="not the authenticated customer"):
            await client.ask(
                topic,
                Inquiry(customer_id="alice-1", text=QUESTION),
                key=b"alice-1",
                authid="mallory-1",
                timeout=30,
            )
        bidi = orjson.dumps({"customer_id": "alice\u202e1", "text": QUESTION})
        envelope = Envelope.new(Inquiry.message_type, "tests")
        await produce(settings, topic, [(b"k", bidi, envelope.to_headers())])
        dead = await find(
            settings, f"{topic}.dlq", lambda r: ("ce_id", envelope.id.encode()) in r.headers
        )
        assert b"customer_id" in b"".join(v for _, v in dead.headers)


# -- 2. bearer guessing, weak tokens ---------------------------------------------------------
async def test_2_bearer_guessing_is_bounded_and_the_right_token_costs_nothing(
    settings: Settings,
) -> None:
    tight = with_gateway(settings, sign_in={"rate": 0.01, "burst": 5})
    async with http_gateway(tight, f"bg{uuid.uuid4().hex[:8]}.") as http:
        for _ in range(20):  # right tokens are refunded: never refused
            assert (await http.get("/api/kpis", headers=BEARER)).status == 200
        codes = []
        for _ in range(20):
            wrong = await http.get("/api/kpis", headers={"Authorization": "Bearer guess"})
            codes.append(wrong.status)
        assert codes[:5] == [401] * 5
        assert set(codes[5:]) == {429}
        assert int(wrong.headers["Retry-After"]) >= 1
        # The quota spent, even the right token waits; so does the sign-in form.
        assert (await http.get("/api/kpis", headers=BEARER)).status == 429
        assert (await http.post("/login", data={"token": TOKEN})).status == 429


async def test_2_guesses_from_every_address_together_are_bounded(settings: Settings) -> None:
    wide = with_gateway(
        settings, sign_in={"rate": 100, "burst": 100}, sign_in_global={"rate": 0.01, "burst": 3}
    )
    async with http_gateway(wide, f"bw{uuid.uuid4().hex[:8]}.") as http:
        codes = [
            (await http.get("/api/kpis", headers={"Authorization": "Bearer x"})).status
            for _ in range(6)
        ]
        assert codes == [401, 401, 401, 429, 429, 429]


@pytest.mark.parametrize("weak", ["x", "local-console-token", "a" * 64])
def test_2_a_weak_console_token_refuses_to_start(settings: Settings, weak: str) -> None:
    with pytest.raises(ConfigurationError, match="too weak"):
        create_gateway(with_gateway(settings, console_token=weak))


def test_2_the_console_command_says_why_it_does_not_start(settings: Settings) -> None:
    env = {**os.environ, "AGENTSTREAM_GATEWAY__CONSOLE_TOKEN": "short", **_env(settings)}
    run = subprocess.run(  # noqa: S603 - our own command
        [AGENTSTREAM, "console"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "CONSOLE_TOKEN is too weak" in run.stderr


# -- 3. sessions that end ------------------------------------------------------------------
async def test_3_a_session_ends_with_logout_everywhere(http: Http) -> None:
    csrf = await sign_in(http)
    copied = http.session.cookie_jar.filter_cookies(http.make_url("/"))["as_session"].value
    out = await http.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    async with browser_of(http) as thief:
        page = await thief.get("/agent", cookies={"as_session": copied}, allow_redirects=False)
        assert (page.status, page.headers["Location"]) == (303, "/login")


async def test_3_a_new_console_token_and_an_administrator_end_sessions(
    settings: Settings, prefix: str
) -> None:
    async with http_gateway(with_gateway(settings, **ROOMY), prefix) as http:
        await sign_in(http)
        cookie = http.session.cookie_jar.filter_cookies(http.make_url("/"))["as_session"].value
        assert (await http.get("/agent", allow_redirects=False)).status == 200
    new_token = {"console_token": "n" * 16 + TOKEN[:16]}
    async with (
        http_gateway(with_gateway(settings, **new_token, **ROOMY), prefix) as rotated,
        browser_of(rotated) as old,
    ):
        page = await old.get("/agent", cookies={"as_session": cookie}, allow_redirects=False)
        assert page.status == 303  # signed in with the old token: no longer
    async with http_gateway(with_gateway(settings, **ROOMY), prefix) as http:
        await sign_in(http)
        sid = http.app[GATEWAY].sessions.parse(
            http.session.cookie_jar.filter_cookies(http.make_url("/"))["as_session"].value
        )
        assert sid is not None
        records = SessionRecords(http.app[GATEWAY].redis, prefix)
        assert sid.sid in {s["sid"] for s in await records.signed_in()}
        listed = _cli(settings, "sessions", "list", "--prefix", prefix)
        assert sid.sid in listed.stdout
        ended = _cli(settings, "sessions", "end", sid.sid, "--prefix", prefix)
        assert ended.returncode == 0, ended.stderr
        assert (await http.get("/agent", allow_redirects=False)).status == 303


# -- 4. one answer per ticket ----------------------------------------------------------------
async def test_4_simultaneous_answers_to_one_ticket_send_one(
    settings: Settings, prefix: str
) -> None:
    async with (
        http_gateway(with_gateway(settings, **ROOMY), prefix) as a,
        http_gateway(with_gateway(settings, **ROOMY), prefix) as b,
    ):
        status, escalated = await ask(a, COMPLAINT)
        assert (status, escalated["status"]) == (200, "escalated")
        ticket = escalated["ticket"]
        await _listed(a, ticket)
        answers = [
            (replica.post)(
                "/agent/answer",
                json={"ticket": ticket, "text": f"answer {n}", "agent_name": f"agent-{n}"},
                headers=BEARER,
            )
            for n, replica in enumerate([a, b, a, b, a])
        ]
        codes = sorted([r.status for r in await asyncio.gather(*answers)])
        assert codes == [200, 409, 409, 409, 409]

        async def human() -> list[dict[str, Any]]:
            return [m for m in await my_messages(a) if m["status"] == "human"]

        await wait_until(human, 30, "the person's answer")
        await asyncio.sleep(3)  # time for any second answer to arrive too
        assert len(await human()) == 1


async def test_4_an_answer_sent_is_not_a_500_when_closing_the_ticket_fails(
    http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis.exceptions

    status, escalated = await ask(http, COMPLAINT)
    assert status == 200
    ticket = escalated["ticket"]
    await _listed(http, ticket)
    store = http.app[GATEWAY].store
    close = store.close_escalation
    failures = [redis.exceptions.ConnectionError("Redis went away")]

    async def down_once(ticket: str) -> None:
        """Redis fails the answer's close; the reply feed's later close works."""
        if failures:
            raise failures.pop()
        await close(ticket)

    monkeypatch.setattr(store, "close_escalation", down_once)
    form = {"ticket": ticket, "text": "Refunded.", "agent_name": "Ana"}
    sent = await http.post("/agent/answer", json=form, headers=BEARER)
    assert sent.status == 200, await sent.text()
    assert (await http.post("/agent/answer", json=form, headers=BEARER)).status == 409

    async def closed() -> bool:  # by the reply the answer caused, read back from Kafka
        found = await (await http.get("/api/escalations", headers=BEARER)).json()
        return ticket not in {e["ticket"] for e in found["escalations"]}

    await wait_until(closed, 30, f"ticket {ticket} closed by the answer's reply")


async def _listed(http: Http, ticket: str) -> None:
    async def listed() -> bool:
        found = await (await http.get("/api/escalations", headers=BEARER)).json()
        return ticket in {e["ticket"] for e in found["escalations"]}

    await wait_until(listed, 30, f"escalation {ticket} in the console")


# -- 5. errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/login", "/logout", "/agent/answer"])
async def test_5_malformed_forms_are_400_with_headers_and_no_traceback(
    http: Http, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    await sign_in(http)
    caplog.set_level(logging.WARNING)
    for content_type in (
        "multipart/form-data; boundary=b",
        "application/x-www-form-urlencoded; charset=klingon-8",
    ):
        for _ in range(10):
            answer = await http.post(path, data=MULTIPART, headers={"Content-Type": content_type})
            assert answer.status == 400, (content_type, answer.status, await answer.text())
            assert answer.headers["X-Frame-Options"] == "DENY"
            assert answer.headers["Content-Security-Policy"].startswith("default-src")
    assert [r for r in caplog.records if r.exc_info] == []


async def test_5_a_deep_or_wide_body_is_a_short_400(
    http: Http, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    deep = b'{"text": ' + b"[" * 400 + b"]" * 400 + b"}"
    answer = await http.post(
        "/api/inquiries", data=deep, headers={"Content-Type": "application/json"}
    )
    assert answer.status == 400
    assert "deeper" in (await answer.json())["error"]
    wide = orjson.dumps({"text": "hi", **{f"unknown-key-{i:05d}": 1 for i in range(2500)}})
    answer = await http.post(
        "/api/inquiries", data=wide, headers={"Content-Type": "application/json"}
    )
    assert answer.status == 400
    assert len(await answer.read()) < 1000
    assert [r for r in caplog.records if r.exc_info] == []


async def test_5_every_error_carries_the_headers(
    http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in ("/nowhere", "/api/escalations"):
        answer = await http.get(path)
        assert answer.status in (404, 401)
        assert answer.headers["X-Content-Type-Options"] == "nosniff"

    def broken() -> dict[str, Any]:
        raise RuntimeError("a defect")

    monkeypatch.setattr(http.app[GATEWAY].kpis, "snapshot", broken)
    failed = await http.get("/api/kpis", headers=BEARER)
    assert (failed.status, await failed.json()) == (500, {"error": "internal error"})
    assert failed.headers["X-Frame-Options"] == "DENY"


# -- 6. nobody keeps another customer at 429 ------------------------------------------------
async def test_6_nobody_can_spend_a_customers_quota(settings: Settings) -> None:
    from agents.console.ratelimit import Spend
    from config.settings import Quota

    tight = with_gateway(settings, inquiries={"rate": 0.01, "burst": 3})
    victim = f"web-{uuid.uuid4().hex}"
    async with http_gateway(tight, f"q{uuid.uuid4().hex[:8]}.") as mallory:
        codes = [
            (await mallory.post("/api/inquiries", json={"customer_id": victim, "text": "x"})).status
            for _ in range(10)
        ]
        assert codes == [403] * 3 + [429] * 7  # Mallory's own address ran out, nothing else
        # The victim's quota is whole: three inquiries, then the wait.
        spend = Spend(Quota(rate=0.01, burst=3), f"inquiry:customer:{victim}")
        limiter = mallory.app[GATEWAY].limiter
        assert [await limiter.take(spend) for _ in range(3)] == [0, 0, 0]
        assert await limiter.take(spend) > 0


# -- 8. no personal data in a DEBUG log -----------------------------------------------------
@pytest.mark.parametrize("libraries", ["", "aiokafka"])
async def test_8_a_debug_log_holds_no_personal_data_unless_a_library_is_named(
    settings: Settings, prefix: str, tmp_path: Path, libraries: str
) -> None:
    """At DEBUG, aiokafka logs each request it sends, the values in it: its loggers stay
    at WARNING unless named in AGENTSTREAM_LOG_LIBRARIES (which shows the check below
    can see the data when it is there)."""
    port = _free_port()
    log = tmp_path / "console.log"
    env = {
        **os.environ,
        **_env(settings),
        "AGENTSTREAM_LOG_LEVEL": "DEBUG",
        "AGENTSTREAM_LOG_LIBRARIES": libraries,
        "AGENTSTREAM_GATEWAY__PORT": str(port),
        "AGENTSTREAM_GATEWAY__CONSOLE_TOKEN": TOKEN,
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220, S603 - our own command, waited for below
            [AGENTSTREAM, "console", "--prefix", prefix],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        email = f"jane.doe.{uuid.uuid4().hex[:6]}@example.com"
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as web_client:

            async def up() -> bool:
                with contextlib.suppress(OSError):
                    return (await web_client.get(f"http://127.0.0.1:{port}/healthz")).status == 200
                return False

            await wait_until(up, 60, "the console process")
            text = f"My email is {email}; my card was charged twice."
            answer = await web_client.post(
                f"http://127.0.0.1:{port}/api/inquiries", json={"text": text}
            )
            assert answer.status in (200, 202)
    finally:
        proc.terminate()
        proc.wait(30)
    written = log.read_text(errors="replace")
    assert "agents.console.app: gateway on" in written
    assert (email in written) == (libraries == "aiokafka")


# -- 9. quotas across replicas; sign-in and inquiries apart ----------------------------------
async def test_9_quotas_hold_across_replicas_and_apart(settings: Settings) -> None:
    shared = f"r{uuid.uuid4().hex[:8]}."
    tight = with_gateway(
        settings, inquiries={"rate": 0.01, "burst": 4}, sign_in={"rate": 0.01, "burst": 2}
    )
    async with http_gateway(tight, shared) as one, http_gateway(tight, shared) as two:
        bad = {"data": b"{}", "headers": {"Content-Type": "application/json"}}
        codes = [
            (await replica.post("/api/inquiries", **bad)).status  # type: ignore[arg-type]
            for replica in (one, two, one, two, one, two)
        ]
        assert codes == [400, 400, 400, 400, 429, 429]
        # Inquiries spent their quota; sign-in has its own, bounded across replicas too.
        signs = [
            (await replica.post("/login", data={"token": "x"})).status
            for replica in (one, two, one)
        ]
        assert signs == [403, 403, 429]


# -- smaller: the console is paged ----------------------------------------------------------
async def test_the_console_shows_a_page_of_escalations(settings: Settings) -> None:
    from datetime import UTC, datetime, timedelta

    from schemas.support import Escalation

    async with http_gateway(with_gateway(settings), f"p{uuid.uuid4().hex[:8]}.") as http:
        store = http.app[GATEWAY].store
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for n in range(120):
            await store.open_escalation(
                Escalation(
                    ticket=f"T-{n:04d}",
                    inquiry_id=f"i{n}",
                    customer_id=f"c{n}",
                    text="help",
                    lang="en",
                    category="general",
                    urgency="critical" if n == 119 else "normal",
                    confidence=0.5,
                    reason="r",
                    received_at=start + timedelta(minutes=n),
                    reply_topic="r",
                )
            )
        await sign_in(http)
        first = await (await http.get("/agent")).text()
        assert first.count('<article class="escalation"') == 50
        assert "page 1 of 3" in first
        assert first.index("T-0119") < first.index("T-0000")  # the critical one first
        last = await (await http.get("/agent?page=3")).text()
        assert last.count('<article class="escalation"') == 20
        listed = await (await http.get("/api/escalations?limit=10", headers=BEARER)).json()
        assert (listed["total"], len(listed["escalations"])) == (120, 10)
        # Escalations kept before the page index existed are indexed when a gateway starts.
        await store.redis.delete(store._order)
        assert await store.reindex() == 120
        again = await (await http.get("/api/escalations?limit=10", headers=BEARER)).json()
        assert again["total"] == 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(settings: Settings) -> dict[str, str]:
    return {
        "AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "AGENTSTREAM_REDIS__URL": settings.redis.url,
        "AGENTSTREAM_GATEWAY__SESSION_SECRET": "s" * 32,
    }


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command
        [AGENTSTREAM, *args],
        env={**os.environ, **_env(settings)},
        capture_output=True,
        text=True,
        timeout=60,
    )
