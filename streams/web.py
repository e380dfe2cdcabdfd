"""A worker's HTTP endpoints, on ``settings.web_port``:

* ``GET /metrics``: the ``agentstream_*`` metrics in the Prometheus text format;
* ``GET /healthz``: 200 while the process serves (its event loop answers) and no agent
  has stopped; 503 once one has (the worker is on its way out);
* ``GET /readyz``: 200 when the app runs, is not draining, holds at least one partition
  and reaches a broker; 503 otherwise. Both health bodies are JSON saying why.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from streams.app import App

log = logging.getLogger(__name__)

BROKER_CHECK_TIMEOUT = 2.0


class WebServer:
    def __init__(self, app: App, port: int, host: str = "0.0.0.0") -> None:  # noqa: S104
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Listen; returns the bound port (``port=0`` picks a free one)."""
        router = web.Application()
        router.add_routes(
            [
                web.get("/metrics", self._metrics),
                web.get("/healthz", self._healthz),
                web.get("/readyz", self._readyz),
            ]
        )
        self._runner = web.AppRunner(router, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as e:
            await self._runner.cleanup()
            raise OSError(
                f"cannot serve /metrics on {self.host}:{self.port}: {e.strerror}; "
                "set AGENTSTREAM_WEB_PORT to a free port (0 picks one)"
            ) from e
        self.port = int(self._runner.addresses[0][1])
        log.info("serving /metrics, /healthz and /readyz on port %d", self.port)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, _: web.Request) -> web.Response:
        body = generate_latest(self.app.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _: web.Request) -> web.Response:
        failure = self.app.failure()
        if failure is not None:
            return _json(503, {"status": "failed", "app": self.app.id, "error": repr(failure)})
        return _json(200, {"status": "alive", "app": self.app.id})

    async def _readyz(self, _: web.Request) -> web.Response:
        status = await self.app.readiness(BROKER_CHECK_TIMEOUT)
        return _json(200 if status["ready"] else 503, status)


def _json(code: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=code, body=orjson.dumps(body), content_type="application/json")
