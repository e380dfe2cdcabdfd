"""The seed article's KPI table for the customer-service system, side by side with what
a run measured: each figure with the seed's target and met or missed.

Counting rules (docs/support.md, "KPIs"):

* latency: from sending an inquiry to its reply, every inquiry of the run;
* throughput: inquiries per second over the run (the load offered, not capacity:
  ``make bench`` measures that);
* error rate: inquiries that ended in a dead letter or with no reply / inquiries;
* automation, task success, answer precision: on the labelled inquiries given (the demo
  gives the held-out test split only: nothing was tuned on it). A complaint or a request
  that policy sends to a person is handled correctly when it reaches the right queue
  with a ticket, but it is not automated (agents.support.scoring);
* satisfaction: the quality monitor's mean score (0 to 1) on the seed's 1-5 scale,
  ``1 + 4 x score``;
* time to resolution: of the inquiries the agents resolved (a person's answer comes
  later and is not part of a run).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agents.support.scoring import Result, figures, percentile
from schemas.support import Quality


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    measured: str
    target: str
    met: bool | None  # None: nothing to judge


@dataclass(frozen=True, slots=True)
class Run:
    """What a run saw: ``latencies`` in seconds, ``failed`` inquiries (dead letter or no
    reply), the labelled ``results`` and the ``quality`` records."""

    sent: int
    seconds: float
    latencies: Sequence[float]
    failed: int
    results: Sequence[Result]
    quality: Sequence[Quality]


def rows(run: Run) -> list[Row]:
    times = sorted(run.latencies)
    p95, p99 = percentile(times, 95), percentile(times, 99)
    rate = run.sent / run.seconds if run.seconds else 0.0
    errors = run.failed / run.sent if run.sent else 0.0
    f = figures(run.results)
    labelled = f"of {f['inquiries']} held out"
    scores = [q.score for q in run.quality]
    satisfaction = 1 + 4 * statistics.fmean(scores) if scores else None
    resolved = sorted(q.latency_seconds for q in run.quality if q.status == "answered")
    return [
        _judge("response time P95", p95, "< 2 s", lambda v: v < 2, "{:.2f} s"),
        _judge("response time P99", p99, "< 5 s", lambda v: v < 5, "{:.2f} s"),
        _judge("throughput", rate, ">= 1,000/s", lambda v: v >= 1000, "{:.0f} inquiries/s"),
        _judge("error rate", errors, "< 0.1%", lambda v: v < 0.001, "{:.2%}"),
        _judge(
            "automation rate", f["automation"], "> 80%", lambda v: v > 0.8, "{:.1%} " + labelled
        ),
        _judge(
            "task success", f["task_success"], "> 95%", lambda v: v > 0.95, "{:.1%} " + labelled
        ),
        _judge(
            "answer precision",
            f["precision"],
            "(ours) >= 97%",
            lambda v: v >= 0.97,
            "{:.1%} of " + str(f["answered"]) + " answers",
        ),
        _judge("satisfaction (1-5)", satisfaction, "> 4.5", lambda v: v > 4.5, "{:.2f}"),
        _judge(
            "time to resolution",
            statistics.fmean(resolved) if resolved else None,
            "< 30 min",
            lambda v: v < 1800,
            "mean {:.2f} s (answered by agents)",
        ),
    ]


def render(table: list[Row]) -> str:
    width = max(len(r.measured) for r in table)
    lines = [f"  {'seed KPI':<22}{'measured':<{width + 2}}{'target':<16}"]
    for r in table:
        verdict = "-" if r.met is None else "met" if r.met else "missed"
        lines.append(f"  {r.name:<22}{r.measured:<{width + 2}}{r.target:<16}{verdict}")
    return "\n".join(lines)


def _judge(
    name: str, value: float | None, target: str, ok: Callable[[float], bool], fmt: str
) -> Row:
    if value is None:
        return Row(name, "-", target, None)
    return Row(name, fmt.format(value), target, ok(value))
