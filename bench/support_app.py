"""The customer-service system for the seed part, in worker processes
(``python -m streams worker bench.support_app:create``), every topic behind the
``BENCH_PREFIX`` the part starts it with."""

from __future__ import annotations

import os

from agents.support import SupportApp, create_app


def create() -> SupportApp:
    return create_app(prefix=os.environ["BENCH_PREFIX"])
