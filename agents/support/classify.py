"""``agentstream support classify FILE.jsonl``: the router's decisions for a file of
inquiries, over Kafka, so that anyone can measure it on their own labelled data.

Each line is ``{"id"?, "text", "lang"?}``; each answer line is ``{"id", "category",
"urgency", "confidence", "route"}`` in the file's order (a line without ``id`` gets its
line number). The local broker and Redis are started when the settings point at this
host; when no support worker answers, the support app runs in this process.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from agents.support.app import Topics
from agents.support.batchrun import Progress, prepared_settings, read_lines, support_running
from config import Settings
from schemas.support import Inquiry, Lang, Routed
from streams.client import Client
from streams.errors import AgentStreamError


class Line(BaseModel):
    """One line of the input file."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str | int | None = None
    text: str = Field(min_length=1, max_length=8000)
    lang: Lang | None = None


def run(path: Path, in_flight: int, timeout: float) -> int:
    try:
        rows = [
            (str(n if line.id is None else line.id), line) for n, line in read_lines(path, Line)
        ]
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    settings = prepared_settings()
    try:
        failed = asyncio.run(_classify(settings, rows, in_flight, timeout))
    except AgentStreamError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 1 if failed else 0


async def _classify(
    settings: Settings, rows: list[tuple[str, Line]], in_flight: int, wait: float
) -> int:
    topic = Topics().classify
    progress = Progress(len(rows), "classified")
    async with (
        Client(settings, source="agentstream.classify") as client,
        support_running(client, settings),
    ):
        room = asyncio.Semaphore(in_flight)

        async def one(row_id: str, line: Line) -> dict[str, Any]:
            inquiry = Inquiry(customer_id=f"classify-{row_id}", text=line.text, lang=line.lang)
            async with room:
                try:
                    reply = await client.ask(topic, inquiry, key=row_id.encode(), timeout=wait)
                except AgentStreamError as err:
                    return {"id": row_id, "error": str(err)}
            routed = reply.parse(Routed)
            progress.tick()
            return {
                "id": row_id,
                "category": routed.category,
                "urgency": routed.urgency,
                "confidence": round(routed.confidence, 4),
                "route": routed.route,
            }

        answers = await asyncio.gather(*(one(row_id, line) for row_id, line in rows))
    for answer in answers:
        sys.stdout.write(orjson.dumps(answer).decode() + "\n")
    return sum("error" in a for a in answers)
