"""Rich renderings of ``syncdemo explore``: outcomes over every schedule, the shortest
violating schedule as a step table, replays and the quiz."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from syncdemo.explore.report import PCT_DEPTH, Execution, Exploration, Report
from syncdemo.render.layout import Col, Grid
from syncdemo.render.table import GRADE_STYLE, bar, rate, seconds

BROKEN = "← invariant broken"
NO_WAY_BACK = "← no way back"
DEADLOCKED = "← deadlock"


def _title(report: Report, what: str) -> Text:
    title = Text()
    title.append(f"explore {report.scenario}", style="bold")
    title.append(f" · --sync {report.sync} · {report.size} · {what}")
    return title


def _mode(e: Exploration) -> str:
    if e.mode == "random":
        return f"{e.runs:,} random schedules (PCT)"
    if e.mode == "bounded":
        k = e.max_preemptions
        return f"schedules with at most {k} preemption{'s' if k != 1 else ''}"
    return "every interleaving"


def _share(fraction: float) -> str:
    if 0 < fraction < 0.001:
        return "<0.1%"
    return f"{fraction:.1%}" if fraction < 0.1 else f"{fraction:.0%}"


def outcome_table(report: Report, e: Exploration) -> Grid:
    """Each distinct final outcome, how many schedules end in it, and its grade."""
    table = Grid(
        Col(report.outcome_name, "right"),
        Col(e.counted, "right"),
        Col("share", "right"),
        Col("", decorative=True),
        Col("grade"),
        Col("meaning", wrap=True),
        title=f"outcomes over {e.schedules:,} {e.counted}"
        if e.complete
        else f"outcomes seen before the --limit ({e.counted} of each)",
    )
    total = sum(o.count for o in e.outcomes)
    for o in e.outcomes:
        style = GRADE_STYLE.get(o.grade, "")
        share = o.count / total if total else 0.0
        table.add_row(
            o.label,
            f"{o.count:,}",
            _share(share),
            Text(bar(share), style=style),
            Text(o.grade, style=style),
            o.meaning,
        )
    return table


def step_table(run: Execution, threads: int, title: str, *, hidden: bool = False) -> Grid:
    """One row a step, one column a thread, the shared state after each step; the step
    that broke the invariant in bold red (and marked, for terminals without colour)."""
    columns = [Col("step", "right")]
    columns += [Col(f"thread {t}", wrap=True) for t in range(threads)]
    columns.append(Col("shared after", wrap=True))
    if not hidden:
        columns.append(Col("", wrap=True))
    table = Grid(*columns, title=title)
    for m in run.moves:
        cells = [
            (m.hidden if hidden else m.action) if m.thread == t else "" for t in range(threads)
        ]
        row = [str(m.index), *cells, "?" if hidden else m.shared]
        style = None
        if not hidden:
            broken = DEADLOCKED if run.deadlocked else BROKEN
            mark = broken if m.highlight else NO_WAY_BACK if m.doomed else ""
            row.append(mark)
            style = "bold red" if m.highlight else "yellow" if m.doomed else None
        table.add_row(*row, style=style)
    return table


def execution_notes(report: Report, run: Execution) -> Text:
    """Under a step table: where it started, what broke and where, how to replay it."""
    out = Text()
    out.append("Initial state: ", style="bold")
    out.append(run.initial + "\n")
    out.append("Final outcome: ", style="bold")
    name = "" if run.deadlocked or report.outcome_name == "outcome" else f"{report.outcome_name} "
    out.append(f"{name}{run.label}", style=GRADE_STYLE.get(run.grade, ""))
    out.append(f" ({run.grade}: {run.meaning})\n" if run.meaning else f" ({run.grade})\n")
    broken = next((m for m in run.moves if m.highlight), None)
    doomed = next((m for m in run.moves if m.doomed), None)
    if doomed is not None:
        out.append(f"Step {doomed.index} ", style="bold yellow")
        out.append(
            f"(thread {doomed.thread}: {doomed.action}): from here on, every way the "
            "schedule can go on breaks the invariant.\n"
        )
    if run.deadlocked:
        out.append("Deadlock: ", style="bold red")
        out.append("; ".join(run.waits) + ". Nobody can ever move again.\n")
    elif broken is not None and run.why:
        out.append(f"Step {broken.index} ", style="bold red")
        out.append(f"(thread {broken.thread}: {broken.action}): {run.why}.\n")
    out.append("Replay it: ", style="bold")
    out.append(report.replay_command(run.schedule))
    return out


def explore_report(report: Report) -> RenderableType:
    e = report.exploration
    assert e is not None
    parts: list[RenderableType] = [_title(report, _mode(e)), ""]
    parts += [outcome_table(report, e), ""]
    ex = e.counterexample
    if ex is not None:
        pre = f"{ex.preemptions} preemption{'s' if ex.preemptions != 1 else ''}"
        which = "shortest violating schedule" + (" found" if e.mode == "random" else "")
        if not e.complete:
            which = "a violating schedule (found before the --limit; maybe not the shortest)"
        title = f"{which}: {len(ex.schedule)} steps, {pre}"
        parts += [step_table(ex, report.threads, title), execution_notes(report, ex), ""]
    status = Text()
    status.append("Explored: ", style="bold")
    status.append(_explored(e) + "\n")
    status.append("Deadlocks: ", style="bold")
    if e.deadlocks:
        status.append(
            f"{e.deadlocks:,} {e.counted} end with every unfinished thread blocked "
            f"({e.deadlock_states:,} distinct stuck state"
            f"{'s' if e.deadlock_states != 1 else ''})\n",
            style="bold red",
        )
    else:
        status.append("none (in what was explored)\n")
    status.append("Invariant: ", style="bold")
    status.append(report.invariant + "\n")
    if report.roles:
        status.append("Threads: ", style="bold")
        status.append(report.roles + "\n")
    _model_notes(status, report)
    status.append(report.verdict(), style="bold red" if report.violated else "bold green")
    parts.append(status)
    return Group(*parts)


def _explored(e: Exploration) -> str:
    took = seconds(e.elapsed_s)
    if e.mode == "random":
        return (
            f"{e.schedules:,} random schedules ({e.distinct:,} distinct; PCT depth "
            f"{PCT_DEPTH}, seed {e.seed}) in {took}: {_per_s(e.schedules_per_s)}"
        )
    if not e.complete:
        return (
            f"stopped at the --limit of {e.limit:,} states after {took}: the counts below "
            "are distinct final states seen, not schedules"
        )
    visited = (
        f"{e.states:,} distinct states (state caching)"
        if e.mode == "exhaustive"
        else f"{e.states:,} distinct (state, last thread, preemptions used) nodes, cached"
    )
    return (
        f"{e.schedules:,} schedules ({_mode(e)}), covered by visiting {visited} in {took}: "
        f"{_per_s(e.schedules_per_s)}"
    )


def _per_s(value: float) -> str:
    return rate(value).removesuffix("/s").strip() + " schedules/s"


def _model_notes(out: Text, report: Report) -> None:
    out.append("Model: ", style="bold")
    out.append(
        "each step is atomic and any thread may run between two steps"
        + "".join(f"; {n}" for n in report.notes)
        + "\n"
    )


def replay_report(report: Report) -> RenderableType:
    run = report.replay
    assert run is not None
    given = run.completed_from
    what = f"replay of {len(run.schedule)} steps"
    parts: list[RenderableType] = [_title(report, what), ""]
    pre = f"{run.preemptions} preemption{'s' if run.preemptions != 1 else ''}"
    parts.append(step_table(run, report.threads, f"schedule: {pre}"))
    notes = execution_notes(report, run)
    if given < len(run.schedule):
        notes.append(
            f"\nThe --schedule gave {given} steps; steps {given + 1} to {len(run.schedule)} "
            "ran without preemption (the last thread while it could go on, else the "
            "lowest-numbered one)."
        )
    status = Text("\n")
    _model_notes(status, report)
    status.append(report.verdict(), style="bold red" if report.violated else "bold green")
    parts += [notes, status]
    return Group(*parts)


def quiz_question(report: Report, run: Execution, question: str) -> RenderableType:
    title = f"quiz: one schedule of {len(run.schedule)} steps, the values hidden"
    intro = Text()
    intro.append("Initial state: ", style="bold")
    intro.append(run.initial + "\n")
    intro.append(question, style="bold")
    return Group(
        _title(report, "quiz"), "", step_table(run, report.threads, title, hidden=True), intro
    )


def quiz_reveal(report: Report, run: Execution, answer: str, right: bool) -> RenderableType:
    verdict = Text()
    if right:
        verdict.append(f"Right: {run.answer}.", style="bold green")
    else:
        verdict.append(
            f"Not quite: you said {answer!r}, the answer is {run.answer}.", style="bold red"
        )
    return Group(
        verdict,
        "",
        step_table(run, report.threads, "the same schedule, with the values"),
        execution_notes(report, run),
    )
