"""What the support commands that take a file of inquiries share (``support classify``,
``support eval``): reading the file line by line with clear errors before anything is
sent, and a support app to send it to."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from agents.support.app import Topics
from config import Settings
from schemas.support import Inquiry
from streams import logs
from streams.client import Client
from streams.connection import partitions_of
from streams.errors import RequestTimeout, UnknownTopic
from streams.tools.local import ensure_local

M = TypeVar("M", bound=BaseModel)
PROBE_TIMEOUT = 5.0


def prepared_settings() -> Settings:
    """The settings, quiet logs, and the local broker and Redis started when the
    settings point at this host (what they say goes to stderr)."""
    settings = Settings()
    logs.configure("WARNING")
    for note in ensure_local(settings):
        print(note, file=sys.stderr)
    return settings


def read_lines(path: Path, model: type[M]) -> list[tuple[int, M]]:
    """Every line of ``path`` as ``model``, with its line number (blank lines skipped);
    a bad line is a ``ValueError`` that names it, before anything is sent."""
    rows: list[tuple[int, M]] = []
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            rows.append((number, model.model_validate(orjson.loads(raw))))
        except (orjson.JSONDecodeError, ValidationError) as err:
            raise ValueError(f"{path}:{number}: not an inquiry ({_reason(err)})") from None
    if not rows:
        raise ValueError(f"{path}: no inquiries")
    return rows


@contextlib.asynccontextmanager
async def support_running(client: Client, settings: Settings) -> AsyncIterator[None]:
    """Nothing when a support worker answers; else the support app, run in this process
    for the duration. The probe asks the classify agent, which has no side effects
    (no reply to a customer, no memory, no KPI record)."""
    topic = Topics().classify
    probe = Inquiry(customer_id="probe", text="hello")
    try:
        await partitions_of(settings.kafka, topic)  # no mailbox yet: no worker ever ran
        await client.ask(topic, probe, timeout=PROBE_TIMEOUT)
    except (RequestTimeout, UnknownTopic):
        pass
    else:
        yield
        return
    from agents.support import create_app

    print("no support worker answers; running the support app here", file=sys.stderr)
    async with create_app(settings).running():
        yield


class Progress:
    """``done/total`` on stderr about ten times in a run."""

    def __init__(self, total: int, what: str) -> None:
        self.total = total
        self.what = what
        self.done = 0
        self._step = max(1, total // 10)

    def tick(self) -> None:
        self.done += 1
        if self.done % self._step == 0 or self.done == self.total:
            print(f"{self.done}/{self.total} {self.what}", file=sys.stderr, flush=True)


def _reason(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        return f"{'.'.join(map(str, first['loc'])) or 'line'}: {first['msg']}"
    return str(err)
