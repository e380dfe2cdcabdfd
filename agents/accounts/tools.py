"""The account tasks as typed tools, described once: the same description drives the
offline slot filling and an OpenAI-compatible model's tool calls (``openai_tools``).

Every tool acts for one customer, the one the gateway authenticated (``ce_authid``),
passed by the caller and never a parameter here: no tool takes a customer id, so
neither a model nor a message can name another customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ORDER_NUMBER = r"^A\d{7}$"
INVOICE_NUMBER = r"^INV-\d{6}$"


class ToolInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrderStatusIn(ToolInput):
    order_number: str = Field(pattern=ORDER_NUMBER, description="the order number, e.g. A1000123")


class RefundStatusIn(ToolInput):
    pass


class ResendInvoiceIn(ToolInput):
    invoice_number: str | None = Field(
        default=None,
        pattern=INVOICE_NUMBER,
        description="the invoice number, e.g. INV-000123; none: the latest invoice",
    )


class CancelRenewalIn(ToolInput):
    pass


class ChangePlanIn(ToolInput):
    plan_code: str = Field(description="the plan to change to: basic, plus or pro")


class UpdateBillingAddressIn(ToolInput):
    address: str = Field(min_length=8, max_length=500, description="the new billing address")


class StopRemindersIn(ToolInput):
    pass


class DuplicateChargeIn(ToolInput):
    pass


Status = Literal["done", "not_found", "nothing_to_do", "needs_confirmation", "needs_approval"]


class ToolResult(BaseModel):
    """What a tool found or did: ``status``, the facts (``data``) and what to tell the
    customer in English and Chinese."""

    model_config = ConfigDict(frozen=True)

    tool: str
    status: Status
    data: dict[str, Any] = Field(default_factory=dict)
    message_en: str
    message_zh: str
    replayed: bool = False  # the same event asked before: this is what was done then


@dataclass(frozen=True, slots=True)
class Tool:
    """One account task: its name, what it does (for a model and for people), its typed
    input, whether it changes anything, and whether the customer confirms first."""

    name: str
    description: str
    input: type[ToolInput]
    changes: bool
    confirm: bool


TOOLS: tuple[Tool, ...] = (
    Tool(
        "order_status",
        "Where the customer's order is: its status, shipment, carrier, tracking and ETA.",
        OrderStatusIn,
        changes=False,
        confirm=False,
    ),
    Tool(
        "refund_status",
        "The customer's refunds: amount, status and when each was requested.",
        RefundStatusIn,
        changes=False,
        confirm=False,
    ),
    Tool(
        "resend_invoice",
        "Send an invoice again to the email address on file (never to another address).",
        ResendInvoiceIn,
        changes=True,
        confirm=False,
    ),
    Tool(
        "cancel_renewal",
        "Turn off the automatic renewal of the customer's subscription; the plan stays "
        "active until its renewal date.",
        CancelRenewalIn,
        changes=True,
        confirm=True,
    ),
    Tool(
        "change_plan",
        "Change the customer's plan; first quotes the prorated difference for the rest "
        "of the period.",
        ChangePlanIn,
        changes=True,
        confirm=True,
    ),
    Tool(
        "update_billing_address",
        "Replace the billing address on file.",
        UpdateBillingAddressIn,
        changes=True,
        confirm=True,
    ),
    Tool(
        "stop_reminders",
        "Stop renewal and payment reminder messages (the subscription is unchanged).",
        StopRemindersIn,
        changes=True,
        confirm=False,
    ),
    Tool(
        "duplicate_charge",
        "Look for a payment charged twice and refund the second one (within the refund "
        "limit; above it a person approves).",
        DuplicateChargeIn,
        changes=True,
        confirm=True,
    ),
)
BY_NAME = {t.name: t for t in TOOLS}


def openai_tools() -> list[dict[str, Any]]:
    """The tools in the chat-completions ``tools`` format (JSON Schema from the models)."""
    return [
        {
            "type": "function",
            "function": {
                "name": t.name,
                "description": t.description,
                "parameters": t.input.model_json_schema(),
            },
        }
        for t in TOOLS
    ]
