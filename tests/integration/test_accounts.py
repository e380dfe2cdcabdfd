"""The account service on SQLite and on PostgreSQL (the local server): migrations, seed
data, reads and changes scoped to the authenticated customer, confirmation, the refund
limit, and effects that happen once per event however often the event comes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from agents.accounts import db
from agents.accounts.models import Customer, Effect, Invoice, Payment, Refund, Subscription
from agents.accounts.seed import customer_id, seed
from agents.accounts.service import Accounts
from agents.accounts.tools import (
    CancelRenewalIn,
    ChangePlanIn,
    DuplicateChargeIn,
    OrderStatusIn,
    RefundStatusIn,
    ResendInvoiceIn,
)
from streams.tools.local import LocalPostgres

LIMIT = 50_00  # the refund limit in cents


@pytest.fixture(params=["sqlite", "postgresql"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'accounts.sqlite3'}"
        return
    local: LocalPostgres = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:12]}"
    local.psql(f"CREATE DATABASE {name}", "postgres")
    try:
        yield local.url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        local.psql(f"DROP DATABASE {name} WITH (FORCE)", "postgres")


@pytest.fixture
async def accounts(url: str) -> AsyncIterator[tuple[Accounts, Any]]:
    await db.migrate(url)
    made = db.engine(url)
    sessions = db.sessions(made)
    await seed(sessions, customers=60)
    try:
        yield Accounts(sessions, refund_limit_cents=LIMIT), sessions
    finally:
        await made.dispose()


def event() -> str:
    return uuid.uuid4().hex


async def test_migrations_bring_the_database_to_the_head_and_are_idempotent(url: str) -> None:
    assert await db.migrate(url) == db.head()
    assert await db.migrate(url) == db.head()


async def test_a_customer_reads_only_their_own_order(accounts: tuple[Accounts, Any]) -> None:
    service, sessions = accounts
    alice, bob = customer_id(3), customer_id(4)
    async with sessions() as s:
        bobs = await s.scalar(select(Payment.order_number).where(Payment.customer_id == bob))
        alices = await s.scalar(select(Payment.order_number).where(Payment.customer_id == alice))
    mine = await service.run(
        "order_status", OrderStatusIn(order_number=alices), customer_id=alice, event_id=event()
    )
    assert mine.status == "done"
    assert mine.data["order_number"] == alices
    theirs = await service.run(
        "order_status", OrderStatusIn(order_number=bobs), customer_id=alice, event_id=event()
    )
    assert theirs.status == "not_found"
    assert theirs.data == {}
    unknown = await service.run(
        "order_status", OrderStatusIn(order_number="A9999999"), customer_id=alice, event_id=event()
    )
    assert (unknown.status, unknown.message_en) == ("not_found", theirs.message_en.replace(
        bobs, "A9999999"
    ))  # fmt: skip


async def test_an_effect_happens_once_per_event(accounts: tuple[Accounts, Any]) -> None:
    service, sessions = accounts
    who, asked = customer_id(5), event()
    first = await service.run("resend_invoice", ResendInvoiceIn(), customer_id=who, event_id=asked)
    again = await service.run("resend_invoice", ResendInvoiceIn(), customer_id=who, event_id=asked)
    assert first.status == "done"
    assert not first.replayed
    assert again.replayed
    assert again.message_en == first.message_en
    assert "@example.com" in first.message_en
    assert customer_id(5) not in first.message_en  # the address on file, masked
    async with sessions() as s:
        invoice = await s.get(Invoice, first.data["invoice_number"])
        assert invoice is not None
        assert invoice.sent_count == 2  # once at issue, once resent: not twice
    other = await service.run(
        "resend_invoice", ResendInvoiceIn(), customer_id=who, event_id=event()
    )
    assert other.status == "done"
    assert not other.replayed


async def test_a_change_waits_for_confirmation(accounts: tuple[Accounts, Any]) -> None:
    service, sessions = accounts
    who = customer_id(1)  # renews automatically (every fifth customer does not)
    asked = await service.run(
        "cancel_renewal", CancelRenewalIn(), customer_id=who, event_id=event()
    )
    assert asked.status == "needs_confirmation"
    assert "Reply yes" in asked.message_en
    async with sessions() as s:
        sub = await s.scalar(select(Subscription).where(Subscription.customer_id == who))
        assert sub is not None
        assert sub.auto_renew
    done = await service.run(
        "cancel_renewal", CancelRenewalIn(), customer_id=who, event_id=event(), confirmed=True
    )
    assert done.status == "done"
    async with sessions() as s:
        sub = await s.scalar(select(Subscription).where(Subscription.customer_id == who))
        assert sub is not None
        assert not sub.auto_renew
    again = await service.run(
        "cancel_renewal", CancelRenewalIn(), customer_id=who, event_id=event(), confirmed=True
    )
    assert again.status == "nothing_to_do"


async def test_a_plan_change_quotes_then_changes(accounts: tuple[Accounts, Any]) -> None:
    service, sessions = accounts
    who = customer_id(3)  # on the basic plan (customer n has plan n % 3)
    quote = await service.run(
        "change_plan", ChangePlanIn(plan_code="pro"), customer_id=who, event_id=event()
    )
    assert quote.status == "needs_confirmation"
    assert (quote.data["from"], quote.data["to"]) == ("basic", "pro")
    done = await service.run(
        "change_plan",
        ChangePlanIn(plan_code="pro"),
        customer_id=who,
        event_id=event(),
        confirmed=True,
    )
    assert done.status == "done"
    async with sessions() as s:
        sub = await s.scalar(select(Subscription).where(Subscription.customer_id == who))
        assert sub is not None
        assert sub.plan_code == "pro"
    unknown = await service.run(
        "change_plan", ChangePlanIn(plan_code="gold"), customer_id=who, event_id=event()
    )
    assert unknown.status == "not_found"


async def _charged_twice(sessions: Any, who: str, cents: int) -> None:
    paid = datetime(2026, 11, 20, 10, tzinfo=UTC)
    async with sessions() as s:
        s.add(
            Customer(
                id=who,
                name="Dana Test",
                email=f"{who}@example.com",
                lang="en",
                address="1 Test Road",
                reminders=True,
                created_at=paid,
            )
        )
        await s.flush()
        for minutes in (0, 2):
            s.add(
                Payment(
                    customer_id=who,
                    amount_cents=cents,
                    paid_at=paid + timedelta(minutes=minutes),
                    card_last4="4242",
                    description="subscription",
                )
            )
        await s.commit()


async def test_a_duplicate_charge_is_refunded_once_within_the_limit(
    accounts: tuple[Accounts, Any],
) -> None:
    service, sessions = accounts
    who, asked = f"dup-{uuid.uuid4().hex[:8]}", event()
    await _charged_twice(sessions, who, 19_99)
    confirm = await service.run(
        "duplicate_charge", DuplicateChargeIn(), customer_id=who, event_id=event()
    )
    assert confirm.status == "needs_confirmation"
    runs = await asyncio.gather(
        *(
            service.run(
                "duplicate_charge",
                DuplicateChargeIn(),
                customer_id=who,
                event_id=asked,
                confirmed=True,
            )
            for _ in range(5)
        )
    )  # the same event delivered five times at once
    assert {r.status for r in runs} == {"done"}
    assert sum(not r.replayed for r in runs) == 1
    async with sessions() as s:
        refunds = await s.scalar(
            select(func.count()).select_from(Refund).where(Refund.customer_id == who)
        )
        effects = await s.scalar(
            select(func.count()).select_from(Effect).where(Effect.customer_id == who)
        )
    assert (refunds, effects) == (1, 1)
    status = await service.run("refund_status", RefundStatusIn(), customer_id=who, event_id=event())
    assert status.data["refunds"][0]["amount"] == "19.99"
    later = await service.run(
        "duplicate_charge", DuplicateChargeIn(), customer_id=who, event_id=event(), confirmed=True
    )
    assert later.status == "nothing_to_do"  # refunded: no longer a duplicate


async def test_a_refund_above_the_limit_waits_for_a_person(accounts: tuple[Accounts, Any]) -> None:
    service, sessions = accounts
    who = f"dup-{uuid.uuid4().hex[:8]}"
    await _charged_twice(sessions, who, LIMIT + 1)
    result = await service.run(
        "duplicate_charge", DuplicateChargeIn(), customer_id=who, event_id=event(), confirmed=True
    )
    assert result.status == "needs_approval"
    async with sessions() as s:
        refunds = await s.scalar(
            select(func.count()).select_from(Refund).where(Refund.customer_id == who)
        )
    assert refunds == 0


async def test_the_seed_makes_customers_in_both_languages(accounts: tuple[Accounts, Any]) -> None:
    _, sessions = accounts
    async with sessions() as s:
        langs = dict(
            (await s.execute(select(Customer.lang, func.count()).group_by(Customer.lang))).all()
        )
    assert langs == {"en": 30, "zh": 30}
