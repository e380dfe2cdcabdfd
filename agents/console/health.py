"""The gateway's liveness and readiness, for orchestrators (Kubernetes probes, compose
health checks): ``/healthz`` answers while the process serves; ``/readyz`` only while
its Kafka client runs and Redis answers, with a JSON body saying which part is missing."""

from __future__ import annotations

import asyncio

from aiohttp import web
from redis.exceptions import RedisError

from agents.console.state import GATEWAY

routes = web.RouteTableDef()
REDIS_TIMEOUT = 2.0


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"alive": True})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    kafka = gateway.running
    redis = False
    if kafka:
        try:
            async with asyncio.timeout(REDIS_TIMEOUT):
                redis = bool(await gateway.store.ping())
        except (RedisError, OSError, TimeoutError):
            redis = False
    ready = kafka and redis
    body = {"ready": ready, "kafka": kafka, "redis": redis}
    return web.json_response(body, status=200 if ready else 503)
