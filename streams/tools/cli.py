"""The ``agentstream`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams import worker
from streams.client import Client
from streams.errors import AgentStreamError
from streams.tools import echo_demo as demo
from streams.tools.clikit import load_settings, run
from streams.tools.dlq_cli import dlq_cli
from streams.tools.inspect_cli import agents_cmd, schema_cli
from streams.tools.local_cli import broker, down, postgres_cli, redis_cli, up
from streams.tools.report_cli import report_cmd
from streams.tools.send_cli import CeType, Key, Mailbox, Payload, encode_key, json_message, send_cmd
from streams.tools.sending import SOURCE
from streams.tools.tail_cli import tail_cmd
from streams.tools.topics_cli import lag_cmd, topics_cli

cli = typer.Typer(no_args_is_help=True, help="Multi-agent systems on Kafka.")
cli.add_typer(broker, name="broker")
cli.add_typer(redis_cli, name="redis")
cli.add_typer(postgres_cli, name="postgres")
cli.add_typer(dlq_cli, name="dlq")
cli.add_typer(topics_cli, name="topics")
cli.add_typer(schema_cli, name="schema")
cli.command("up")(up)
cli.command("down")(down)
cli.command("report")(report_cmd)
cli.command("send")(send_cmd)
cli.command("tail")(tail_cmd)
cli.command("lag")(lag_cmd)
cli.command("agents")(agents_cmd)


@cli.command("worker")
def worker_cmd(
    app: Annotated[str, typer.Argument(help="the app by import path, e.g. agents.echo:app")],
    workers: Annotated[int, typer.Option(min=1, help="worker processes (one group)")] = 1,
    app_dir: Annotated[Path, typer.Option(help="directory added to sys.path")] = Path(),
) -> None:
    """Run an app's agents until SIGTERM/SIGINT, then drain, commit and exit 0."""
    try:
        code = worker.run(app, app_dir, workers)
    except AgentStreamError as err:
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from err
    raise typer.Exit(code)


@cli.command("demo-echo")
def demo_echo_cmd(
    events: Annotated[int, typer.Option(min=1, help="events to send")] = 2000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 2,
    rate: Annotated[
        float | None, typer.Option(min=1, help="events per second (default: bursts of 500)")
    ] = None,
) -> None:
    """The smallest end-to-end run: local Kafka + Redis, echo agent workers, pings in,
    pongs out, latency figures."""
    raise typer.Exit(demo.run(events, workers, rate))


@cli.command("ask")
def ask_cmd(
    mailbox: Mailbox,
    ce_type: CeType,
    payload: Payload,
    key: Key = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the reply")] = 10.0,
) -> None:
    """Send one message and print the agent's reply (type and JSON)."""

    settings = load_settings()
    msg = json_message(ce_type, payload)

    async def go() -> tuple[str, bytes]:
        async with Client(settings, source=SOURCE) as client:
            reply = await client.ask(mailbox, msg, key=encode_key(key), timeout=timeout)
            return reply.envelope.type, reply.value

    ce, value = run(go(), settings.kafka)
    print(ce, value.decode(errors="replace"))


def main() -> None:
    cli()
