"""What ``syncdemo check`` shows: the concurrent history beside the sequential orders it
cannot match, or what was covered. Returns Rich renderables (built with the layout's
:class:`~syncdemo.render.layout.Grid`, which never truncates); the CLI prints them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from syncdemo.render.console import group
from syncdemo.render.layout import Col, Grid

if TYPE_CHECKING:
    from rich.console import RenderableType

    from syncdemo.explore.results import RealExecution
    from syncdemo.linearize.check import Checked, Failure
    from syncdemo.linearize.history import History


def _bound(k: int | None) -> str:
    return "every schedule" if k is None else f"at most {k} preemption{'s' * (k != 1)}"


def history_table(history: History, title: str) -> Grid:
    """Each call in the order they began: its thread, call, result, and when it began and
    returned on the shared clock (a call that returned before another began comes first
    in every sequential order)."""
    table = Grid(
        Col("thread", "right"),
        Col("call"),
        Col("result", wrap=True),
        Col("began-returned", "right", short="clock"),
        title=title,
    )
    for o in history.ops:
        style = "bold red" if o.result.kind == "raised" else ""
        table.add_row(
            str(o.thread), o.call.text, Text(o.result.shown, style=style), f"{o.start}-{o.end}"
        )
    return table


def orders_table(failure: Failure) -> Grid:
    """The sequential orders that respect real time, and where each one's results differ
    from the history's."""
    shown = len(failure.orders)
    more = f" ({shown} of {failure.all_orders:,} shown)" if shown < failure.all_orders else ""
    table = Grid(
        Col("order", wrap=True),
        Col("its results that differ", wrap=True, short="differs"),
        title=f"every order that respects real time, run one call at a time on a fresh "
        f"object{more}",
    )
    for order, results in failure.orders:
        table.add_row(
            ", ".join(f"{o.thread}:{o.call.text}" for o in order),
            "; ".join(
                f"{o.thread}:{o.call.text} → {r.shown} (not {o.result.shown})"
                for o, r in zip(order, results, strict=True)
                if r != o.result
            ),
        )
    return table


def _covered(c: Checked) -> str:
    s = c.settings
    ops = ", ".join(op.text for op in c.operations)
    size = f"{s.threads} threads × {s.calls} calls" if c.tried != 1 or not c.plans else ""
    if c.tried == 1 and c.plans:
        size = " | ".join("; ".join(x.text for x in t) for t in c.plans[0])
    return (
        f"Covered: {c.tried:,} scenario{'s' * (c.tried != 1)} ({size}) from {ops}; "
        f"{c.schedules:,} schedules ({_bound(s.max_preemptions)}, switching at "
        f"{s.granularity} granularity); seed {s.seed}; in {c.elapsed_s:.1f} s."
    )


def checked_report(c: Checked) -> RenderableType:
    s = c.settings
    title = Text(
        f"check {c.target} · {s.threads} threads × {s.calls} calls · {_bound(s.max_preemptions)}"
        f" · {s.granularity}",
        style="bold",
    )
    f = c.failure
    if f is None:
        if c.complete:
            verdict = Text("No history that is not linearizable was found.", style="bold green")
        else:
            verdict = Text(
                f"None found before {c.stopped_by} stopped the search: it is incomplete.",
                style="bold yellow",
            )
        return group(
            title,
            "",
            verdict,
            _covered(c),
            "Not a proof that the class is thread-safe: only these histories, within this "
            "bound, at these switch points.",
        )
    n = len(f.history.ops)
    found = sum(len(t) for t in f.found_in)
    minimized = (
        f"minimized from {found} calls ({c.minimizing} smaller scenarios tried)"
        if found != n
        else "no call can be dropped"
    )
    parts: list[RenderableType] = [
        title,
        "",
        Text(
            f"Not linearizable: a history of {n} call{'s' * (n != 1)} that no sequential "
            f"order of the same calls gives ({minimized}).",
            style="bold red",
        ),
        "",
        history_table(f.history, "concurrent history (in the order the calls began)"),
        "",
        orders_table(f),
        "",
    ]
    e = f.execution
    if e is not None:
        parts.append(
            f"Schedule: {len(e.schedule)} steps, {e.preemptions} preemption"
            f"{'s' * (e.preemptions != 1)} (thread 0 makes its own calls and "
            "starts the others)."
        )
    parts += [f"Replay it: {f.replay}", _covered(c)]
    return group(*parts)


def replay_report(
    name: str, run: RealExecution, history: History | None, failure: Failure | None
) -> RenderableType:
    from syncdemo.render.explore import step_table

    threads = len({s.thread for s in run.steps}) or 1
    parts: list[RenderableType] = [
        Text(f"check {name} · replay of one schedule", style="bold"),
        "",
        step_table(run, threads, f"{len(run.schedule)} steps, {run.preemptions} preemptions"),
        "",
    ]
    if history is not None:
        parts.append(history_table(history, "its history"))
        parts.append("")
    if failure is not None:
        parts += [Text("Not linearizable.", style="bold red"), "", orders_table(failure)]
    elif history is not None:
        parts.append(Text("Linearizable: a sequential order gives every result.", style="green"))
    else:
        parts.append(f"The schedule ended with: {run.label or run.how}.")
    return group(*parts)
