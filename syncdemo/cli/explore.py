"""``syncdemo explore``: the scenario's real workers under a deterministic scheduler: every
schedule within a bound, the shortest failing one and whether the GIL allows it, replay,
and the quiz. Parses and dispatches only; the search is :mod:`syncdemo.explore.explorer`.

Only click is imported here at module level (``syncdemo --help`` stays fast).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from syncdemo.cli import options as opt
from syncdemo.cli.options import EXIT_INTERRUPTED, EXIT_VIOLATED, Count
from syncdemo.cli.output import OutputOptions, output_options_for
from syncdemo.engine.config import fresh_seed

if TYPE_CHECKING:
    from syncdemo.cli.output import StatusLine
    from syncdemo.explore.explorer import OnProgress
    from syncdemo.explore.report import Report
    from syncdemo.results import RunConfig
    from syncdemo.scenarios.base import Scenario

MAX_THREADS = 8
MAX_ITERATIONS = 100
MAX_RANDOM = 100_000
MAX_LIMIT = 10_000_000
#: Keep in step with syncdemo.explore.search.DEFAULT_LIMIT (not imported: --help stays light).
DEFAULT_LIMIT = 20_000

#: Seconds a search may run unless --time-limit says otherwise; every built-in's search at
#: its defaults takes under a minute on a busy two-core machine.
DEFAULT_TIME_LIMIT = 300.0
MAX_TIME_LIMIT = 7 * 24 * 3600.0
DEFAULT_MAX_PREEMPTIONS = 2
#: --max-preemptions unbounded, as the option gives it (None: not given).
UNBOUNDED = -1


def preemption_bound(scenario: Any, given: int | None) -> int | None:
    """The bound a search uses: the one given (None for unbounded), else the scenario's."""
    if given is None:
        return int(scenario.explore_preemptions)
    return None if given == UNBOUNDED else given


class Preemptions(click.ParamType):  # type: ignore[type-arg]
    """K, a whole number, or 'unbounded' (UNBOUNDED); not given: None (the scenario's)."""

    name = "K"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or isinstance(value, int):
            return value
        if str(value).strip().lower() in ("unbounded", "none", "all", "inf"):
            return UNBOUNDED
        return Count(0, 1000).convert(value, param, ctx)


@click.command()
@opt.scenario_argument
@opt.threads_option("Threads.  [default: the scenario's small size, 2 for most]", high=MAX_THREADS)
@opt.iterations_option(
    "Work per thread.  [default: the scenario's small size]", high=MAX_ITERATIONS
)
@opt.sync_option
@opt.granularity_option
@click.option(
    "--max-preemptions",
    type=Preemptions(),
    help="Only schedules that switch away from a runnable thread at most K times; "
    "'unbounded' tries them all.  "
    f"[default: the scenario's: {DEFAULT_MAX_PREEMPTIONS} for your own code and counter; 1 "
    "for the built-ins whose search at 2 takes more than seconds]",
)
@click.option(
    "--no-reduction",
    "reduction",
    flag_value=False,
    default=True,
    help="Offer every switch point as a choice, even one reached from the last through "
    "only local instructions (the one reduction explore makes): the plain search, slower, "
    "to compare with.",
)
@click.option(
    "--random",
    "runs",
    type=Count(1, MAX_RANDOM),
    metavar="N",
    help="Run N schedules with PCT (random priorities) instead of the bounded search.",
)
@opt.seed_option(
    "The workers' random choices (and with --random or --quiz, the scheduler's).  "
    "[default: the scenario's, 0 for most]"
)
@click.option(
    "--schedule",
    metavar="T,T,...",
    help="Replay one schedule: the thread that runs each step, e.g. 0,0,1,1,0 (the replay "
    "command a report prints also names the code it was found on).",
)
@click.option(
    "--quiz",
    is_flag=True,
    help="Show a schedule with the values hidden and ask for the outcome before revealing it.",
)
@click.option(
    "--answer", metavar="VALUE", help="With --quiz: the answer, without asking (for scripts)."
)
@click.option(
    "--limit",
    type=Count(1, MAX_LIMIT),
    metavar="RUNS",
    help="The most schedules a search runs; past it, it stops and says so.  "
    f"[default: {DEFAULT_LIMIT:,}]",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(0, MAX_TIME_LIMIT, min_open=True),
    callback=opt.finite,
    default=DEFAULT_TIME_LIMIT,
    show_default=True,
    metavar="SECONDS",
    help="The longest a search (with the checks after it) runs; past it, it stops, shows "
    "what it found, and says so (an incomplete search is never a proof).",
)
@click.option(
    "--export-trace",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE.json",
    help="Write the schedule shown (the shortest failing one, or the replay) as a timeline "
    "for Perfetto UI or chrome://tracing: one step per microsecond, a track per thread.",
)
@output_options_for("table", "json")
@opt.check_option(
    "For shell scripts and CI: exit 0 only when the search proves the invariant within its "
    "bound; 1 when a schedule breaks it, or when the search could not run every schedule "
    "(--limit or --time-limit reached, --random, a schedule past the step limit)."
)
@opt.debug_option
def explore(
    name: str,
    threads: int | None,
    iterations: int | None,
    sync: str | None,
    granularity: str,
    max_preemptions: int | None,
    reduction: bool,
    runs: int | None,
    seed: int | None,
    schedule: str | None,
    quiz: bool,
    answer: str | None,
    limit: int | None,
    time_limit: float,
    export_trace: Path | None,
    out: OutputOptions,
    check: bool,
) -> None:
    """Run a scenario's real code under a deterministic scheduler, and find the shortest
    schedule that breaks it.

    The report gives the outcome of every schedule within the bound, the shortest one that
    breaks the invariant (its source lines, the values read and written), whether the GIL
    allows it, and the command that replays it.

    NAME may be FILE.py[:Class] (loading it runs its top-level code).

    \b
    Examples:
      syncdemo explore counter                       2 threads × 2 increments
      syncdemo explore counter --sync lock           ... and none loses an update
      syncdemo explore counter -g gil                only switches the GIL allows
      syncdemo explore overdraft.py -g opcode
      syncdemo explore deadlock --random 200 --seed 7
      syncdemo explore counter -n 1 --schedule 0,1,1,0
      syncdemo explore counter --quiz
      syncdemo explore counter -f json | jq .explored.counterexample.replay

    Ctrl-C stops a search and shows what it found so far (exit status 130).
    """
    _check_combinations(schedule, runs, quiz, answer)
    if export_trace is not None:
        opt.check_file(export_trace, "'--export-trace'")
    scenario = opt.lookup(name)
    config = opt.config(
        scenario, purpose="explore", sync=sync, threads=threads, iterations=iterations, seed=seed
    )
    from syncdemo.explore.report import Report

    report = Report.of(scenario, config, granularity, name)
    bound = preemption_bound(scenario, max_preemptions)
    from dataclasses import replace

    from syncdemo.explore import explorer, search

    ctx = click.get_current_context()
    try:
        if quiz:
            _quiz(scenario, config, report, seed, answer, out)
            return
        if schedule is not None:
            try:
                steps, fingerprint = explorer.parse_schedule(schedule)
                if not steps:
                    raise ValueError("a schedule needs at least one thread number")
                run = explorer.replay(
                    scenario,
                    config,
                    steps,
                    granularity=granularity,
                    fingerprint=fingerprint,
                    name=report.name,
                    reduction=reduction,
                )
            except (ValueError, search.BadSchedule) as exc:
                if isinstance(exc, explorer.SourceChanged):
                    raise click.ClickException(str(exc)) from None
                raise click.BadParameter(str(exc), param_hint="'--schedule'") from None
            report = replace(report, replay=run)
        else:
            from syncdemo.cli.output import StatusLine

            most = limit or scenario.explore_limit or DEFAULT_LIMIT
            status = StatusLine(out)
            try:
                found = explorer.explore(
                    scenario,
                    config,
                    granularity=granularity,
                    max_preemptions=bound,
                    limit=most,
                    random=runs,
                    seed=fresh_seed(seed) if runs is not None else 0,
                    name=report.name,
                    reduction=reduction,
                    time_limit=time_limit,
                    on_progress=_progress(
                        status, report.name or report.scenario, bound, most, runs
                    ),
                )
            except explorer.ExploreInterrupted as stop:  # what it found so far, shown
                found = stop.partial
            finally:
                status.stop()
            report = replace(report, exploration=found)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    except (click.exceptions.Exit, click.ClickException):
        raise
    except search.NotDeterministic as exc:  # said as what the user can do about it
        opt.show_traceback(exc)
        raise click.ClickException(opt.not_deterministic(exc)) from None
    except RuntimeError as exc:  # a worker failed, or the code cannot be explored
        opt.show_traceback(exc)
        raise click.ClickException(str(exc)) from None
    e = report.exploration
    if e is not None and e.interrupted:  # the partial report, no file (-o, --export-trace)
        _emit(report, out, complete=False)
        click.echo(f"Interrupted after {e.schedules:,} schedules: the report is partial.", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    _emit(report, out)
    shown = report.replay or (report.exploration and report.exploration.counterexample)
    if export_trace is not None and shown:
        from syncdemo.cli.output import write_file
        from syncdemo.render.trace import schedule_trace

        write_file(export_trace, schedule_trace(shown, report.threads, report.scenario))
    if e is not None and not e.complete:
        click.echo(f"Stopped at {e.stopped_by}: the search is incomplete.", err=True)
    if check and report.violated:
        ctx.exit(EXIT_VIOLATED)
    if check and not report.proved:
        click.echo(f"--check: not verified: {report.unproved()} (exit 1).", err=True)
        ctx.exit(EXIT_VIOLATED)


def _check_combinations(
    schedule: str | None, runs: int | None, quiz: bool, answer: str | None
) -> None:
    if answer is not None and not quiz:
        raise click.UsageError("--answer goes with --quiz.")
    if schedule is not None and runs is not None:
        raise click.UsageError("--schedule replays one schedule; drop --random.")
    if quiz and runs is not None:
        raise click.UsageError("--quiz picks its own schedule; drop --random.")


def _progress(
    status: StatusLine, scenario: str, bound: int | None, limit: int, runs: int | None
) -> OnProgress:
    """The explorer's progress callback: the status line, with each search's rate."""
    from syncdemo.render.explore import progress_line

    first: dict[str, tuple[float, int]] = {}  # each search: when it first reported, and how many
    steps: list[int] = []  # how long a schedule is (the serial one), told before the search

    def on_progress(stage: str, made: int) -> None:
        if stage == "size":  # explorer.SIZE (not imported: --help stays light)
            steps.append(made)
            return
        now = time.monotonic()
        since, then = first.setdefault(stage, (now, made))

        def line() -> Any:
            rate = (made - then) / (now - since) if now - since > 0.2 else None
            size = steps[0] if steps and stage == "search" else None
            return progress_line(scenario, stage, made, rate, bound, limit, runs, size)

        status.update(line)

    return on_progress


def _emit(
    report: Report,
    out: OutputOptions,
    extra: dict[str, Any] | None = None,
    *,
    complete: bool = True,
) -> None:
    """The report through the shared output path (table or json, -o, -q); ``-o FILE`` is
    written only if ``complete``."""
    from syncdemo.cli.output import Session

    def table() -> Any:
        from syncdemo.render.explore import explore_report, replay_report

        return replay_report(report) if report.replay else explore_report(report)

    def as_json() -> str:
        import json

        return json.dumps({**report.to_dict(), **(extra or {})}, indent=2)

    with Session(out, total_trials=0) as session:
        session.finish(table, {"json": as_json}, complete=complete)


def interactive() -> bool:
    """Whether --quiz may ask: only on a terminal (tests and scripts use --answer)."""
    return sys.stdin.isatty()


def _normal(answer: str) -> str:
    text = answer.strip().lower().replace(",", "").replace("_", "")
    return {"y": "yes", "true": "yes", "n": "no", "false": "no"}.get(text, text)


def _quiz(
    scenario: Scenario[Any],
    config: RunConfig,
    report: Report,
    seed: int | None,
    answer: str | None,
    out: OutputOptions,
) -> None:
    """One random schedule (PCT, seeded) of the real code, shown with the values hidden;
    take an answer, reveal."""
    from dataclasses import replace

    from syncdemo.explore import explorer

    seed = fresh_seed(seed)
    run = explorer.random_schedule(
        scenario, config, seed, granularity=report.granularity, name=report.name
    )
    report = replace(report, replay=run)
    question = f"What is the {report.outcome_name or 'outcome'} at the end?"
    if run.deadlocked:
        question = "How does this schedule end?"
    asked = answer is None
    if answer is None:
        if out.fmt == "json" or not interactive():
            raise click.UsageError("--quiz needs --answer VALUE when not asking on a terminal.")
        from syncdemo.render.console import make_console
        from syncdemo.render.explore import quiz_question

        make_console().print(quiz_question(report, run, question))
        try:
            answer = click.prompt("Your answer", prompt_suffix=": ")
        except click.Abort:  # Ctrl-C or end of input at the prompt
            click.echo("\nInterrupted.", err=True)
            click.get_current_context().exit(EXIT_INTERRUPTED)
        assert answer is not None
    correct = "deadlock" if run.deadlocked else run.label
    right = _normal(answer) == _normal(correct)
    if out.fmt == "json":
        quiz = {
            "question": question,
            "answer": answer,
            "correct_answer": correct,
            "right": right,
            "seed": seed,
        }
        _emit(report, out, {"quiz": quiz})
        return
    from rich.text import Text

    from syncdemo.render.console import make_console
    from syncdemo.render.explore import quiz_question, quiz_reveal

    console = make_console()
    if not asked:
        console.print(quiz_question(report, run, question))
        console.print(Text(f"Your answer: {answer}"))
    console.print(quiz_reveal(report, run, answer, right))
