"""Runs a plan of configurations through the engine with one output session: the one path
that run, compare and sweep share for progress, Ctrl-C, the watchdog and ``--check``.

A single run is a plan of one. Ctrl-C shows what finished (the trials of the run it cut
short included), writes no ``-o`` file and exits 130; a trial the watchdog could not stop
exits 3; any other engine failure is one line and exit 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import click

from syncdemo.cli.options import EXIT_ABANDONED, EXIT_INTERRUPTED, EXIT_VIOLATED, failure_line

if TYPE_CHECKING:
    from rich.console import RenderableType

    from syncdemo.batch import Planned
    from syncdemo.cli.output import OutputOptions, Session
    from syncdemo.results import RunResult

#: Turns the finished runs (and whether Ctrl-C cut them short) into the table and the
#: renderers of each data format.
Report = Callable[
    [Sequence["RunResult"], bool],
    tuple[Callable[[], "RenderableType"], Mapping[str, Callable[[], str]]],
]


def execute(
    plan: Sequence[Planned], out: OutputOptions, check: bool, report: Report
) -> list[RunResult]:
    """Run each planned run in turn, stream it, then show the table and write the data;
    return the runs (only when every one completed: Ctrl-C and failures exit)."""
    from syncdemo.cli.output import Session
    from syncdemo.engine import runner as engine

    ctx = click.get_current_context()
    runs: list[RunResult] = []
    total = sum(p.config.trials for p in plan)
    with Session(out, total_trials=total) as session:
        for planned in plan:
            session.begin(planned.label)
            prefix = f"{planned.label}: " if len(plan) > 1 else ""
            try:
                result = engine.run(planned.scenario, planned.config, on_trial=session.on_trial)
            except engine.RunInterrupted as stop:
                session.stop_progress()
                if stop.partial.trials:
                    runs.append(stop.partial)
                    session.add(stop.partial.to_dict())
                _finish(session, report, runs, complete=False)
                if len(plan) == 1:
                    done, of, unit = len(stop.partial.trials), planned.config.trials, "trials"
                else:
                    done, of, unit = sum(not r.interrupted for r in runs), len(plan), "runs"
                click.echo(f"Interrupted after {done} of {of} {unit}.", err=True)
                ctx.exit(EXIT_INTERRUPTED)
            except engine.ThreadsAbandoned as exc:  # the watchdog could not stop a hung run
                session.stop_progress()
                click.echo(f"Error: {prefix}{exc}", err=True)
                ctx.exit(EXIT_ABANDONED)
            except engine.EngineError as exc:  # a worker, or the user's setup/check, raised
                session.stop_progress()
                raise click.ClickException(f"{prefix}{failure_line(exc)}") from None
            runs.append(result)
            session.add(result.to_dict())
        _finish(session, report, runs, complete=True)
    if check and not all(r.ok for r in runs):
        ctx.exit(EXIT_VIOLATED)
    return runs


def _finish(session: Session, report: Report, runs: list[RunResult], complete: bool) -> None:
    if not runs:
        return
    table, data = report(runs, not complete)
    session.finish(table, data, complete=complete)
