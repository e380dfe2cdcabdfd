"""Who is asking, for the routes: the console session or bearer token (both bounded by
the sign-in quotas), the customer (agents/console/identity.py), the client's address,
and the cookies and refusals the routes share."""

from __future__ import annotations

from aiohttp import web

from agents.console.identity import Customer, Unauthenticated
from agents.console.ratelimit import Spend, retry_after
from agents.console.security import bearer, error_body, token_matches
from agents.console.sessions import SESSION_COOKIE, Session
from agents.console.state import GATEWAY, Gateway

_BEARER_OK = web.RequestKey("bearer_ok", bool)


def gateway(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


def client_address(request: web.Request) -> str:
    """The peer's address. Behind a proxy this is the proxy: rate limits then count per
    proxy unless it passes the real address in a way this gateway is configured to
    trust (it trusts none)."""
    return request.remote or "unknown"


def sign_in_spends(request: web.Request) -> tuple[Spend, Spend]:
    """What one try of a console credential costs: from the address's quota and from
    the quota all addresses share."""
    g = gateway(request).settings.gateway
    return Spend(g.sign_in, f"signin:ip:{client_address(request)}"), Spend(
        g.sign_in_global, "signin:all"
    )


def inquiry_spends(request: web.Request, customer: Customer) -> tuple[Spend, Spend]:
    """What one inquiry costs: from the address's quota and the customer's."""
    quota = gateway(request).settings.gateway.inquiries
    return Spend(quota, f"inquiry:ip:{client_address(request)}"), Spend(
        quota, f"inquiry:customer:{customer.id}"
    )


def too_many(wait: float) -> web.HTTPTooManyRequests:
    return web.HTTPTooManyRequests(
        text=error_body("too many requests; try again later"),
        content_type="application/json",
        headers={"Retry-After": retry_after(wait)},
    )


async def bearer_ok(request: web.Request) -> bool:
    """Whether the request carries the console token as a bearer token. Every try costs
    a sign-in (refunded when right), so guessing is bounded like the sign-in form's;
    with the quota spent, even the right token waits (429)."""
    if _BEARER_OK in request:
        return request[_BEARER_OK]
    given = bearer(request)
    ok = False
    if given is not None:
        gw = gateway(request)
        spends = sign_in_spends(request)
        wait = await gw.limiter.take(*spends)
        if wait:
            raise too_many(wait)
        ok = token_matches(gw.token, given)
        if ok:
            await gw.limiter.refund(*spends)
    request[_BEARER_OK] = ok
    return ok


async def session_of(request: web.Request) -> Session | None:
    return await gateway(request).sessions.load(request.cookies.get(SESSION_COOKIE))


async def logged_in(request: web.Request) -> Session | None:
    """The signed-in console session, if the request has one."""
    session = await session_of(request)
    return session if session is not None and session.auth else None


async def authorized(request: web.Request) -> bool:
    return await bearer_ok(request) or await logged_in(request) is not None


async def require_console(request: web.Request) -> None:
    if not await authorized(request):
        raise web.HTTPUnauthorized(
            text='{"error": "sign in to the console or send Authorization: Bearer <token>"}',
            content_type="application/json",
            headers={"WWW-Authenticate": 'Bearer realm="console"'},
        )


def customer_of(request: web.Request, *, mint: bool = False) -> Customer | None:
    """The authenticated customer (see :meth:`Identities.of`); a bad credential is a 401."""
    try:
        return gateway(request).identities.of(request, mint=mint)
    except Unauthenticated as e:
        raise _unauthenticated(str(e)) from e


def require_customer(request: web.Request, *, mint: bool = False) -> Customer:
    customer = customer_of(request, mint=mint)
    if customer is None:
        raise _unauthenticated("send the customer's identity token (Authorization: Bearer)")
    return customer


def _unauthenticated(message: str) -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(
        text=error_body(message),
        content_type="application/json",
        headers={"WWW-Authenticate": 'Bearer realm="customer"'},
    )


def set_cookie(
    response: web.StreamResponse,
    request: web.Request,
    name: str,
    value: str,
    max_age: float | None = None,
) -> None:
    g = gateway(request).settings.gateway
    response.set_cookie(
        name,
        value,
        max_age=int(max_age or g.session_ttl),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=g.secure_cookies,
    )
