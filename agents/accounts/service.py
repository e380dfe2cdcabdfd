"""The account tasks against the database (agents/accounts/tools.py describes them).

``Accounts.run(tool, args, customer_id=..., event_id=..., confirmed=...)``:

* reads and changes only rows of ``customer_id`` (the authenticated customer); a record
  of another customer is "not found", exactly like one that does not exist;
* a task that changes something runs in one transaction with an :class:`Effect` row
  keyed by ``event_id``: a redelivered or replayed event finds it and returns what was
  done then (``replayed``), changing nothing again;
* a task whose tool says ``confirm`` only describes what it would do
  (``needs_confirmation``) until ``confirmed``; a refund above the limit becomes
  ``needs_approval`` (a person decides).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agents.accounts.models import (
    Customer,
    Effect,
    Invoice,
    Order,
    Payment,
    Plan,
    Refund,
    Shipment,
    Subscription,
)
from agents.accounts.tools import (
    BY_NAME,
    ChangePlanIn,
    OrderStatusIn,
    ResendInvoiceIn,
    ToolInput,
    ToolResult,
    UpdateBillingAddressIn,
)

Handler = Callable[[AsyncSession, str, Any, bool], Awaitable[ToolResult]]
# Two payments of one amount this close together, the second not refunded: a duplicate.
DUPLICATE_WINDOW = timedelta(hours=24)


def money(cents: int) -> str:
    return f"{cents / 100:.2f}"


def masked(email: str) -> str:
    """``j***@example.com``: enough for the customer to recognise, not to read out."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


class Accounts:
    def __init__(self, sessions: async_sessionmaker[Any], refund_limit_cents: int) -> None:
        self.sessions = sessions
        self.refund_limit_cents = refund_limit_cents
        self._handlers: dict[str, Handler] = {
            "order_status": self._order_status,
            "refund_status": self._refund_status,
            "resend_invoice": self._resend_invoice,
            "cancel_renewal": self._cancel_renewal,
            "change_plan": self._change_plan,
            "update_billing_address": self._update_billing_address,
            "stop_reminders": self._stop_reminders,
            "duplicate_charge": self._duplicate_charge,
        }

    async def run(
        self,
        tool: str,
        args: ToolInput,
        *,
        customer_id: str,
        event_id: str,
        confirmed: bool = False,
    ) -> ToolResult:
        spec = BY_NAME[tool]
        if not isinstance(args, spec.input):
            raise TypeError(f"{tool} takes {spec.input.__name__}, not {type(args).__name__}")
        handler = self._handlers[tool]
        if not spec.changes:
            async with self.sessions() as session:
                return await handler(session, customer_id, args, confirmed)
        try:
            async with self.sessions() as session:
                # The event's claim comes first: a twin of this event (redelivered while
                # this one runs) waits on it, then finds it taken and replays the result.
                claim = Effect(
                    event_id=event_id,
                    task=tool,
                    customer_id=customer_id,
                    result={},
                    done_at=datetime.now(UTC),
                )
                session.add(claim)
                await session.flush()
                result = await handler(session, customer_id, args, confirmed)
                if result.status != "done":
                    await session.rollback()  # nothing changed: no claim to keep
                    return result
                claim.result = result.model_dump(mode="json")
                await session.commit()
                return result
        except IntegrityError:
            async with self.sessions() as session:
                done = await session.get(Effect, event_id)
            if done is None or not done.result:
                raise
            return ToolResult.model_validate({**done.result, "replayed": True})

    # -- reads ----------------------------------------------------------------------------
    async def _order_status(
        self, s: AsyncSession, customer_id: str, args: OrderStatusIn, _: bool
    ) -> ToolResult:
        order = await s.scalar(
            select(Order).where(Order.number == args.order_number, Order.customer_id == customer_id)
        )
        if order is None:
            return _not_found("order_status", f"order {args.order_number}", "订单")
        shipment = await s.scalar(select(Shipment).where(Shipment.order_number == order.number))
        data: dict[str, Any] = {"order_number": order.number, "status": order.status}
        en = f"Order {order.number} is {order.status}."
        zh = f"订单 {order.number} 状态：{order.status}。"
        if shipment is not None:
            data |= {
                "carrier": shipment.carrier,
                "tracking": shipment.tracking,
                "shipment": shipment.status,
                "eta": shipment.eta.isoformat(),
            }
            en += (
                f" It travels with {shipment.carrier} (tracking {shipment.tracking}), "
                f"{shipment.status.replace('_', ' ')}, expected on {shipment.eta:%Y-%m-%d}."
            )
            zh += (
                f" 承运商 {shipment.carrier}，运单号 {shipment.tracking}，"
                f"预计 {shipment.eta:%Y-%m-%d} 送达。"
            )
        return ToolResult(
            tool="order_status", status="done", data=data, message_en=en, message_zh=zh
        )

    async def _refund_status(
        self, s: AsyncSession, customer_id: str, _args: ToolInput, _: bool
    ) -> ToolResult:
        refunds = (
            await s.scalars(
                select(Refund)
                .where(Refund.customer_id == customer_id)
                .order_by(Refund.requested_at.desc())
                .limit(5)
            )
        ).all()
        if not refunds:
            return ToolResult(
                tool="refund_status",
                status="nothing_to_do",
                message_en="There is no refund on your account.",
                message_zh="您的账户没有退款记录。",
            )
        listed = [
            {
                "id": r.id,
                "amount": money(r.amount_cents),
                "status": r.status,
                "requested": r.requested_at.date().isoformat(),
            }
            for r in refunds
        ]
        latest = listed[0]
        return ToolResult(
            tool="refund_status",
            status="done",
            data={"refunds": listed},
            message_en=(
                f"Your latest refund of {latest['amount']} (requested {latest['requested']}) "
                f"is {latest['status']}."
            ),
            message_zh=(
                f"您最近一笔 {latest['amount']} 的退款"
                f"（{latest['requested']} 申请）状态：{latest['status']}。"
            ),
        )

    # -- changes ----------------------------------------------------------------------------
    async def _resend_invoice(
        self, s: AsyncSession, customer_id: str, args: ResendInvoiceIn, _: bool
    ) -> ToolResult:
        query = select(Invoice).where(Invoice.customer_id == customer_id)
        if args.invoice_number is not None:
            query = query.where(Invoice.number == args.invoice_number)
        invoice = await s.scalar(query.order_by(Invoice.issued_at.desc()).limit(1))
        if invoice is None:
            what = f"invoice {args.invoice_number}" if args.invoice_number else "an invoice"
            return _not_found("resend_invoice", what, "发票")
        customer = await s.get(Customer, customer_id)
        assert customer is not None  # noqa: S101 - the invoice's customer exists (foreign key)
        invoice.sent_count += 1
        to = masked(customer.email)
        return ToolResult(
            tool="resend_invoice",
            status="done",
            data={"invoice_number": invoice.number, "sent_to": to},
            message_en=(
                f"Invoice {invoice.number} is on its way again to {to}, the address on file."
            ),
            message_zh=f"发票 {invoice.number} 已重新发送至您账户登记的邮箱 {to}。",
        )

    async def _cancel_renewal(
        self, s: AsyncSession, customer_id: str, _args: ToolInput, confirmed: bool
    ) -> ToolResult:
        sub = await _subscription(s, customer_id)
        if sub is None or not sub.auto_renew:
            return ToolResult(
                tool="cancel_renewal",
                status="nothing_to_do",
                message_en="Your subscription does not renew automatically.",
                message_zh="您的订阅未开启自动续费。",
            )
        data = {"plan": sub.plan_code, "active_until": sub.renews_on.isoformat()}
        if not confirmed:
            return ToolResult(
                tool="cancel_renewal",
                status="needs_confirmation",
                data=data,
                message_en=(
                    f"Turn off automatic renewal of your {sub.plan_code} plan? It stays active "
                    f"until {sub.renews_on:%Y-%m-%d}. Reply yes to confirm."
                ),
                message_zh=(
                    f"确认关闭 {sub.plan_code} 套餐的自动续费吗？"
                    f"套餐有效期至 {sub.renews_on:%Y-%m-%d}。回复“是”确认。"
                ),
            )
        sub.auto_renew = False
        return ToolResult(
            tool="cancel_renewal",
            status="done",
            data=data,
            message_en=(
                f"Automatic renewal is off. Your {sub.plan_code} plan stays active until "
                f"{sub.renews_on:%Y-%m-%d}."
            ),
            message_zh=f"已关闭自动续费，{sub.plan_code} 套餐有效期至 {sub.renews_on:%Y-%m-%d}。",
        )

    async def _change_plan(
        self, s: AsyncSession, customer_id: str, args: ChangePlanIn, confirmed: bool
    ) -> ToolResult:
        sub = await _subscription(s, customer_id)
        target = await s.get(Plan, args.plan_code)
        if sub is None or target is None:
            what = "a subscription" if sub is None else f"plan {args.plan_code}"
            return _not_found("change_plan", what, "套餐")
        current = await s.get(Plan, sub.plan_code)
        assert current is not None  # noqa: S101 - foreign key
        if current.code == target.code:
            return ToolResult(
                tool="change_plan",
                status="nothing_to_do",
                message_en=f"You are on the {current.code} plan already.",
                message_zh=f"您已是 {current.code} 套餐。",
            )
        days_left = max(0, (sub.renews_on - date.today()).days)
        proration = round((target.monthly_cents - current.monthly_cents) * days_left / 30)
        data = {"from": current.code, "to": target.code, "proration": money(proration)}
        if not confirmed:
            return ToolResult(
                tool="change_plan",
                status="needs_confirmation",
                data=data,
                message_en=(
                    f"Change from {current.code} to {target.code}: {money(proration)} for the "
                    f"{days_left} days left of this period. Reply yes to confirm."
                ),
                message_zh=(
                    f"从 {current.code} 更换为 {target.code}：本期剩余 {days_left} 天"
                    f"需{'补' if proration >= 0 else '退'} {money(abs(proration))}。回复“是”确认。"
                ),
            )
        sub.plan_code = target.code
        return ToolResult(
            tool="change_plan",
            status="done",
            data=data,
            message_en=(
                f"Your plan is now {target.code}; "
                f"{money(proration)} is settled on your next invoice."
            ),
            message_zh=f"套餐已更换为 {target.code}，差额 {money(proration)} 将计入下期账单。",
        )

    async def _update_billing_address(
        self, s: AsyncSession, customer_id: str, args: UpdateBillingAddressIn, confirmed: bool
    ) -> ToolResult:
        customer = await s.get(Customer, customer_id)
        if customer is None:
            return _not_found("update_billing_address", "your account", "账户")
        if not confirmed:
            return ToolResult(
                tool="update_billing_address",
                status="needs_confirmation",
                data={"address": args.address},
                message_en=f"Change your billing address to: {args.address}? Reply yes to confirm.",
                message_zh=f"确认将账单地址改为：{args.address}？回复“是”确认。",
            )
        customer.address = args.address
        return ToolResult(
            tool="update_billing_address",
            status="done",
            data={"address": args.address},
            message_en="Your billing address is updated.",
            message_zh="账单地址已更新。",
        )

    async def _stop_reminders(
        self, s: AsyncSession, customer_id: str, _args: ToolInput, _: bool
    ) -> ToolResult:
        customer = await s.get(Customer, customer_id)
        if customer is None:
            return _not_found("stop_reminders", "your account", "账户")
        if not customer.reminders:
            return ToolResult(
                tool="stop_reminders",
                status="nothing_to_do",
                message_en="Reminder messages are off already.",
                message_zh="提醒消息已是关闭状态。",
            )
        customer.reminders = False
        return ToolResult(
            tool="stop_reminders",
            status="done",
            message_en="Reminder messages are off; your subscription is unchanged.",
            message_zh="已关闭提醒消息，您的订阅不受影响。",
        )

    async def _duplicate_charge(
        self, s: AsyncSession, customer_id: str, _args: ToolInput, confirmed: bool
    ) -> ToolResult:
        payments = (
            await s.scalars(
                select(Payment).where(Payment.customer_id == customer_id).order_by(Payment.paid_at)
            )
        ).all()
        refunded = set(
            await s.scalars(select(Refund.payment_id).where(Refund.customer_id == customer_id))
        )
        duplicate = next(
            (
                later
                for earlier, later in itertools.pairwise(payments)
                if later.amount_cents == earlier.amount_cents
                and later.paid_at - earlier.paid_at <= DUPLICATE_WINDOW
                and later.id not in refunded
            ),
            None,
        )
        if duplicate is None:
            return ToolResult(
                tool="duplicate_charge",
                status="nothing_to_do",
                message_en="I found no payment charged twice on your account.",
                message_zh="未发现重复扣款。",
            )
        amount = money(duplicate.amount_cents)
        data = {
            "payment_id": duplicate.id,
            "amount": amount,
            "paid": duplicate.paid_at.date().isoformat(),
            "card": duplicate.card_last4,
        }
        if duplicate.amount_cents > self.refund_limit_cents:
            return ToolResult(
                tool="duplicate_charge",
                status="needs_approval",
                data=data,
                message_en=(
                    f"A payment of {amount} on {data['paid']} looks charged twice. A colleague "
                    "will confirm the refund; you will hear from us."
                ),
                message_zh=(
                    f"{data['paid']} 的 {amount} 疑似重复扣款，将由同事审核退款，请留意通知。"
                ),
            )
        if not confirmed:
            return ToolResult(
                tool="duplicate_charge",
                status="needs_confirmation",
                data=data,
                message_en=(
                    f"The payment of {amount} on {data['paid']} "
                    f"(card ending {duplicate.card_last4}) "
                    "was charged twice. Refund the second charge? Reply yes to confirm."
                ),
                message_zh=(
                    f"{data['paid']} 的 {amount}（尾号 {duplicate.card_last4}）重复扣款。"
                    "是否退还第二笔？回复“是”确认。"
                ),
            )
        s.add(
            Refund(
                customer_id=customer_id,
                payment_id=duplicate.id,
                amount_cents=duplicate.amount_cents,
                status="pending",
                requested_at=datetime.now(UTC),
                reason="duplicate charge",
            )
        )
        return ToolResult(
            tool="duplicate_charge",
            status="done",
            data=data,
            message_en=(
                f"The second charge of {amount} is refunded to your card ending "
                f"{duplicate.card_last4}; it shows within 5 working days."
            ),
            message_zh=(
                f"第二笔 {amount} 已退回尾号 {duplicate.card_last4} 的卡，5 个工作日内到账。"
            ),
        )


async def _subscription(s: AsyncSession, customer_id: str) -> Subscription | None:
    return await s.scalar(
        select(Subscription).where(
            Subscription.customer_id == customer_id, Subscription.status == "active"
        )
    )


def _not_found(tool: str, what: str, what_zh: str) -> ToolResult:
    return ToolResult(
        tool=tool,
        status="not_found",
        message_en=f"I cannot find {what} on your account.",
        message_zh=f"在您的账户中找不到该{what_zh}。",
    )
