"""Personal-data masking for what customers write, before it travels past preprocessing.

Recognised: email addresses, phone numbers (North American, UK and other ``+``
international formats; Chinese mobiles and landlines), payment card numbers (13-19 digits,
spaces or dashes allowed, Luhn checksum) and Chinese resident ID numbers (18 characters,
valid birth date and ISO 7064 check character). Each becomes a typed placeholder such as
``[PHONE]``. Numbers that merely look long (order numbers, dates, prices, versions, error
codes) are left alone: cards and IDs must pass their checksums, and phones must have the
shape of a phone number.

The original text is never logged, returned or kept: ``Masked`` holds only the masked text
and how many of each kind were replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

__all__ = ["Masked", "mask"]


@dataclass(frozen=True)
class Masked:
    """Text with personal data replaced, and the count per kind (``{"PHONE": 1}``)."""

    text: str
    kinds: dict[str, int] = field(default_factory=dict)


def _luhn(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _cn_id(candidate: str) -> bool:
    body, check = candidate[:17], candidate[17].upper()
    try:
        date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == check


def _always(_: str) -> bool:
    return True


def _phone_length(candidate: str) -> bool:
    # With its area or country code, a phone number has at least eight digits.
    return sum(c.isdigit() for c in candidate) >= 8


# Python's \w includes Han characters, and Chinese text puts numbers right after words
# ("手机13800138000"), so boundaries are ASCII letters, digits and "_" only.
_START = r"(?<![A-Za-z0-9_+])"  # not inside a word, a number or after a "+"
_END = r"(?![A-Za-z0-9_\-])"
_SEP = r"[ \-.]"
_PHONES = (
    # Chinese mobile: 138 0013 8000, 13800138000, +86 138-0013-8000
    rf"{_START}(?:(?:\+|00)86[ \-]?)?1[3-9]\d(?:[ \-]?\d{{4}}){{2}}{_END}",
    # Chinese landline: 010-6552 8866, (0755)12345678, 021-12345678
    rf"(?:{_START}0\d{{2,3}}-|\(0\d{{2,3}}\)[ ]?)\d{{3,4}}[ \-]?\d{{4}}{_END}",
    # North America: +1 415-555-0132, (415) 555-0132, 415.555.0132
    rf"(?:{_START}\+?1{_SEP}?)?(?:\(\d{{3}}\)[ ]?|(?<![A-Za-z0-9_+])\d{{3}}{_SEP})"
    rf"\d{{3}}{_SEP}\d{{4}}{_END}",
    # UK national: 07700 900123, 020 7946 0958
    rf"(?<![A-Za-z0-9_+\-])0\d{{2,4}} (?:\d{{6,8}}|\d{{3,4}} \d{{3,4}}){_END}",
    # Any other international number written with +: +44 20 7946 0958
    rf"{_START}\+\d{{1,3}}(?:[ \-]?\d{{1,4}}){{2,5}}{_END}",
)
# Order matters: checksummed kinds first, so a card number is never half-taken as a phone.
_RULES: tuple[tuple[str, re.Pattern[str], Callable[[str], bool]], ...] = (
    ("CN_ID", re.compile(rf"{_START}\d{{17}}[\dXx](?![A-Za-z0-9_])"), _cn_id),
    # A trailing "." ends a sentence, but "1234567890123.45" is a price.
    (
        "CARD",
        re.compile(r"(?<![A-Za-z0-9_+\-.])\d(?:[ \-]?\d){12,18}(?![A-Za-z0-9_\-]|\.\d)"),
        _luhn,
    ),
    (
        "EMAIL",
        re.compile(r"[A-Za-z0-9.%+_\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
        _always,
    ),
    # Not a piece of a longer run of digit groups (an unrecognised card number).
    ("PHONE", re.compile(r"(?<!\d[ \-])(?:" + "|".join(_PHONES) + r")(?![ \-]\d)"), _phone_length),
)


def mask(text: str) -> Masked:
    """``text`` with each recognised piece of personal data replaced by ``[KIND]``."""
    kinds: dict[str, int] = {}
    for kind, pattern, valid in _RULES:

        def replace(
            m: re.Match[str], kind: str = kind, valid: Callable[[str], bool] = valid
        ) -> str:
            if not valid(m.group()):
                return m.group()
            kinds[kind] = kinds.get(kind, 0) + 1
            return f"[{kind}]"

        text = pattern.sub(replace, text)
    return Masked(text, kinds)
