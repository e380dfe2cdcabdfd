"""How an agent batches and retries: small frozen value objects."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Batch:
    """A window closes at ``max_size`` events or ``within`` seconds after its first event;
    with ``eager`` it also closes as soon as nothing more is buffered, so a lone event at
    low load is not held for ``within``."""

    max_size: int = 100
    within: float = 1.0
    eager: bool = True

    def __post_init__(self) -> None:
        if self.max_size < 1 or self.within <= 0:
            raise ValueError("Batch needs max_size >= 1 and within > 0")


@dataclass(frozen=True, slots=True)
class Retry:
    """In-place retries with exponential backoff and equal jitter.

    A retriable error (``RetriableError``, a handler timeout) gets ``attempts`` runs in
    all. A transient failure of a dependency (connection refused or reset, a Redis or
    Kafka transient error: see ``streams.errors.is_transient``) is an outage, not a
    property of the event: the event is retried for up to ``outage`` seconds, however
    many attempts that takes, so a model endpoint or a database that is away for a
    minute costs a pause (backpressure holds the partitions), not a dead letter per event.
    ``outage=0`` counts transient failures as attempts like any other.
    """

    attempts: int = 3
    backoff: float = 0.2
    max_backoff: float = 5.0
    outage: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or min(self.backoff, self.max_backoff, self.outage) < 0:
            raise ValueError("Retry needs attempts >= 1 and non-negative backoffs and outage")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed run number ``attempt`` (1-based)."""
        cap = self._cap(attempt)
        return cap / 2 + random.uniform(0, cap / 2)  # noqa: S311 - jitter, not crypto

    def worst_case(self, timeout: float) -> float:
        """The longest one event can take: every attempt runs to ``timeout``, every
        backoff is as long as it can be; or an outage ridden out to its end, then one
        more backoff and attempt."""
        attempts = self.attempts * timeout + sum(map(self._cap, range(1, self.attempts)))
        if not self.outage:
            return attempts
        return max(attempts, self.outage + self.max_backoff + timeout)

    def _cap(self, attempt: int) -> float:
        # The exponent is bounded: an outage ridden out with a zero backoff runs
        # thousands of attempts, and 2.0 ** 1024 overflows.
        return min(self.max_backoff, self.backoff * 2.0 ** min(attempt - 1, 64))
