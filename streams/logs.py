"""Worker logging: one line format, and the client libraries' repeats folded.

While a broker is away, aiokafka and faust log the same warning or error several times a
second (heartbeats, metadata, commits), which buries everything else. :class:`Repeats`
lets the first record of each kind through, then holds back its repeats and adds their
count to the next one it lets through, at most one per ``every`` seconds. :class:`Outage`
adds the two lines those records lack: that the broker stopped answering, and that it
answers again, with how long it did not.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from streams.records import Inbound

log = logging.getLogger(__name__)

FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
#: Loggers whose repeats are folded; the runtime's own messages are rate-limited at source.
NOISY = ("aiokafka", "kafka", "faust", "mode")


class Repeats(logging.Filter):
    """Folds repeats of a record (same logger, same message template) within ``every``
    seconds into a count on the next one shown."""

    def __init__(self, every: float = 30.0, prefixes: tuple[str, ...] = NOISY) -> None:
        super().__init__()
        self.every = every
        self.prefixes = prefixes
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefixes):
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        shown_at, held = self._seen.get(key, (-self.every, 0))
        if now - shown_at < self.every:
            self._seen[key] = (shown_at, held + 1)
            return False
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} [{held} more like this in the last {now - shown_at:.0f}s]"
        return True


class Outage:
    """Whether a dependency answers, as seen by one caller that asks it on a timer: one
    WARNING when it stops answering, one INFO when it answers again, saying how long it
    did not. Times are the caller's clock (``loop.time()``)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.since: float | None = None  # when the first unanswered request was sent

    def failed(self, since: float, why: str) -> None:
        """A request sent at ``since`` failed or is still unanswered."""
        if self.since is None:
            self.since = since
            log.warning("%s does not answer (%s); it is asked again until it does", self.what, why)

    def answered(self, now: float) -> float | None:
        """A request was answered at ``now``; returns how long the outage lasted, if one
        was under way."""
        if self.since is None:
            return None
        lasted, self.since = now - self.since, None
        log.info("%s answers again, after %.0f s without an answer", self.what, lasted)
        return lasted


# -- the event being handled, on every log line (JSON format) ---------------------------
#: (agent, event id, traceparent) of the event the current task handles.
_EVENT: contextvars.ContextVar[tuple[str, str | None, str | None] | None] = contextvars.ContextVar(
    "agentstream_event", default=None
)
_event_context = False  # set by configure(fmt="json")


def event_context_enabled() -> bool:
    return _event_context


@contextlib.contextmanager
def event_context(agent: str, record: Inbound | None) -> Iterator[None]:
    """Name ``record`` (handled by ``agent``) on every line logged meanwhile in this task."""
    envelope = record.envelope if record is not None else None
    event_id = envelope.id if envelope is not None else None
    trace = record.trace if record is not None else None
    if trace is None and envelope is not None:
        trace = envelope.traceparent
    token = _EVENT.set((agent, event_id, trace))
    try:
        yield
    finally:
        _EVENT.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, process, message; the agent, event
    id and trace id of the event being handled; the exception, if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        event = _EVENT.get()
        if event is not None:
            agent, event_id, traceparent = event
            line["agent"] = agent
            line["event_id"] = event_id
            if traceparent is not None:
                parts = traceparent.split("-")
                if len(parts) == 4:
                    line["trace_id"], line["span_id"] = parts[1], parts[2]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


#: Libraries whose loggers stay at WARNING whatever the level (at DEBUG some log the values
#: they send or receive, personal data included: aiokafka logs every produce request).
LIBRARIES = (
    "aiokafka", "kafka", "faust", "mode", "aiohttp", "asyncio", "redis", "sqlalchemy",
    "alembic", "aiosqlite", "asyncpg", "urllib3", "httpx", "httpcore", "opentelemetry",
    "jieba", "bm25s", "matplotlib", "PIL", "selenium", "streams.faust_source",
)  # fmt: skip


def configure(level: str, fmt: str = "text", libraries: str = "") -> None:
    """Root logging for a process: our format (``text`` or ``json``) at ``level`` (the
    project's loggers and the application's own); the :data:`LIBRARIES` at WARNING, except
    those named in ``libraries`` (comma-separated), which follow ``level`` too. Repeats of
    the chattiest libraries are folded."""
    global _event_context
    logging.basicConfig(level=level, format=FORMAT)
    logging.getLogger().setLevel(level)
    repeats = Repeats()
    _event_context = fmt == "json"
    for handler in logging.getLogger().handlers:
        handler.addFilter(repeats)
        if _event_context:
            handler.setFormatter(JsonFormatter())
    named = {n.strip() for n in libraries.split(",") if n.strip()}
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(level if name in named else logging.WARNING)
    for name in named - set(LIBRARIES):
        logging.getLogger(name).setLevel(level)
