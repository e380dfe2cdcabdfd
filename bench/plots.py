"""PNG plots of the parts' JSON payloads (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullFormatter

COLORS = {"agentstream": "#1f6feb", "floor": "#8b949e", "peer": "#d29922", "target": "#cf222e"}


@contextlib.contextmanager
def figure(path: Path, payload: dict[str, Any], panels: int = 1) -> Iterator[list[Axes]]:
    """A figure with ``panels`` side by side, titled with the part, the machine and
    whether the run was quick; saved to ``path`` on exit."""
    fig, axes = plt.subplots(1, panels, figsize=(6.4 * panels, 4.8), squeeze=False)
    m = payload.get("machine", {})
    quick = " (quick smoke run: not representative)" if payload.get("quick") else ""
    fig.suptitle(
        f"{payload['part']}{quick}\n{m.get('cpus')} CPUs {m.get('cpu_model', '')}, "
        f"Kafka {m.get('kafka')}, Python {m.get('python')}",
        fontsize=10,
    )
    try:
        yield list(axes[0])
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def color(name: str) -> str:
    if name.startswith("agentstream"):
        return COLORS["agentstream"]
    if name.startswith(("raw", "kafka", "unbatched")):
        return COLORS["floor"]
    return COLORS["peer"]


def bars(
    ax: Axes,
    labels: Sequence[str],
    values: Sequence[float | None],
    ylabel: str,
    fmt: str = "{:,.0f}",
) -> None:
    """One bar per label, its value written on it; a missing value is an empty slot."""
    heights = [v or 0.0 for v in values]
    drawn = ax.bar(range(len(labels)), heights, color=[color(x) for x in labels])
    for rect, v in zip(drawn, values, strict=True):
        text = "-" if v is None else fmt.format(v)
        ax.annotate(text, (rect.get_x() + rect.get_width() / 2, rect.get_height()),
                    ha="center", va="bottom", fontsize=8)  # fmt: skip
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)


def limit(ax: Axes, value: float, text: str, horizontal: bool = True) -> None:
    """A target drawn as a dashed red line."""
    if horizontal:
        ax.axhline(value, color=COLORS["target"], linestyle="--", linewidth=1, label=text)
    else:
        ax.axvline(value, color=COLORS["target"], linestyle="--", linewidth=1, label=text)


def log_scale(ax: Axes, axis: str = "y") -> None:
    """A log axis labelled in plain numbers (1, 10, 100) instead of powers of ten."""
    plain = FuncFormatter(lambda v, _: f"{v:,g}")
    target = ax.yaxis if axis == "y" else ax.xaxis
    if axis == "y":
        ax.set_yscale("log")
    else:
        ax.set_xscale("log")
    target.set_major_formatter(plain)
    target.set_minor_formatter(NullFormatter())
