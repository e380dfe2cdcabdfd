"""``agentstream support eval FILE.jsonl``: the whole customer-service flow measured on
labelled inquiries, over Kafka.

Each line::

    {"id": "q1", "text": "...", "lang"?: "en"|"zh", "category"?: "billing",
     "conversation"?: "c7",
     "expected": {"outcome": "answer"|"escalate"|"action", "entries"?: [...],
                  "queue"?: "billing", "action"?: "refund_status"}}

Every inquiry goes to ``support.inquiries`` like a customer's (preprocess, router,
answering agents, quality monitor); lines that share a ``conversation`` are one
customer's chat, sent in the file's order, each after the reply to the one before.
Other lines are one new customer each. ``category`` groups the figures (default: the
category the router chose). A bad line is refused with its number before anything is
sent (exit 2). Figures: :mod:`agents.support.scoring`.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from agents.shared.datasets import data_file
from agents.shared.text import clean, detect_lang
from agents.support.app import Topics
from agents.support.batchrun import Progress, prepared_settings, read_lines, support_running
from agents.support.scoring import Expectation, Result, by_group
from config import Settings
from schemas.support import Inquiry, Lang, Reply
from streams.client import Client
from streams.errors import AgentStreamError

SHOWN = 15  # wrong answers and missed escalations listed in the text report


# The labelled sets that ship with the system (agents/support/data/), by name: the
# README's figures are these. Files named ``*.tune.*`` were looked at while the gate was
# built; ``*.test.*`` and the held-out inquiries were not.
SHIPPED = {
    "inquiries-test": "inquiries.test.jsonl",
    "near-miss-test": "eval/near_miss.test.jsonl",
    "not-sold-test": "eval/not_sold.test.jsonl",
    "conversations-test": "eval/conversations.test.jsonl",
    "near-miss-tune": "eval/near_miss.tune.jsonl",
    "not-sold-tune": "eval/not_sold.tune.jsonl",
    "conversations-tune": "eval/conversations.tune.jsonl",
    "desk-tune": "eval/desk.tune.jsonl",
}


class Line(BaseModel):
    """One labelled inquiry of the input file (other fields are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str | int
    text: str = Field(min_length=1, max_length=8000)
    lang: Lang | None = None
    category: str | None = Field(default=None, min_length=1, max_length=64)
    conversation: str | None = Field(default=None, min_length=1, max_length=128)
    expected: Expectation


def shipped_path(name: str) -> Path:
    """The file of a shipped labelled set."""
    return Path(str(data_file(SHIPPED[name])))


def resolve(file: str) -> Path:
    """``file`` itself, or the shipped set of that name; a ``ValueError`` otherwise."""
    path = Path(file)
    if path.is_file():
        return path
    if file in SHIPPED:
        return shipped_path(file)
    names = ", ".join(SHIPPED)
    raise ValueError(f"{file}: no such file, and not a shipped set ({names})")


def read(path: Path) -> list[Line]:
    """The labelled inquiries of ``path``; a ``ValueError`` names the first bad line."""
    lines = [line for _, line in read_lines(path, Line)]
    seen: set[str] = set()
    for line in lines:
        if str(line.id) in seen:
            raise ValueError(f"{path}: id {str(line.id)!r} appears twice")
        seen.add(str(line.id))
    return lines


def run(file: str, in_flight: int, timeout: float, as_json: bool) -> int:
    try:
        path = resolve(file)
        lines = read(path)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    settings = prepared_settings()
    started = time.monotonic()
    try:
        results = asyncio.run(_send(settings, lines, in_flight, timeout))
    except AgentStreamError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    report = {"file": str(path), "seconds": round(elapsed, 1), "groups": by_group(results)}
    if as_json:
        report["results"] = [_row(r) for r in results]
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(render(report, results, lines))
    return 0 if all(r.status is not None for r in results) else 1


async def _send(settings: Settings, lines: list[Line], in_flight: int, wait: float) -> list[Result]:
    topic = Topics().inquiries
    progress = Progress(len(lines), "inquiries ended")
    run_id = uuid.uuid4().hex[:8]
    chats: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        chats[line.conversation or f"line-{line.id}"].append(line)
    results: dict[str, Result] = {}
    async with (
        Client(settings, source="agentstream.eval") as client,
        support_running(client, settings),
    ):
        room = asyncio.Semaphore(in_flight)

        async def chat(number: int, turns: list[Line]) -> None:
            # A customer id of the safe alphabet, whatever the file names its chats.
            customer = f"eval-{run_id}-{number}"
            async with room:
                for line in turns:
                    results[str(line.id)] = await _ask(client, topic, customer, line, wait)
                    progress.tick()

        await asyncio.gather(*(chat(n, turns) for n, turns in enumerate(chats.values())))
    return [results[str(line.id)] for line in lines]


async def _ask(client: Client, topic: str, customer: str, line: Line, wait: float) -> Result:
    lang: Lang = line.lang or detect_lang(clean(line.text))
    inquiry = Inquiry(customer_id=customer, text=line.text, lang=line.lang)
    sent = time.monotonic()
    try:
        event = await client.ask(topic, inquiry, key=customer.encode(), timeout=wait)
    except AgentStreamError:
        return Result(str(line.id), lang, line.category or "unknown", line.expected, None)
    reply = event.parse(Reply)
    return Result(
        id=str(line.id),
        lang=lang,
        group=line.category or reply.category,
        expected=line.expected,
        status=reply.status,
        sources=tuple(reply.sources),
        queue=reply.queue,
        action=reply.action,
        seconds=time.monotonic() - sent,
    )


def render(report: dict[str, Any], results: list[Result], lines: list[Line]) -> str:
    """The figures as a table, then the wrong answers and missed escalations."""
    head = (
        f"{'':<22}{'n':>5}{'automation':>12}{'precision':>16}{'esc. recall':>16}"
        f"{'task success':>14}{'p50 s':>8}{'p95 s':>8}{'p99 s':>8}"
    )
    out = [f"support eval: {report['file']} in {report['seconds']} s", head]
    for name, f in report["groups"].items():
        indent = "  " if "/" in name else ""
        out.append(
            f"{indent + name:<22}{f['inquiries']:>5}{_pct(f['automation']):>12}"
            f"{_frac(f['precision'], f['right_answers'], f['answered']):>16}"
            f"{_frac(f['escalation_recall'], f['needing_escalated'], f['needing_person']):>16}"
            f"{_pct(f['task_success']):>14}{_sec(f['latency_p50']):>8}"
            f"{_sec(f['latency_p95']):>8}{_sec(f['latency_p99']):>8}"
        )
    total = report["groups"]["all"]
    share = total["action_share"]
    out.append(
        f"escalations that ask for an account task: {_pct(share)} "
        f"({total['escalated']} escalations)"
    )
    text = {str(line.id): line.text for line in lines}
    wrong = [r for r in results if r.answered and not r.right_answer]
    missed = [r for r in results if r.needs_person and not r.escalated]
    no_reply = [r for r in results if r.status is None]
    for title, rows in (("wrong answers", wrong), ("missed escalations", missed)):
        if rows:
            out.append(f"{title} ({len(rows)}):")
            out += [
                f"  {r.id}: {text[r.id][:70]!r} -> {','.join(r.sources) or r.status}"
                f" (expected {_expected(r)})"
                for r in rows[:SHOWN]
            ]
    if no_reply:
        ids = ", ".join(r.id for r in no_reply[:SHOWN])
        out.append(f"no reply in time: {len(no_reply)} ({ids})")
    return "\n".join(out)


def _expected(r: Result) -> str:
    e = r.expected
    return " ".join(x for x in (e.outcome, ",".join(e.entries), e.queue or "") if x)


def _row(r: Result) -> dict[str, Any]:
    return {
        "id": r.id,
        "lang": r.lang,
        "group": r.group,
        "expected": r.expected.model_dump(exclude_defaults=True),
        "status": r.status,
        "sources": list(r.sources),
        "queue": r.queue,
        "action": r.action,
        "seconds": None if r.seconds is None else round(r.seconds, 3),
        "success": r.success,
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _frac(value: float | None, part: int, whole: int) -> str:
    return "-" if value is None else f"{value:.3f} ({part}/{whole})"


def _sec(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
