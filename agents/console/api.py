"""The JSON API: customers' inquiries and replies, and the console's escalations and
KPIs for callers with the bearer token."""

from __future__ import annotations

import logging

from aiohttp import web

from agents.console import validation
from agents.console.auth import (
    authorized,
    client_address,
    error,
    gateway,
    require_api,
    set_cookie,
    too_many,
)
from agents.console.security import CUSTOMER_COOKIE
from agents.console.state import reply_item
from schemas.support import Reply as SupportReply
from streams import RequestFailed, RequestTimeout, UnknownTopic

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


async def read_body(request: web.Request) -> bytes:
    """The body, or a 413 when it is over ``max_body_bytes`` (checked before reading
    when the client says its length, and while reading otherwise)."""
    limit = gateway(request).settings.gateway.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge as e:
        raise _too_large(limit) from e


def _too_large(limit: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(
        max_size=limit,
        actual_size=0,
        text=f'{{"error": "the body is over {limit} bytes"}}',
        content_type="application/json",
    )


@routes.post("/api/inquiries")
async def post_inquiry(request: web.Request) -> web.Response:
    gw = gateway(request)
    wait = gw.limiter.take(client_address(request))
    if wait:
        return too_many(wait)
    if request.content_type != "application/json":
        return error(415, "send the inquiry as application/json")
    try:
        inquiry = validation.inquiry(await read_body(request))
    except validation.BadRequest as e:
        return error(400, str(e))
    wait = gw.limiter.take(f"customer:{inquiry.customer_id}")
    if wait:
        return too_many(wait)
    key = inquiry.customer_id.encode()
    timeout = gw.settings.gateway.reply_timeout
    try:
        reply = await gw.client.ask(gw.topics.inquiries, inquiry, key=key, timeout=timeout)
        parsed = reply.parse(SupportReply)
    except RequestTimeout:
        response = web.json_response(
            {"status": "pending", "message": "no reply yet; it will appear in your messages"},
            status=202,
        )
    except RequestFailed as e:
        log.warning("inquiry of %s failed: %s", inquiry.customer_id, e)
        return error(502, "the support system could not handle this inquiry")
    except UnknownTopic:
        return error(503, "the support system is not available")
    else:
        item = reply_item(reply, parsed)
        await gw.store.add_reply(inquiry.customer_id, item)
        response = web.json_response(item)
    set_cookie(response, request, CUSTOMER_COOKIE, gw.sessions.customer_cookie(inquiry.customer_id))
    return response


@routes.get("/api/customers/{customer_id}/messages")
async def customer_messages(request: web.Request) -> web.Response:
    """The replies a customer got, for the browser that asked as that customer (its
    signed cookie) or the console."""
    gw = gateway(request)
    customer_id = request.match_info["customer_id"]
    own = gw.sessions.customer_of(request.cookies.get(CUSTOMER_COOKIE)) == customer_id
    if not (own or authorized(request)):
        return error(403, "these messages belong to another customer")
    replies = await gw.store.replies(customer_id)
    return web.json_response({"customer_id": customer_id, "messages": replies})


@routes.get("/api/escalations")
async def list_escalations(request: web.Request) -> web.Response:
    require_api(request)
    escalations = await gateway(request).store.escalations()
    return web.json_response({"escalations": [e.model_dump(mode="json") for e in escalations]})


@routes.get("/api/kpis")
async def kpis(request: web.Request) -> web.Response:
    require_api(request)
    return web.json_response(gateway(request).kpis.snapshot())
