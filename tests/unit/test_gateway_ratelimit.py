"""The Retry-After value of the gateway's quotas (the quotas themselves live in Redis:
tests/integration/test_gateway_ratelimit.py)."""

from __future__ import annotations

import pytest

from agents.console.ratelimit import retry_after


@pytest.mark.parametrize(("wait", "header"), [(0.0, "1"), (0.2, "1"), (1.0, "1"), (1.01, "2")])
def test_retry_after_is_whole_seconds_at_least_one(wait: float, header: str) -> None:
    assert retry_after(wait) == header
