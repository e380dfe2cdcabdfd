"""Who is asking: the console session or bearer token, the client's address for rate
limits, and the cookies and refusals the routes share."""

from __future__ import annotations

from aiohttp import web

from agents.console.ratelimit import retry_after
from agents.console.security import SESSION_COOKIE, Session, bearer, token_matches
from agents.console.state import GATEWAY, Gateway


def gateway(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


def session_of(request: web.Request) -> Session | None:
    return gateway(request).sessions.load(request.cookies.get(SESSION_COOKIE))


def bearer_ok(request: web.Request) -> bool:
    given = bearer(request)
    return given is not None and token_matches(
        gateway(request).settings.gateway.console_token, given
    )


def logged_in(request: web.Request) -> bool:
    """A signed-in console session (the console token was configured and given)."""
    session = session_of(request)
    token = gateway(request).settings.gateway.console_token
    return session is not None and session.auth and token is not None


def authorized(request: web.Request) -> bool:
    return bearer_ok(request) or logged_in(request)


def require_api(request: web.Request) -> None:
    if not authorized(request):
        raise web.HTTPUnauthorized(
            text='{"error": "sign in to the console or send Authorization: Bearer <token>"}',
            content_type="application/json",
            headers={"WWW-Authenticate": 'Bearer realm="console"'},
        )


def client_address(request: web.Request) -> str:
    """The peer's address. Behind a proxy this is the proxy: rate limits then count per
    proxy unless it passes the real address in a way this gateway is configured to
    trust (it trusts none)."""
    return f"ip:{request.remote or 'unknown'}"


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str) -> None:
    g = gateway(request).settings.gateway
    response.set_cookie(
        name,
        value,
        max_age=int(g.session_ttl),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=g.secure_cookies,
    )


def error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def too_many(wait: float) -> web.Response:
    return error(429, "too many requests; try again later", **{"Retry-After": retry_after(wait)})
