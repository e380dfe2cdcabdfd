"""How long to wait before the next attempt: the server's ``Retry-After`` when it gives
one (seconds or an HTTP-date), else exponential backoff with equal jitter; both capped,
so a server asking for an hour does not park a handler for an hour."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header, or None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; an obsolete form may lack the zone
        when = when.replace(tzinfo=UTC)
    seconds: float = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds)


def backoff(attempt: int, *, base: float, cap: float, salt: str) -> float:
    """The wait before retry number ``attempt`` (0 for the first retry) when the server
    named none. ``salt`` makes the jitter differ between concurrent calls without a
    random generator."""
    step = min(cap, base * 2.0**attempt)
    digest = hashlib.blake2s(f"{salt}:{attempt}".encode(), digest_size=2).digest()
    jitter = int.from_bytes(digest, "big") / 0xFFFF
    return step / 2 + step / 2 * jitter
