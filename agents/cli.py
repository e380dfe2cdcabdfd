"""The ``agentstream`` command: the runtime's commands (streams.tools.cli) plus those of
the shipped systems: ``demo`` (the main job), ``support classify`` and ``support eval``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from streams.tools.cli import cli

support = typer.Typer(no_args_is_help=True, help="The customer-service system.")
cli.add_typer(support, name="support")
sessions = typer.Typer(
    no_args_is_help=True, help="The console's signed-in sessions: list them, end them."
)
cli.add_typer(sessions, name="sessions")
Prefix = Annotated[str, typer.Option(help="the support system's topic prefix")]
accounts = typer.Typer(
    no_args_is_help=True,
    help="The account database (AGENTSTREAM_ACCOUNTS__URL): migrate it, seed it.",
)
cli.add_typer(accounts, name="accounts")


@cli.command("demo")
def demo_cmd(
    inquiries: Annotated[
        int | None, typer.Option(min=1, help="inquiries to send (default: every shipped one)")
    ] = None,
    content: Annotated[int, typer.Option(min=0, help="content requests to send")] = 3,
    workers: Annotated[int, typer.Option(min=1, help="support worker processes")] = 2,
    in_flight: Annotated[int, typer.Option(min=1, help="inquiries awaiting a reply at once")] = 64,
) -> None:
    """The main job: local Kafka + Redis, the customer-service and content workers, the
    shipped inquiries and a few content requests in, a summary out. Exit 0 only if every
    request ended in a reply, an escalation or a dead letter."""
    from agents import demo

    raise typer.Exit(demo.run(inquiries, content, workers, in_flight))


@support.command("classify")
def classify_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL inquiries")],
    in_flight: Annotated[int, typer.Option(min=1, help="inquiries awaiting an answer")] = 64,
    timeout: Annotated[float, typer.Option(help="seconds to wait for each answer")] = 30.0,
) -> None:
    """Route each inquiry of FILE (one JSON object a line: {"id"?, "text", "lang"?})
    through the router agents over Kafka, starting the broker, Redis and a worker when
    none run; print one JSON line per inquiry: id, category, urgency, confidence, route."""
    from agents.support import classify

    raise typer.Exit(classify.run(file, in_flight, timeout))


@support.command("eval")
def eval_cmd(
    file: Annotated[str, typer.Argument(help="JSONL labelled inquiries, or a shipped set's name")],
    in_flight: Annotated[int, typer.Option(min=1, help="conversations in flight at once")] = 64,
    timeout: Annotated[float, typer.Option(help="seconds to wait for each reply")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="figures and rows as JSON")] = False,
) -> None:
    """Send each labelled inquiry of FILE through the whole customer-service flow over
    Kafka (starting the broker, Redis and a worker when none run) and print, per language
    and category: automation, answer precision, escalation recall, task success and
    latency percentiles. A line: {"id", "text", "lang"?, "category"?, "conversation"?,
    "expected": {"outcome": "answer"|"escalate"|"action", "entries"?, "queue"?,
    "action"?}}; a bad line is refused with its number before anything is sent (exit 2).
    FILE may also name a shipped set: inquiries-test, near-miss-test, not-sold-test,
    conversations-test (never tuned on), their -tune parts, or desk-tune."""
    from agents.support import evaluate

    raise typer.Exit(evaluate.run(file, in_flight, timeout, as_json))


@cli.command("console")
def console_cmd(prefix: Prefix = "") -> None:
    """Run the HTTP gateway and web console (customer chat, human agents, KPIs) on
    AGENTSTREAM_GATEWAY__HOST:PORT until interrupted."""
    import asyncio
    import contextlib

    from agents.console import serve
    from config import Settings
    from streams import ConfigurationError, logs

    settings = Settings()
    logs.configure(settings.log_level, settings.log_format, settings.log_libraries)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(settings, prefix))
    except ConfigurationError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


@sessions.command("list")
def sessions_list(prefix: Prefix = "") -> None:
    """The console sessions signed in now (on every gateway replica): id, address,
    browser, when signed in and when it expires."""
    import asyncio
    from datetime import UTC, datetime

    def when(stamp: float | None) -> str:
        return "?" if stamp is None else f"{datetime.fromtimestamp(stamp, UTC):%Y-%m-%d %H:%M:%S}"

    for s in asyncio.run(_sessions(prefix, lambda records: records.signed_in())):
        created, expires = when(s.get("created")), when(s.get("expires"))
        typer.echo(f"{s['sid']}  {s.get('address')}  {created} -> {expires}  {s.get('agent')}")


@sessions.command("end")
def sessions_end(
    sid: Annotated[str | None, typer.Argument(help="the session to end")] = None,
    end_all: Annotated[bool, typer.Option("--all", help="end every session")] = False,
    prefix: Prefix = "",
) -> None:
    """End one console session (or --all): its browser is signed out at its next
    request, on every replica."""
    import asyncio

    if (sid is None) == (not end_all):
        typer.echo("error: name one session, or --all", err=True)
        raise typer.Exit(2)
    if end_all:
        ended = asyncio.run(_sessions(prefix, lambda records: records.end_all()))
        typer.echo(f"ended {ended} session(s)")
        return
    assert sid is not None  # noqa: S101 - checked above
    if not asyncio.run(_sessions(prefix, lambda records: records.end(sid))):
        typer.echo(f"error: no open session {sid}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ended {sid}")


async def _sessions(prefix: str, act: Any) -> Any:
    from agents.console.sessions import SessionRecords
    from config import Settings
    from streams.redis_connect import redis_client

    redis = redis_client(Settings().redis)
    try:
        return await act(SessionRecords(redis, prefix))
    finally:
        await redis.aclose()


@accounts.command("migrate")
def accounts_migrate() -> None:
    """Bring the account database to the newest schema revision (Alembic); SQLite by
    default (a file under .agentstream), PostgreSQL by URL."""
    import asyncio

    from agents.accounts import db
    from config import Settings

    url = Settings().accounts.url
    typer.echo(f"{_safe_url(url)} at revision {asyncio.run(db.migrate(url))}")


@accounts.command("seed")
def accounts_seed(
    customers: Annotated[int, typer.Option(min=1, help="customers to make")] = 3000,
) -> None:
    """Migrate, then fill an empty account database with made-up customers (EN and ZH
    names), subscriptions, orders, shipments, payments, invoices and refunds; a database
    with customers is left as it is."""
    import asyncio

    from agents.accounts import db
    from agents.accounts.seed import seed
    from config import Settings

    url = Settings().accounts.url

    async def run() -> int:
        await db.migrate(url)
        made = db.engine(url)
        try:
            return await seed(db.sessions(made), customers)
        finally:
            await made.dispose()

    typer.echo(f"{_safe_url(url)}: {asyncio.run(run())} customers")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    cli()
