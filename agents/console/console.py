"""The pages: the customers' chat, and the human agents' console (sign-in, open
escalations, answers, KPIs). Every form carries a CSRF token bound to the session and
every POST checks it; a bearer-token caller needs none (browsers never add that header
on their own)."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from agents.console import pages, validation
from agents.console.api import read_body
from agents.console.auth import (
    bearer_ok,
    client_address,
    gateway,
    logged_in,
    session_of,
    set_cookie,
    sign_in_spends,
)
from agents.console.ratelimit import retry_after
from agents.console.security import error, token_matches
from agents.console.sessions import SESSION_COOKIE, Session
from agents.console.store import Taken

routes = web.RouteTableDef()


def html(text: str, status: int = 200, **headers: str) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", headers=headers)


@routes.get("/")
async def chat(request: web.Request) -> web.Response:
    return html(pages.chat())


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    gw = gateway(request)
    session = await session_of(request)
    fresh = session is None
    session = session or gw.sessions.anonymous()
    response = html(pages.login(gw.sessions.csrf_token(session)))
    if fresh:
        set_cookie(response, request, SESSION_COOKIE, gw.sessions.cookie(session))
    return response


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    """Signs in with the console token. A refusal sets no cookie; every try costs from
    the sign-in quotas (the address's, and all addresses' together), which bounds
    guessing across every replica."""
    gw = gateway(request)
    session = await session_of(request)
    wait = await gw.limiter.take(*sign_in_spends(request))
    if wait:
        return _refused(request, session, "Too many attempts; try again later.", 429, wait)
    try:
        form = await _form(request)
    except validation.BadRequest as e:
        return _refused(request, session, f"The form was not understood: {e}.", 400)
    if not gw.sessions.csrf_ok(session, form.get("csrf")):
        return _refused(request, session, "The form expired; sign in again.", 403)
    if gw.token is None:
        return _refused(request, session, "The console is disabled: no token is configured.")
    if not token_matches(gw.token, form.get("token")):
        return _refused(request, session, "Wrong console token.")
    signed_in = await gw.sessions.sign_in(
        client_address(request), request.headers.get("User-Agent", "")
    )
    response = web.HTTPSeeOther("/agent")
    set_cookie(response, request, SESSION_COOKIE, gw.sessions.cookie(signed_in))
    raise response


def _refused(
    request: web.Request, session: Session | None, message: str, status: int = 401, wait: float = 0
) -> web.Response:
    csrf = gateway(request).sessions.csrf_token(session) if session else ""
    headers = {"Retry-After": retry_after(wait)} if wait else {}
    return html(pages.login(csrf, message), status, **headers)


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    """Ends the session on every replica (its record goes), not only in this browser."""
    gw = gateway(request)
    session = await session_of(request)
    try:
        form = await _form(request)
    except validation.BadRequest as e:
        return error(400, str(e))
    if not gw.sessions.csrf_ok(session, form.get("csrf")):
        return error(403, "missing or wrong CSRF token")
    if session is not None and session.auth:
        await gw.sessions.sign_out(session)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@routes.get("/agent")
async def agent(request: web.Request) -> web.Response:
    """The open escalations, ``page_size`` a page (``?page=N``, from 1)."""
    session = await logged_in(request)
    if session is None:
        raise web.HTTPSeeOther("/login")
    gw = gateway(request)
    size = gw.settings.gateway.page_size
    raw = request.query.get("page", "1")
    number = int(raw) if raw.isdigit() and 0 < int(raw) < 10**6 else 1
    total, escalations = await gw.store.escalations((number - 1) * size, size)
    answered, taken = request.query.get("answered", ""), request.query.get("taken", "")
    notice = f"Answer sent for ticket {answered}." if answered else ""
    if taken:
        notice = f"Ticket {taken} was answered by someone else; your answer was not sent."
    csrf = gw.sessions.csrf_token(session)
    return html(pages.agent(escalations, csrf, notice, total=total, page=number, size=size))


@routes.post("/agent/answer")
async def answer(request: web.Request) -> web.Response:
    """A person's answer: from the console form (session and CSRF token) or the API
    (bearer token, JSON or form body). A ticket is answered once: another answer, at
    the same moment or later, gets 409."""
    gw = gateway(request)
    api = await bearer_ok(request)
    session = None if api else await logged_in(request)
    if not api and session is None:
        return error(401, "sign in to the console or send Authorization: Bearer <token>")
    try:
        if api and request.content_type == "application/json":
            data = validation.json_object(await read_body(request))
        else:
            data = await _form(request)
            if not api and not gw.sessions.csrf_ok(session, data.get("csrf")):
                return error(403, "missing or wrong CSRF token")
        form = validation.answer(data)
    except validation.BadRequest as e:
        return error(400, str(e))
    try:
        sent = await gw.answer(form.ticket, form.text, form.agent_name)
    except Taken:
        if not api:
            raise web.HTTPSeeOther(f"/agent?{urlencode({'taken': form.ticket})}") from None
        return error(409, f"ticket {form.ticket} is answered already (or being answered)")
    if sent is None:
        return error(404, f"ticket {form.ticket} is not open (unknown, or expired)")
    if api:
        return web.json_response({"status": "sent", "answer": sent.model_dump(mode="json")})
    raise web.HTTPSeeOther(f"/agent?{urlencode({'answered': form.ticket})}")


@routes.get("/kpis")
async def kpis_page(request: web.Request) -> web.Response:
    if await logged_in(request) is None:
        raise web.HTTPSeeOther("/login")
    return html(pages.kpis())


async def _form(request: web.Request) -> dict[str, str]:
    """The posted form, read once (size checked), or :class:`validation.BadRequest`."""
    body = await read_body(request)
    return validation.form(body, request.content_type, request.charset)
