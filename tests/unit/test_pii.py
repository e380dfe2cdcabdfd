"""Personal-data masking: many formats masked, ordinary numbers left alone."""

import pytest

from agents.shared.datasets import read_jsonl
from agents.shared.pii import Masked, mask

PHONES = [
    "+1 415-555-0132",
    "(415) 555-0132",
    "415-555-0132",
    "415.555.0132",
    "+14155550132",
    "+1 (646) 555-0123",
    "138 0013 8000",
    "13800138000",
    "+86 13800138000",
    "+86 138-0013-8000",
    "0086 13912345678",
    "186-1234-5678",
    "010-6552 8866",
    "021-62345678",
    "(0755)12345678",
    "07700 900123",
    "020 7946 0958",
    "+44 20 7946 0958",
    "+61 2 5550 1234",
]
CARDS = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111111111111111",
    "5555 5555 5555 4444",
    "378282246310005",
    "6222 0212 3456 7890 128",
]
EMAILS = ["maria.gonzalez82@gmail.com", "li.na@163.com", "ops+billing@harbour-logistics.co.uk"]
CN_IDS = ["11010519491231002X", "11010519491231002x", "440306199502144520"]
NOT_PERSONAL = [
    "order #48213",
    "order 55120",
    "订单号 202405031234",
    "PO-7781",
    "INV-20931",
    "error E-2041",
    "version 4.2.1",
    "192.168.1.20",
    "2024-05-03",
    "03/05/2024",
    "$119.88",
    "14,000 dollars",
    "扣了3999元",
    "19.9元",
    "2019年",
    "09:30-18:00",
    "4111 1111 1111 1112",  # fails the Luhn check
    "1234567890123",
    "110105194912310021",  # wrong check character
    "110105194913310028",  # no 13th month
    "tracking 1Z999AA10123456784",
    "税号91310115MA1H7XXXX",
    "200 users, 25 seats, 48 hours",
]
CONTEXTS = ["{}", "Call me at {} please.", "我的号码是{}，谢谢", "({})", "x {}."]


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize(
    ("value", "kind"),
    [(p, "PHONE") for p in PHONES]
    + [(c, "CARD") for c in CARDS]
    + [(e, "EMAIL") for e in EMAILS]
    + [(i, "CN_ID") for i in CN_IDS],
)
def test_personal_data_is_replaced_by_its_kind(value: str, kind: str, context: str) -> None:
    masked = mask(context.format(value))
    assert masked.text == context.format(f"[{kind}]")
    assert masked.kinds == {kind: 1}


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("value", NOT_PERSONAL)
def test_ordinary_numbers_are_left_alone(value: str, context: str) -> None:
    text = context.format(value)
    assert mask(text) == Masked(text, {})


def test_several_kinds_in_one_text_are_counted() -> None:
    masked = mask(
        "I'm li.na@163.com, phone 138 0013 8000 or +1 415-555-0132, "
        "card 4111 1111 1111 1111, ID 11010519491231002X, order #48213."
    )
    assert masked.kinds == {"EMAIL": 1, "PHONE": 2, "CARD": 1, "CN_ID": 1}
    assert masked.text == (
        "I'm [EMAIL], phone [PHONE] or [PHONE], card [CARD], ID [CN_ID], order #48213."
    )


def test_masking_is_idempotent() -> None:
    once = mask("mail me: a.b@example.com, 13800138000").text
    assert mask(once).text == once
    assert mask(once).kinds == {}


def test_a_tenth_of_the_shipped_inquiries_carry_personal_data_and_none_survives() -> None:
    rows = read_jsonl("inquiries.jsonl")
    masked = [mask(r["text"]) for r in rows]
    share = sum(bool(m.kinds) for m in masked) / len(rows)
    print(f"inquiries with personal data: {share:.1%}")
    assert 0.08 <= share <= 0.15
    for m in masked:
        assert "@" not in m.text
        # No run of 11 or more digits (phones, cards, IDs) is left.
        digits = "".join(
            c if c.isdigit() else " " for c in m.text.replace(" ", "").replace("-", "")
        )
        assert all(len(run) < 11 for run in digits.split()), m.text
