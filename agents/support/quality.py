"""The quality monitor's score of one reply.

::

    score = 0.40 * resolution + 0.25 * speed + 0.15 * tone + 0.20 * care

* resolution: 1 when the customer got an answer (``answered`` or ``human``), 0.4 when
  the reply only says a person will follow up (``escalated``).
* speed: 1 within the target latency (30 s for the agents' replies, 4 h for a person's,
  both counted from when the inquiry arrived), else ``target / latency``.
* tone: the reply's sentiment mapped from [-1, 1] to [0, 1].
* care: 1, except when a machine answered an upset customer: then ``1 + inquiry
  sentiment`` (an upset customer wanted a person, or at least an apology).

A record is flagged when its score is below 0.6, or when a machine answered a very upset
customer (inquiry sentiment at or below -0.6); ``reasons`` names what pulled it down.
"""

from __future__ import annotations

from datetime import datetime

from schemas.support import Outcome, Quality

AUTOMATED_TARGET = 30.0
HUMAN_TARGET = 4 * 3600.0
FLAG_BELOW = 0.6
UPSET = -0.6
WEIGHTS = {"resolution": 0.40, "speed": 0.25, "tone": 0.15, "care": 0.20}


def latency(received_at: datetime, replied_at: datetime) -> float:
    """Seconds from arrival to reply (0 when clocks disagree the other way)."""
    return max(0.0, (replied_at - received_at).total_seconds())


def assess(outcome: Outcome, inquiry_sentiment: float, reply_sentiment: float) -> Quality:
    """Score ``outcome`` given the sentiments of its inquiry and its reply."""
    seconds = latency(outcome.received_at, outcome.replied_at)
    target = HUMAN_TARGET if outcome.status == "human" else AUTOMATED_TARGET
    machine = outcome.status == "answered"
    parts = {
        "resolution": 0.4 if outcome.status == "escalated" else 1.0,
        "speed": 1.0 if seconds <= target else target / seconds,
        "tone": (reply_sentiment + 1) / 2,
        "care": 1.0 + min(0.0, inquiry_sentiment) if machine else 1.0,
    }
    score = round(sum(WEIGHTS[k] * v for k, v in parts.items()), 4)
    upset_answered_by_machine = machine and inquiry_sentiment <= UPSET
    flagged = score < FLAG_BELOW or upset_answered_by_machine
    return Quality(
        inquiry_id=outcome.inquiry_id,
        customer_id=outcome.customer_id,
        status=outcome.status,
        category=outcome.category,
        inquiry_sentiment=_clip(inquiry_sentiment),
        reply_sentiment=_clip(reply_sentiment),
        latency_seconds=round(seconds, 3),
        score=min(1.0, max(0.0, score)),
        flagged=flagged,
        reasons=_reasons(parts, seconds, target, upset_answered_by_machine) if flagged else [],
    )


def _reasons(
    parts: dict[str, float], seconds: float, target: float, upset_answered_by_machine: bool
) -> list[str]:
    reasons = []
    if parts["resolution"] < 1:
        reasons.append("not resolved yet: escalated to a person")
    if parts["speed"] < 1:
        reasons.append(f"slow: {seconds:.1f}s against a target of {target:.0f}s")
    if parts["tone"] < 0.4:
        reasons.append("negative tone in the reply")
    if upset_answered_by_machine:
        reasons.append("an upset customer was answered automatically")
    elif parts["care"] < 1:
        reasons.append("a dissatisfied customer was answered automatically")
    return reasons


def _clip(value: float) -> float:
    return round(min(1.0, max(-1.0, value)), 4)
