"""``syncdemo compare``: strategies side by side with the same parameters, and their cost."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from syncdemo.cli import options as opt
from syncdemo.cli.output import OutputOptions, output_options

if TYPE_CHECKING:
    from syncdemo.batch import Planned
    from syncdemo.results import RunResult


@click.command()
@click.argument(
    "specs",
    nargs=-1,
    required=True,
    metavar="NAME | SPEC...",
    shell_complete=opt.completion("complete_spec"),
)
@opt.threads_option("Worker threads, the same for every spec.  [default: each scenario's]")
@opt.iterations_option("Work per thread, the same for every spec.  [default: each scenario's]")
@click.option(
    "--runtime",
    "-r",
    "runtimes",
    default="threads",
    show_default=True,
    metavar="LIST",
    help=(
        "What runs the workers, one or several: threads, asyncio, processes (e.g. "
        "threads,asyncio,processes); a SPEC's @RUNTIME overrides it."
    ),
)
@opt.measured_options
@opt.plot_option
@output_options
@opt.check_option("Exit 1 if any row violated its invariant (0 otherwise), for scripts.")
@opt.debug_option
def compare(
    specs: tuple[str, ...],
    threads: int | None,
    iterations: int | None,
    runtimes: str,
    trials: int,
    seed: int | None,
    switch_interval: float | None,
    race_budget: float,
    plot: Path | None,
    out: OutputOptions,
    check: bool,
) -> None:
    """Run strategies side by side with the same parameters and show what safety costs.

    NAME runs every sync strategy of that scenario; SPECs are NAME:SYNC (a bare NAME
    among them means all of its strategies). The table has a row per strategy: ok or
    violated, violations, wall time, ops/s and the slowdown relative to the fastest row.

    NAME may also be your own code: FILE.py, FILE.py:Class, path/to/pkg/module.py or
    package.module:Class, each with :SYNC after it if you like (see 'Your own code' in the
    README). Loading a file runs its top-level code, as importing it would; nothing else in
    it runs until the threads call its methods.

    \b
    Examples:
      syncdemo compare counter
      syncdemo compare counter:none counter:lock producer-consumer:queue
      syncdemo compare producer-consumer --threads 8 --format csv > pc.csv
      syncdemo compare counter -q -o counter.json
      syncdemo compare overdraft.py
    """
    from syncdemo.batch import Planned
    from syncdemo.cli.execute import execute
    from syncdemo.engine.config import RUNTIMES, fresh_seed

    common_seed = fresh_seed(seed)
    chosen = [r.strip() for r in runtimes.split(",") if r.strip()]
    for choice in chosen:
        if choice not in RUNTIMES:
            raise click.BadParameter(
                f"{choice!r} is not one of {', '.join(RUNTIMES)}.", param_hint="'--runtime'"
            )
    plan: list[Planned] = []
    seen: set[tuple[str, str, str]] = set()
    for text in specs:
        scenario, sync, at = opt.lookup_spec(text)
        syncs = scenario.strategy_names() if sync is None else [sync]
        for r in [at] if at else chosen:
            for s in syncs:
                config = opt.config(
                    scenario,
                    hint=f"'{text}'",
                    sync=s,
                    threads=threads,
                    iterations=iterations,
                    runtime=r,
                    trials=trials,
                    seed=common_seed,
                    switch_interval=switch_interval,
                    race_budget=race_budget,
                )
                if (scenario.name, s, r) not in seen:
                    seen.add((scenario.name, s, r))
                    plan.append(Planned(scenario, config))

    def report(runs: Sequence[RunResult], interrupted: bool) -> tuple[Any, dict[str, Any]]:
        from syncdemo.batch import Comparison
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

    runs = execute(plan, out, check, report)
    if plot is not None:
        from syncdemo.batch import Comparison
        from syncdemo.render.plot import compare_chart

        compare_chart(Comparison.of(runs, [p.safe for p in plan], False), plot)
