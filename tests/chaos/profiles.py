"""How hard the chaos scenarios push: ``short`` (CI, the default) or ``long``
(``AGENTSTREAM_CHAOS=long``, the figures of the hardening issue)."""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV = "AGENTSTREAM_CHAOS"


@dataclass(frozen=True)
class Profile:
    name: str
    events: int  # per scenario, unless a scenario says otherwise
    rate: float  # events per second sent while a scenario disrupts the workers
    kills: int  # kill -9 of a random worker, each followed by a restart
    kill_every: float  # seconds between kills
    bounces: int  # SIGTERM and restart of a worker
    broker_outage: float  # seconds the broker is stopped
    redis_outage: float  # seconds Redis is stopped
    stop_for: float  # seconds a worker is SIGSTOPped (past the 6 s session timeout)
    storm: float  # seconds of adding and removing workers
    storm_every: float  # seconds between two membership changes
    slow_events: int  # events of the slow agent
    dlq_outage: float  # seconds the dead-letter topic refuses writes
    soak: float  # seconds of steady load; 0: the soak scenario is not part of the profile
    soak_rate: float
    settle: float  # seconds the outcomes of a scenario may take after its disruptions
    timeout: float  # per test


SHORT = Profile(
    name="short",
    events=3000,
    rate=250.0,
    kills=3,
    kill_every=4.0,
    bounces=2,
    broker_outage=12.0,
    redis_outage=12.0,
    stop_for=10.0,
    storm=20.0,
    storm_every=3.0,
    slow_events=1000,
    dlq_outage=15.0,
    soak=0.0,
    soak_rate=0.0,
    settle=120.0,
    timeout=300.0,
)

LONG = Profile(
    name="long",
    events=100_000,
    rate=800.0,
    kills=22,
    kill_every=5.0,
    bounces=6,
    broker_outage=20.0,
    redis_outage=20.0,
    stop_for=15.0,
    storm=120.0,
    storm_every=4.0,
    slow_events=10_000,
    dlq_outage=60.0,
    soak=1800.0,
    soak_rate=300.0,
    settle=600.0,
    timeout=2700.0,
)


def current() -> Profile:
    """The profile named by ``AGENTSTREAM_CHAOS`` (``short`` when unset)."""
    name = os.environ.get(ENV, "short").strip().lower() or "short"
    profiles = {p.name: p for p in (SHORT, LONG)}
    if name not in profiles:
        raise ValueError(f"{ENV}={name!r}: choose one of {', '.join(profiles)}")
    return profiles[name]
