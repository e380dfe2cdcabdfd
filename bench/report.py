"""What every part records beside its figures: the machine and versions it ran on, its
conditions, and the JSON file it writes."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from config import Settings
from streams.tools.local.kafka import LocalKafka

PACKAGES = ("aiokafka", "faust-streaming", "faststream", "pydantic", "orjson", "uvloop")


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    names = [line.split(":", 1)[1].strip() for line in text.splitlines() if "model name" in line]
    return names[0] if names else platform.processor() or "unknown"


def machine(settings: Settings) -> dict[str, Any]:
    """CPU count and model, load, Python, the broker's Kafka version and the client
    libraries' versions."""
    kafka = LocalKafka(settings).status().version or settings.local.kafka_version
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "kafka": kafka,
        "bootstrap": settings.kafka.bootstrap_servers,
        "linger_ms": settings.kafka.linger_ms,
        "packages": versions,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def machine_line(m: dict[str, Any]) -> str:
    load = ", ".join(f"{x:.2f}" for x in m["load_average"])
    libs = " ".join(f"{k}={v}" for k, v in m["packages"].items() if v)
    return (
        f"machine: {m['cpus']} CPUs ({m['cpu_model']}), load {load}; Python {m['python']}; "
        f"Kafka {m['kafka']} at {m['bootstrap']}; {libs}"
    )


def conditions_line(conditions: dict[str, Any]) -> str:
    return "conditions: " + " ".join(f"{k}={_short(v)}" for k, v in conditions.items())


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ",".join(map(_short, value))
    return str(value)


def write(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(payload), indent=2, allow_nan=False) + "\n")


def clean(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSON has neither)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value
