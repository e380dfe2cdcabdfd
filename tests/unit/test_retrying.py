"""Waiting out a dependency (streams.retrying)."""

from __future__ import annotations

import logging

import pytest

from streams import retrying as retrying_module
from streams.retrying import retrying

log = logging.getLogger(__name__)


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retrying_module, "FIRST_DELAY", 0.001)


async def test_transient_errors_are_retried_and_renewed_between_attempts() -> None:
    calls: list[str] = []

    async def op() -> int:
        calls.append("op")
        if calls.count("op") < 3:
            raise ConnectionError("away")
        return 42

    async def renew() -> None:
        calls.append("renew")

    assert await retrying(op, "thing", log, between=renew) == 42
    assert calls == ["op", "renew", "op", "renew", "op"]


async def test_what_the_predicate_does_not_call_transient_propagates_at_once() -> None:
    calls = 0

    async def op() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("refused for good")

    with pytest.raises(ConnectionError):
        await retrying(op, "thing", log, transient=lambda e: isinstance(e, TimeoutError))
    assert calls == 1


async def test_an_error_of_the_hook_stops_the_retries() -> None:
    async def op() -> None:
        raise TimeoutError

    async def renew() -> None:
        raise PermissionError("fenced")

    with pytest.raises(PermissionError):
        await retrying(op, "thing", log, between=renew)
