"""The account tools' one description: typed inputs, the chat-completions tool format,
and no way for a caller (or a model) to name a customer."""

from __future__ import annotations

import jsonschema
import pytest
from pydantic import ValidationError

from agents.accounts.tools import BY_NAME, TOOLS, OrderStatusIn, ResendInvoiceIn, openai_tools


def test_every_tool_is_described_once_for_models() -> None:
    described = openai_tools()
    assert [t["function"]["name"] for t in described] == [t.name for t in TOOLS]
    assert len(BY_NAME) == len(TOOLS) == 8
    for tool in described:
        schema = tool["function"]["parameters"]
        jsonschema.Draft202012Validator.check_schema(schema)
        assert tool["function"]["description"]


def test_no_tool_takes_a_customer() -> None:
    for tool in openai_tools():
        names = set(tool["function"]["parameters"].get("properties", {}))
        assert not {n for n in names if "customer" in n}, tool["function"]["name"]
    with pytest.raises(ValidationError):
        OrderStatusIn.model_validate({"order_number": "A1000001", "customer_id": "cust-00002"})


@pytest.mark.parametrize("bad", ["1000001", "A100", "A1000001; DROP TABLE orders", ""])
def test_slots_are_checked_before_anything_runs(bad: str) -> None:
    with pytest.raises(ValidationError):
        OrderStatusIn(order_number=bad)


def test_optional_slots() -> None:
    assert ResendInvoiceIn().invoice_number is None
    assert ResendInvoiceIn(invoice_number="INV-000123").invoice_number == "INV-000123"
    with pytest.raises(ValidationError):
        ResendInvoiceIn(invoice_number="to me@evil.example")
