"""``agentstream agents APP`` and ``agentstream schema export APP``: what an app declares,
read from its code alone (no broker)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from streams.app import App
from streams.errors import AgentStreamError
from streams.tools import asyncapi
from streams.tools.appinfo import app_dict
from streams.tools.clikit import JsonFlag, dumps, fail, print_json, stdout
from streams.worker import load_app

schema_cli = typer.Typer(no_args_is_help=True, help="Message schemas and the AsyncAPI document.")

AppPath = Annotated[str, typer.Argument(help="the app by import path, e.g. agents.echo:app")]
AppDir = Annotated[Path, typer.Option(help="directory added to sys.path")]


def _load(path: str, app_dir: Path) -> App:
    try:
        return load_app(path, app_dir)
    except AgentStreamError as e:
        fail(str(e), 2)


def agents_cmd(app: AppPath, app_dir: AppDir = Path(), json: JsonFlag = False) -> None:
    """The agents of an app: topics, policies and message types.

    For each agent: mailbox, reply and dead-letter topics, batch window, concurrency,
    backlog, retry, timeout, idempotency, and the message types it takes and answers
    with (ce_type and model class). Reads the code only: no broker needed.

    Example: agentstream agents agents.support:app --json"""
    info = app_dict(_load(app, app_dir))
    if json:
        print_json(info)
        return
    console = stdout()
    console.print(f"app [bold]{info['app']}[/bold]: consumer group {info['group']}, "
                  f"{len(info['agents'])} agent(s), {info['partitions']} partition(s) "
                  "for the topics it creates")  # fmt: skip
    for agent in info["agents"]:
        console.print()
        console.print(f"[bold]{agent['name']}[/bold] ({agent['kind']})")
        for label, value in _rows(agent):
            console.print(f"  {label:<13}{value}")


def _rows(a: dict[str, Any]) -> list[tuple[str, str]]:
    b, r = a["batch"], a["retry"]
    return [
        ("mailbox", a["mailbox"]),
        ("replies", a["reply_topic"]),
        ("dead letters", a["dead_letter_topic"]),
        ("batch", f"up to {b['max_size']} within {b['within']} s"
                  + (", closed early when idle" if b["eager"] else "")),
        ("flow", f"concurrency {a['concurrency']}, backlog {a['backlog']}, "
                 f"timeout {a['timeout']} s, idempotent {'yes' if a['idempotent'] else 'no'}"),
        ("retry", f"{r['attempts']} attempt(s), backoff {r['backoff']} s up to "
                  f"{r['max_backoff']} s, outages ridden out for {r['outage']} s"),
        ("takes", _types(a["messages"])),
        ("answers", _types(a["replies"])),
    ]  # fmt: skip


def _types(types: dict[str, str]) -> str:
    return ", ".join(f"{t} ({path})" for t, path in types.items()) or "-"


@schema_cli.command("export")
def export_cmd(
    app: AppPath,
    out: Annotated[
        Path | None,
        typer.Option(help="write asyncapi.json and schemas/<ce_type>.schema.json here"),
    ] = None,
    api_version: Annotated[str, typer.Option(help="info.version of the document")] = "1.0.0",
    app_dir: AppDir = Path(),
    json: JsonFlag = False,
) -> None:
    """An app's AsyncAPI 3.0 document and the JSON Schema of each message type.

    Channels per mailbox, reply and dead-letter topic, and the reply address a request
    names in ce_replyto; receive and send operations; messages with their payload
    schemas and the CloudEvents headers. Without --out the AsyncAPI document goes to
    stdout. No broker needed.

    Example: agentstream schema export agents.support:app --out build/api"""
    loaded = _load(app, app_dir)
    document = asyncapi.build(loaded, api_version)
    if out is None:
        print_json(document)
        return
    files = {out / "asyncapi.json": document}
    for ce_type, model in asyncapi.models_of(loaded).items():
        files[out / "schemas" / f"{ce_type}.schema.json"] = asyncapi.json_schema(model)
    try:
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dumps(content, indent=True) + "\n", encoding="utf-8")
    except OSError as e:
        fail(f"cannot write {e.filename}: {e.strerror}")
    if json:
        print_json({"files": [str(p) for p in files]})
    else:
        for path in files:
            print(path)
