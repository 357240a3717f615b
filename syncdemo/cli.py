"""The command line: parse, validate, dispatch, pick a renderer. No threads, no formatting.

Heavy modules (Rich, the engine) are imported inside the commands so that ``--help`` and
shell completion start fast.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import TYPE_CHECKING, Any

import click
from click.shell_completion import CompletionItem

from syncdemo import __version__

if TYPE_CHECKING:
    from syncdemo.results import RunResult
    from syncdemo.scenarios.base import Scenario

MAX_THREADS = 2048
MAX_ITERATIONS = 10_000_000
MAX_TRIALS = 10_000
#: The run's default ``sys.setswitchinterval``: 0.1 ms instead of CPython's 5 ms, so that
#: threads interleave many times even in a run that lasts a few milliseconds.
DEFAULT_SWITCH_INTERVAL = 0.0001
FORMATS = ("table", "json", "csv")

EXIT_VIOLATED = 1
EXIT_ABANDONED = 3
EXIT_INTERRUPTED = 130


class SyncdemoGroup(click.Group):
    """Ctrl-C anywhere exits 130 with one line on stderr, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)


def _complete_scenario(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from syncdemo import scenarios

    return [
        CompletionItem(s.name, help=s.summary)
        for s in scenarios.all_scenarios()
        if s.name.startswith(incomplete)
    ]


def _complete_sync(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from syncdemo import scenarios

    name = ctx.params.get("name")
    pool = scenarios.all_scenarios()
    if name:
        with contextlib.suppress(LookupError):
            pool = [scenarios.get(name)]
    seen: dict[str, str] = {}
    for s in pool:
        for strategy in s.strategies:
            seen.setdefault(strategy.name, strategy.summary)
    return [CompletionItem(n, help=h) for n, h in seen.items() if n.startswith(incomplete)]


def _scenario(name: str) -> Scenario[Any]:
    from syncdemo import scenarios

    try:
        return scenarios.get(name)
    except scenarios.UnknownScenario as exc:
        raise click.BadParameter(str(exc), param_hint="'NAME'") from None


class Count(click.IntRange):
    """A whole number within bounds, whose errors say the bounds: 'abc' and 0 alike."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                self.fail(
                    f"{value!r} is not a whole number from {self.min} to {self.max}", param, ctx
                )
        return super().convert(value, param, ctx)


class SwitchInterval(click.ParamType):  # type: ignore[type-arg]
    name = "SECONDS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or isinstance(value, float):
            return value
        if str(value).strip().lower() in ("keep", "default", "interpreter"):
            return None
        try:
            seconds = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a number of seconds (or 'keep')", param, ctx)
        if not 1e-6 <= seconds <= 1.0:
            self.fail(f"{value} is outside 0.000001 to 1 second", param, ctx)
        return seconds


format_option = click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people; json or csv (on stdout, nothing else there) for scripts.",
)


@click.group(cls=SyncdemoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="syncdemo")
def cli() -> None:
    """See race conditions happen: real threads, real shared state, measured outcomes.

    \b
    syncdemo list                          what scenarios there are
    syncdemo describe counter              why it breaks, the fix, the code
    syncdemo run counter --threads 8       lose updates, for real
    syncdemo run counter --sync lock       ... and see what the lock costs
    syncdemo run counter -f json | jq .summary
    """


@cli.command("list")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
    help="json gives the same as data.",
)
def list_command(fmt: str) -> None:
    """List the scenarios, their sync strategies and invariants."""
    from syncdemo import scenarios

    found = scenarios.all_scenarios()
    if fmt == "json":
        from syncdemo.render.data import list_json

        click.echo(list_json(found))
        return
    from syncdemo.render.table import make_console, scenario_list

    make_console().print(scenario_list(found))


@cli.command()
@click.argument("name", shell_complete=_complete_scenario)
def describe(name: str) -> None:
    """Explain a scenario: what breaks, why on this interpreter, each fix, the worker code.

    \b
    Example:
      syncdemo describe producer-consumer
    """
    scenario = _scenario(name)
    from syncdemo.render.table import describe as render_describe
    from syncdemo.render.table import make_console
    from syncdemo.runtime import runtime_info

    make_console().print(render_describe(scenario, runtime_info()))


@cli.command()
@click.argument("name", shell_complete=_complete_scenario)
@click.option(
    "--threads",
    "-t",
    type=Count(1, MAX_THREADS),
    help="Worker threads.  [default: the scenario's, see 'describe']",
)
@click.option(
    "--iterations",
    "-n",
    type=Count(1, MAX_ITERATIONS),
    help="Work per thread (increments, items, phases).  [default: the scenario's]",
)
@click.option(
    "--trials",
    type=Count(1, MAX_TRIALS),
    default=3,
    show_default=True,
    help="Independent runs, each on fresh shared state.",
)
@click.option(
    "--sync",
    "-s",
    shell_complete=_complete_sync,
    help="Sync strategy, e.g. none or lock.  [default: the scenario's]",
)
@format_option
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 if any trial violated the invariant (0 otherwise), for shell scripts.",
)
@click.option(
    "--seed",
    type=Count(0, 2**63 - 1),
    help="Fix every random choice a scenario makes.  [default: a fresh one, reported]",
)
@click.option(
    "--switch-interval",
    type=SwitchInterval(),
    default=str(DEFAULT_SWITCH_INTERVAL),
    show_default=True,
    help=(
        "sys.setswitchinterval for the run, restored afterwards; 'keep' leaves the "
        "interpreter's (5 ms on CPython). Matters only under the GIL."
    ),
)
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
    "--show",
    type=Count(0, 100),
    default=3,
    show_default=True,
    help="With --trace: how many failures to reconstruct per trial.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 3600),
    default=2.0,
    show_default=True,
    help="Seconds without progress before the watchdog calls a trial stuck (deadlock).",
)
def run(
    name: str,
    threads: int | None,
    iterations: int | None,
    trials: int,
    sync: str | None,
    fmt: str,
    check: bool,
    seed: int | None,
    switch_interval: float | None,
    window: str | None,
    trace: bool,
    show: int,
    timeout: float,
) -> None:
    """Run a scenario on real threads and report what happened to the shared state.

    \b
    Examples:
      syncdemo run counter --threads 8
      syncdemo run counter --sync lock --trials 5
      syncdemo run producer-consumer --sync none
      syncdemo run barrier --sync none --format csv > barrier.csv
      syncdemo run counter --check || echo "updates were lost"
    """
    scenario = _scenario(name)
    sync = sync or scenario.default_sync
    if sync not in scenario.strategy_names():
        valid = ", ".join(scenario.strategy_names())
        raise click.BadParameter(
            f"{scenario.name} has no strategy {sync!r}; choose from: {valid}.",
            param_hint="'--sync'",
        )
    window = scenario.default_window if window is None else window
    if window not in scenario.windows:
        choices = ", ".join(scenario.windows) or "none (this scenario has a fixed window)"
        raise click.BadParameter(
            f"{scenario.name} has no window {window!r}; choose from: {choices}.",
            param_hint="'--window'",
        )
    from syncdemo import engine
    from syncdemo.results import RunConfig

    config = RunConfig(
        scenario=scenario.name,
        sync=sync,
        threads=threads or scenario.default_threads,
        iterations=iterations or scenario.default_iterations,
        trials=trials,
        seed=secrets.randbelow(2**32) if seed is None else seed,
        switch_interval=switch_interval,
        window=window,
        trace=trace,
        show=show,
        timeout=timeout,
    )
    ctx = click.get_current_context()
    try:
        result = engine.run(scenario, config)
    except engine.RunInterrupted as stop:
        if stop.partial.trials:
            _emit(stop.partial, scenario, fmt)
        click.echo(
            f"Interrupted after {len(stop.partial.trials)} of {config.trials} trials.", err=True
        )
        ctx.exit(EXIT_INTERRUPTED)
    except engine.ThreadsAbandoned as exc:  # the watchdog could not stop a hung run
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(EXIT_ABANDONED)
    except engine.EngineError as exc:
        raise click.ClickException(str(exc)) from None
    _emit(result, scenario, fmt)
    if check and not result.ok:
        ctx.exit(EXIT_VIOLATED)


def _emit(result: RunResult, scenario: Scenario[Any], fmt: str) -> None:
    if fmt == "json":
        from syncdemo.render.data import run_json

        click.echo(run_json(result))
    elif fmt == "csv":
        from syncdemo.render.data import run_csv

        click.echo(run_csv(result), nl=False)
    else:
        from syncdemo.render.table import make_console, run_report

        make_console().print(run_report(result, scenario))


def main() -> None:
    cli(prog_name="syncdemo")
