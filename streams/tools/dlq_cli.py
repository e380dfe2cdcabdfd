"""``agentstream dlq list|show|replay``: look at dead letters and send them back."""

from __future__ import annotations

import collections
from typing import Annotated

import typer

from streams import dlq
from streams.tools.clikit import fail, load_settings, run

dlq_cli = typer.Typer(no_args_is_help=True, help="Dead letters of a mailbox: list, show, replay.")

Topic = Annotated[str, typer.Argument(help="the mailbox (or its .dlq topic)")]
MESSAGE_WIDTH = 70


def _read(
    topic: str, stage: str | None = None, at: list[str] | None = None
) -> list[dlq.DeadLetter]:
    def keep(letter: dlq.DeadLetter) -> bool:
        return (stage is None or letter.header("dlq.stage") == stage) and (
            not at or letter.position in at
        )

    kafka = load_settings().kafka
    return run(dlq.read(kafka, dlq.dead_letter_topic(topic), keep), kafka)


@dlq_cli.command("list")
def list_cmd(
    topic: Topic,
    stage: Annotated[str | None, typer.Option(help="only this dlq.stage")] = None,
) -> None:
    """One line per dead letter: partition:offset, stage, error, ce_type, time, message."""
    letters = _read(topic, stage)
    for d in letters:
        message = d.header("dlq.error.message").replace("\n", " ")[:MESSAGE_WIDTH]
        error = d.header("dlq.error.class").rsplit(".", 1)[-1]
        print(
            f"{d.position:>8}  {d.header('dlq.stage'):<9} {error:<18} "
            f"{d.header('ce_type') or '-':<24} {d.header('dlq.failed.at')}  {message}"
        )
    stages = collections.Counter(d.header("dlq.stage") for d in letters)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(stages.items())) or "none"
    print(f"{len(letters)} dead letter(s) in {dlq.dead_letter_topic(topic)}: {summary}")


@dlq_cli.command("show")
def show_cmd(
    topic: Topic,
    position: Annotated[str, typer.Argument(help="PARTITION:OFFSET, as `list` prints it")],
    full: Annotated[bool, typer.Option(help="print the whole value")] = False,
) -> None:
    """Every header of one dead letter (stack trace included) and its value."""
    found = _read(topic, at=[position])
    if not found:
        fail(f"no dead letter at {position}")
    d = found[0]
    print(f"{d.topic} {d.position}  key={d.key!r}")
    for name, value in d.headers:
        if name != "dlq.error.stacktrace":
            print(f"  {name}: {value.decode(errors='replace')}")
    print("  dlq.error.stacktrace:")
    for line in d.header("dlq.error.stacktrace").splitlines():
        print(f"    {line}")
    value = d.value or b""
    shown = value if full else value[:2000]
    more = "" if len(shown) == len(value) else f" ... ({len(value)} bytes, --full for all)"
    print(f"value: {shown.decode(errors='replace')}{more}")


@dlq_cli.command("replay")
def replay_cmd(
    topic: Topic,
    stage: Annotated[str | None, typer.Option(help="only this dlq.stage")] = None,
    at: Annotated[list[str] | None, typer.Option(help="only PARTITION:OFFSET (repeatable)")] = None,
    max_replays: Annotated[int, typer.Option(min=1, help="refuse records replayed this often")] = 3,
    dry_run: Annotated[bool, typer.Option(help="say what would be replayed")] = False,
) -> None:
    """Send dead letters' original records back to their topics (dlq.replays + 1). Every
    selected letter is sent each time this runs; the count stops endless loops."""
    letters = _read(topic, stage, at)
    if dry_run:
        for d in letters:
            verdict = "refuse" if d.replays >= max_replays else "replay"
            print(f"{d.position:>8}  {verdict} -> {d.header('dlq.original.topic')}")
        return
    kafka = load_settings().kafka
    outcome = run(dlq.replay(kafka, letters, max_replays), kafka)
    print(f"replayed {len(outcome.replayed)}, refused {len(outcome.refused)} "
          f"(replayed {max_replays} time(s) already)")  # fmt: skip
    if outcome.refused:
        print("refused: " + " ".join(d.position for d in outcome.refused))
