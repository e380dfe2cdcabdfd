"""Apps the parts run in worker processes (``python -m streams worker bench.apps:NAME``).

A worker process gets its topic names from the environment the part starts it with,
so each run has fresh topics and its own consumer group:

* ``BENCH_MAILBOX``: the mailbox (the app id is ``<mailbox>-app``);
* ``BENCH_PARTITIONS``: partitions of the topics the app creates;
* ``BENCH_SLEEP``: seconds each handler call sleeps (a stalled downstream), default 0.

The customer-service system is in ``bench.support_app`` (its imports would weigh on
the memory part's figures here).
"""

from __future__ import annotations

import asyncio
import os

from bench.messages import Payload, Result
from streams import App, Context, Retry


def mailbox() -> App:
    """One agent answering every ``bench.Payload`` with a ``bench.Result`` (to the
    event's ``ce_replyto``, else ``<mailbox>.replies``), after ``BENCH_SLEEP`` seconds."""
    name = os.environ["BENCH_MAILBOX"]
    sleep = float(os.environ.get("BENCH_SLEEP", "0"))
    app = App(f"{name}-app", partitions=int(os.environ.get("BENCH_PARTITIONS", "4")))
    timeout = max(30.0, sleep * 2)

    @app.agent(name, timeout=timeout, retry=Retry(attempts=1, outage=0))
    async def work(msg: Payload, ctx: Context) -> Result:
        if sleep:
            await asyncio.sleep(sleep)
        return Result(id=msg.id, size=len(msg.body))

    return app
