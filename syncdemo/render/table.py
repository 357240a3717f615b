"""Rich renderings of a run for people: the trials, the outcome histogram, evidence, and
the workers (threads, tasks or processes, named as what they are)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from rich.console import RenderableType
from rich.text import Text

from syncdemo.render.console import group
from syncdemo.render.layout import Alt, Col, Grid
from syncdemo.results import (
    BudgetUse,
    Evidence,
    RunResult,
    RuntimeInfo,
    TrialResult,
    per_worker,
    workers,
)

#: Above this many trials the report shows a summary row instead of one row per trial.
MAX_TRIAL_ROWS = 10
#: Above this many threads the per-thread table shows the first ones and a count of the rest.
MAX_THREAD_ROWS = 16


def seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} M/s"
    if value >= 1e3:
        return f"{value / 1e3:.1f} k/s"
    return f"{value:.0f}/s"


#: What runs the workers on each runtime other than threads, for the "Runtime:" line.
RUNNERS = {
    "asyncio": "asyncio tasks in one event loop (they switch only at an await)",
    "processes": "one process per worker, the state in shared memory",
}


def runtime_line(
    info: RuntimeInfo, runtimes: Collection[str] = ("threads",), start_method: str = ""
) -> str:
    """The interpreter the runs happened on, and what ran their workers when that was one
    runtime other than threads; the switch interval only when threads of one interpreter
    shared the GIL (not for one event loop's tasks, nor for processes, one worker each)."""
    gil = "GIL enabled" if info.gil else "GIL disabled (free-threaded)"
    if info.free_threaded_build and info.gil:
        gil = "GIL enabled on a free-threaded build"
    interval = ""
    if "threads" in runtimes:
        interval = f" · switch interval {seconds(info.switch_interval)}"
        if info.switch_interval != info.switch_interval_default:
            interval += f" for this run (interpreter's: {seconds(info.switch_interval_default)})"
    cpus = f"{info.cpus} CPU" + ("s" if info.cpus != 1 else "")
    head = ""
    if len(set(runtimes)) == 1 and "threads" not in runtimes:
        (runtime,) = set(runtimes)
        head = RUNNERS.get(runtime, runtime)
        if start_method:
            head += f" (started by {start_method})"
        head += " · "
    return f"{head}{info.implementation} {info.python} · {gil}{interval} · {cpus} · {info.platform}"


def header(key: str) -> str:
    """A details key as a column header: words, and units people read ("µs", "s")."""
    words = key.replace("_", " ")
    for unit, shown in ((" us", " (µs)"), (" s", " (s)"), (" ms", " (ms)")):
        if words.endswith(unit):
            return words[: -len(unit)] + shown
    return words


def value(item: object) -> str:
    """A details value for people: yes/no, thousands separators, plain text otherwise."""
    if isinstance(item, bool):
        return "yes" if item else "no"
    if isinstance(item, int):
        return f"{item:,}"
    if isinstance(item, float):
        return f"{item:,.1f}" if abs(item) >= 1000 else f"{item:g}"
    return "" if item is None else str(item)


def _details_table(trials: Sequence[TrialResult]) -> RenderableType | None:
    """The scenario's own findings per trial (lost vs duplicated, high-water mark...):
    short values as columns, sentences (a deadlock's cycle) as lines under the table, each
    different sentence once with the trials that found it."""
    if len(trials) > MAX_TRIAL_ROWS:
        return None
    keys = list(dict.fromkeys(k for t in trials for k in t.outcome.details))
    long = [k for k in keys if any(len(value(t.outcome.details.get(k))) > 16 for t in trials)]
    short = [k for k in keys if k not in long]
    if not keys:
        return None
    parts: list[RenderableType] = []
    if short:
        table = Grid(Col("trial", "right"), title="what the check found", keyed=True)
        for key in short:
            table.columns.append(Col(header(key), "right"))
        for t in trials:
            table.add_row(str(t.trial), *(value(t.outcome.details.get(k)) for k in short))
        parts.append(table)
    lines = Text()
    for key in long:
        found: dict[str, list[int]] = {}
        for t in trials:
            text = value(t.outcome.details.get(key))
            if text:
                found.setdefault(text, []).append(t.trial)
        for text, where in found.items():
            label = "trial" if len(where) == 1 else "trials"
            numbers = ", ".join(str(n) for n in where)
            lines.append(f"{label} {numbers} {header(key)}: ", style="bold")
            lines.append(f"{text}\n")
    if lines:
        parts.append(lines)
    return group(*parts)


def _pct(part: float, whole: float) -> str:
    if not whole:
        return "-"
    share = 100 * part / whole
    if 0 < share < 0.1:
        return "<0.1%"
    return f"{share:.1f}%"


def amount(n: int, meaning: str) -> str:
    """ "1 increment per thread", "2 increments per thread": ``meaning`` is plural."""
    first, _, rest = meaning.partition(" ")
    if n == 1 and first.endswith("s") and not first.endswith("ss"):
        first = first[:-1]
    return f"{n:,} {first}" + (f" {rest}" if rest else "")


def result_cell(trial: TrialResult) -> Text:
    """ok, or why the trial failed: "deadlocked" when the watchdog stopped it on a wait-for
    cycle, "stuck" when it stopped it for want of progress."""
    if trial.ok:
        return Text("ok", style="green")
    details = trial.outcome.details
    if details.get("deadlocked") is True:
        stuck = details.get("detected_by") == "no progress"
        return Text("stuck" if stuck else "deadlocked", style="bold red")
    return Text("VIOLATED", style="bold red")


def run_report(result: RunResult) -> RenderableType:
    config = result.config
    meaning = per_worker(result.iterations_meaning, config.runtime)
    title = (
        f"{config.scenario} · --sync {config.sync} · {workers(config.threads, config.runtime)}"
        f" × {amount(config.iterations, meaning)} · {amount(config.trials, 'trials')}"
    )
    share = result.violation_share
    trials = Grid(
        Col("trial", "right"),
        Col(result.counted[0], "right"),
        Col(result.counted[1], "right"),
        Col(result.violation_noun, "right", wrap=True),
        Col("result"),
        Col("wall time", "right", short="time"),
        Col("ops/s", "right"),
        title=title,
    )
    if len(result.trials) <= MAX_TRIAL_ROWS:
        for t in result.trials:
            v = t.outcome.violations
            trials.add_row(
                str(t.trial),
                f"{t.outcome.expected:,}",
                f"{t.outcome.observed:,}",
                f"{v:,} ({_pct(v, t.outcome.expected)})" if share else f"{v:,}",
                result_cell(t),
                seconds(t.elapsed_s),
                rate(t.ops_per_s),
            )
    elif result.trials:
        spread = result.violations
        e = result.elapsed
        r = result.ops_per_s
        trials.add_row(
            f"1-{len(result.trials)}",
            f"{result.trials[0].outcome.expected:,}",
            "",
            f"median {spread.median:,.0f} (min {spread.min:,.0f}, max {spread.max:,.0f})",
            Text(
                f"{result.violated}/{len(result.trials)} violated",
                style="bold red" if result.violated else "green",
            ),
            Alt(f"{seconds(e.median)} ({seconds(e.min)}-{seconds(e.max)})", seconds(e.median)),
            rate(r.median),
        )
    parts: list[RenderableType] = [trials]
    details = _details_table(result.trials)
    if details is not None:
        parts += ["", details]
    if len(result.trials) > 1:
        parts += ["", outcome_table(result)]
    if config.trace:
        parts += ["", *evidence_parts(result)]
    if result.trials:
        last = result.trials[-1]
        parts += ["", _thread_table(last, len(result.trials) > 1, config.runtime)]
    note = result.roles_note
    status = Text()
    if result.interrupted:
        status.append("Interrupted: these are the trials that finished.\n", style="bold yellow")
    status.append("Invariant: ", style="bold")
    status.append(result.invariant + "\n")
    if note:
        status.append(f"{workers(None, config.runtime).capitalize()}: ", style="bold")
        status.append(note + "\n")
    status.append("Runtime: ", style="bold")
    status.append(runtime_line(result.runtime, (config.runtime,), result.start_method) + "\n")
    status.append("Seed: ", style="bold")
    status.append(f"{config.seed} (--seed {config.seed} makes the same random choices again)\n")
    if len(result.trials) > 1:
        e, r = result.elapsed, result.ops_per_s
        status.append("Timing: ", style="bold")
        status.append(
            f"wall time {seconds(e.min)} / {seconds(e.median)} / {seconds(e.max)} "
            f"(min / median / max, spread {e.spread:.0%}); ops/s {rate(r.min)} / "
            f"{rate(r.median)} / {rate(r.max)}\n"
        )
    if result.budget is not None and result.budget.extra:
        status.append("Race budget: ", style="bold")
        status.append(budget_line(result.budget) + "\n")
    summary = (
        f"{result.violated} of {len(result.trials)} trials violated the invariant. "
        if result.trials
        else "No trial finished. "
    )
    status.append(summary, style="bold red" if result.violated else "bold green")
    status.append(result.verdict)
    parts += ["", status]
    return group(*parts)


def budget_line(b: BudgetUse) -> str:
    """What --race-budget did, when it ran trials beyond --trials."""
    if b.asked == 1:
        head = "the trial asked for did not violate the invariant"
    else:
        head = f"none of the {b.asked:,} trials asked for violated the invariant"
    head += f"; run on for up to {b.budget_s:g} s, "
    if b.first_violated is not None:
        return head + f"trial {b.first_violated:,} did, after {seconds(b.elapsed_s)}."
    more = "the one more did not either" if b.extra == 1 else f"none of {b.extra:,} more did"
    return head + f"{more} ({seconds(b.elapsed_s)} in all)."


GRADE_STYLE = {"ACCEPTABLE": "green", "FORBIDDEN": "bold red", "INTERESTING": "bold yellow"}
BAR_WIDTH = 20


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A text bar of ``fraction`` (0..1) in eighths of a block, for tables in any terminal."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("" if not part else " ▏▎▍▌▋▊▉"[part])


def outcome_table(result: RunResult) -> Grid:
    """jcstress-style: each observed outcome, how many trials gave it, and its grade."""
    table = Grid(
        Col(result.outcome_name, "right"),
        Col("trials", "right"),
        Col("frequency", "right", short="share"),
        Col("", decorative=True),
        Col("grade"),
        Col("meaning", wrap=True),
        title=f"outcomes over {len(result.trials)} trials ({result.outcome_name})",
    )
    for o in result.outcomes:
        style = GRADE_STYLE.get(o.grade, "")
        table.add_row(
            o.outcome,
            f"{o.count:,}",
            f"{o.frequency:.0%}",
            Text(bar(o.frequency), style=style),
            Text(o.grade, style=style),
            o.meaning,
        )
    return table


def evidence_parts(result: RunResult) -> list[RenderableType]:
    """The failures rebuilt from the trace, as step tables, plus what tracing cost and
    how it changed the race."""
    parts: list[RenderableType] = []
    shown = 0
    for trial in result.trials:
        for ev in trial.evidence:
            parts += [_evidence_table(trial.trial, ev), ""]
            shown += 1
    note = Text()
    if not shown:
        if result.ok:
            note.append("Trace: no trial violated the invariant, so there is no failure to show.")
        else:
            note.append(
                "Trace: the recorded events hold no complete failure to show "
                "(the cap may have cut them, or this window records no events)."
            )
        note.append("\n")
    events = sum(t.trace.events for t in result.trials if t.trace)
    capped = any(t.trace.capped for t in result.trials if t.trace)
    note.append("Trace: ", style="bold")
    note.append(f"{events:,} events recorded")
    if capped:
        note.append(" (capped: threads stopped recording when their share was full)")
    overhead = result.trace_overhead()
    if overhead:
        traced, untraced = overhead["traced_ops_per_s"] or 0.0, overhead["untraced_ops_per_s"]
        note.append(
            f"; ops/s {rate(traced)} traced vs {rate(untraced or 0.0)} in as many untraced "
            f"trials ({overhead['slowdown'] or 0.0:.1f}× slower while recording)"
        )
    if result.untraced_violated is not None:
        n = len(result.trials)
        note.append("\nTracing changes the race: ", style="bold")
        note.append(
            "recording adds work inside the race window (time, and calls where the "
            "interpreter may switch threads), so the race may show more or less often. "
            f"Violated: {result.violated} of {n} traced trials, {result.untraced_violated} "
            f"of {n} untraced."
        )
    parts.append(note)
    return parts


def _evidence_table(trial: int, ev: Evidence) -> RenderableType:
    threads = list(dict.fromkeys(s.thread for s in ev.steps))
    table = Grid(
        Col("time", "right"),
        *(Col(f"thread {t}" if t >= 0 else "other threads", wrap=True) for t in threads),
        Col("shared after", "right"),
        title=f"trial {trial}: {ev.kind}, from the recorded events",
    )
    for s in ev.steps:
        cells = [s.action if s.thread == t else "" for t in threads]
        table.add_row(
            f"{s.t_ns / 1e3:,.1f} µs",
            *cells,
            s.shared,
            style="bold red" if s.highlight else None,
        )
    return group(table, Text(ev.explanation))


def _thread_table(trial: TrialResult, last_of_many: bool, runtime: str) -> Grid:
    """A row per worker (thread, task or process): its role, its work, its time."""
    one = workers(1, runtime).split(" ", 1)[1]
    title = f"per {one} (trial {trial.trial})" if last_of_many else f"per {one}"
    table = Grid(
        Col(one, "right"),
        Col("role"),
        Col("ops", "right"),
        Col("time", "right"),
        Col("waiting", "right"),
        title=title,
    )
    shown = trial.threads[:MAX_THREAD_ROWS]
    for s in shown:
        table.add_row(
            str(s.index),
            s.role,
            f"{s.ops:,}",
            seconds(s.elapsed_s),
            f"{seconds(s.wait_s)} ({_pct(s.wait_s, s.elapsed_s)})" if s.wait_s else "-",
        )
    hidden = len(trial.threads) - len(shown)
    if hidden:
        rest = trial.threads[MAX_THREAD_ROWS:]
        table.add_row(
            f"+{hidden}",
            "more",
            f"{sum(s.ops for s in rest):,}",
            f"≤ {seconds(max(s.elapsed_s for s in rest))}",
            "",
        )
    return table
