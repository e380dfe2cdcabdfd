"""Seed data for the demo and the tests: customers with English and Chinese names, their
subscriptions, orders and shipments, payments, invoices and refunds, some payments
charged twice (below and above the refund limit). Deterministic: the same ``seed`` gives
the same rows, so tests and the demo can name them."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from agents.accounts.models import (
    Customer,
    Invoice,
    Order,
    Payment,
    Plan,
    Refund,
    Shipment,
    Subscription,
)

PLANS = (
    ("basic", "Basic", "基础版", 900),
    ("plus", "Plus", "高级版", 1900),
    ("pro", "Pro", "专业版", 4900),
)
EN_FIRST = ("Alice", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo", "Isla", "Jonas")
EN_LAST = ("Smith", "Okafor", "Garcia", "Müller", "Nguyen", "Patel", "Brown", "Rossi")
ZH_FAMILY = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周")
ZH_GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "婷")
STREETS = (
    "12 High Street, Leeds LS1 4AP",
    "8 Rue Oberkampf, 75011 Paris",
    "上海市黄浦区南京东路 100 号",
    "北京市朝阳区建国路 88 号",
    "221 King St W, Toronto ON M5H 1K5",
    "Hauptstraße 5, 10827 Berlin",
)
CARRIERS = ("DHL", "UPS", "顺丰", "Royal Mail")
TODAY = date(2026, 12, 1)
INSERT_ORDER = (Plan, Customer, Subscription, Order, Shipment, Payment, Invoice, Refund)


def customer_id(n: int) -> str:
    return f"cust-{n:05d}"


async def seed(sessions: async_sessionmaker[Any], customers: int = 3000, seed: int = 7) -> int:
    """Add ``customers`` customers and their records unless the database has customers
    already; how many customers it has after."""
    rng = random.Random(seed)  # noqa: S311 - made-up data, made the same way each time
    async with sessions() as s:
        have = await s.scalar(select(func.count()).select_from(Customer))
        if have:
            return int(have)
        # Rows by table, inserted parents first (the models declare no relationships, so
        # the session does not order the inserts by their foreign keys).
        rows: dict[type, list[Any]] = {t: [] for t in INSERT_ORDER}
        rows[Plan] = [
            Plan(code=c, name_en=en, name_zh=zh, monthly_cents=p) for c, en, zh, p in PLANS
        ]
        # Invoices and refunds name their payment, whose id the database gives on insert.
        paid_by: list[tuple[Invoice | Refund, Payment]] = []
        invoice_no = order_no = 0
        for n in range(1, customers + 1):
            zh = n % 2 == 0
            name = (
                rng.choice(ZH_FAMILY) + rng.choice(ZH_GIVEN) + rng.choice(("", *ZH_GIVEN))
                if zh
                else f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"
            )
            cid = customer_id(n)
            rows[Customer].append(
                Customer(
                    id=cid,
                    name=name,
                    email=f"{cid}@example.com",
                    lang="zh" if zh else "en",
                    address=rng.choice(STREETS),
                    reminders=True,
                    created_at=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=n % 300),
                )
            )
            plan = PLANS[n % 3]
            rows[Subscription].append(
                Subscription(
                    customer_id=cid,
                    plan_code=plan[0],
                    auto_renew=n % 5 != 0,
                    renews_on=TODAY + timedelta(days=1 + n % 28),
                    status="active",
                )
            )
            for _ in range(1 + n % 3):
                order_no += 1
                number = f"A{1000000 + order_no}"
                placed = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=rng.randint(0, 700))
                total = rng.randint(10, 400) * 100 - 1
                status = rng.choice(("placed", "shipped", "shipped", "delivered"))
                rows[Order].append(
                    Order(
                        number=number,
                        customer_id=cid,
                        placed_at=placed,
                        status=status,
                        total_cents=total,
                    )
                )
                if status != "placed":
                    rows[Shipment].append(
                        Shipment(
                            order_number=number,
                            carrier=rng.choice(CARRIERS),
                            tracking=f"TR{rng.randint(10**9, 10**10 - 1)}",
                            status="delivered" if status == "delivered" else "in_transit",
                            eta=placed.date() + timedelta(days=rng.randint(2, 9)),
                        )
                    )
                charges = 2 if n % 50 == 0 and order_no % 2 == 0 else 1  # some charged twice
                for k in range(charges):
                    invoice_no += 1
                    payment = Payment(
                        customer_id=cid,
                        order_number=number,
                        amount_cents=total,
                        paid_at=placed + timedelta(minutes=3 * k),
                        card_last4=f"{rng.randint(0, 9999):04d}",
                        description=f"order {number}",
                    )
                    rows[Payment].append(payment)
                    invoice = Invoice(
                        number=f"INV-{invoice_no:06d}",
                        customer_id=cid,
                        amount_cents=total,
                        issued_at=placed,
                        sent_count=1,
                    )
                    rows[Invoice].append(invoice)
                    paid_by.append((invoice, payment))
                if n % 7 == 0:
                    refund = Refund(
                        customer_id=cid,
                        amount_cents=total // 2,
                        status=rng.choice(("pending", "paid")),
                        requested_at=placed + timedelta(days=2),
                        reason="returned item",
                    )
                    rows[Refund].append(refund)
                    paid_by.append((refund, payment))
        for table in INSERT_ORDER:
            if table is Invoice:  # the payments have their ids now
                for row, payment in paid_by:
                    row.payment_id = payment.id
            s.add_all(rows[table])
            await s.flush()
        await s.commit()
    return customers
