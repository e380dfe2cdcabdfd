"""How the content system waits, judges and remembers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ContentOptions:
    # A specialist writer that has no section after this many seconds hands it to the
    # fallback writer, so the fan-in never waits for a stuck model call.
    section_deadline: float = 20.0
    # The same bound for planning, reviewing and revising; past it the stage degrades
    # (standard plan, unreviewed or unrevised draft) instead of failing the request.
    call_deadline: float = 25.0
    # Drafts scoring below this are revised while rounds remain.
    review_threshold: float = 0.7
    # How long fan-in state and the markers against duplicates live in Redis.
    state_ttl: float = 24 * 3600.0
    # Partitions of the topics the app creates.
    partitions: int = 6

    @property
    def handler_timeout(self) -> float:
        """Every handler finishes within its deadline plus time for Redis and a template;
        the runtime's own timeout only catches what is truly stuck."""
        return max(self.section_deadline, self.call_deadline) + 10.0
