"""A real Prometheus (Debian's ``prometheus`` binary) for one test: its own port, config
and storage, scraping the given targets every second with the project's rules loaded."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.integration.processes import free_port

RULES = Path(__file__).resolve().parents[2] / "config" / "prometheus" / "rules.yml"


class PrometheusServer:
    def __init__(self, home: Path, targets: list[str], interval: str = "1s") -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise AssertionError("prometheus not found on PATH (apt-get install prometheus)")
        self.binary = binary
        self.home = home
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "evaluation_interval": interval,
            },
            "rule_files": [str(RULES)],
            "scrape_configs": [
                {"job_name": "agentstream-worker", "static_configs": [{"targets": targets}]}
            ],
        }
        (home / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> subprocess.Popen[bytes]:
        argv = [self.binary, f"--config.file={self.home / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.home / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}"]  # fmt: skip
        with (self.home / "prometheus.log").open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own argv
                argv, cwd=self.home, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self.proc

    async def start(self, limit: float = 60.0) -> None:
        """Spawn the server and wait until /-/ready answers 200."""
        proc = self.spawn()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            async with asyncio.timeout(limit):
                while True:
                    if proc.poll() is not None:
                        raise AssertionError(f"prometheus exited: {self.log()}")
                    try:
                        async with http.get(f"{self.url}/-/ready") as response:
                            if response.status == 200:
                                return
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.2)

    async def api(self, path: str, **params: str) -> Any:
        """``data`` of a successful answer of the HTTP API (``/api/v1/<path>``)."""
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
            http.get(f"{self.url}/api/v1/{path}", params=params) as response,
        ):
            body = await response.json()
        assert body["status"] == "success", body
        return body["data"]

    async def value(self, query: str) -> float | None:
        """The value of an instant query returning one sample; None when it returns none."""
        result = (await self.api("query", query=query))["result"]
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def stop(self) -> int:
        """SIGTERM and wait for the exit (kill -9 after 30 s)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    def log(self) -> str:
        return (self.home / "prometheus.log").read_text(errors="replace")[-3000:]
