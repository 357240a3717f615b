"""The scenario list and a scenario's description, for people and as JSON.

``scenario_list`` reads registry entries only (no scenario module is imported for
``syncdemo list``); ``describe`` and the JSON read :class:`~syncdemo.info.ScenarioInfo`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.text import Text

from syncdemo.render.console import group
from syncdemo.render.layout import Col, Grid

if TYPE_CHECKING:
    from syncdemo.info import ScenarioInfo
    from syncdemo.results import RuntimeInfo
    from syncdemo.scenarios.entry import Entry


def scenario_list(entries: Sequence[Entry], problems: Sequence[Entry] = ()) -> RenderableType:
    """One row per scenario: its name, what it shows, its strategies (* default, ✓ safe)
    and its invariant; plugins that could not be used are named under the table."""
    table = Grid(
        Col("scenario", style="bold"),
        Col("what it shows", wrap=True),
        Col("--sync (* default, ✓ safe)", wrap=True),
        Col("invariant", wrap=True),
    )
    for e in entries:
        syncs = ", ".join(
            n + ("*" if n == e.default_sync else "") + ("✓" if n in e.safe else "")
            for n in e.strategies
        )
        name = e.name if e.origin == "syncdemo" else f"{e.name}\n({e.origin})"
        if len(e.runtimes) > 1:  # threads is every scenario's; say where there are more
            syncs += "\n(runtimes: " + ", ".join(e.runtimes) + ")"
        table.add_row(name, e.summary, syncs, e.invariant)
    if not problems:
        return table
    notes = Text()
    for p in problems:
        notes.append(f"\n{p.name} ({p.origin}, {p.target}): {p.problem}", style="yellow")
    return group(table, notes)


def list_json(infos: Sequence[ScenarioInfo], problems: Sequence[Entry] = ()) -> str:
    import json

    data = [i.to_dict() for i in infos]
    data += [
        {"name": p.name, "origin": p.origin, "target": p.target, "problem": p.problem}
        for p in problems
    ]
    return json.dumps(data, indent=2)


def describe_json(info: ScenarioInfo) -> str:
    import json

    return json.dumps(info.to_dict(sources=True), indent=2)


def describe(info: ScenarioInfo, runtime: RuntimeInfo) -> RenderableType:
    from rich.panel import Panel
    from rich.syntax import Syntax  # pulls in Pygments: only describe needs it

    from syncdemo.render.table import runtime_line

    head = Text()
    head.append(info.name, style="bold")
    head.append(f" — {info.summary}\n\n")
    head.append(info.explanation + "\n\n")
    for label, value in (
        ("Shared state: ", info.shared_state),
        ("Invariant: ", info.invariant),
        ("Violations: ", info.violation_noun),
        (
            "Defaults: ",
            f"--threads {info.default_threads}, --iterations "
            f"{info.default_iterations:,} ({info.iterations_meaning}), "
            f"--sync {info.default_sync}",
        ),
    ):
        head.append(label, style="bold")
        head.append(value + "\n")
    if info.origin != "syncdemo":
        head.append("From: ", style="bold")
        head.append(info.origin + "\n")
    from syncdemo.info import RUNTIME_SWITCHES

    head.append("Runtimes: ", style="bold")
    head.append(", ".join(info.runtimes) + " (--runtime)\n")
    for where in info.runtimes:
        head.append(f"  {where}: ", style="bold")
        head.append(RUNTIME_SWITCHES[where] + "\n")

    strategies = Grid(
        Col("--sync", style="bold"),
        Col("safe"),
        Col("what it does", wrap=True),
        Col("what it costs", wrap=True),
        title="sync strategies",
        show_lines=True,
        show_edge=True,
    )
    for s in info.strategies:
        name = s.name + (" (default)" if s.name == info.default_sync else "")
        strategies.add_row(
            name,
            Text("yes", style="green") if s.safe else Text("no", style="red"),
            s.summary,
            s.cost,
        )

    table_part: RenderableType = strategies
    if info.windows:
        windows = Grid(
            Col("--window", style="bold"),
            Col("between the read and the write", wrap=True),
            title="race windows (--window)",
            show_lines=True,
            show_edge=True,
        )
        for w in info.windows:
            windows.add_row(w.name + (" (default)" if w.default else ""), w.meaning)
        table_part = group(strategies, "", windows)

    why = Text()
    why.append("Why it breaks on this interpreter ", style="bold")
    why.append(f"({runtime_line(runtime)}):\n")
    unsafe = [s.name for s in info.strategies if not s.safe]
    why.append(f"With --sync {' or '.join(unsafe)}, ")
    why.append(info.why_gil if runtime.gil else info.why_free_threaded)

    parts: list[RenderableType] = [head, table_part, "", why, ""]
    hidden = False
    for source in info.sources:
        code = without_tracing(source.code)
        hidden = hidden or code != source.code
        syntax = Syntax(code, "python", theme="ansi_dark", word_wrap=True)
        # the title above the box, not in its border, where Rich would crop it
        parts += [Text(source.title, style="bold"), Panel(syntax)]
    if hidden:
        parts.append(
            Text(
                "The lines that record events for --trace are left out above; "
                "'describe --format json' has the code as it is."
            )
        )
    return group(*parts)


_TRACE_TEST = re.compile(r"if (ctx\.)?trace is not None:$")
_TRACE_SETUP = re.compile(r"trace = ctx\.trace\b")


def without_tracing(code: str) -> str:
    """A worker as a reader should see it: without the ``if trace is not None:`` blocks
    and ``trace = ctx.trace`` lines that only record events for --trace."""
    kept: list[str] = []
    block: int | None = None  # the indent of the trace test whose body is being skipped
    for line in code.splitlines():
        indent = len(line) - len(line.lstrip())
        if block is not None and (not line.strip() or indent > block):
            continue
        block = None
        stripped = line.strip()
        if _TRACE_TEST.match(stripped):
            block = indent
            continue
        if _TRACE_SETUP.match(stripped):
            continue
        kept.append(line)
    return "\n".join(kept)


LIST_CSV_FIELDS = (
    "name",
    "summary",
    "invariant",
    "default_sync",
    "strategies",
    "safe",
    "runtimes",
    "origin",
)


def list_csv(entries: Sequence[Entry]) -> str:
    """One row per scenario; strategies and the safe ones joined by spaces."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=LIST_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for e in entries:
        writer.writerow(
            {
                "name": e.name,
                "summary": e.summary,
                "invariant": e.invariant,
                "default_sync": e.default_sync,
                "strategies": " ".join(e.strategies),
                "safe": " ".join(s for s in e.strategies if s in e.safe),
                "runtimes": " ".join(e.runtimes),
                "origin": e.origin,
            }
        )
    return out.getvalue()
