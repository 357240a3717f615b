"""Charts as images for ``sweep --plot`` and ``compare --plot``, with matplotlib.

matplotlib is an optional extra (``pip install 'syncdemo[plot]'``): this module imports it
only when a chart is drawn, and :func:`available` lets the command refuse ``--plot``
before anything runs. The charts show what the text charts show: ops/s of the work kept
and the violation rate, against threads (or iterations) for a sweep, one bar per row for a
compare.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncdemo.batch import Comparison
    from syncdemo.sweep import Sweep

#: The image formats a chart can be saved as (from the file's extension).
EXTENSIONS = (".png", ".svg", ".pdf")
EXTRA = "pip install 'syncdemo[plot]'"


def available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display: draw to a file
    matplotlib.rcParams["svg.fonttype"] = "none"  # text in an SVG stays text
    import matplotlib.pyplot as plt

    return plt


def sweep_chart(sweep: Sweep, path: Path) -> None:
    """Kept ops/s (line, left axis) and violation rate (bars, right axis) per point."""
    plt = _pyplot()
    rows = sweep.rows
    by_threads = sweep.axis != "iterations"
    xs = [r.threads if by_threads else r.iterations for r in rows]
    kept = [r.run.kept_ops_per_s.median for r in rows]
    rate = [r.run.violation_rate * 100 for r in rows]
    fig, ops_axis = plt.subplots(figsize=(7, 4), dpi=120)
    rate_axis = ops_axis.twinx()
    positions = list(range(len(xs)))
    rate_axis.bar(positions, rate, color="#d62728", alpha=0.25, label="trials violated (%)")
    ops_axis.plot(positions, kept, marker="o", color="#1f77b4", label="ops/s of kept work")
    ops_axis.set_zorder(rate_axis.get_zorder() + 1)
    ops_axis.patch.set_visible(False)
    ops_axis.set_xticks(positions, [f"{x:,}" for x in xs])
    ops_axis.set_xlabel("threads" if by_threads else "iterations per thread")
    ops_axis.set_ylabel("ops/s of kept work (median)")
    rate_axis.set_ylabel("trials that violated the invariant (%)")
    rate_axis.set_ylim(0, 100)
    ops_axis.set_ylim(bottom=0)
    ops_axis.set_title(f"syncdemo sweep {sweep.scenario} --sync {sweep.sync}")
    handles = ops_axis.get_legend_handles_labels()[0] + rate_axis.get_legend_handles_labels()[0]
    ops_axis.legend(handles=handles, loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def compare_chart(comparison: Comparison, path: Path) -> None:
    """One bar per row: ops/s of kept work, red where the invariant broke."""
    plt = _pyplot()
    rows = comparison.rows
    labels = [r.spec for r in rows]
    kept = [r.run.kept_ops_per_s.median for r in rows]
    colours = ["#2ca02c" if r.run.ok else "#d62728" for r in rows]
    fig, axis = plt.subplots(figsize=(max(5, 1.2 * len(rows) + 2), 4), dpi=120)
    bars = axis.bar(range(len(rows)), kept, color=colours)
    for bar, row in zip(bars, rows, strict=True):
        note = "ok" if row.run.ok else f"{row.run.violated}/{len(row.run.trials)} violated"
        axis.annotate(note, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                      ha="center", va="bottom", fontsize="small")  # fmt: skip
    axis.set_xticks(range(len(rows)), labels, rotation=20, ha="right")
    axis.set_ylabel("ops/s of kept work (median)")
    axis.set_title("syncdemo compare: green kept the invariant, red broke it")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
