"""Rich renderings of ``syncdemo explore``: the outcomes over the schedules run, a schedule
as the source lines each thread ran with the values it read and wrote, replays and the
quiz."""

from __future__ import annotations

from collections import Counter

from rich.console import RenderableType
from rich.text import Text

from syncdemo.explore.report import GRANULARITY, Report
from syncdemo.explore.results import NEEDS, RealExecution, RealExploration, RealStep
from syncdemo.render.console import group
from syncdemo.render.layout import Col, Grid
from syncdemo.render.table import GRADE_STYLE, bar, seconds

BROKEN = "← invariant broken"
NO_WAY_BACK = "← no way back"
DEADLOCKED = "← deadlock"


def _title(report: Report, what: str) -> Text:
    title = Text()
    title.append(f"explore {report.scenario}", style="bold")
    title.append(f" · --sync {report.sync} · {report.size} · {what}")
    return title


def _mode(e: RealExploration) -> str:
    if e.mode == "random":
        return f"{e.runs:,} random schedules (PCT)"
    if e.max_preemptions is None:
        return "every schedule"
    k = e.max_preemptions
    return f"schedules with at most {k} preemption{'s' if k != 1 else ''}"


def _share(fraction: float) -> str:
    if 0 < fraction < 0.001:
        return "<0.1%"
    return f"{fraction:.1%}" if fraction < 0.1 else f"{fraction:.0%}"


def outcome_table(report: Report, e: RealExploration) -> Grid:
    """Each distinct final outcome, how many schedules end in it, and its grade."""
    table = Grid(
        Col(report.outcome_name or "outcome", "right"),
        Col("schedules", "right"),
        Col("share", "right"),
        Col("", decorative=True),
        Col("grade"),
        Col("meaning", wrap=True),
        title=f"outcomes over {e.schedules:,} schedules"
        if e.complete
        else f"outcomes seen before {_stopped(e)}",
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


def _stopped(e: RealExploration) -> str:
    """What stopped an incomplete search."""
    return e.stopped_by or "the --limit"


def _cell(step: RealStep, hidden: bool, home: str) -> str:
    """What a thread did in one step: the line(s) it ran (with the file's name when it is
    not ``home``, the file most steps ran in), and the values it touched."""
    if hidden:
        return step.code
    where = step.lines[-1] if step.lines else None
    if where is None:
        head = step.code
    elif where.file != home:
        head = f"{where.file}:{where.line}: {step.code}"
    else:
        head = f"{where.line}: {step.code}"
    shown = "; ".join(str(v) for v in step.values[-3:])
    return f"{head}\n  {shown}" if shown else head


def step_table(run: RealExecution, threads: int, title: str, *, hidden: bool = False) -> Grid:
    """One row a step, one column a thread (the line it ran: number, code, values), the
    shared state after each step that changed it; the step that broke the invariant in bold
    red and the one after which no schedule keeps it in yellow (marked for no colour too)."""
    # threads the workers started have steps too (numbered after the scenario's own)
    threads = max([threads, *(s.thread + 1 for s in run.steps)])
    files = Counter(s.lines[-1].file for s in run.steps if s.lines)
    home = files.most_common(1)[0][0] if files else ""
    columns = [Col("step", "right")]
    columns += [Col(f"thread {t}", wrap=True) for t in range(threads)]
    columns.append(Col("shared state after", wrap=True))
    if not hidden:
        columns.append(Col("", wrap=True))
    table = Grid(*columns, title=title)
    broke_at = run.broken_step or len(run.steps) + 1
    for s in run.steps:
        cells = [_cell(s, hidden, home) if s.thread == t else "" for t in range(threads)]
        row = [str(s.index), *cells, "?" if hidden and s.state else s.state]
        style = None
        if not hidden:
            broken = DEADLOCKED if run.deadlocked else BROKEN
            doomed = s.unreachable and s.index < broke_at
            row.append(broken if s.broke else NO_WAY_BACK if doomed else "")
            style = "bold red" if s.broke else "yellow" if doomed else None
        table.add_row(*row, style=style)
    return table


def execution_notes(report: Report, run: RealExecution) -> Text:
    """Under a step table: the start, the end, what it needs, how to replay it."""
    out = Text()
    if not run.recorded:
        out.append(
            "(Interrupted before this schedule was replayed with its values: the replay "
            "command below shows them.)\n"
        )
    if run.elided:
        out.append(
            f"(The first {run.elided:,} steps are not shown: the threads go round the same "
            "loop in them.)\n"
        )
    if run.recorded:
        out.append("Initial state: ", style="bold")
        out.append((run.initial or "-") + "\n")
    out.append("Final outcome: ", style="bold")
    label = "a deadlock" if run.deadlocked else report.named(run.label)
    out.append(label, style=GRADE_STYLE.get(run.grade, ""))
    out.append(f" ({run.grade}: {run.meaning})\n" if run.meaning else f" ({run.grade})\n")
    doomed = next((s for s in run.steps if s.unreachable and not s.broke), None)
    if doomed is not None:
        out.append(f"Step {doomed.index} ", style="bold yellow")
        out.append(
            f"(thread {doomed.thread}: {doomed.code}): from here on, no way the schedule can "
            "go on keeps the invariant.\n"
        )
    if run.deadlocked:
        out.append("Deadlock: ", style="bold red")
        out.append((run.cycle or "; ".join(run.waits)) + ". Nobody can ever move again.\n")
    if run.check:
        out.append("check() said: ", style="bold red")
        out.append(run.check + "\n")
    if run.error:
        out.append("A worker raised: ", style="bold red")
        out.append(run.error + "\n")
    if run.needs:
        out.append("Needs: ", style="bold")
        out.append(NEEDS[run.needs] + "\n")
    out.append("Replay it: ", style="bold")
    out.append(run.replay)
    return out


def _status(report: Report, e: RealExploration | None) -> Text:
    status = Text()
    if e is not None and e.interrupted:
        status.append("Interrupted: ", style="bold yellow")
        status.append("this is what was explored before the signal; partial, not a proof.\n")
    if e is not None:
        status.append("Explored: ", style="bold")
        status.append(_explored(e) + "\n")
        status.append("Deadlocks: ", style="bold")
        if e.deadlocks:
            status.append(f"{e.deadlocks:,} schedules end with every thread blocked\n", "bold red")
        else:
            status.append("none (in what was explored)\n")
        if e.livelocks:
            status.append("Livelocks: ", style="bold")
            status.append(
                f"{e.livelocks:,} schedules never finish, even with each thread given its "
                "turn in order\n",
                "bold red",
            )
    if e is not None and e.check_unseen:
        status.append("Warning: ", style="bold yellow")
        status.append(
            "the check read none of the shared state the workers were seen to write, so "
            "they change what decides it where syncdemo cannot see (a module global, an "
            "object outside the shared state?). Switch points do not depend on that, but "
            "a loop round that writes only such state is taken for a spin, and then "
            "running it on counts as a preemption: keep the shared state on the object.\n"
        )
    status.append("Invariant: ", style="bold")
    status.append(report.invariant + "\n")
    if report.roles:
        status.append("Threads: ", style="bold")
        status.append(report.roles + "\n")
    status.append("Switch points: ", style="bold")
    status.append(f"--granularity {report.granularity}: {GRANULARITY[report.granularity]}\n")
    if e is not None and e.gil_found is False:
        status.append("Under the GIL: ", style="bold")
        status.append(
            "a search at --granularity gil with the same bound finds no failure: no "
            "interleaving the GIL allows breaks it here.\n"
        )
    style = "bold red" if report.violated else "bold green"
    if e is not None and e.interrupted and not report.violated:
        style = "bold yellow"
    status.append(report.verdict(), style=style)
    return status


def explore_report(report: Report) -> RenderableType:
    e = report.exploration
    assert e is not None
    parts: list[RenderableType] = [_title(report, _mode(e)), ""]
    parts += [outcome_table(report, e), ""]
    ex = e.counterexample
    if ex is not None:
        pre = f"{ex.preemptions} preemption{'s' if ex.preemptions != 1 else ''}"
        which = "shortest failing schedule" + (" found" if e.mode == "random" else "")
        if not e.complete:
            which = f"a failing schedule (found before {_stopped(e)}; maybe not the shortest)"
        title = f"{which}: {len(ex.schedule)} steps, {pre}"
        parts += [step_table(ex, report.threads, title), execution_notes(report, ex), ""]
    parts.append(_status(report, e))
    return group(*parts)


def _explored(e: RealExploration) -> str:
    took = seconds(e.elapsed_s)
    counted = f"{e.schedules:,} schedules ({_mode(e)})"
    if e.mode == "random":
        cut = ", interrupted" if e.interrupted else ""
        return f"{counted}, seed {e.seed}{cut}, in {took}"
    extra = [
        "a point reached from the last through only local instructions merged with it"
        if e.reduction
        else "no reduction (--no-reduction)"
    ]
    if e.pruned:
        extra.append(f"{e.pruned:,} more left out as reorderings of independent steps")
    if e.raw is not None:
        extra.append(f"{e.raw:,} without that reduction")
    if e.cut:
        extra.append(
            f"{e.cut:,} ran past the step limit of {e.step_limit:,} and were finished "
            "under a fair scheduler"
        )
    if e.hung:
        extra.append(f"{e.hung:,} hung")
    if e.interrupted and not e.complete:
        extra.append("interrupted")
    elif not e.complete:
        extra.append(f"stopped at {e.stopped_by}")
    return f"{counted}{'; ' if extra else ''}{'; '.join(extra)}; in {took}"


def replay_report(report: Report) -> RenderableType:
    run = report.replay
    assert run is not None
    pre = f"{run.preemptions} preemption{'s' if run.preemptions != 1 else ''}"
    parts: list[RenderableType] = [_title(report, f"replay of {len(run.schedule)} steps"), ""]
    parts.append(step_table(run, report.threads, f"schedule: {pre}"))
    notes = execution_notes(report, run)
    if run.given and run.given < len(run.schedule):
        how = (
            "ran with each thread given its turn in order (a fair scheduler: without "
            "preemption they ran past the step limit)"
            if run.fair_from is not None
            else "ran without preemption"
        )
        notes.append(
            f"\nThe --schedule gave {run.given} steps; steps {run.given + 1} to "
            f"{len(run.schedule)} {how}."
        )
    parts += [notes, Text(""), _status(report, None)]
    return group(*parts)


def quiz_question(report: Report, run: RealExecution, question: str) -> RenderableType:
    title = f"quiz: one schedule of {len(run.schedule)} steps, the values hidden"
    intro = Text()
    intro.append("Initial state: ", style="bold")
    intro.append((run.initial or "-") + "\n")
    intro.append(question, style="bold")
    return group(
        _title(report, "quiz"), "", step_table(run, report.threads, title, hidden=True), intro
    )


def quiz_reveal(report: Report, run: RealExecution, answer: str, right: bool) -> RenderableType:
    verdict = Text()
    if right:
        verdict.append(f"Right: {run.label}.", style="bold green")
    else:
        verdict.append(f"Not quite: you said {answer!r}, the answer is {run.label}.", "bold red")
    return group(
        verdict,
        "",
        step_table(run, report.threads, "the same schedule, with the values"),
        execution_notes(report, run),
    )


#: What each search of an exploration is doing, for the progress line (keys are
#: syncdemo.explore.explorer's stages; not imported: the explorer is heavier than this).
STAGES = {
    "search": "",
    "no way back": "finding the step with no way back, ",
    "gil": "checking at --granularity gil, ",
}


def progress_line(
    scenario: str,
    stage: str,
    schedules: int,
    rate: float | None,
    bound: int | None,
    limit: int,
    runs: int | None = None,
    steps: int | None = None,
) -> Text:
    """The one line a search in progress shows on the terminal: which search, its bound,
    schedules run so far (of about ``steps`` each, the serial one's length; and the
    --limit, or the number of --random runs), how fast."""
    what = STAGES.get(stage, f"{stage}, ")
    size = f" of ~{steps:,} steps" if steps else ""
    if runs is not None and stage == "search":
        head = f"PCT: {schedules:,} of {runs:,} random schedules{size}"
    else:
        k = "every schedule" if bound is None else f"at most {bound} preemptions"
        if bound == 1:
            k = k[:-1]
        cap = f" (--limit {limit:,})" if stage != "no way back" else ""
        head = f"{what}{k}: {schedules:,} schedules{size}{cap}"
    parts = [head]
    if rate is not None:
        parts.append(f"{rate:,.0f}/s")
    parts.append("Ctrl-C: stop and report")
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"explore {scenario}", style="bold")
    line.append(" · " + " · ".join(parts))
    return line
