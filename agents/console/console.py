"""The pages: the customers' chat, and the human agents' console (sign-in, open
escalations, answers, KPIs). Every form carries a CSRF token bound to the session and
every POST checks it; a bearer-token caller needs none (browsers never add that header
on their own)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agents.console import pages, validation
from agents.console.api import read_body
from agents.console.auth import (
    bearer_ok,
    client_address,
    error,
    gateway,
    logged_in,
    session_of,
    set_cookie,
)
from agents.console.ratelimit import retry_after
from agents.console.security import SESSION_COOKIE, Session, token_matches

routes = web.RouteTableDef()


def html(text: str, status: int = 200, **headers: str) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", headers=headers)


@routes.get("/")
async def chat(request: web.Request) -> web.Response:
    return html(pages.chat())


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    gw = gateway(request)
    session = session_of(request)
    fresh = session is None
    session = session or gw.sessions.new(auth=False)
    response = html(pages.login(gw.sessions.csrf_token(session)))
    if fresh:
        set_cookie(response, request, SESSION_COOKIE, gw.sessions.dump(session))
    return response


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    """Signs in with the console token. A refusal sets no cookie; tries count against
    the address's rate limit, which bounds guessing."""
    gw = gateway(request)
    session = session_of(request)
    wait = gw.limiter.take(client_address(request))
    if wait:
        return _refused(request, session, "Too many attempts; try again later.", 429, wait)
    form = await _form(request)
    if not gw.sessions.csrf_ok(session, form.get("csrf")):
        return _refused(request, session, "The form expired; sign in again.", 403)
    token = gw.settings.gateway.console_token
    if token is None:
        return _refused(request, session, "The console is disabled: no token is configured.")
    if not token_matches(token, form.get("token")):
        return _refused(request, session, "Wrong console token.")
    response = web.HTTPSeeOther("/agent")
    # A new session id on sign-in: one planted before cannot ride along.
    set_cookie(response, request, SESSION_COOKIE, gw.sessions.dump(gw.sessions.new(auth=True)))
    raise response


def _refused(
    request: web.Request, session: Session | None, message: str, status: int = 401, wait: float = 0
) -> web.Response:
    csrf = gateway(request).sessions.csrf_token(session) if session else ""
    headers = {"Retry-After": retry_after(wait)} if wait else {}
    return html(pages.login(csrf, message), status, **headers)


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    form = await _form(request)
    if not gateway(request).sessions.csrf_ok(session_of(request), form.get("csrf")):
        return error(403, "missing or wrong CSRF token")
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@routes.get("/agent")
async def agent(request: web.Request) -> web.Response:
    session = session_of(request)
    if session is None or not logged_in(request):
        raise web.HTTPSeeOther("/login")
    gw = gateway(request)
    answered = request.query.get("answered", "")
    notice = f"Answer sent for ticket {answered}." if answered else ""
    escalations = await gw.store.escalations()
    return html(pages.agent(escalations, gw.sessions.csrf_token(session), notice))


@routes.post("/agent/answer")
async def answer(request: web.Request) -> web.Response:
    """A person's answer: from the console form (session and CSRF token) or the API
    (bearer token, JSON or form body)."""
    gw = gateway(request)
    api = bearer_ok(request)
    if not api and not logged_in(request):
        return error(401, "sign in to the console or send Authorization: Bearer <token>")
    try:
        if api and request.content_type == "application/json":
            data = validation.json_object(await read_body(request))
        else:
            data = await _form(request)
            if not api and not gw.sessions.csrf_ok(session_of(request), data.get("csrf")):
                return error(403, "missing or wrong CSRF token")
        form = validation.answer(data)
    except validation.BadRequest as e:
        return error(400, str(e))
    escalation = await gw.store.escalation(form.ticket)
    if escalation is None:
        return error(404, f"ticket {form.ticket} is not open (answered already, or unknown)")
    sent = await gw.answer(escalation, form.text, form.agent_name)
    if api:
        return web.json_response({"status": "sent", "answer": sent.model_dump(mode="json")})
    raise web.HTTPSeeOther(f"/agent?answered={form.ticket}")


@routes.get("/kpis")
async def kpis_page(request: web.Request) -> web.Response:
    if not logged_in(request):
        raise web.HTTPSeeOther("/login")
    return html(pages.kpis())


async def _form(request: web.Request) -> dict[str, Any]:
    await read_body(request)  # the size check, before the form is parsed
    return dict(await request.post())
