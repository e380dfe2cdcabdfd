"""A circuit breaker: stop calling an endpoint that keeps failing, probe it now and then.

::

    closed --(``failures`` failed attempts in a row)--> open
    open   --(``reset`` seconds later, one caller)----> half-open (that caller probes)
    half-open --probe succeeds--> closed    half-open --probe fails--> open again

While open, and while the probe is out, every other call is refused at once: a model
endpoint that is down costs callers nothing but the refusal, and the endpoint is not
hammered by every event of a backlog as it comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    def __init__(
        self,
        failures: int,
        reset: float,
        *,
        on_change: Callable[[State], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or reset <= 0:
            raise ValueError("a breaker needs failures >= 1 and reset > 0")
        self.failures = failures
        self.reset = reset
        self._on_change = on_change
        self._clock = clock
        self._state: State = "closed"
        self._in_a_row = 0
        self._opened_at = 0.0

    @property
    def state(self) -> State:
        return self._state

    def allow(self) -> bool:
        """Whether a request may go out now. In half-open, only the first caller after
        the reset gets True (it is the probe); it must then report its outcome."""
        if self._state == "closed":
            return True
        if self._state == "open" and self._clock() - self._opened_at >= self.reset:
            self._set("half-open")
            return True
        return False

    def succeeded(self) -> None:
        self._in_a_row = 0
        if self._state != "closed":
            self._set("closed")

    def failed(self) -> None:
        self._in_a_row += 1
        if self._state == "half-open" or (
            self._state == "closed" and self._in_a_row >= self.failures
        ):
            self._opened_at = self._clock()
            self._set("open")

    def abandoned(self) -> None:
        """The probe ended without telling anything about the endpoint (cancelled, or a
        bad request): let the next caller probe instead."""
        if self._state == "half-open":
            self._opened_at = self._clock() - self.reset
            self._set("open")

    def _set(self, state: State) -> None:
        self._state = state
        if self._on_change is not None:
            self._on_change(state)
