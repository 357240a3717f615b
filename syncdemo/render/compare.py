"""compare and sweep for people (Rich tables with bar columns, a text chart) and scripts.

The bars and the chart are plain Unicode block characters, so they read the same on a
terminal, in a pipe and in a file; colour is added only where Rich decides the output
is a terminal.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.text import Text

from syncdemo.batch import (
    COMPARE_CSV_FIELDS,
    SWEEP_CSV_FIELDS,
    Comparison,
    lost_fraction,
)
from syncdemo.render.console import group
from syncdemo.render.layout import Alt, Col, Grid
from syncdemo.render.table import amount, budget_line, rate, runtime_line, seconds
from syncdemo.results import RunResult, per_worker, workers
from syncdemo.sweep import Sweep, SweepRow

#: Left-to-right eighths of a cell, for horizontal bars.
EIGHTHS = " ▏▎▍▌▋▊▉█"
#: Bottom-to-top eighths of a cell, for the chart's columns.
RISERS = " ▁▂▃▄▅▆▇█"
COST_BAR = 14
OPS_BAR = 16
RATE_BAR = 8
CHART_HEIGHT = 8


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of ``fraction`` x ``width`` cells; anything above zero shows."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    if fraction > 0 and eighths == 0:
        eighths = 1
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def share(value: float) -> str:
    """A fraction as a percentage that never rounds a real loss down to 0%."""
    if 0 < value < 0.001:
        return "<0.1%"
    return f"{value * 100:.1f}%" if value < 1 else "100%"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def _violated_cell(run: RunResult) -> Text:
    """Trials that violated the invariant, of those that ran: '0/3', '3/3'."""
    if not run.trials:
        return Text("-")
    return Text(f"{run.violated}/{len(run.trials)}", style="bold red" if run.violated else "green")


def _footer(
    runs: Sequence[RunResult], labels: Sequence[str], verdict: str, interrupted: bool
) -> Text:
    """Under the table: the invariant, the interpreter, what the race budget added to which
    row (so that "3 trials each" is not read as all there were), the verdict."""
    text = Text()
    if interrupted:
        text.append("Interrupted: these are the runs that finished.\n", style="bold yellow")
    invariants = list(dict.fromkeys(r.invariant for r in runs))
    if len(invariants) == 1:
        text.append("Invariant: ", style="bold")
        text.append(invariants[0] + "\n")
    if runs:
        runtimes = {r.config.runtime for r in runs}
        methods = {r.start_method for r in runs}
        method = next(iter(methods)) if len(methods) == 1 else ""
        text.append("Runtime: ", style="bold")
        text.append(
            runtime_line(runs[0].runtime, runtimes, method) + f" · seed {runs[0].config.seed}\n"
        )
    for run, label in zip(runs, labels, strict=True):
        if run.budget is not None and run.budget.extra:
            text.append(f"Race budget, {label}: ", style="bold")
            text.append(budget_line(run.budget) + "\n")
    text.append(verdict, style="bold")
    return text


# --- compare --------------------------------------------------------------------------------


def compare_table(comparison: Comparison) -> RenderableType:
    """One row per strategy; the bar is the cost per operation of kept work, longest for
    the slowest, within one workload."""
    runs = [r.run for r in comparison.rows]
    lucky = any(r.run.trials and r.run.ok and not r.safe for r in comparison.rows)
    specs = [r.spec for r in comparison.rows]
    footer = _footer(runs, specs, comparison.verdict(), comparison.interrupted)
    if lucky:
        footer = Text.assemble(
            "† unsafe by design: no violation this time, but nothing prevents one.\n", footer
        )
    return group(_compare_table(comparison), "", footer)


def _compare_table(comparison: Comparison) -> Grid:
    rows = comparison.rows
    runs = [r.run for r in rows]
    scenarios = {r.config.scenario for r in runs}
    one = next(iter(scenarios)) if len(scenarios) == 1 else ""
    threads = {r.config.threads for r in runs}
    iterations = {r.config.iterations for r in runs}
    trials = {r.config.trials for r in runs}
    runtimes = {r.config.runtime for r in runs}
    runtime = next(iter(runtimes)) if len(runtimes) == 1 else "several"  # "4 workers"
    title = [one or "compare"]
    if len(threads) == 1:
        title.append(workers(next(iter(threads)), runtime))
    if len(iterations) == 1 and one:
        meaning = per_worker(runs[0].iterations_meaning, runtime)
        title[-1] += f" × {amount(next(iter(iterations)), meaning)}"
    if len(trials) == 1:
        title.append(f"{_plural(next(iter(trials)), 'trial')} each")
    if not comparison.ranked:
        several = any(len(group) > 1 for group in comparison.groups)
        title.append("slowdowns within one scenario and parameters" if several else "unranked")
    noun = runs[0].violation_noun if one and runs else "violations"
    several_runtimes = len({r.config.runtime for r in runs}) > 1
    columns = [Col("spec" if several_runtimes or not one else "--sync")]
    if len(threads) > 1:
        columns.append(Col(workers(None, runtime), "right"))
    if len(iterations) > 1:
        columns.append(Col("iterations", "right"))
    columns += [
        Col("violated", "right"),
        Col(f"{noun} (median)", "right", short=noun, wrap=True),
        Col("wall time (min-max)", "right", short="wall time"),
        Col("kept ops/s", "right", short="kept/s"),
        Col("slowdown", "right", wrap=True),
        Col("", decorative=True),
    ]
    table = Grid(*columns, title=" · ".join(title))
    worst = max((r.slowdown or 0.0 for r in rows), default=0.0)
    for row in rows:
        run = row.run
        name = run.config.sync if one and not several_runtimes else row.spec
        if run.trials and run.ok and not row.safe:
            name += " †"
        cells: list[RenderableType | Alt] = [name]
        if len(threads) > 1:
            cells.append(f"{run.config.threads:,}")
        if len(iterations) > 1:
            cells.append(f"{run.config.iterations:,}")
        if row.slowdown is not None:
            slowdown = f"{row.slowdown:.1f}×" + (", within noise" if row.within_noise else "")
        elif run.trials and not run.ok:
            slowdown = "lost work"
        else:
            slowdown = "-"
        fraction = (row.slowdown or 0.0) / worst if worst else 0.0
        cells += [
            _violated_cell(run),
            f"{run.violations.median:,.0f} ({share(lost_fraction(run))})"
            if run.trials and run.violation_share
            else (f"{run.violations.median:,.0f}" if run.trials else "-"),
            Alt(wall_time(run), seconds(run.elapsed.median)) if run.trials else "-",
            rate(run.kept_ops_per_s.median) if run.trials else "-",
            slowdown,
            Text(bar(fraction, COST_BAR), style="green" if run.ok else "red")
            if row.slowdown is not None
            else "",
        ]
        table.add_row(*cells)
    return table


def wall_time(run: RunResult) -> str:
    """'11.3 ms (11.1-11.6)': the median, then min and max in the median's unit."""
    e = run.elapsed
    median = seconds(e.median)
    number, unit = median.split(" ")
    scale = {"s": 1.0, "ms": 1e3, "µs": 1e6}[unit]
    digits = len(number.partition(".")[2])
    return f"{median} ({e.min * scale:.{digits}f}-{e.max * scale:.{digits}f})"


# --- sweep ----------------------------------------------------------------------------------


def sweep_table(sweep: Sweep) -> RenderableType:
    """One row per point, the chart of kept ops/s and violation rate under it, then the
    verdict."""
    rows = sweep.rows
    runs = [r.run for r in rows]
    vary_threads = len(sweep.threads) > 1
    vary_iterations = len(sweep.iterations) > 1
    runtime = runs[0].config.runtime if runs else "threads"
    title = [f"{sweep.scenario}:{sweep.sync}"]
    if runtime != "threads":
        title[0] += f"@{runtime}"
    if not vary_iterations and sweep.iterations:
        meaning = runs[0].iterations_meaning if runs else "iterations per thread"
        title.append(amount(sweep.iterations[0], per_worker(meaning, runtime)))
    if not vary_threads and sweep.threads:
        title.append(workers(sweep.threads[0], runtime))
    trials = {r.config.trials for r in runs}
    if len(trials) == 1:
        title.append(f"{_plural(next(iter(trials)), 'trial')} each")
    noun = runs[0].violation_noun if runs else "violations"
    shares = all(r.violation_share for r in runs)
    columns = [Col(workers(None, runtime), "right")]
    if vary_iterations:
        columns.append(Col("iterations", "right"))
    columns += [
        Col("violated", "right"),
        Col("", decorative=True),
        Col(f"{noun} (share of expected)" if shares else f"{noun} (median)", "right", short=noun),
        Col("kept ops/s", "right", short="kept/s"),
        Col("", decorative=True),
    ]
    speedups = any(r.speedup is not None for r in rows)
    if speedups:
        fewest = sweep.threads[0]
        columns.append(Col(f"speedup vs {workers(fewest, runtime)}", "right", short="speedup"))
    table = Grid(*columns, title=" · ".join(title))
    top = max((r.kept_ops_per_s.median for r in runs), default=0.0)
    for row in rows:
        run = row.run
        cells: list[RenderableType] = [f"{row.threads:,}"]
        if vary_iterations:
            cells.append(f"{row.iterations:,}")
        cells += [
            Text(f"{run.violation_rate * 100:.0f}%", style="bold red" if run.violated else ""),
            Text(bar(run.violation_rate, RATE_BAR), style="red"),
            share(lost_fraction(run)) if shares else f"{run.violations.median:,.0f}",
            rate(run.kept_ops_per_s.median),
            Text(bar(run.kept_ops_per_s.median / top if top else 0.0, OPS_BAR), style="cyan"),
        ]
        if speedups:
            cells.append(f"{row.speedup:.2f}×" if row.speedup is not None else "-")
        table.add_row(*cells)
    chart = SweepChart(sweep)
    points = [sweep.point(r) for r in rows]
    footer = _footer(runs, points, sweep.verdict(), sweep.interrupted)
    return group(table, "", chart, "", footer)


def _short(n: int) -> str:
    """1, 16, 2k, 1.5M: x-axis labels that fit under a column."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size and n % (size // 10) == 0:
            return f"{n / size:g}{suffix}"
    return str(n)


class SweepChart:
    """ops/s and violation rate against the swept axis, as two column charts of blocks.

    Side by side when the width allows, one above the other otherwise, and with one-cell
    columns when there are too many points for labelled ones.
    """

    def __init__(self, sweep: Sweep, height: int = CHART_HEIGHT) -> None:
        self.sweep = sweep
        self.height = height

    def label(self, row: SweepRow) -> str:
        axis = self.sweep.axis
        if axis == "iterations":
            return _short(row.iterations)
        if axis == "threads":
            return str(row.threads)
        return f"{row.threads}×{_short(row.iterations)}"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows = [r for r in self.sweep.rows if r.run.trials]
        if not rows:
            return
        labels = [self.label(r) for r in rows]
        ops = [r.run.kept_ops_per_s.median for r in rows]
        rates = [r.run.violation_rate for r in rows]
        axis = self.sweep.axis.replace(",", " × ")
        axis = axis.replace("threads", workers(None, self.sweep.runtime))
        width = options.max_width
        for narrow in (False, True):
            left = column_chart(
                f"kept ops/s (median) by {axis}",
                labels,
                ops,
                max(ops),
                rate(max(ops)),
                "cyan",
                self.height,
                narrow,
            )
            right = column_chart(
                f"violation rate by {axis}",
                labels,
                rates,
                1.0,
                "100%",
                "red",
                self.height,
                narrow,
                bottom="0%",
            )
            if max(line.cell_len for line in (*left, *right)) <= width or narrow:
                break
        yield from _beside(left, right, width)


def column_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    top: float,
    top_label: str,
    style: str,
    height: int,
    narrow: bool = False,
    bottom: str = "0",
) -> list[Text]:
    """A vertical bar chart in text: a column of block characters per value."""
    cell = 1 if narrow else max(2, *(len(label) for label in labels))
    gap = "" if narrow else " "
    margin = max(len(top_label), len(bottom))
    lines = [Text(title, style="bold")]
    for level in range(height, 0, -1):
        line = Text(f"{top_label if level == height else '':>{margin}} ")
        line.append("┤ " if level == height else "│ ")
        for i, value in enumerate(values):
            eighths = round(value / top * height * 8) if top > 0 else 0
            if value > 0 and eighths == 0:
                eighths = 1
            fill = min(8, max(0, eighths - (level - 1) * 8))
            line.append((gap if i else "") + RISERS[fill] * cell, style=style)
        lines.append(line)
    span = len(values) * (cell + len(gap))
    lines.append(Text(f"{bottom:>{margin}} └" + "─" * (span + 1)))
    if narrow:
        ends = f"{labels[0]}{' ' * max(1, len(values) - len(labels[0]) - len(labels[-1]))}"
        lines.append(Text(" " * (margin + 3) + ends + labels[-1]))
    else:
        lines.append(Text(" " * (margin + 3) + gap.join(f"{s:^{cell}}" for s in labels)))
    return lines


def _beside(left: list[Text], right: list[Text], width: int, space: int = 6) -> Iterable[Text]:
    left_width = max(line.cell_len for line in left)
    right_width = max(line.cell_len for line in right)
    if left_width + space + right_width > width:
        yield from left
        yield Text("")
        yield from right
        return
    for i in range(max(len(left), len(right))):
        line = left[i].copy() if i < len(left) else Text("")
        line.pad_right(left_width + space - line.cell_len)
        if i < len(right):
            line.append_text(right[i])
        yield line


# --- data -----------------------------------------------------------------------------------


def compare_json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_dict(), indent=2)


def sweep_json(sweep: Sweep) -> str:
    return json.dumps(sweep.to_dict(), indent=2)


def _csv(fields: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def compare_csv(comparison: Comparison) -> str:
    """A header and one row per strategy: the scalars a spreadsheet wants."""
    return _csv(COMPARE_CSV_FIELDS, (r.csv_row() for r in comparison.rows))


def sweep_csv(sweep: Sweep) -> str:
    """A header and one row per point."""
    return _csv(SWEEP_CSV_FIELDS, (r.csv_row() for r in sweep.rows))
