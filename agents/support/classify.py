"""``agentstream support classify FILE.jsonl``: the router's decisions for a file of
inquiries, over Kafka, so that anyone can measure it on their own labelled data.

Each line is ``{"id"?, "text", "lang"?}``; each answer line is ``{"id", "category",
"urgency", "confidence", "route"}`` in the file's order (a line without ``id`` gets its
line number). The local broker and Redis are started when the settings point at this
host; when no support worker answers, the support app runs in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.support.app import Topics
from config import Settings
from schemas.support import Inquiry, Lang, Routed
from streams import logs
from streams.client import Client
from streams.connection import partitions_of
from streams.errors import AgentStreamError, RequestTimeout, UnknownTopic
from streams.tools.local import ensure_local

PROBE_TIMEOUT = 5.0


class Line(BaseModel):
    """One line of the input file."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str | int | None = None
    text: str = Field(min_length=1, max_length=8000)
    lang: Lang | None = None


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    line: Line


def read(path: Path) -> list[Row]:
    """Every line of ``path`` (blank lines skipped); a bad line is a ``ValueError`` that
    names it, before anything is sent."""
    rows: list[Row] = []
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = Line.model_validate(orjson.loads(raw))
        except (orjson.JSONDecodeError, ValidationError) as err:
            raise ValueError(f"{path}:{number}: not an inquiry ({_reason(err)})") from None
        rows.append(Row(str(line.id) if line.id is not None else str(number), line))
    if not rows:
        raise ValueError(f"{path}: no inquiries")
    return rows


def run(path: Path, in_flight: int, timeout: float) -> int:
    try:
        rows = read(path)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    settings = Settings()
    logs.configure("WARNING")
    for line in ensure_local(settings):
        print(line, file=sys.stderr)
    try:
        failed = asyncio.run(_classify(settings, rows, in_flight, timeout))
    except AgentStreamError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 1 if failed else 0


async def _classify(settings: Settings, rows: list[Row], in_flight: int, wait: float) -> int:
    topic = Topics().classify
    async with (
        Client(settings, source="agentstream.classify") as client,
        _workers(client, settings, topic),
    ):
        room = asyncio.Semaphore(in_flight)
        done = 0

        async def one(row: Row) -> dict[str, Any]:
            nonlocal done
            inquiry = Inquiry(customer_id=f"classify-{row.id}", text=row.line.text,
                              lang=row.line.lang)  # fmt: skip
            async with room:
                try:
                    reply = await client.ask(topic, inquiry, key=row.id.encode(), timeout=wait)
                except AgentStreamError as err:
                    return {"id": row.id, "error": str(err)}
            routed = reply.parse(Routed)
            done += 1
            if done % max(1, len(rows) // 10) == 0:
                print(f"{done}/{len(rows)} classified", file=sys.stderr, flush=True)
            return {"id": row.id, "category": routed.category, "urgency": routed.urgency,
                    "confidence": round(routed.confidence, 4), "route": routed.route}  # fmt: skip

        answers = await asyncio.gather(*(one(row) for row in rows))
    for answer in answers:
        sys.stdout.write(orjson.dumps(answer).decode() + "\n")
    return sum("error" in a for a in answers)


@contextlib.asynccontextmanager
async def _workers(client: Client, settings: Settings, topic: str) -> AsyncIterator[None]:
    """Nothing when a support worker answers on ``topic``; else the support app, run in
    this process for the duration."""
    probe = Inquiry(customer_id="classify-probe", text="hello")
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


def _reason(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        return f"{'.'.join(map(str, first['loc'])) or 'line'}: {first['msg']}"
    return str(err)
