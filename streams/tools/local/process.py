"""A detached background process tracked by a pid file: start, probe, stop."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Popen objects of the services this process started: kept so they are reaped on stop
# instead of being garbage-collected while still running.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class LocalServiceError(RuntimeError):
    """A local service could not be prepared, started or stopped; the message says why."""


def require_executable(name: str, hint: str) -> str:
    """Return the path of ``name`` on PATH, or fail with an installation hint."""
    path = shutil.which(name)
    if path is None:
        raise LocalServiceError(f"{name} not found on PATH. {hint}")
    return path


@dataclass(frozen=True)
class Daemon:
    """One background process whose pid lives in ``pidfile`` and output in ``logfile``."""

    name: str
    pidfile: Path
    logfile: Path

    def pid(self) -> int | None:
        """The pid of the running process, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.pidfile.unlink(missing_ok=True)
            return None
        if _is_zombie(pid):
            self.pidfile.unlink(missing_ok=True)
            return None
        return pid

    def spawn(self, argv: Sequence[str], cwd: Path) -> int:
        """Start ``argv`` in its own session, detached from the caller's terminal."""
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        with self.logfile.open("ab") as log:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _CHILDREN[proc.pid] = proc
        self.pidfile.write_text(f"{proc.pid}\n")
        return proc.pid

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> None:
        """Poll ``ready`` until it holds; fail early if the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if self.pid() is None:
                raise LocalServiceError(
                    f"{self.name} exited during start-up; last lines of {self.logfile}:\n"
                    + self.tail()
                )
            time.sleep(0.2)
        raise LocalServiceError(
            f"{self.name} did not become ready within {timeout:.0f}s; see {self.logfile}:\n"
            + self.tail()
        )

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM the process group, SIGKILL it after ``timeout``; True if one was running."""
        pid = self.pid()
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.1)
        if self.pid() is not None:
            _signal_group(pid, signal.SIGKILL)
            while self.pid() is not None:
                time.sleep(0.1)
        self.pidfile.unlink(missing_ok=True)
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            child.wait()
        return True

    def tail(self, lines: int = 20) -> str:
        try:
            text = self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return


def _is_zombie(pid: int) -> bool:
    """A child that exited but was not reaped still answers kill(pid, 0)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state == "Z":
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            child.wait()
        return True
    return False
