"""The gateway's web application and how to run it."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiohttp import web

from agents.console import api, console, health
from agents.console.security import guard
from agents.console.state import GATEWAY, Gateway
from config import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def create_gateway(settings: Settings, prefix: str = "") -> web.Application:
    """The gateway for the support system whose topics start with ``prefix``. It
    connects to Kafka and Redis when the application starts."""
    app = web.Application(client_max_size=settings.gateway.max_body_bytes, middlewares=[guard])
    gateway = app[GATEWAY] = Gateway(settings, prefix)
    app.cleanup_ctx.append(gateway.lifecycle)
    app.add_routes(api.routes)
    app.add_routes(console.routes)
    app.add_routes(health.routes)
    app.router.add_static("/static/", STATIC, follow_symlinks=False)
    return app


async def serve(settings: Settings, prefix: str = "") -> None:
    """Run the gateway on ``settings.gateway.host:port`` until cancelled.
    :class:`~streams.ConfigurationError` (a weak console token, say) before it starts."""
    app = create_gateway(settings, prefix)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    g = settings.gateway
    site = web.TCPSite(runner, g.host, g.port)
    await site.start()
    log.info("gateway on http://%s:%d (support topics prefix %r)", g.host, g.port, prefix)
    if app[GATEWAY].token is None:
        log.warning(
            "no console token configured (AGENTSTREAM_GATEWAY__CONSOLE_TOKEN): "
            "the console refuses everyone"
        )
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
