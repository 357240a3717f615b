"""Rich renderings of a run for people: the trials, the outcome histogram, evidence, threads."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from syncdemo.results import BudgetUse, Evidence, RunResult, RuntimeInfo, TrialResult

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


def runtime_line(info: RuntimeInfo) -> str:
    gil = "GIL enabled" if info.gil else "GIL disabled (free-threaded)"
    if info.free_threaded_build and info.gil:
        gil = "GIL enabled on a free-threaded build"
    interval = f"switch interval {seconds(info.switch_interval)}"
    if info.switch_interval != info.switch_interval_default:
        interval += f" for this run (interpreter's: {seconds(info.switch_interval_default)})"
    cpus = f"{info.cpus} CPU" + ("s" if info.cpus != 1 else "")
    return f"{info.implementation} {info.python} · {gil} · {interval} · {cpus} · {info.platform}"


def _details_table(trials: Sequence[TrialResult]) -> RenderableType | None:
    """The scenario's own findings per trial (lost vs duplicated, high-water mark...):
    short values as columns, sentences (a deadlock's cycle) as lines under the table."""
    if len(trials) > MAX_TRIAL_ROWS:
        return None
    keys = list(dict.fromkeys(k for t in trials for k in t.outcome.details))
    long = [k for k in keys if any(len(str(t.outcome.details.get(k, ""))) > 16 for t in trials)]
    short = [k for k in keys if k not in long]
    if not keys:
        return None
    parts: list[RenderableType] = []
    if short:
        table = Table(title="what the check found", title_justify="left", show_edge=False)
        table.add_column("trial", justify="right")
        for key in short:
            table.add_column(key.replace("_", " "), justify="right")
        for t in trials:
            table.add_row(str(t.trial), *(str(t.outcome.details.get(k, "")) for k in short))
        parts.append(table)
    lines = Text()
    for t in trials:
        for key in long:
            value = t.outcome.details.get(key)
            if value not in (None, ""):
                lines.append(f"trial {t.trial} {key.replace('_', ' ')}: ", style="bold")
                lines.append(f"{value}\n")
    if lines:
        parts.append(lines)
    return Group(*parts)


def _pct(part: float, whole: float) -> str:
    if not whole:
        return "-"
    share = 100 * part / whole
    if 0 < share < 0.1:
        return "<0.1%"
    return f"{share:.1f}%"


def run_report(result: RunResult) -> RenderableType:
    config = result.config
    title = (
        f"{config.scenario} · --sync {config.sync} · {config.threads} thread"
        f"{'s' if config.threads != 1 else ''} × {config.iterations:,} "
        f"{result.iterations_meaning} · {config.trials} trial{'s' if config.trials != 1 else ''}"
    )
    trials = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    trials.add_column("trial", justify="right")
    trials.add_column("expected", justify="right")
    trials.add_column("observed", justify="right")
    trials.add_column(result.violation_noun, justify="right")
    trials.add_column("result")
    trials.add_column("wall time", justify="right")
    trials.add_column("ops/s", justify="right")
    if len(result.trials) <= MAX_TRIAL_ROWS:
        for t in result.trials:
            v = t.outcome.violations
            cells: list[RenderableType] = [
                str(t.trial),
                f"{t.outcome.expected:,}",
                f"{t.outcome.observed:,}",
                f"{v:,} ({_pct(v, t.outcome.expected)})",
                Text("ok", style="green") if t.ok else Text("VIOLATED", style="bold red"),
                seconds(t.elapsed_s),
                rate(t.ops_per_s),
            ]
            trials.add_row(*cells)
    elif result.trials:
        spread = result.violations
        e = result.elapsed
        r = result.ops_per_s
        trials.add_row(
            f"{len(result.trials)}",
            f"{result.trials[0].outcome.expected:,}",
            "",
            f"median {spread.median:,.0f} (min {spread.min:,.0f}, max {spread.max:,.0f})",
            Text(
                f"{result.violated}/{len(result.trials)} violated",
                style="bold red" if result.violated else "green",
            ),
            f"{seconds(e.median)} ({seconds(e.min)}-{seconds(e.max)})",
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
        parts += ["", _thread_table(result.trials[-1], len(result.trials) > 1)]
    note = result.roles_note
    status = Text()
    if result.interrupted:
        status.append("Interrupted: these are the trials that finished.\n", style="bold yellow")
    status.append("Invariant: ", style="bold")
    status.append(result.invariant + "\n")
    if note:
        status.append("Threads: ", style="bold")
        status.append(note + "\n")
    status.append("Runtime: ", style="bold")
    status.append(runtime_line(result.runtime) + "\n")
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
    return Group(*parts)


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


def outcome_table(result: RunResult) -> Table:
    """jcstress-style: each observed outcome, how many trials gave it, and its grade."""
    table = Table(
        title=f"outcomes over {len(result.trials)} trials ({result.outcome_name})",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    table.add_column(result.outcome_name, justify="right")
    table.add_column("trials", justify="right")
    table.add_column("frequency", justify="right")
    table.add_column("", no_wrap=True)
    table.add_column("grade")
    table.add_column("meaning")
    for o in result.outcomes:
        style = GRADE_STYLE.get(o.grade, "")
        table.add_row(
            o.outcome,
            str(o.count),
            f"{o.frequency:.0%}",
            Text(bar(o.frequency), style=style),
            Text(o.grade, style=style),
            o.meaning,
        )
    return table


def evidence_parts(result: RunResult) -> list[RenderableType]:
    """The failures rebuilt from the trace, as step tables, plus what tracing cost."""
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
        note.append(
            f"; ops/s {rate(overhead['traced_ops_per_s'])} traced vs "
            f"{rate(overhead['untraced_ops_per_s'])} in one untraced trial "
            f"({overhead['slowdown']:.1f}x slower while recording)"
        )
    parts.append(note)
    return parts


def _evidence_table(trial: int, ev: Evidence) -> RenderableType:
    threads = list(dict.fromkeys(s.thread for s in ev.steps))
    table = Table(
        title=f"trial {trial}: {ev.kind}, from the recorded events",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    table.add_column("time", justify="right")
    for t in threads:
        table.add_column(f"thread {t}" if t >= 0 else "other threads")
    table.add_column("shared after", justify="right")
    for s in ev.steps:
        cells = [s.action if s.thread == t else "" for t in threads]
        table.add_row(
            f"{s.t_ns / 1e3:,.1f} µs",
            *cells,
            s.shared,
            style="bold red" if s.highlight else None,
        )
    return Group(table, Text(ev.explanation))


def _thread_table(trial: TrialResult, last_of_many: bool) -> Table:
    title = f"per thread (trial {trial.trial})" if last_of_many else "per thread"
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("thread", justify="right")
    table.add_column("role")
    table.add_column("ops", justify="right")
    table.add_column("time", justify="right")
    table.add_column("waiting", justify="right")
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
