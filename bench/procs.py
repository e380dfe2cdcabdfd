"""Worker processes started the way production starts them (``python -m streams worker
APP``, one process each), and what /proc says about them and about the machine: CPU
seconds per process and resident memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agents.demo import _wait_ready
from config import Settings
from streams.tools.local.kafka import LocalKafka
from streams.tools.local.redis import LocalRedis

TICK = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[1]


def free_ports(count: int) -> int:
    """A base port with ``count`` consecutive ports free on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + count < 65535 and all(_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports found")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Workers:
    procs: list[subprocess.Popen[bytes]]
    ports: list[int]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def check(self) -> None:
        dead = [(p.pid, p.returncode) for p in self.procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"worker process(es) exited: {dead}")

    def signal(self, sig: int) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(sig)

    async def ready(self, wait: float = 180.0) -> None:
        """Until every worker's /readyz answers 200 (it holds partitions)."""
        await _wait_ready(self.ports, wait)
        self.check()


def workers(
    app: str, count: int, env: Mapping[str, str]
) -> contextlib.AbstractContextManager[Workers]:
    """``count`` worker processes of ``app`` (``module:factory``), each serving its
    endpoints on a free port; SIGTERM on exit, SIGKILL when one does not drain in time."""
    argv = ["-m", "streams", "worker", app, "--app-dir", str(ROOT)]
    return processes(argv, count, env)


@contextlib.contextmanager
def processes(argv: list[str], count: int, env: Mapping[str, str]) -> Iterator[Workers]:
    """``count`` Python processes running ``argv``, each told its own free web port."""
    base = free_ports(count)
    quiet = {"AGENTSTREAM_LOG_LEVEL": "WARNING"}
    procs = [
        subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, *argv],
            env={**os.environ, **quiet, **env, "AGENTSTREAM_WEB_PORT": str(base + i)},
            cwd=ROOT,
        )
        for i in range(count)
    ]
    try:
        yield Workers(procs, [base + i for i in range(count)])
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def rss_bytes(pid: int) -> int:
    """Resident set size of a process; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def machine_busy() -> float:
    """CPU seconds the whole machine spent not idle since boot (all cores)."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in parts[:8]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / TICK


def services(settings: Settings) -> dict[str, int]:
    """The local broker's and Redis's pids, when this project started them."""
    found = {
        "broker": LocalKafka(settings).daemon.pid(),
        "redis": LocalRedis(settings).daemon.pid(),
    }
    return {name: pid for name, pid in found.items() if pid is not None}


@dataclass
class CpuMeter:
    """CPU seconds per named process, this process and the whole machine between
    :meth:`start` and :meth:`stop`; what the machine spent beyond the named processes
    is ``other`` (other users of the shared machine show there)."""

    pids: dict[str, int]
    began: dict[str, float] = field(default_factory=dict)
    spent: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0

    def _now(self) -> dict[str, float]:
        now = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        now["bench"] = cpu_seconds(os.getpid())
        now["machine"] = machine_busy()
        now["wall"] = time.monotonic()
        return now

    def start(self) -> None:
        self.began = self._now()

    def stop(self) -> dict[str, float]:
        end = self._now()
        self.spent = {k: end[k] - self.began[k] for k in end}
        self.wall = self.spent.pop("wall")
        named = sum(v for k, v in self.spent.items() if k != "machine")
        self.spent["other"] = max(0.0, self.spent["machine"] - named)
        return self.spent

    def shares(self) -> dict[str, float]:
        """Each one's CPU as a fraction of one core over the wall time."""
        return {k: v / self.wall for k, v in self.spent.items()} if self.wall else {}
