"""Dead letters: the original key, value and headers byte for byte, plus ``dlq.*`` context."""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime

from schemas import Headers
from streams.agent import AgentSpec
from streams.errors import Stage
from streams.records import Inbound

log = logging.getLogger(__name__)

STACKTRACE_LIMIT = 8 * 1024
DLQ_PREFIX = "dlq."
#: How often a record was replayed from a dead-letter topic (``agentstream dlq replay``).
REPLAYS_HEADER = "dlq.replays"


def dead_letter_headers(
    record: Inbound, agent: str, stage: Stage, error: BaseException, attempts: int
) -> Headers:
    trace = "".join(traceback.format_exception(error)).encode(errors="replace")
    context = {
        "dlq.original.topic": record.topic,
        "dlq.original.partition": str(record.partition),
        "dlq.original.offset": str(record.offset),
        "dlq.stage": stage,
        "dlq.error.class": f"{type(error).__module__}.{type(error).__qualname__}",
        "dlq.error.message": str(error)[:STACKTRACE_LIMIT],
        "dlq.attempts": str(attempts),
        "dlq.agent": agent,
        "dlq.failed.at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    return [
        *record.headers,
        *((k, v.encode(errors="replace")) for k, v in context.items()),
        ("dlq.error.stacktrace", trace[-STACKTRACE_LIMIT:]),
    ]


def dead_letter_value(spec: AgentSpec, record: Inbound) -> bytes | None:
    """The value a dead letter keeps: the original bytes, or what the agent's ``redact``
    makes of them (an empty value if ``redact`` fails: nothing raw is written)."""
    if spec.redact is None or record.value is None:
        return record.value
    try:
        return spec.redact(record.value)
    except Exception:
        log.exception("redact of agent %s failed; the dead letter keeps no value", spec.name)
        return b""
