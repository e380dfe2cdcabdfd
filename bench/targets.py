"""Targets a part reports against: a measured value, a limit and whether it was met."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Op = Literal[">=", "<=", ">", "<"]
OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Target:
    """``value op limit``: e.g. agentstream / raw loop ``>=`` 0.9. A value of None (not
    measured: its part failed or a contestant did not finish) is neither met nor missed."""

    id: str
    text: str
    value: float | None
    op: Op
    limit: float
    unit: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None or math.isnan(self.value):
            return None
        return OPS[self.op](self.value, self.limit)

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "not measured"}[self.met]

    def line(self) -> str:
        shown = "-" if self.value is None else f"{_num(self.value)}{self.unit}"
        return (
            f"  {self.verdict:<12} {self.id}: {self.text}: {shown} "
            f"(target {self.op} {_num(self.limit)}{self.unit})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "value": self.value,
            "op": self.op,
            "limit": self.limit,
            "unit": self.unit,
            "met": self.met,
        }


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def tally(targets: list[Target]) -> dict[str, int]:
    """How many targets were met, missed and not measured."""
    met = [t.met for t in targets]
    return {"met": met.count(True), "missed": met.count(False), "not_measured": met.count(None)}
