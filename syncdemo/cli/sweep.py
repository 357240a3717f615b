"""``syncdemo sweep``: one strategy at several thread (or iteration) counts, and a chart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from syncdemo.cli import options as opt
from syncdemo.cli.lists import LIST_SYNTAX, MAX_POINTS
from syncdemo.cli.output import OutputOptions, output_options
from syncdemo.engine.config import SAFE_SWEEP_DIVISOR

if TYPE_CHECKING:
    from syncdemo.results import RunResult


@click.command()
@opt.scenario_argument
@click.option(
    "--threads",
    "-t",
    type=opt.CountList(1, opt.MAX_THREADS),
    default="1,2,4,8",
    show_default=True,
    help=f"Thread counts to sweep: {LIST_SYNTAX}, or a mix; at most {MAX_POINTS} points.",
)
@click.option(
    "--iterations",
    "-n",
    type=opt.CountList(1, opt.MAX_ITERATIONS),
    help=(
        "Work per thread: one number, or a list or range to sweep as well.  [default: the "
        f"scenario's; 1/{SAFE_SWEEP_DIVISOR} of it for a safe --sync, whose cost grows with "
        "every thread, so that the default sweep takes seconds]"
    ),
)
@opt.sync_option
@opt.runtime_option
@opt.measured_options
@opt.plot_option
@output_options
@opt.check_option("Exit 1 if any row violated its invariant (0 otherwise), for scripts.")
@opt.debug_option
def sweep(
    name: str,
    threads: tuple[int, ...],
    iterations: tuple[int, ...] | None,
    sync: str | None,
    runtime: str,
    trials: int,
    seed: int | None,
    switch_interval: float | None,
    race_budget: float,
    plot: Path | None,
    out: OutputOptions,
    check: bool,
) -> None:
    """Run one scenario at several thread counts: what breaks, and what it costs, as it grows.

    A row per thread count: violation rate, the share of the work lost, ops/s and the
    speedup over the fewest threads, with bars; under the table a text chart of ops/s and
    violation rate against threads.

    NAME may also be your own code: FILE.py, FILE.py:Class, path/to/pkg/module.py or
    package.module:Class (see 'Your own code' in the README). Loading a file runs its
    top-level code, as importing it would; nothing else in it runs until the threads call
    its methods.

    \b
    Examples:
      syncdemo sweep counter --threads 1,2,4,8,16
      syncdemo sweep counter --sync lock --threads pow2:16 --iterations 2000
      syncdemo sweep counter --threads 4 --iterations 100,1000,10000
      syncdemo sweep counter --threads 1-4 --format jsonl | jq .summary
    """
    from syncdemo.batch import Planned
    from syncdemo.cli.execute import execute
    from syncdemo.engine.config import fresh_seed

    scenario = opt.lookup(name)
    counts = iterations or (None,)  # None: the default for the strategy (see --help)
    if len(threads) * len(counts) > MAX_POINTS:
        raise click.UsageError(
            f"{len(threads)} thread counts × {len(counts)} iteration counts make "
            f"{len(threads) * len(counts)} runs; a sweep does at most {MAX_POINTS}."
        )
    common_seed = fresh_seed(seed)
    plan = [
        Planned(
            scenario,
            opt.config(
                scenario,
                purpose="sweep",
                sync=sync,
                threads=t,
                iterations=n,
                runtime=runtime,
                trials=trials,
                seed=common_seed,
                switch_interval=switch_interval,
                race_budget=race_budget,
            ),
        )
        for n in counts
        for t in threads
    ]

    def report(runs: Sequence[RunResult], interrupted: bool) -> tuple[Any, dict[str, Any]]:
        from syncdemo.render import compare as render
        from syncdemo.sweep import Sweep

        result = Sweep.of(runs, interrupted)
        return (
            lambda: render.sweep_table(result),
            {"json": lambda: render.sweep_json(result), "csv": lambda: render.sweep_csv(result)},
        )

    runs = execute(plan, out, check, report)
    if plot is not None:
        from syncdemo.render.plot import sweep_chart
        from syncdemo.sweep import Sweep

        sweep_chart(Sweep.of(runs, False), plot)
