"""``agentstream send``: one message given on the command line, or JSON lines from a file
or stdin at a chosen rate, with a progress bar and a summary."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import sys
from pathlib import Path
from typing import IO, Annotated

import typer
from pydantic import ConfigDict
from rich.markup import escape

from config import Settings
from schemas import Message
from streams.client import Client
from streams.tools.clikit import JsonFlag, dumps, fail, load_settings, progress, run
from streams.tools.jsonlines import BadJson, parse_object
from streams.tools.sending import SOURCE, Feedback, Sending, file_lines, send_lines, stdin_lines

Key = Annotated[str | None, typer.Option(help="ordering key")]
Mailbox = Annotated[str, typer.Argument(help="the agent's mailbox topic")]
CeType = Annotated[str, typer.Argument(help="ce_type of the message, e.g. support.Inquiry")]
Payload = Annotated[str, typer.Argument(help="the message as a JSON object")]


class _Json(Message):
    """Any JSON object under a ce_type given on the command line."""

    model_config = ConfigDict(extra="allow", frozen=True)


def json_message(ce_type: str, payload: str) -> Message:
    """The JSON object ``payload`` as a message of type ``ce_type``."""
    try:
        obj = parse_object(payload)
    except BadJson as e:
        fail(f"PAYLOAD: {e}", 2)
    cls: type[_Json] = type("Json", (_Json,), {"message_type": ce_type, "__module__": __name__})
    return cls.model_validate(obj)


def encode_key(key: str | None) -> bytes | None:
    return None if key is None else key.encode()


def send_cmd(
    mailbox: Mailbox,
    ce_type: CeType,
    payload: Annotated[
        str | None, typer.Argument(help="the message as a JSON object (or use --file)")
    ] = None,
    key: Key = None,
    file: Annotated[
        str | None,
        typer.Option("--file", "-f", help="JSON lines, one message a line; - reads stdin"),
    ] = None,
    key_field: Annotated[
        str | None, typer.Option(help="with --file: the field holding each message's key")
    ] = None,
    rate: Annotated[
        float | None, typer.Option(min=0.001, help="with --file: messages per second at most")
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Send one message, or every line of a JSON lines file or stdin.

    With PAYLOAD: one message; its ce_id is printed once the broker acknowledged it.
    With --file F (- for stdin): each line a JSON object, at most --rate a second, with a
    progress bar and a summary (sent, failed, bad lines, seconds). A bad line is
    reported with its number and skipped; the exit code is then 1.

    Examples: agentstream send echo echo.Ping '{"text": "hi"}' --key k1;
    agentstream send orders shop.Order -f orders.jsonl --key-field customer --rate 200"""
    if (payload is None) == (file is None):
        fail("give either PAYLOAD or --file (- for stdin)", 2)
    if key is not None and key_field is not None:
        fail("--key and --key-field exclude each other", 2)
    settings = load_settings()
    if file is not None:
        _send_file(
            settings, Sending(mailbox, ce_type, encode_key(key), key_field, rate), file, json
        )
    elif key_field is not None or rate is not None:
        fail("--key-field and --rate go with --file", 2)
    else:
        _send_one(settings, mailbox, json_message(ce_type, payload or ""), encode_key(key), json)


def _send_one(
    settings: Settings, mailbox: str, msg: Message, key: bytes | None, json: bool
) -> None:
    async def go() -> str:
        async with Client(settings, source=SOURCE) as client:
            return (await client.send(mailbox, msg, key=key)).id

    ce_id = run(go(), settings.kafka)
    print(dumps({"ce_id": ce_id, "mailbox": mailbox}) if json else ce_id)


def _send_file(settings: Settings, sending: Sending, name: str, json: bool) -> None:
    stdin = name == "-"
    total = None if stdin else _count_lines(Path(name))
    with contextlib.ExitStack() as stack:
        source = _stdin() if stdin else stack.enter_context(_open(Path(name)))
        bar = stack.enter_context(progress())
        task = bar.add_task(f"sending to {sending.mailbox}", total=total)

        def report(problem: str) -> None:
            bar.console.print(f"[yellow]{escape(problem)}[/yellow]")

        texts = stdin_lines(source) if stdin else file_lines(source)
        feedback = Feedback(lambda: bar.advance(task), report)
        summary = run(send_lines(settings.kafka, sending, texts, feedback), settings.kafka)
    print(dumps(dataclasses.asdict(summary)) if json else summary.line())
    if summary.failed or summary.bad_lines:
        fail(f"{summary.bad_lines} bad line(s) skipped, {summary.failed} message(s) not sent")


def _count_lines(path: Path) -> int | None:
    """Lines to send (blank ones are passed over), for the progress bar."""
    with contextlib.suppress(OSError), path.open("rb") as f:
        return sum(1 for line in f if line.strip())
    return None


def _stdin() -> IO[str]:
    """stdin, with bytes that are not UTF-8 replaced (the line is then refused as JSON
    with its number) instead of ending the read."""
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="replace")
    return sys.stdin


def _open(path: Path) -> IO[str]:
    try:
        return path.open(encoding="utf-8", errors="replace")
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}", 2)
