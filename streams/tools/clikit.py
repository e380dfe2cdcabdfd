"""What the operator commands share: settings, one error line and exit code for the
failures an operator should expect (a broker that does not answer, an unknown topic),
JSON output, rich consoles and progress bars."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Coroutine, Iterator
from typing import Annotated, Any, NoReturn, TypeVar

import orjson
import pydantic
import typer
from aiokafka.errors import KafkaConnectionError, KafkaError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from config import KafkaSettings, Settings
from streams.errors import AgentStreamError

T = TypeVar("T")

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]

#: Width of a console that is not a terminal: lines are never wrapped into a pipe.
PIPE_WIDTH = 10_000
#: The client libraries log what an error line here says already.
CLIENT_LOGGERS = ("aiokafka", "kafka")


def fail(message: str, code: int = 1) -> NoReturn:
    """An ``error: ...`` line in red on stderr, then exit ``code``."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """The settings from the environment; bad ones are an error line, not a traceback."""
    try:
        return Settings()
    except pydantic.ValidationError as e:
        fail(f"bad settings in the environment: {e}", 2)


def run(work: Coroutine[Any, Any, T], kafka: KafkaSettings) -> T:
    """Run ``work``; an unreachable broker or an error agentstream or Kafka reports
    becomes an error line and exit 1."""
    try:
        with _quiet_clients():
            return asyncio.run(work)
    except KafkaConnectionError as e:
        fail(f"cannot reach the Kafka broker at {kafka.bootstrap_servers}: {e}")
    except (AgentStreamError, KafkaError) as e:
        fail(str(e) or type(e).__name__)


@contextlib.contextmanager
def _quiet_clients() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in CLIENT_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def dumps(obj: Any, *, indent: bool = False) -> str:
    """JSON text; dataclasses and datetimes included."""
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(obj, option=option | orjson.OPT_NON_STR_KEYS).decode()


def print_json(obj: Any) -> None:
    """One JSON document on stdout, indented."""
    typer.echo(dumps(obj, indent=True))


def stdout() -> Console:
    """A rich console on stdout; into a pipe it keeps long lines whole."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH)


def progress(*, show: bool = True) -> Progress:
    """A progress bar on stderr, shown on a terminal only (and when ``show``)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True, width=None if sys.stderr.isatty() else PIPE_WIDTH),
        transient=True,
        disable=not (show and sys.stderr.isatty()),
    )
