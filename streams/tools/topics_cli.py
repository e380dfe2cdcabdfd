"""``agentstream topics list|create|describe`` and ``agentstream lag GROUP``."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.table import Table

from streams.tools import cluster
from streams.tools.clikit import JsonFlag, fail, load_settings, print_json, run, stdout

topics_cli = typer.Typer(
    no_args_is_help=True, help="Topics of the cluster: list, create, describe."
)


@topics_cli.command("list")
def list_cmd(
    all_: Annotated[
        bool, typer.Option("--all", help="include internal topics (__consumer_offsets, ...)")
    ] = False,
    match: Annotated[str | None, typer.Option(help="only names matching this glob")] = None,
    json: JsonFlag = False,
) -> None:
    """Every topic with its partitions and replication factor, by name.

    Internal topics (__consumer_offsets, ...) only with --all.

    Example: agentstream topics list --match 'support.*'"""
    settings = load_settings()
    topics = run(cluster.list_topics(settings.kafka, internal=all_, match=match), settings.kafka)
    if json:
        print_json([t.summary() for t in topics])
        return
    table = Table("topic", "partitions", "replication", box=None)
    for t in topics:
        table.add_row(t.name, str(len(t.partitions)), str(t.replication))
    stdout().print(table)
    stdout().print(f"{len(topics)} topic(s)")


def _configs(pairs: list[str]) -> dict[str, str]:
    configs = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail(f"--config: {pair!r} is not NAME=VALUE", 2)
        configs[name.strip()] = value.strip()
    return configs


@topics_cli.command("create")
def create_cmd(
    name: Annotated[str, typer.Argument(help="the topic's name")],
    partitions: Annotated[int, typer.Option(min=1, help="number of partitions")] = 1,
    replication_factor: Annotated[
        int | None,
        typer.Option(min=1, help="copies of each partition (default: 1 on one broker, else 3)"),
    ] = None,
    config: Annotated[
        list[str] | None,
        typer.Option(help="a topic config as NAME=VALUE, e.g. retention.ms=86400000 (repeatable)"),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Create a topic.

    An error (exit 1) with the broker's reason if the topic exists already or the
    cluster refuses it (an unknown config, more replicas than brokers).

    Example: agentstream topics create orders --partitions 6 --config retention.ms=86400000"""
    configs = _configs(config or [])
    settings = load_settings()
    factor = run(
        cluster.create_topic(settings.kafka, name, partitions, replication_factor, configs),
        settings.kafka,
    )
    if json:
        print_json(
            {"name": name, "partitions": partitions, "replication": factor, "configs": configs}
        )
    else:
        print(f"created {name}: {partitions} partition(s), replication {factor}")


@topics_cli.command("describe")
def describe_cmd(
    name: Annotated[str, typer.Argument(help="the topic's name")],
    all_configs: Annotated[
        bool,
        typer.Option(
            "--all-configs", help="every config, defaults included (else those set on the topic)"
        ),
    ] = False,
    json: JsonFlag = False,
) -> None:
    """Partitions, leaders, replicas, in-sync replicas, offsets and configs of a topic.

    Offsets are the earliest and latest of each partition; configs are those set on the
    topic, or every one with --all-configs.

    Example: agentstream topics describe support.inquiries --json"""
    settings = load_settings()
    topic = run(
        cluster.describe_topic(settings.kafka, name, all_configs=all_configs), settings.kafka
    )
    if json:
        print_json({**topic.summary(), "partitions": topic.partitions, "configs": topic.configs})
        return
    console = stdout()
    console.print(f"{topic.name}: {len(topic.partitions)} partition(s), "
                  f"replication {topic.replication}")  # fmt: skip
    table = Table("partition", "leader", "replicas", "isr", "earliest", "latest", "records",
                  box=None)  # fmt: skip
    for p in topic.partitions:
        earliest, latest = p.earliest or 0, p.latest or 0
        table.add_row(
            str(p.partition), str(p.leader), _ids(p.replicas), _ids(p.isr),
            str(earliest), str(latest), str(latest - earliest),
        )  # fmt: skip
    console.print(table)
    heading = "configs" if all_configs else "configs set on the topic"
    console.print(f"{heading}:" if topic.configs else f"{heading}: none")
    for key, value in topic.configs.items():
        console.print(f"  {key}={'(sensitive)' if value is None else value}")


def _ids(ids: list[int]) -> str:
    return ",".join(map(str, ids))


def lag_cmd(
    group: Annotated[str, typer.Argument(help="the consumer group (an app's id)")],
    topic: Annotated[str | None, typer.Option(help="only this topic")] = None,
    json: JsonFlag = False,
) -> None:
    """A consumer group's lag: committed offset, end offset and lag per partition.

    Covers every partition of the topics the group committed offsets in (a partition
    never committed counts from its earliest offset), and the total. An error (exit 1)
    when the group has no committed offsets at all.

    Example: agentstream lag support --json"""
    settings = load_settings()
    rows = run(cluster.group_lag(settings.kafka, group, topic), settings.kafka)
    total = sum(r.lag for r in rows)
    if json:
        print_json(
            {"group": group, "partitions": [dataclasses.asdict(r) for r in rows], "total": total}
        )
        return
    table = Table("topic", "partition", "committed", "end", "lag", box=None)
    for r in rows:
        committed = "-" if r.committed is None else str(r.committed)
        table.add_row(r.topic, str(r.partition), committed, str(r.end), str(r.lag))
    console = stdout()
    console.print(table)
    console.print(f"total lag of {group}: {total}")
