"""``agentstream broker|redis|postgres|up|down``: the local Kafka broker, Redis and
PostgreSQL."""

from __future__ import annotations

import typer

from config import Settings
from streams.tools.local import LocalKafka, LocalPostgres, LocalRedis, LocalServiceError
from streams.tools.local.postgres import pg_program

broker = typer.Typer(no_args_is_help=True, help="The local single-node Kafka (KRaft) broker.")
redis_cli = typer.Typer(no_args_is_help=True, help="The local Redis server.")
postgres_cli = typer.Typer(
    no_args_is_help=True, help="The local PostgreSQL server (the account database's)."
)


def _fail(err: Exception) -> typer.Exit:
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


@broker.command("up")
def broker_up() -> None:
    """Fetch the Kafka jars if needed, start the broker, wait until it answers."""
    kafka = LocalKafka(Settings())
    if not (kafka.jars / ".complete").exists():
        print(f"resolving Apache Kafka {kafka.version} jars with Maven (first run only)...")
    try:
        status = kafka.up()
    except LocalServiceError as err:
        raise _fail(err) from err
    print(f"kafka {status.version} up at {status.bootstrap} (pid {status.pid}, log {status.home})")


@broker.command("down")
def broker_down() -> None:
    """Stop the local broker (SIGTERM, then SIGKILL after 30 s)."""
    print("kafka stopped" if LocalKafka(Settings()).down() else "kafka was not running")


@broker.command("reset")
def broker_reset(
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Stop the local broker and delete its data (every topic, record and committed
    offset). Test runs leave topics behind; a broker with tens of thousands of
    partitions starts slowly and can run out of file handles."""
    kafka = LocalKafka(Settings())
    if not yes:
        typer.confirm(f"delete every topic of the local broker ({kafka.data})?", abort=True)
    print("kafka data deleted" if kafka.reset() else "kafka had no data")


@broker.command("status")
def broker_status() -> None:
    """Say whether the local broker runs and answers; exit 1 if not."""
    status = LocalKafka(Settings()).status()
    state = "running" if status.running else "not running"
    print(f"kafka {status.version or '?'} {state} at {status.bootstrap} (pid {status.pid})")
    if not status.running:
        raise typer.Exit(1)


@broker.command("fetch")
def broker_fetch() -> None:
    """Resolve and cache the Kafka jars with Maven without starting anything."""
    try:
        print(LocalKafka(Settings()).fetch())
    except LocalServiceError as err:
        raise _fail(err) from err


@broker.command("tool", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def broker_tool(ctx: typer.Context, name: str) -> None:
    """Run a Kafka tool from the same jars: producer-perf-test, consumer-perf-test,
    topics, consumer-groups, console-consumer, console-producer, or a class name."""
    try:
        raise typer.Exit(LocalKafka(Settings()).tool(name, list(ctx.args)))
    except LocalServiceError as err:
        raise _fail(err) from err


@redis_cli.command("up")
def redis_up() -> None:
    """Start redis-server on 127.0.0.1 and wait until it answers PING."""
    try:
        status = LocalRedis(Settings()).up()
    except LocalServiceError as err:
        raise _fail(err) from err
    print(f"redis {status.version} up at {status.url} (pid {status.pid})")


@redis_cli.command("down")
def redis_down() -> None:
    """Stop the local Redis."""
    print("redis stopped" if LocalRedis(Settings()).down() else "redis was not running")


@redis_cli.command("status")
def redis_status() -> None:
    """Say whether the local Redis runs and answers; exit 1 if not."""
    status = LocalRedis(Settings()).status()
    print(f"redis {status.version or '?'} {'running' if status.running else 'not running'}")
    if not status.running:
        raise typer.Exit(1)


@postgres_cli.command("up")
def postgres_up() -> None:
    """Make the cluster (first run), start PostgreSQL on 127.0.0.1 and wait until it
    accepts connections."""
    try:
        status = LocalPostgres(Settings()).up()
    except LocalServiceError as err:
        raise _fail(err) from err
    print(f"postgres {status.version} up at {status.url} (pid {status.pid})")


@postgres_cli.command("down")
def postgres_down() -> None:
    """Stop the local PostgreSQL (its data stays)."""
    print("postgres stopped" if LocalPostgres(Settings()).down() else "postgres was not running")


@postgres_cli.command("status")
def postgres_status() -> None:
    """Say whether the local PostgreSQL runs and answers; exit 1 if not."""
    status = LocalPostgres(Settings()).status()
    state = "running" if status.running else "not running"
    print(f"postgres {status.version or '?'} {state} at {status.url}")
    if not status.running:
        raise typer.Exit(1)


def up() -> None:
    """Start the local broker, Redis and PostgreSQL (when installed: without it the
    account database stays on its default, SQLite)."""
    broker_up()
    redis_up()
    try:
        pg_program("initdb")
    except LocalServiceError as err:
        print(f"postgres not started: {err}")
        return
    postgres_up()


def down() -> None:
    """Stop the local broker, Redis and PostgreSQL."""
    broker_down()
    redis_down()
    postgres_down()
