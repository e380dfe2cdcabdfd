"""The ceiling: Kafka's own kafka-producer-perf-test and kafka-consumer-perf-test, from
the same jars as the local broker, on a fresh topic of the same layout.

The producer runs with the agent's guarantees (acks=all, idempotent, the same linger
and batch size) and unthrottled; the consumer reads what it wrote. Each is a JVM
client doing nothing but its half of the work, so neither figure is reachable by a
consume-and-produce loop; the throughput part shows them as the ceiling.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from bench.common import delete_topics
from config import Settings
from streams.connection import ensure_topics
from streams.tools.local.kafka import TOOLS, LocalKafka

HEAP = "512m"
PRODUCED = re.compile(r"(\d+) records sent, ([\d.]+) records/sec .*?([\d.]+) ms avg latency")


def with_tools(kafka: LocalKafka) -> LocalKafka:
    """``kafka`` with the kafka-tools jar resolved: a jar cache made before the pom
    listed it is completed by running Maven again (it only adds what is missing)."""
    jars = kafka.fetch()
    if not any(jars.glob("kafka-tools-*.jar")):
        (jars / ".complete").unlink(missing_ok=True)
        kafka.fetch()
    return kafka


async def _tool(settings: Settings, name: str, *args: str) -> str:
    kafka = await asyncio.to_thread(with_tools, LocalKafka(settings))
    argv = kafka.java(TOOLS[name], *args, heap=HEAP)
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{name} exited {proc.returncode}: {text[-2000:]}")
    return text


def parse_producer(text: str) -> dict[str, float]:
    """The summary line: records, records/s and average latency (the last match)."""
    found = PRODUCED.findall(text)
    if not found:
        raise RuntimeError(f"no summary in producer-perf-test output: {text[-500:]}")
    records, rate, avg = found[-1]
    return {"records": float(records), "msg_per_s": float(rate), "avg_latency_ms": float(avg)}


def parse_consumer(text: str) -> dict[str, float]:
    """The CSV header and the first row of as many fields after it (the tool's log lines
    come in between); ``fetch.nMsg.sec`` excludes the group join."""
    lines = [ln.strip() for ln in text.splitlines()]
    header = next((ln for ln in lines if ln.startswith("start.time")), None)
    if header is not None:
        names = [h.strip() for h in header.split(",")]
        for line in lines[lines.index(header) + 1 :]:
            values = [v.strip() for v in line.split(",")]
            if len(values) == len(names) and line[:1].isdigit():
                row = dict(zip(names, values, strict=True))
                return {
                    "records": float(row["data.consumed.in.nMsg"]),
                    "msg_per_s": float(row["fetch.nMsg.sec"]),
                    "msg_per_s_with_join": float(row["nMsg.sec"]),
                }
    raise RuntimeError(f"no CSV in consumer-perf-test output: {text[-500:]}")


async def ceiling(settings: Settings, messages: int, size: int, partitions: int) -> dict[str, Any]:
    """Producer then consumer figures on a fresh topic."""
    k = settings.kafka
    topic = f"bench-perf-{uuid.uuid4().hex[:8]}"
    await ensure_topics(k, [topic], partitions)
    props = [
        f"bootstrap.servers={k.bootstrap_servers}", "acks=all", "enable.idempotence=true",
        f"linger.ms={k.linger_ms}", f"batch.size={k.max_batch_bytes}",
    ]  # fmt: skip
    try:
        produced = parse_producer(await _tool(
            settings, "producer-perf-test", "--topic", topic, "--num-records", str(messages),
            "--record-size", str(size), "--throughput", "-1", "--command-property", *props,
        ))  # fmt: skip
        consumed = parse_consumer(await _tool(
            settings, "consumer-perf-test", "--bootstrap-server", k.bootstrap_servers,
            "--topic", topic, "--num-records", str(messages), "--group", f"{topic}-group",
            "--timeout", "60000",
        ))  # fmt: skip
    finally:
        await delete_topics(k, topic)
    return {"records": messages, "producer": produced, "consumer": consumed,
            "producer_props": props[1:]}  # fmt: skip
