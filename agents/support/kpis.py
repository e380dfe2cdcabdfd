"""Key figures of the customer-service system, computed from ``Quality`` records.

Definitions (an *inquiry* is counted once, by its id, however many records mention it):

* ``automation_rate``: inquiries answered by the agents alone / inquiries.
* ``escalation_rate``: inquiries escalated to a person / inquiries.
* ``resolution_rate``: inquiries resolved (answered by the agents, or later by a
  person) / inquiries. Whether a resolution was *right* needs labels: that is the task
  success of ``agentstream support eval`` and of the demo's seed KPI table.
* ``time_to_resolution_p50`` / ``_p95``: seconds from the inquiry's arrival to the reply
  that resolved it, over resolved inquiries (the last ``window`` of them).
* ``satisfaction``: the mean quality score (see :mod:`agents.support.quality`).
* counts: ``records``, ``inquiries``, ``answered``, ``escalated``, ``human`` (inquiries
  a person answered), ``flagged`` records, ``duplicates`` (records seen before: delivery
  is at least once).

Rates are 0.0 while there is nothing to count. Everything a ``Kpis`` knows is what it
was given: each worker's monitor sees its own partitions only.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from typing import Any

from schemas.support import Quality, Status


class Kpis:
    """Running KPIs over the ``Quality`` records given to :meth:`add`; the last
    ``window`` inquiries are remembered for de-duplication and percentiles."""

    def __init__(self, window: int = 100_000) -> None:
        self.window = window
        self._seen: OrderedDict[tuple[str, Status], None] = OrderedDict()
        self._resolution: deque[float] = deque(maxlen=window)
        self._counts = dict.fromkeys(("answered", "escalated", "human", "flagged"), 0)
        self._records = 0
        self._duplicates = 0
        self._score_sum = 0.0

    def has(self, quality: Quality) -> bool:
        """Whether a record of this inquiry with this status was added already."""
        return (quality.inquiry_id, quality.status) in self._seen

    def add(self, quality: Quality) -> None:
        seen = (quality.inquiry_id, quality.status)
        if seen in self._seen:
            self._duplicates += 1
            return
        self._seen[seen] = None
        while len(self._seen) > 2 * self.window:
            self._seen.popitem(last=False)
        self._records += 1
        self._score_sum += quality.score
        self._counts["flagged"] += quality.flagged
        self._counts[quality.status] += 1
        if quality.status == "human" and (quality.inquiry_id, "escalated") not in self._seen:
            # A person answered an escalation this Kpis never saw (it started later):
            # the inquiry still counts, as escalated.
            self._counts["escalated"] += 1
        if quality.status != "escalated":
            self._resolution.append(quality.latency_seconds)

    def snapshot(self) -> dict[str, Any]:
        answered, escalated, human = (self._counts[k] for k in ("answered", "escalated", "human"))
        inquiries = answered + escalated
        times = sorted(self._resolution)
        return {
            "automation_rate": _ratio(answered, inquiries),
            "escalation_rate": _ratio(escalated, inquiries),
            "resolution_rate": _ratio(answered + human, inquiries),
            "time_to_resolution_p50": percentile(times, 50),
            "time_to_resolution_p95": percentile(times, 95),
            "satisfaction": _ratio(self._score_sum, self._records),
            "records": self._records,
            "inquiries": inquiries,
            "answered": answered,
            "escalated": escalated,
            "human": human,
            "flagged": self._counts["flagged"],
            "duplicates": self._duplicates,
        }


def percentile(ordered: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ``ordered`` (0.0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 3)


def _ratio(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0
