"""The ``agentstream`` command line."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ConfigDict

from config import Settings
from schemas import Message
from streams import worker
from streams.client import Client
from streams.errors import AgentStreamError
from streams.tools import echo_demo as demo
from streams.tools.dlq_cli import dlq_cli
from streams.tools.local_cli import broker, down, redis_cli, up

cli = typer.Typer(no_args_is_help=True, help="Multi-agent systems on Kafka.")
cli.add_typer(broker, name="broker")
cli.add_typer(redis_cli, name="redis")
cli.add_typer(dlq_cli, name="dlq")
cli.command("up")(up)
cli.command("down")(down)


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


Key = Annotated[str | None, typer.Option(help="ordering key")]
Mailbox = Annotated[str, typer.Argument(help="the agent's mailbox topic")]
CeType = Annotated[str, typer.Argument(help="ce_type of the message, e.g. support.Inquiry")]
Payload = Annotated[str, typer.Argument(help="the message as a JSON object")]


@cli.command("send")
def send_cmd(mailbox: Mailbox, ce_type: CeType, payload: Payload, key: Key = None) -> None:
    """Send one message; print its ce_id once the broker acknowledged it."""

    async def go() -> str:
        async with Client(Settings(), source="agentstream.cli") as client:
            env = await client.send(mailbox, _message(ce_type, payload), key=_key(key))
            return env.id

    print(asyncio.run(go()))


@cli.command("ask")
def ask_cmd(
    mailbox: Mailbox,
    ce_type: CeType,
    payload: Payload,
    key: Key = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the reply")] = 10.0,
) -> None:
    """Send one message and print the agent's reply (type and JSON)."""

    async def go() -> tuple[str, bytes]:
        async with Client(Settings(), source="agentstream.cli") as client:
            reply = await client.ask(
                mailbox, _message(ce_type, payload), key=_key(key), timeout=timeout
            )
            return reply.envelope.type, reply.value

    try:
        ce, value = asyncio.run(go())
    except AgentStreamError as err:
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from err
    print(ce, value.decode(errors="replace"))


class _Json(Message):
    """Any JSON object under a ce_type given on the command line."""

    model_config = ConfigDict(extra="allow", frozen=True)


def _message(ce_type: str, payload: str) -> Message:
    try:
        obj: Any = orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        raise typer.BadParameter(f"not JSON: {e}") from e
    if not isinstance(obj, dict):
        raise typer.BadParameter("the message must be a JSON object")
    cls: type[_Json] = type("Json", (_Json,), {"message_type": ce_type, "__module__": __name__})
    return cls.model_validate(obj)


def _key(key: str | None) -> bytes | None:
    return None if key is None else key.encode()


def main() -> None:
    cli()
