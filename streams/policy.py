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
    """In-place retries: ``attempts`` runs in all, exponential backoff with equal jitter."""

    attempts: int = 3
    backoff: float = 0.2
    max_backoff: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff < 0 or self.max_backoff < 0:
            raise ValueError("Retry needs attempts >= 1 and non-negative backoffs")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed run number ``attempt`` (1-based)."""
        cap = self._cap(attempt)
        return cap / 2 + random.uniform(0, cap / 2)  # noqa: S311 - jitter, not crypto

    def worst_case(self, timeout: float) -> float:
        """The longest one event can take: every attempt runs to ``timeout``, every
        backoff is as long as it can be."""
        return self.attempts * timeout + sum(map(self._cap, range(1, self.attempts)))

    def _cap(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
