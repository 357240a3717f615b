"""``syncdemo run``: one scenario on real threads, and what happened to the shared state."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from syncdemo.cli import options as opt
from syncdemo.cli.output import OutputOptions, output_options

if TYPE_CHECKING:
    from syncdemo.results import RunResult


@click.command()
@opt.scenario_argument
@opt.threads_option()
@opt.iterations_option()
@opt.sync_option
@opt.runtime_option
@opt.measured_options
@output_options
@opt.check_option("Exit 1 if any trial violated the invariant (0 otherwise), for shell scripts.")
@click.option(
    "--window",
    "-w",
    help=(
        "How wide the unsynchronized read-modify-write is: none (bare +=), call (a function "
        "call between read and write), io (a zero-length sleep standing for I/O). "
        "[default: the scenario's; see 'describe']"
    ),
)
@click.option(
    "--trace",
    is_flag=True,
    help="Record every shared-state event and show, from that real run, how it failed.",
)
@click.option(
    "--export-trace",
    type=opt.OutputPath(),
    metavar="FILE.json",
    help=(
        "Write the traced run as a timeline that Perfetto UI (ui.perfetto.dev), "
        "chrome://tracing and vizviewer open: a track per thread, an arrow per failure. "
        "Implies --trace."
    ),
)
@click.option(
    "--show",
    type=opt.Count(0, 100),
    default=3,
    show_default=True,
    help="With --trace: how many failures to reconstruct per trial.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 3600),
    callback=opt.finite,
    default=opt.DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds without progress before the watchdog calls a trial stuck (deadlock).",
)
@opt.debug_option
def run(
    name: str,
    threads: int | None,
    iterations: int | None,
    sync: str | None,
    runtime: str,
    trials: int,
    seed: int | None,
    switch_interval: float | None,
    race_budget: float,
    out: OutputOptions,
    check: bool,
    window: str | None,
    trace: bool,
    export_trace: Path | None,
    show: int,
    timeout: float,
) -> None:
    """Run a scenario on real threads and report what happened to the shared state.

    NAME may also be your own code: FILE.py, FILE.py:Class, path/to/pkg/module.py or
    package.module:Class (see 'Your own code' in the README). Loading a file runs its
    top-level code, as importing it would; nothing else in it runs until the threads call
    its methods.

    \b
    Examples:
      syncdemo run counter --threads 8
      syncdemo run counter --sync lock --trials 5
      syncdemo run producer-consumer --sync none
      syncdemo run barrier --sync none --format csv > barrier.csv
      syncdemo run counter --check || echo "updates were lost"
      syncdemo run overdraft.py --sync lock --trials 20
    """
    if export_trace is not None:
        opt.check_file(export_trace, "'--export-trace'")
        trace = True
    scenario = opt.lookup(name)
    source = click.get_current_context().get_parameter_source("show")
    if not trace and source is not None and source.name == "COMMANDLINE":
        click.echo("Warning: --show only matters with --trace; ignoring it.", err=True)
    from syncdemo.batch import Planned
    from syncdemo.cli.execute import execute

    config = opt.config(
        scenario,
        sync=sync,
        threads=threads,
        iterations=iterations,
        window=window,
        runtime=runtime,
        trials=trials,
        seed=seed,
        switch_interval=switch_interval,
        timeout=timeout,
        race_budget=race_budget,
        trace=trace,
        keep_events=export_trace is not None,
        show=show,
    )
    planned = Planned(scenario, config)

    def report(runs: Sequence[RunResult], interrupted: bool) -> tuple[Any, dict[str, Any]]:
        from syncdemo.render import data
        from syncdemo.render.table import run_report

        (result,) = runs
        return (
            lambda: run_report(result),
            {"json": lambda: data.run_json(result), "csv": lambda: data.run_csv(result)},
        )

    runs = execute([planned], out, check, report)
    if export_trace is not None:
        from syncdemo.cli.output import write_file
        from syncdemo.render.trace import run_trace

        write_file(export_trace, run_trace(runs[0]))
