"""The scenario list and a scenario's description, for people and as JSON.

``scenario_list`` reads registry entries only (no scenario module is imported for
``syncdemo list``); ``describe`` and the JSON read :class:`~syncdemo.info.ScenarioInfo`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from syncdemo.info import ScenarioInfo
    from syncdemo.results import RuntimeInfo
    from syncdemo.scenarios.entry import Entry


def scenario_list(entries: Sequence[Entry], problems: Sequence[Entry] = ()) -> RenderableType:
    """One row per scenario: its name, what it shows, its strategies (* default, ! unsafe)
    and its invariant; plugins that could not be used are named under the table."""
    table = Table(show_lines=False, pad_edge=False, show_edge=False)
    table.add_column("scenario", style="bold", no_wrap=True)
    table.add_column("what it shows")
    table.add_column("--sync (* default)")
    table.add_column("invariant")
    for e in entries:
        syncs = ", ".join(n + ("*" if n == e.default_sync else "") for n in e.strategies)
        name = e.name if e.origin == "syncdemo" else f"{e.name}\n({e.origin})"
        table.add_row(name, e.summary, syncs, e.invariant)
    if not problems:
        return table
    notes = Text()
    for p in problems:
        notes.append(f"\n{p.name} ({p.origin}, {p.target}): {p.problem}", style="yellow")
    return Group(table, notes)


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

    strategies = Table(title="sync strategies", title_justify="left", show_lines=True)
    strategies.add_column("--sync", style="bold", no_wrap=True)
    strategies.add_column("safe")
    strategies.add_column("what it does")
    strategies.add_column("what it costs")
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
        windows = Table(title="race windows (--window)", title_justify="left", show_lines=True)
        windows.add_column("--window", style="bold", no_wrap=True)
        windows.add_column("between the read and the write")
        for w in info.windows:
            windows.add_row(w.name + (" (default)" if w.default else ""), w.meaning)
        table_part = Group(strategies, "", windows)

    why = Text()
    why.append("Why it breaks on this interpreter ", style="bold")
    why.append(f"({runtime_line(runtime)}):\n")
    unsafe = [s.name for s in info.strategies if not s.safe]
    why.append(f"With --sync {' or '.join(unsafe)}, ")
    why.append(info.why_gil if runtime.gil else info.why_free_threaded)

    parts: list[RenderableType] = [head, table_part, "", why, ""]
    for source in info.sources:
        syntax = Syntax(source.code, "python", theme="ansi_dark", word_wrap=True)
        parts.append(Panel(syntax, title=source.title, title_align="left"))
    return Group(*parts)


LIST_CSV_FIELDS = ("name", "summary", "invariant", "default_sync", "strategies", "safe", "origin")


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
                "origin": e.origin,
            }
        )
    return out.getvalue()
