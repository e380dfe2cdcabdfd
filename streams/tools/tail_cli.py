"""``agentstream tail TOPIC``: the records of a topic, for a person (rich) or a script
(``--json``, one object a line). It never joins a consumer group and commits nothing."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer
from aiokafka.structs import ConsumerRecord
from rich.console import Console
from rich.json import JSON
from rich.markup import escape
from rich.progress import Progress, TaskID

from streams.tools.clikit import JsonFlag, dumps, fail, load_settings, progress, run, stdout
from streams.tools.tail import Start, Tail, parse_since, record_dict, tail


def tail_cmd(
    topic: Annotated[str, typer.Argument(help="the topic to read")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="go on reading new records until Ctrl-C")
    ] = False,
    from_beginning: Annotated[
        bool,
        typer.Option(
            "--from-beginning", help="start at the earliest record (the default without --follow)"
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(help="start at the first record stamped at or after: 15m, 2h, 1d, ISO time"),
    ] = None,
    last: Annotated[
        int | None, typer.Option(min=1, help="start N records before the end of each partition")
    ] = None,
    max_records: Annotated[
        int | None, typer.Option("--max", min=1, help="stop after N records")
    ] = None,
    partition: Annotated[
        list[int] | None, typer.Option(min=0, help="only this partition (repeatable)")
    ] = None,
    read_committed: Annotated[
        bool | None,
        typer.Option(
            "--read-committed/--read-uncommitted",
            help="skip records of open and aborted transactions, or show them "
            "(default: AGENTSTREAM_KAFKA__ISOLATION_LEVEL, read_committed)",
        ),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Print the records of a topic: partition, offset, time, key, headers, value.

    Without --follow it reads what is there now (from the beginning unless --since or
    --last say otherwise) and exits; with --follow it starts at the end unless told
    otherwise and runs until Ctrl-C. It joins no consumer group and commits nothing.
    --json prints one JSON object a line; the value is JSON when it parses, else text.

    Examples: agentstream tail echo.replies --last 5;
    agentstream tail echo --since 15m --json | jq .value"""
    start = _start(follow, from_beginning, since, last)
    what = Tail(topic, start, follow, max_records, tuple(partition or ()), read_committed)
    settings = load_settings()
    # A bar on stderr only while the records go to a file or a pipe.
    with progress(show=not follow and not sys.stdout.isatty()) as bar:
        task = bar.add_task(f"reading {topic}", total=None)
        show = _printer(json, stdout(), bar, task, flush=follow)
        try:
            count = run(
                tail(settings.kafka, what, show, lambda n: bar.update(task, total=n)),
                settings.kafka,
            )
        except KeyboardInterrupt:
            count = None
    if count is not None:
        typer.secho(f"{count} record(s) from {topic}", err=True, dim=True)


def _start(follow: bool, from_beginning: bool, since: str | None, last: int | None) -> Start:
    chosen = [n for n, v in [("--from-beginning", from_beginning), ("--since", since),
                             ("--last", last)] if v]  # fmt: skip
    if len(chosen) > 1:
        fail(f"{' and '.join(chosen)} exclude each other", 2)
    if since is not None:
        try:
            return Start("since", since=parse_since(since))
        except ValueError as e:
            fail(f"--since: {e}", 2)
    if last is not None:
        return Start("last", last=last)
    return Start("beginning" if from_beginning or not follow else "end")


def _printer(
    json: bool, console: Console, bar: Progress, task: TaskID, flush: bool
) -> Callable[[ConsumerRecord], None]:
    def as_json(record: ConsumerRecord) -> None:
        sys.stdout.write(dumps(record_dict(record)) + "\n")
        if flush:
            sys.stdout.flush()
        bar.advance(task)

    def pretty(record: ConsumerRecord) -> None:
        r = record_dict(record)
        key = "" if r["key"] is None else f"  key={escape(r['key'])}"
        console.print(
            f"[bold]{escape(r['topic'])}[/bold] p{r['partition']} @{r['offset']}  "
            f"[cyan]{r['timestamp'] or '-'}[/cyan]{key}"
        )
        if r["headers"]:
            pairs = "  ".join(f"{name}={value}" for name, value in r["headers"].items())
            console.print(f"  [dim]{escape(pairs)}[/dim]")
        value = r["value"]
        if isinstance(value, dict | list):
            console.print(JSON.from_data(value, indent=None))
        else:
            console.print(escape(str(value)), soft_wrap=True)
        bar.advance(task)

    return as_json if json else pretty
