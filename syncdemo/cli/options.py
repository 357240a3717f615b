"""The options and parameter types every command shares, declared once.

``--threads``, ``--iterations``, ``--sync``, ``--trials``, ``--seed``, ``--switch-interval``
and ``--check`` are decorators here; the output options (``--format``, ``-o``, ``-q``) live
in :mod:`syncdemo.cli.output`. Scenario lookup and ``--sync``/``--window`` validation are
here too, so that every command refuses bad input with the same one-line message.

Only click is imported at module level: ``--help`` and shell completion stay fast.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from syncdemo.engine.config import (
    DEFAULT_RACE_BUDGET,
    DEFAULT_SWITCH_INTERVAL,
    DEFAULT_TIMEOUT,
    DEFAULT_TRIALS,
    MAX_ITERATIONS,
    MAX_RACE_BUDGET,
    MAX_SEED,
    MAX_THREADS,
    MAX_TRIALS,
    RACE_BUDGET_ENV,
    RUNTIMES,
)

if TYPE_CHECKING:
    from pathlib import Path

    from syncdemo.results import RunConfig
    from syncdemo.scenarios.base import Scenario

__all__ = [
    "DEFAULT_SWITCH_INTERVAL",
    "DEFAULT_TIMEOUT",
    "MAX_ITERATIONS",
    "MAX_SEED",
    "MAX_THREADS",
    "MAX_TRIALS",
    "RUNTIMES",
]


EXIT_VIOLATED = 1
EXIT_USAGE = 2
EXIT_ABANDONED = 3
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


# --- parameter types ----------------------------------------------------------------------


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


class CountList(click.ParamType):  # type: ignore[type-arg]
    """'1,2,4,8', '1-16', '1..16', 'pow2:64': whole numbers within bounds, sorted."""

    name = "LIST"

    def __init__(self, low: int, high: int) -> None:
        self.low = low
        self.high = high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from syncdemo.cli.lists import ListError, parse_counts

        if isinstance(value, tuple):
            return value
        try:
            return parse_counts(str(value), self.low, self.high)
        except ListError as exc:
            self.fail(str(exc), param, ctx)


class OutputPath(click.Path):
    """A file to write: click.Path, except that a name no file can have (a NUL byte in it)
    is a usage error, not a ValueError out of ``os.stat``."""

    def __init__(self) -> None:
        from pathlib import Path

        super().__init__(dir_okay=False, writable=True, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str | bytes) and (
            "\0" in value if isinstance(value, str) else b"\0" in value
        ):
            self.fail(f"{value!r} is not a file name: it holds a NUL byte.", param, ctx)
        return super().convert(value, param, ctx)


def finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A callback refusing nan and inf where a number of seconds is asked for."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of seconds")
    return value


# --- scenarios and strategies -------------------------------------------------------------


def lookup(name: str, param_hint: str = "'NAME'") -> Scenario[Any]:
    """The scenario called ``name`` (or the user's ``FILE.py[:Class]``, ``module:Class``),
    or a usage error with "did you mean"."""
    from syncdemo import scenarios

    try:
        return scenarios.get(name)
    except scenarios.ScenarioError as exc:
        raise lookup_error(exc, param_hint) from None


def lookup_error(exc: LookupError, param_hint: str) -> click.ClickException:
    """A scenario that could not be had, as the error to raise: a usage error (exit 2), or
    exit 1 when its code was found and cannot run here (a broken plugin)."""
    from syncdemo import scenarios

    show_traceback(exc.__cause__)
    if isinstance(exc, scenarios.CannotRun):
        return click.ClickException(str(exc))
    return click.BadParameter(str(exc), param_hint=param_hint)


def lookup_spec(text: str) -> tuple[Scenario[Any], str | None, str | None]:
    """A compare SPEC: ``NAME[:SYNC][@RUNTIME]``, or the user's ``FILE.py[:Class][:SYNC]``
    or ``module:Class[:SYNC]`` (a trailing part that names no class in the file is its
    SYNC); returns the scenario, the strategy and the runtime the spec names (or None)."""
    from syncdemo import scenarios
    from syncdemo.cli.lists import ListError, parse_spec

    hint = f"'{text}'"
    try:
        name, sync, at = parse_spec(text)
    except ListError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None
    base = text.rpartition("@")[0] if at else text
    if sync is None or name in scenarios.names() or not scenarios.is_reference(base):
        return lookup(name, param_hint=hint), sync, at
    try:
        return scenarios.get(base), None, at
    except scenarios.ScenarioError as whole:
        head, _, tail = base.rpartition(":")
        try:
            return scenarios.get(head), tail.strip() or None, at
        except scenarios.ScenarioError:
            raise lookup_error(whole, hint) from None


#: Where ``--debug`` is kept for the command running (click's ``ctx.meta``).
DEBUG = "syncdemo.debug"


def debug_option(func: F) -> F:
    """--debug / -v: the traceback of a failure in the user's own code (loading it, or a
    worker, setup() or check() that raised), under the one-line error."""

    def remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        ctx.meta[DEBUG] = value
        return value

    return click.option(
        "--debug",
        "-v",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=remember,
        help="When your scenario's code fails, also show the traceback.",
    )(func)


def show_traceback(exc: BaseException | None) -> None:
    """With --debug: ``exc``'s traceback on stderr."""
    ctx = click.get_current_context(silent=True)
    if exc is None or ctx is None or not ctx.meta.get(DEBUG):
        return
    import traceback

    click.echo("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), err=True)


def failure_line(exc: BaseException) -> str:
    """An engine failure as one line: its message, and where the user's code raised it
    (' (at overdraft.py:17, in worker)'); with --debug the traceback first."""
    cause = exc.__cause__
    if cause is None:
        return str(exc)
    show_traceback(cause)
    from syncdemo.userfile import where_raised

    return f"{exc}{where_raised(cause)}"


def not_deterministic(exc: BaseException) -> str:
    """The explorer's "same choices, different threads" as what to do about it."""
    return (
        "the workers did not repeat themselves under the same schedule, so they cannot be "
        "explored: explore reruns the code from the state setup() builds, so a worker "
        "must not depend on what changes from run to run (the clock, unseeded randomness, "
        "a file or a cache it fills, the garbage collector) ('syncdemo run' runs such "
        f"code) [{exc}]"
    )


def config(scenario: Scenario[Any], *, hint: str = "", **asked: Any) -> RunConfig:
    """The run's configuration from :func:`syncdemo.engine.config.resolve` (the one place
    defaults come from); a value it refuses is a usage error naming the option, or ``hint``
    (a compare SPEC)."""
    from syncdemo.engine.config import ConfigError, resolve

    try:
        return resolve(scenario, **asked)
    except ConfigError as exc:
        if not exc.option:
            raise click.UsageError(str(exc)) from None
        raise click.BadParameter(str(exc), param_hint=hint or f"'{exc.option}'") from None


def check_file(path: Path, param_hint: str) -> None:
    """Refuse, before anything runs, a file path that cannot be written."""
    if str(path) in ("", ".") or path.is_dir():
        raise click.BadParameter(
            f"needs a file name, not a directory ({str(path)!r}).", param_hint=param_hint
        )
    if not path.parent.is_dir():
        raise click.BadParameter(
            f"cannot write {str(path)!r}: {str(path.parent)!r} is not a directory.",
            param_hint=param_hint,
        )


# --- option decorators --------------------------------------------------------------------


def completion(name: str) -> Callable[..., Any]:
    """The completion function ``name`` of syncdemo.cli.complete, imported when used."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
        from syncdemo.cli import complete as completions

        return getattr(completions, name)(ctx, param, incomplete)

    return complete


def _apply(func: F, options: tuple[Callable[[Any], Any], ...]) -> F:
    for option in reversed(options):
        func = option(func)
    return func


def scenario_argument(func: F) -> F:
    """NAME: a scenario, completed from the registry (or a file, by the shell)."""
    return click.argument("name", shell_complete=completion("complete_scenario"))(func)


def threads_option(
    help: str = "Worker threads.  [default: the scenario's, see 'describe']",
    *,
    high: int = MAX_THREADS,
    default: int | None = None,
) -> Callable[[F], F]:
    return click.option(
        "--threads",
        "-t",
        type=Count(1, high),
        metavar="N",
        default=default,
        show_default=default is not None,
        help=help,
    )


def iterations_option(
    help: str = "Work per thread (increments, items, phases).  [default: the scenario's]",
    *,
    high: int = MAX_ITERATIONS,
    default: int | None = None,
) -> Callable[[F], F]:
    return click.option(
        "--iterations",
        "-n",
        type=Count(1, high),
        metavar="N",
        default=default,
        show_default=default is not None,
        help=help,
    )


def sync_option(func: F) -> F:
    return click.option(
        "--sync",
        "-s",
        shell_complete=completion("complete_sync"),
        help="Sync strategy, e.g. none or lock.  [default: the scenario's]",
    )(func)


def runtime_option(func: F) -> F:
    return click.option(
        "--runtime",
        "-r",
        type=click.Choice(RUNTIMES),
        default="threads",
        show_default=True,
        help=(
            "What runs the workers: threads; asyncio tasks in one event loop (they switch "
            "only at an await); processes (real parallelism, shared memory). See 'describe'."
        ),
    )(func)


def _plot_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """--plot FILE: refused before anything runs when the extra is missing or the name is
    not an image syncdemo draws."""
    if value is None:
        return None
    from syncdemo.render.plot import EXTENSIONS, EXTRA, available

    check_file(value, "'--plot'")
    if value.suffix.lower() not in EXTENSIONS:
        raise click.BadParameter(
            f"{str(value)!r}: a chart is drawn as {', '.join(EXTENSIONS)}.", param_hint="'--plot'"
        )
    if not available():
        raise click.BadParameter(
            f"drawing charts needs matplotlib, an optional extra: {EXTRA}", param_hint="'--plot'"
        )
    return value


def plot_option(func: F) -> F:

    return click.option(
        "--plot",
        type=OutputPath(),
        callback=_plot_path,
        metavar="FILE.png",
        help="Also draw the chart as an image (.png, .svg or .pdf): ops/s of kept work and "
        "the violation rate. Needs the [plot] extra (matplotlib).",
    )(func)


GRANULARITIES = ("line", "opcode", "gil")


def granularity_option(func: F) -> F:
    """--granularity for the commands that run the real code under the scheduler."""
    return click.option(
        "--granularity",
        "-g",
        type=click.Choice(GRANULARITIES),
        default="line",
        show_default=True,
        help=(
            "Where threads may switch: gil (where this CPython's GIL can change hands, in any "
            "Python code), line (those, plus each line of the scenario's code) or opcode "
            "(those, plus each bytecode of it: what a free-threaded build can do). "
            "gil ⊆ line ⊆ opcode; lock operations are switch points at all three."
        ),
    )(func)


def seed_option(help: str) -> Callable[[F], F]:
    return click.option("--seed", type=Count(0, MAX_SEED), metavar="S", help=help)


def check_option(help: str) -> Callable[[F], F]:
    return click.option("--check", is_flag=True, help=help)


def measured_options(func: F) -> F:
    """--trials, --seed, --switch-interval and --race-budget: what every command that runs
    threads takes (their defaults are :mod:`syncdemo.engine.config`'s)."""
    return _apply(
        func,
        (
            click.option(
                "--trials",
                type=Count(1, MAX_TRIALS),
                metavar="N",
                default=DEFAULT_TRIALS,
                show_default=True,
                help="Independent runs (at each point), each on fresh shared state.",
            ),
            seed_option(
                "Fix every random choice a scenario makes, the same for every run.  "
                "[default: a fresh one, reported]"
            ),
            click.option(
                "--switch-interval",
                type=SwitchInterval(),
                default=str(DEFAULT_SWITCH_INTERVAL),
                show_default=True,
                help=(
                    "sys.setswitchinterval for each run, restored afterwards; 'keep' leaves "
                    "the interpreter's (5 ms on CPython). Matters only under the GIL."
                ),
            ),
            click.option(
                "--race-budget",
                type=click.FloatRange(0, MAX_RACE_BUDGET),
                callback=finite,
                default=DEFAULT_RACE_BUDGET,
                show_default=True,
                metavar="SECONDS",
                envvar=RACE_BUDGET_ENV,
                show_envvar=True,
                help=(
                    "For an unsafe strategy: if none of the --trials violated the invariant, "
                    "run more trials until one does or the run has lasted this long, and say "
                    "how many it took (a busy machine can make a few trials all miss a race). "
                    "0: only --trials."
                ),
            ),
        ),
    )
