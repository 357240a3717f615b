"""The compare and sweep commands: many runs, one table, data that streams.

Parsing and dispatch only, like cli.py, whose option types and completions they reuse:
multi.py plans and summarises, the engine runs, render/compare.py draws, and output.py
decides where everything goes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click
from click.shell_completion import CompletionItem

from syncdemo.cli import (
    DEFAULT_SWITCH_INTERVAL,
    EXIT_ABANDONED,
    EXIT_INTERRUPTED,
    EXIT_VIOLATED,
    MAX_ITERATIONS,
    MAX_THREADS,
    MAX_TRIALS,
    Count,
    SwitchInterval,
    _complete_scenario,
    _complete_sync,
    _scenario,
)
from syncdemo.multi import LIST_SYNTAX, MAX_POINTS, SAFE_SWEEP_DIVISOR, ListError, parse_counts
from syncdemo.output import OutputOptions, output_options

if TYPE_CHECKING:
    from syncdemo.multi import Planned
    from syncdemo.output import Session
    from syncdemo.results import RunResult


class CountList(click.ParamType):  # type: ignore[type-arg]
    """'1,2,4,8', '1-16', '1..16', 'pow2:64': whole numbers within bounds, sorted."""

    name = "LIST"

    def __init__(self, low: int, high: int) -> None:
        self.low = low
        self.high = high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        try:
            return parse_counts(str(value), self.low, self.high)
        except ListError as exc:
            self.fail(str(exc), param, ctx)


def _complete_spec(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """NAME, and NAME:SYNC once a colon is typed.

    bash splits words at ':', so there 'counter:lo' arrives as 'counter', ':', 'lo' and
    'counter:' as 'counter', ':'; zsh and fish pass the word as typed.
    """
    before = tuple(ctx.params.get("specs") or ())
    if incomplete == ":" and before:
        name, prefix, incomplete = before[-1], ":", ""
    elif len(before) > 1 and before[-1] == ":":
        name, prefix = before[-2], ""
    elif ":" in incomplete:
        name, _, incomplete = incomplete.partition(":")
        prefix = f"{name}:"
    else:
        return _complete_scenario(ctx, param, incomplete)
    return [
        CompletionItem(prefix + item.value, help=item.help)
        for item in _strategies_of(name, incomplete)
    ]


def _complete_sweep_sync(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """--sync's strategies for the NAME given, even when '--sync' ends the line (then Click
    leaves NAME unparsed, in ctx.args)."""
    name = ctx.params.get("name") or (ctx.args[0] if ctx.args else None)
    found = _strategies_of(name, incomplete) if name else []
    return found or _complete_sync(ctx, param, incomplete)


def _strategies_of(name: str, incomplete: str) -> list[CompletionItem]:
    from syncdemo import scenarios

    try:
        scenario = scenarios.get(name)
    except LookupError:
        return []
    return [
        CompletionItem(s.name, help=s.summary)
        for s in scenario.strategies
        if s.name.startswith(incomplete)
    ]


def _shared_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--trials, the output options, --check, --seed and --switch-interval, as run has them."""
    for option in reversed(
        (
            click.option(
                "--trials",
                type=Count(1, MAX_TRIALS),
                default=3,
                show_default=True,
                help="Independent runs at each point, each on fresh shared state.",
            ),
            output_options,
            click.option(
                "--check",
                is_flag=True,
                help="Exit 1 if any row violated its invariant (0 otherwise), for scripts.",
            ),
            click.option(
                "--seed",
                type=Count(0, 2**63 - 1),
                help="Fix every random choice, the same for every run.  [default: a fresh "
                "one, reported]",
            ),
            click.option(
                "--switch-interval",
                type=SwitchInterval(),
                default=str(DEFAULT_SWITCH_INTERVAL),
                show_default=True,
                help="sys.setswitchinterval for each run, restored afterwards; 'keep' leaves "
                "the interpreter's.",
            ),
        )
    ):
        func = option(func)
    return func


@click.command()
@click.argument(
    "specs", nargs=-1, required=True, metavar="NAME | SPEC...", shell_complete=_complete_spec
)
@click.option(
    "--threads",
    "-t",
    type=Count(1, MAX_THREADS),
    help="Worker threads, the same for every spec.  [default: each scenario's]",
)
@click.option(
    "--iterations",
    "-n",
    type=Count(1, MAX_ITERATIONS),
    help="Work per thread, the same for every spec.  [default: each scenario's]",
)
@_shared_options
def compare(
    specs: tuple[str, ...],
    threads: int | None,
    iterations: int | None,
    trials: int,
    out: OutputOptions,
    check: bool,
    seed: int | None,
    switch_interval: float | None,
) -> None:
    """Run strategies side by side with the same parameters and show what safety costs.

    NAME runs every sync strategy of that scenario; SPECs are NAME:SYNC (a bare NAME
    among them means all of its strategies). The table has a row per strategy: ok or
    violated, violations, wall time, ops/s and the slowdown relative to the fastest row.

    \b
    Examples:
      syncdemo compare counter
      syncdemo compare counter:none counter:lock producer-consumer:queue
      syncdemo compare producer-consumer --threads 8 --format csv > pc.csv
      syncdemo compare counter -q -o counter.json
    """
    from syncdemo.multi import Planned, parse_spec
    from syncdemo.results import RunConfig

    common_seed = secrets.randbelow(2**32) if seed is None else seed
    plan: list[Planned] = []
    seen: set[tuple[str, str]] = set()
    for text in specs:
        name, sync = parse_spec(text)
        scenario = _scenario(name)
        syncs = scenario.strategy_names() if sync is None else [sync]
        if sync is not None and sync not in scenario.strategy_names():
            valid = ", ".join(scenario.strategy_names())
            raise click.BadParameter(
                f"{scenario.name} has no strategy {sync!r}; choose from: {valid}.",
                param_hint=f"'{text}'",
            )
        for s in syncs:
            if (scenario.name, s) in seen:
                continue
            seen.add((scenario.name, s))
            config = RunConfig(
                scenario=scenario.name,
                sync=s,
                threads=threads or scenario.default_threads,
                iterations=iterations or scenario.default_iterations,
                trials=trials,
                seed=common_seed,
                switch_interval=switch_interval,
                window=scenario.default_window,
            )
            plan.append(Planned(scenario, config))

    def report(runs: Sequence[RunResult], interrupted: bool) -> tuple[Any, dict[str, Any]]:
        from syncdemo.multi import Comparison
        from syncdemo.render import compare as render

        safe = [p.safe for p in plan[: len(runs)]]  # runs finish in plan order
        comparison = Comparison.of(runs, safe, interrupted)
        return (
            lambda: render.compare_table(comparison),
            {
                "json": lambda: render.compare_json(comparison),
                "csv": lambda: render.compare_csv(comparison),
            },
        )

    _run_plan(plan, out, check, report)


@click.command()
@click.argument("name", shell_complete=_complete_scenario)
@click.option(
    "--threads",
    "-t",
    type=CountList(1, MAX_THREADS),
    default="1,2,4,8",
    show_default=True,
    help=f"Thread counts to sweep: {LIST_SYNTAX}, or a mix; at most {MAX_POINTS} points.",
)
@click.option(
    "--iterations",
    "-n",
    type=CountList(1, MAX_ITERATIONS),
    help=(
        "Work per thread: one number, or a list or range to sweep as well.  [default: the "
        f"scenario's; 1/{SAFE_SWEEP_DIVISOR} of it for a safe --sync, whose cost grows with "
        "every thread, so that the default sweep takes seconds]"
    ),
)
@click.option(
    "--sync",
    "-s",
    shell_complete=_complete_sweep_sync,
    help="Sync strategy, e.g. none or lock.  [default: the scenario's]",
)
@_shared_options
def sweep(
    name: str,
    threads: tuple[int, ...],
    iterations: tuple[int, ...] | None,
    sync: str | None,
    trials: int,
    out: OutputOptions,
    check: bool,
    seed: int | None,
    switch_interval: float | None,
) -> None:
    """Run one scenario at several thread counts: what breaks, and what it costs, as it grows.

    A row per thread count: violation rate, the share of the work lost, ops/s and the
    speedup over the fewest threads, with bars; under the table a text chart of ops/s and
    violation rate against threads.

    \b
    Examples:
      syncdemo sweep counter --threads 1,2,4,8,16
      syncdemo sweep counter --sync lock --threads pow2:16 --iterations 2000
      syncdemo sweep counter --threads 4 --iterations 100,1000,10000
      syncdemo sweep counter --threads 1-4 --format jsonl | jq .summary
    """
    from syncdemo.multi import Planned
    from syncdemo.results import RunConfig

    scenario = _scenario(name)
    sync = sync or scenario.default_sync
    if sync not in scenario.strategy_names():
        valid = ", ".join(scenario.strategy_names())
        raise click.BadParameter(
            f"{scenario.name} has no strategy {sync!r}; choose from: {valid}.",
            param_hint="'--sync'",
        )
    if iterations is None:
        default = scenario.default_iterations
        if scenario.strategy(sync).safe:
            default = max(1, default // SAFE_SWEEP_DIVISOR)
        iterations = (default,)
    if len(threads) * len(iterations) > MAX_POINTS:
        raise click.UsageError(
            f"{len(threads)} thread counts × {len(iterations)} iteration counts make "
            f"{len(threads) * len(iterations)} runs; a sweep does at most {MAX_POINTS}."
        )
    common_seed = secrets.randbelow(2**32) if seed is None else seed
    plan = [
        Planned(
            scenario,
            RunConfig(
                scenario=scenario.name,
                sync=sync,
                threads=t,
                iterations=n,
                trials=trials,
                seed=common_seed,
                switch_interval=switch_interval,
                window=scenario.default_window,
            ),
        )
        for n in iterations
        for t in threads
    ]

    def report(runs: Sequence[RunResult], interrupted: bool) -> tuple[Any, dict[str, Any]]:
        from syncdemo.multi import Sweep
        from syncdemo.render import compare as render

        result = Sweep.of(runs, interrupted)
        return (
            lambda: render.sweep_table(result),
            {"json": lambda: render.sweep_json(result), "csv": lambda: render.sweep_csv(result)},
        )

    _run_plan(plan, out, check, report)


Report = Callable[[Sequence["RunResult"], bool], tuple[Any, dict[str, Any]]]


def _run_plan(plan: Sequence[Planned], out: OutputOptions, check: bool, report: Report) -> None:
    """Run each planned run in turn, stream it, then show the table and write the data.

    Ctrl-C shows what finished (and the trials of the run it cut short), writes no -o
    file and exits 130.
    """
    from syncdemo import engine
    from syncdemo.output import Session

    ctx = click.get_current_context()
    runs: list[RunResult] = []
    total = sum(p.config.trials for p in plan)
    with Session(out, total_trials=total) as session:
        for planned in plan:
            session.begin(planned.label)
            try:
                result = engine.run(planned.scenario, planned.config, on_trial=session.on_trial)
            except engine.RunInterrupted as stop:
                session.stop_progress()
                if stop.partial.trials:
                    runs.append(stop.partial)
                    session.add(stop.partial)
                _finish(session, report, runs, complete=False)
                click.echo(f"Interrupted after {_done(runs)} of {len(plan)} runs.", err=True)
                ctx.exit(EXIT_INTERRUPTED)
            except engine.ThreadsAbandoned as exc:  # the watchdog could not stop a hung run
                session.stop_progress()
                click.echo(f"Error: {planned.label}: {exc}", err=True)
                ctx.exit(EXIT_ABANDONED)
            except engine.EngineError as exc:
                raise click.ClickException(f"{planned.label}: {exc}") from None
            runs.append(result)
            session.add(result)
        _finish(session, report, runs, complete=True)
    if check and not all(r.ok for r in runs):
        ctx.exit(EXIT_VIOLATED)


def _finish(session: Session, report: Report, runs: list[RunResult], complete: bool) -> None:
    if not runs:
        return
    table, data = report(runs, not complete)
    session.finish(table, data, complete=complete)


def _done(runs: Sequence[RunResult]) -> int:
    return sum(1 for r in runs if not r.interrupted)
