"""The JSON API: customers' inquiries and replies (as the customer their credential
says, agents/console/identity.py), and the console's escalations, replies and KPIs for
callers with the console token or a console session."""

from __future__ import annotations

import logging

from aiohttp import web

from agents.console import validation
from agents.console.auth import (
    customer_of,
    gateway,
    inquiry_spends,
    require_console,
    require_customer,
    set_cookie,
    too_many,
)
from agents.console.identity import CUSTOMER_COOKIE
from agents.console.security import error, error_body
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
        text=error_body(f"the body is over {limit} bytes"),
        content_type="application/json",
    )


@routes.post("/api/inquiries")
async def post_inquiry(request: web.Request) -> web.Response:
    """An inquiry of the authenticated customer (a new anonymous one gets its cookie
    with the reply); the body's ``customer_id``, when given, must be that customer."""
    gw = gateway(request)
    customer = require_customer(request, mint=True)
    wait = await gw.limiter.take(*inquiry_spends(request, customer))
    if wait:
        raise too_many(wait)
    if request.content_type != "application/json":
        return error(415, "send the inquiry as application/json")
    try:
        inquiry = validation.inquiry(await read_body(request), customer.id)
    except validation.NotYours as e:
        return error(403, str(e))
    except validation.BadRequest as e:
        return error(400, str(e))
    key = customer.id.encode()
    timeout = gw.settings.gateway.reply_timeout
    try:
        reply = await gw.client.ask(
            gw.topics.inquiries, inquiry, key=key, timeout=timeout, authid=customer.id
        )
        parsed = reply.parse(SupportReply)
    except RequestTimeout:
        response = web.json_response(
            {"status": "pending", "message": "no reply yet; it will appear in your messages"},
            status=202,
        )
    except RequestFailed as e:
        log.warning("inquiry of %s failed: %s", customer.id, e)
        return error(502, "the support system could not handle this inquiry")
    except UnknownTopic:
        return error(503, "the support system is not available")
    else:
        item = reply_item(reply, parsed)
        await gw.store.add_reply(customer.id, item)
        response = web.json_response(item)
    if customer.minted:
        ttl = gw.settings.gateway.messages_ttl
        set_cookie(response, request, CUSTOMER_COOKIE, gw.identities.cookie(customer), ttl)
    return response


@routes.get("/api/messages")
async def my_messages(request: web.Request) -> web.Response:
    """The replies the authenticated customer got; none yet for a browser that has not
    asked anything (no identity yet)."""
    customer = customer_of(request)
    if customer is None and gateway(request).identities.mode == "jwt":
        customer = require_customer(request)
    if customer is None:
        return web.json_response({"customer_id": None, "messages": []})
    replies = await gateway(request).store.replies(customer.id)
    return web.json_response({"customer_id": customer.id, "messages": replies})


@routes.get("/api/customers/{customer_id}/messages")
async def customer_messages(request: web.Request) -> web.Response:
    """Any customer's replies, for the console (session or bearer token)."""
    await require_console(request)
    customer_id = request.match_info["customer_id"]
    replies = await gateway(request).store.replies(customer_id)
    return web.json_response({"customer_id": customer_id, "messages": replies})


@routes.get("/api/escalations")
async def list_escalations(request: web.Request) -> web.Response:
    """The open escalations, most urgent first: ``?offset=0&limit=100`` (at most 1,000)."""
    await require_console(request)
    offset, limit = _int(request, "offset", 0, 0, 10**9), _int(request, "limit", 100, 1, 1000)
    total, escalations = await gateway(request).store.escalations(offset, limit)
    found = [e.model_dump(mode="json") for e in escalations]
    return web.json_response({"total": total, "offset": offset, "escalations": found})


@routes.get("/api/kpis")
async def kpis(request: web.Request) -> web.Response:
    await require_console(request)
    return web.json_response(gateway(request).kpis.snapshot())


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise web.HTTPBadRequest(
            text=error_body(f"{name} must be a whole number from {low} to {high}"),
            content_type="application/json",
        )
    return int(raw)
