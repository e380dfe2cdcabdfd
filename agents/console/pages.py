"""HTML pages from the templates in ``templates/``. Every value is HTML-escaped when it
is put in; only fragments built here from escaped values (:class:`Markup`) go in as they
are. Pages hold no script of their own: the scripts are static files, which the
Content-Security-Policy allows and inline code it does not."""

from __future__ import annotations

import functools
import html
from pathlib import Path
from string import Template

from schemas.support import Escalation

TEMPLATES = Path(__file__).parent / "templates"


class Markup(str):
    """HTML built from escaped values, put into a template as it is."""

    __slots__ = ()


@functools.cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text("utf-8"))


def fill(name: str, **values: str | int | float) -> Markup:
    escaped = {k: v if isinstance(v, Markup) else html.escape(str(v)) for k, v in values.items()}
    return Markup(_template(name).substitute(escaped))


def _page(title: str, template: str, **values: str | int | float) -> str:
    return fill("layout.html", title=title, main=fill(template, **values))


def chat() -> str:
    return _page("Chat", "chat.html")


def login(csrf: str, error: str = "") -> str:
    return _page("Sign in", "login.html", csrf=csrf, error=error)


def agent(
    escalations: list[Escalation],
    csrf: str,
    notice: str = "",
    *,
    total: int | None = None,
    page: int = 1,
    size: int = 50,
) -> str:
    """One page of the open escalations (``total`` in all, ``size`` a page)."""
    total = len(escalations) if total is None else total
    rows = Markup("".join(_escalation(e, csrf) for e in escalations))
    if not escalations:
        rows = Markup('<p class="empty">No open escalations here.</p>')
    return _page(
        "Console",
        "agent.html",
        count=total,
        notice=notice,
        rows=rows,
        csrf=csrf,
        pager=_pager(total, page, size),
    )


def _pager(total: int, page: int, size: int) -> Markup:
    pages = max(1, -(-total // size))
    links = [f'<span id="page">page {page} of {pages}</span>']
    if page > 1:
        links.insert(0, f'<a rel="prev" href="/agent?page={page - 1}">newer</a>')
    if page < pages:
        links.append(f'<a rel="next" href="/agent?page={page + 1}">more</a>')
    return Markup(f'<nav class="pager">{" ".join(links)}</nav>')


def kpis() -> str:
    return _page("KPIs", "kpis.html")


def _escalation(e: Escalation, csrf: str) -> Markup:
    return fill(
        "escalation.html",
        ticket=e.ticket,
        urgency=e.urgency,
        category=e.category,
        customer=e.customer_id,
        lang=e.lang,
        received=e.received_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        reason=e.reason,
        text=e.text,
        csrf=csrf,
    )
