"""What the customer-service system's tests share, in memory (tests/unit, through
streams.testing) and on the broker (tests/integration): the shipped test inquiries,
inquiries carrying personal data, and how to spot a leak."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from schemas.support import Inquiry

DATA = Path(__file__).resolve().parents[1] / "agents" / "support" / "data"
# Personal data written into inquiries below; none of it may leave preprocess.
PII = {
    "jane.doe@example.com": "My email is jane.doe@example.com, please send the invoice there",
    "4111 1111 1111 1111": "I was charged twice on my card 4111 1111 1111 1111, refund please",
    "+86 13800138000": "我的手机号是 +86 13800138000，请尽快联系我，订单一直没有发货",
    "11010519491231002X": "我的身份证号 11010519491231002X 实名认证失败，怎么办？",
    "(415) 555-0132": "Call me at (415) 555-0132, the app crashes when I log in",
}
# Any email address but the company's own (knowledge-base answers name privacy@acmecloud.com).
EMAIL = re.compile(rb"[\w.+-]+@(?!acmecloud\.com)[\w-]+\.[\w.]+")


def shipped_inquiries(per_lang: int) -> list[dict[str, Any]]:
    rows = [orjson.loads(line) for line in (DATA / "inquiries.test.jsonl").read_text().splitlines()]
    return [r for lang in ("en", "zh") for r in [x for x in rows if x["lang"] == lang][:per_lang]]


def inquiry(i: int, text: str, lang: str | None = None, customers: int = 40) -> Inquiry:
    return Inquiry(customer_id=f"c{i % customers}", text=text, lang=lang)  # type: ignore[arg-type]


def leaks(value: bytes) -> list[str]:
    """The personal data (of ``PII``, or any email address) found in ``value``."""
    found = [raw for raw in PII if raw.encode() in value]
    return found + [m.decode() for m in EMAIL.findall(value)]
