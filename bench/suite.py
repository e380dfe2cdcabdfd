"""``python -m bench``: every benchmark part on the local broker, one after the other.

Each part announces its conditions, measures, reports met/missed per target, and writes
``bench/results/<part>.json`` and ``bench/results/<part>.png``. ``--quick`` runs each
with small counts and short durations (a smoke run: its figures mean nothing);
``--only a,b`` selects parts. A part that fails is recorded as such and the others run.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bench import report
from bench.targets import Target, tally
from config import Settings
from streams.worker import tune_gc

T = TypeVar("T")
RESULTS = Path(__file__).parent / "results"


@dataclass
class Env:
    """What a part is given: the settings, the run's size and where results go."""

    settings: Settings
    quick: bool
    out: Path
    machine: dict[str, Any]
    conditions: dict[str, Any] = field(default_factory=dict)

    def size(self, quick: T, full: T) -> T:
        return quick if self.quick else full

    def announce(self, **conditions: Any) -> None:
        """Record and print the part's conditions before it measures."""
        self.conditions.update(conditions)
        print(report.conditions_line(conditions), flush=True)


@dataclass
class Outcome:
    results: dict[str, Any]
    targets: list[Target]


@dataclass(frozen=True)
class Part:
    name: str
    summary: str
    run: Callable[[Env], Coroutine[Any, Any, Outcome]]
    plot: Callable[[dict[str, Any], Path], None]


def run_part(part: Part, settings: Settings, quick: bool, out: Path) -> dict[str, Any]:
    """Run one part on a fresh event loop; write its JSON and PNG; return the payload."""
    env = Env(settings, quick, out, report.machine(settings))
    print(f"\n== {part.name}: {part.summary}", flush=True)
    print(report.machine_line(env.machine), flush=True)
    started = time.monotonic()
    payload: dict[str, Any] = {"part": part.name, "quick": quick, "machine": env.machine}
    try:
        outcome = asyncio.run(part.run(env))
    except Exception as e:  # noqa: BLE001 - a failed part is recorded; the others run
        traceback.print_exc()
        payload.update(conditions=env.conditions, error=f"{type(e).__name__}: {e}")
        outcome = Outcome({}, [])
    payload.update(
        conditions=env.conditions,
        seconds=round(time.monotonic() - started, 1),
        results=outcome.results,
        targets=[t.to_json() for t in outcome.targets],
        tally=tally(outcome.targets),
    )
    print(f"targets ({part.name}):", *(t.line() for t in outcome.targets), sep="\n")
    json_path = out / f"{part.name}.json"
    report.write(json_path, payload)
    if "error" in payload:
        print(f"written: {json_path} (the part failed: {payload['error']})", flush=True)
        return payload
    png = out / f"{part.name}.png"
    try:
        part.plot(report.clean(payload), png)
    except Exception as e:  # noqa: BLE001 - the figures are written; the plot is extra
        traceback.print_exc()
        print(f"written: {json_path}; no plot: {type(e).__name__}: {e}", flush=True)
        return payload
    print(f"written: {json_path} {png}", flush=True)
    return payload


def main(parts: dict[str, Part], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--only", default="", help=f"comma-separated parts: {','.join(parts)}")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where JSON and PNG go")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args(argv)
    chosen = [p.strip() for p in args.only.split(",") if p.strip()] or list(parts)
    unknown = [p for p in chosen if p not in parts]
    if unknown:
        parser.error(f"unknown part(s) {unknown}; the parts are {', '.join(parts)}")
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    settings = Settings()
    tune_gc(settings)  # the worker's GC settings, for every in-process contestant
    started = time.monotonic()
    payloads = [run_part(parts[name], settings, args.quick, args.out) for name in chosen]
    print(f"\n== summary ({time.monotonic() - started:.0f}s{', quick' if args.quick else ''})")
    for p in payloads:
        state = f"FAILED: {p['error']}" if "error" in p else ""
        t = p["tally"]
        print(f"{p['part']:<11} {t['met']} met, {t['missed']} missed, "
              f"{t['not_measured']} not measured {state}")  # fmt: skip
        for target in p["targets"]:
            verdict = {True: "met", False: "MISSED", None: "-"}[target["met"]]
            print(f"    {verdict:<7} {target['id']}")
    return 1 if any("error" in p for p in payloads) else 0
