"""A :class:`~streams.tools.report.Report` drawn as one PNG (matplotlib's Agg backend,
on a figure of its own: no pyplot, no global state, no display needed)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from streams.tools.report import Panel, Report

COLUMNS = 2
DPI = 100


def render(report: Report, out: Path) -> tuple[int, int]:
    """Write the report to ``out``; returns the image's width and height in pixels."""
    rows = math.ceil(len(report.panels) / COLUMNS)
    fig = Figure(figsize=(15, 4 * rows + 1), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(rows, COLUMNS, squeeze=False, sharex=True)
    fig.suptitle(_title(report), x=0.01, ha="left", fontsize=11)
    for ax, panel in zip(axes.flat, report.panels, strict=False):
        _draw(ax, panel, report.times)
    for ax in list(axes.flat)[len(report.panels) :]:
        ax.set_visible(False)
    axes[0][0].set_xlim(0, max(report.seconds, 1.0))
    start = dt.datetime.fromtimestamp(report.started).strftime("%Y-%m-%d %H:%M:%S")
    for ax in axes[-1]:
        ax.set_xlabel(f"seconds since {start}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")  # drawn by the Agg canvas attached above
    width, pixels_high = canvas.get_width_height()
    return width, pixels_high


def _title(report: Report) -> str:
    t = report.totals
    rate = t.handled / report.seconds if report.seconds else math.nan
    return (
        f"agentstream report: {report.source}, {report.sources} source(s), "
        f"{report.seconds:.0f} s\n"
        f"handled {t.handled:,.0f} events ({rate:,.1f}/s), produced {t.produced:,.0f}, "
        f"errors {t.errors:,.0f}, dead letters {t.dead_letters:,.0f}, "
        f"retries {t.retries:,.0f}; handling latency p50 {_ms(t.p50_ms)}, "
        f"p95 {_ms(t.p95_ms)}, p99 {_ms(t.p99_ms)}"
    )


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.1f} ms"


def _draw(ax: Axes, panel: Panel, times: list[float]) -> None:
    ax.set_title(panel.title, loc="left", fontsize=10)
    ax.set_ylabel(panel.unit)
    ax.grid(visible=True, alpha=0.3)
    if not panel.has_data():
        ax.text(0.5, 0.5, "nothing in this run", ha="center", va="center",
                transform=ax.transAxes, color="grey")  # fmt: skip
        return
    for series in panel.series:
        if any(not math.isnan(v) for v in series.values):
            ax.plot(times, series.values, label=series.label, linewidth=1.3, marker=".",
                    markersize=3)  # fmt: skip
    if panel.log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0, top=None if _peak(panel) > 0 else 1)
    ax.legend(fontsize=8, loc="upper left", ncol=2 if len(panel.series) > 4 else 1)


def _peak(panel: Panel) -> float:
    return max((v for s in panel.series for v in s.values if not math.isnan(v)), default=0.0)
