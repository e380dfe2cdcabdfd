"""Worker processes for tests: start, kill -9, SIGTERM, restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from config import Settings

ROOT = Path(__file__).resolve().parents[2]


class Workers:
    """``n`` processes of ``agentstream worker`` running one generated app module."""

    def __init__(self, settings: Settings, tmp: Path, module_source: str) -> None:
        self.tmp = tmp
        (tmp / "testapp.py").write_text(module_source)
        self.env = {
            **os.environ,
            "AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
            "AGENTSTREAM_KAFKA__SESSION_TIMEOUT": "6",
            "AGENTSTREAM_REDIS__URL": settings.redis.url,
            "AGENTSTREAM_WEB_PORT": "0",  # several workers on one host
        }
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.log_files: dict[int, Path] = {}
        self.exit_codes: list[tuple[int, int]] = []
        self._starts = 0

    def start(self, slot: int) -> None:
        self._starts += 1
        path = self.log_files[slot] = self.tmp / f"worker-{slot}-{self._starts}.log"
        log = path.open("wb")
        self.procs[slot] = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "streams", "worker", "testapp:app", "--app-dir", str(self.tmp)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()

    async def ready(self, slot: int) -> bool:
        """The worker in ``slot`` has joined its group and runs its agents."""
        return " ready: " in self.log_files[slot].read_text(errors="replace")

    def signal(self, slot: int, sig: signal.Signals) -> int:
        proc = self.procs.pop(slot)
        proc.send_signal(sig)
        code = proc.wait(timeout=60)
        self.exit_codes.append((int(sig), code))
        return code

    def stop_all(self) -> None:
        for slot in list(self.procs):
            self.signal(slot, signal.SIGTERM)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.tmp.glob("*.log"))


async def wait_until(predicate: object, limit: float, what: str) -> None:
    """Poll an async predicate every 0.2 s."""
    deadline = asyncio.get_running_loop().time() + limit
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {limit}s waiting for {what}")
