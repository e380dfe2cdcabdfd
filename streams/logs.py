"""Worker logging: one line format, and the client libraries' repeats folded.

While a broker is away, aiokafka and faust log the same warning or error several times a
second (heartbeats, metadata, commits), which buries everything else. :class:`Repeats`
lets the first record of each kind through, then holds back its repeats and adds their
count to the next one it lets through, at most one per ``every`` seconds. :class:`Outage`
adds the two lines those records lack: that the broker stopped answering, and that it
answers again, with how long it did not.
"""

from __future__ import annotations

import logging
import time

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


def configure(level: str) -> None:
    """Root logging for a worker: our format, quiet client libraries (their DEBUG only
    when ours is), repeats folded."""
    logging.basicConfig(level=level, format=FORMAT)
    repeats = Repeats()
    for handler in logging.getLogger().handlers:
        handler.addFilter(repeats)
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for noisy in (*NOISY, "streams.faust_source"):
        logging.getLogger(noisy).setLevel(quiet)
