"""The command line: parse, validate, dispatch, pick a renderer. No threads, no formatting.

Heavy modules (Rich, the engine) are imported inside the commands so that ``--help`` and
shell completion start fast.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import secrets
import sys
from typing import TYPE_CHECKING, Any

import click
from click.shell_completion import CompletionItem

from syncdemo import __version__
from syncdemo.output import OutputOptions, output_options

if TYPE_CHECKING:
    from syncdemo.output import Session
    from syncdemo.results import RunResult
    from syncdemo.scenarios.base import Scenario

MAX_THREADS = 2048
MAX_ITERATIONS = 10_000_000
MAX_TRIALS = 10_000
#: The run's default ``sys.setswitchinterval``: 0.1 ms instead of CPython's 5 ms, so that
#: threads interleave many times even in a run that lasts a few milliseconds.
DEFAULT_SWITCH_INTERVAL = 0.0001

EXIT_VIOLATED = 1
EXIT_ABANDONED = 3
EXIT_INTERRUPTED = 130


class SyncdemoGroup(click.Group):
    """Ctrl-C anywhere exits 130 with one line on stderr, never a traceback; so does an
    output that cannot be written (a full disk), with exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        _tolerate_narrow_encodings()
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # surface a write error here, not at interpreter exit
            return result
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # Click's main ends a broken pipe quietly
            _silence_stdout()
            click.echo(f"Error: cannot write the output: {exc.strerror or exc}", err=True)
            ctx.exit(1)


def _tolerate_narrow_encodings() -> None:
    """On an ASCII (or other non-UTF) stdout, print '?' for '·', '×', 'µ' and the bars
    instead of failing with UnicodeEncodeError."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if encoding and encoding != "utf8" and reconfigure is not None:
        reconfigure(errors="replace")


def _silence_stdout() -> None:
    """After a write error, drop what is still buffered so exit does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of seconds")
    return value


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

    name = ctx.params.get("name") or (ctx.args[0] if ctx.args else None)
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


#: --format, -o/--output and -q/--quiet; the command receives them as ``out``.
format_option = output_options


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
    callback=_finite,
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
    out: OutputOptions,
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
    from syncdemo.output import Session

    with Session(out, total_trials=config.trials) as session:
        session.begin(f"{scenario.name}:{config.sync}")
        try:
            result = engine.run(scenario, config, on_trial=session.on_trial)
        except engine.RunInterrupted as stop:
            session.stop_progress()
            if stop.partial.trials:  # show what finished; -o FILE is not written
                _emit(session, stop.partial, scenario, complete=False)
            click.echo(
                f"Interrupted after {len(stop.partial.trials)} of {config.trials} trials.",
                err=True,
            )
            ctx.exit(EXIT_INTERRUPTED)
        except engine.ThreadsAbandoned as exc:  # the watchdog could not stop a hung run
            session.stop_progress()
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_ABANDONED)
        except engine.EngineError as exc:
            raise click.ClickException(str(exc)) from None
        _emit(session, result, scenario)
    if check and not result.ok:
        ctx.exit(EXIT_VIOLATED)


def _emit(
    session: Session, result: RunResult, scenario: Scenario[Any], *, complete: bool = True
) -> None:
    """Hand one run to the output session: its jsonl line, table, json and csv."""
    from syncdemo.render import data

    def table() -> Any:
        from syncdemo.render.table import run_report

        return run_report(result, scenario)

    session.add(result)
    session.finish(
        table,
        {"json": lambda: data.run_json(result), "csv": lambda: data.run_csv(result)},
        complete=complete,
    )


def main() -> None:
    """The console script. --help and --version write outside any command, so their
    write errors (a full disk) are caught here as well as in SyncdemoGroup.invoke."""
    try:
        try:
            cli(prog_name="syncdemo")
        except SystemExit as done:
            sys.stdout.flush()
            raise SystemExit(done.code) from None
    except OSError as exc:
        _silence_stdout()
        if exc.errno == errno.EPIPE:
            raise SystemExit(0) from None
        click.echo(f"Error: cannot write the output: {exc.strerror or exc}", err=True)
        raise SystemExit(1) from None


# compare and sweep (cli_multi.py) build on the option types above, so they come last.
from syncdemo.cli_multi import compare, sweep  # noqa: E402

cli.add_command(compare)
cli.add_command(sweep)

from syncdemo.cli_explore import explore  # noqa: E402

cli.add_command(explore)
