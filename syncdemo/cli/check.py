"""``syncdemo check``: a class's methods called from a few threads at once under the
explorer, each history compared with every sequential order of the same calls
(linearizability). Parses and dispatches only; the work is :mod:`syncdemo.linearize`.

Only click is imported here at module level (``syncdemo --help`` stays fast).
"""

from __future__ import annotations

import difflib
import sys
from typing import TYPE_CHECKING, Any

import click

from syncdemo.cli import options as opt
from syncdemo.cli.options import EXIT_INTERRUPTED, EXIT_VIOLATED, Count
from syncdemo.cli.output import OutputOptions, output_options_for

if TYPE_CHECKING:
    from rich.console import RenderableType

MAX_THREADS = 4
MAX_CALLS = 4
MAX_SCENARIOS = 100_000
DEFAULT_SCENARIOS = 20
DEFAULT_TIME_LIMIT = 300.0
#: Keep in step with syncdemo.explore.search.DEFAULT_LIMIT (not imported: --help stays light).
DEFAULT_LIMIT = 20_000


class Preemptions(click.ParamType):  # type: ignore[type-arg]
    """K, or 'unbounded' (None)."""

    name = "K"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or isinstance(value, int):
            return value
        if str(value).strip().lower() in ("unbounded", "none", "all", "inf"):
            return None
        return Count(0, 1000).convert(value, param, ctx)


@click.command()
@click.argument("target", metavar="TARGET")
@click.option(
    "--ops",
    metavar="CALLS",
    help="The calls to draw from, e.g. 'put(1,1),put(2,2),get(1),get(2)' (literal "
    "arguments).  [default: every public method, with arguments from its type hints]",
)
@click.option(
    "--threads",
    "-t",
    type=Count(2, MAX_THREADS),
    default=2,
    show_default=True,
    metavar="N",
    help="Threads calling the one shared instance at once.",
)
@click.option(
    "--per-thread",
    "-n",
    "per_thread",
    type=Count(1, MAX_CALLS),
    default=2,
    show_default=True,
    metavar="N",
    help="Calls each thread makes, one after another.",
)
@click.option(
    "--scenarios",
    type=Count(1, MAX_SCENARIOS),
    default=DEFAULT_SCENARIOS,
    show_default=True,
    metavar="N",
    help="How many different sets of calls to try (all of them, when there are fewer).",
)
@opt.seed_option("Which sets of calls are drawn.  [default: 0]")
@click.option(
    "--calls",
    "plan",
    metavar="'A; B | C'",
    help="Exactly these calls: each thread's, in order, separated by '|' (what a report's "
    "replay command gives), e.g. 'put(1, 1); get(1) | put(2, 2)'.",
)
@click.option(
    "--max-preemptions",
    type=Preemptions(),
    default="2",
    show_default=True,
    help="Only schedules that switch away from a runnable thread at most K times; "
    "'unbounded' tries them all.",
)
@opt.granularity_option
@click.option(
    "--schedule",
    metavar="T,T,...",
    help="With --calls: replay one schedule step by step (from a report's replay command).",
)
@click.option(
    "--no-minimize",
    "minimize",
    flag_value=False,
    default=True,
    help="Show the failing history as found, without dropping calls from it.",
)
@click.option(
    "--limit",
    type=Count(1, 10_000_000),
    default=DEFAULT_LIMIT,
    show_default=True,
    metavar="RUNS",
    help="The most schedules one set of calls is explored with.",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(0, 7 * 24 * 3600.0, min_open=True),
    callback=opt.finite,
    default=DEFAULT_TIME_LIMIT,
    show_default=True,
    metavar="SECONDS",
    help="The longest the whole check runs; past it, it stops and says what it covered.",
)
@output_options_for("table", "json")
@opt.debug_option
def check(
    target: str,
    ops: str | None,
    threads: int,
    per_thread: int,
    scenarios: int,
    seed: int | None,
    plan: str | None,
    max_preemptions: int | None,
    granularity: str,
    schedule: str | None,
    minimize: bool,
    limit: int,
    time_limit: float,
    out: OutputOptions,
) -> None:
    """Check a class for linearizability: its methods called from threads at once.

    The methods are called from a few threads at once on one fresh instance, under
    syncdemo's scheduler, and each outcome is compared with every order of the same calls
    made one at a time.

    A history (who called what, what it returned or raised, which call returned before
    which began) that no sequential order reproduces is not linearizable: exit 1, with
    the history minimized to the fewest calls, the sequential results it cannot match,
    and the command that replays its schedule. None found: exit 0, and what was covered
    (not a proof of thread-safety beyond those histories).

    TARGET is FILE.py:Class or package.module:Class (loading it runs its top-level
    code). Its constructor must need no arguments, or only ones with type hints.

    \b
    Examples:
      syncdemo check cache.py:LRUCache
      syncdemo check cache.py:LRUCache --ops 'put(1,1),put(2,2),get(1),get(2)'
      syncdemo check mypkg.counters:Counter -t 3 -n 1
      syncdemo check cache.py:LRUCache -f json | jq .failure.history
    """
    if schedule is not None and plan is None:
        raise click.UsageError("--schedule replays one schedule of --calls; give --calls too.")
    if granularity == "gil" and _free_threaded():
        raise click.BadParameter(
            "gil: this free-threaded build has no GIL to switch at; use line or opcode.",
            param_hint="'--granularity'",
        )
    from syncdemo.linearize import calls as calls_mod
    from syncdemo.linearize.check import Settings

    cls = load_class(target)
    where = "'TARGET'"
    try:
        make = calls_mod.constructor(cls)
        _made(cls, make)
        where = "'--ops'"
        pool = calls_mod.parse_ops(ops, cls) if ops is not None else ()
        where = "'--calls'"
        exact = calls_mod.parse_plan(plan, cls) if plan is not None else None
        where = "'TARGET'"
        if ops is None and exact is None:
            pool = calls_mod.generated(cls)
    except calls_mod.BadCalls as exc:
        raise click.BadParameter(str(exc), param_hint=where) from None
    if exact is not None:
        pool = tuple(dict.fromkeys(c for t in exact for c in t))
    settings = Settings(
        threads=len(exact) if exact else threads,
        calls=max(len(t) for t in exact) if exact else per_thread,
        scenarios=scenarios,
        seed=seed or 0,
        max_preemptions=max_preemptions,
        granularity=granularity,
        limit=limit,
        time_limit=time_limit,
        minimize=minimize,
    )
    ctx = click.get_current_context()
    try:
        if schedule is not None and exact is not None:
            _replay(cls, make, target, exact, schedule, settings, out)
            return
        from syncdemo.linearize.check import check as run_check

        checked = run_check(cls, make, pool, target, settings, exact)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    except (click.exceptions.Exit, click.ClickException):
        raise
    except RuntimeError as exc:  # the class's code cannot be explored, or failed outside a call
        from syncdemo.explore import search

        opt.show_traceback(exc)
        if isinstance(exc, search.NotDeterministic):
            raise click.ClickException(opt.not_deterministic(exc)) from None
        raise click.ClickException(opt.failure_line(exc)) from None

    def table() -> RenderableType:
        from syncdemo.linearize.report import checked_report

        return checked_report(checked)

    _emit(out, table, checked.to_dict)
    if not checked.ok:
        ctx.exit(EXIT_VIOLATED)
    if not checked.complete:
        click.echo(f"Stopped by {checked.stopped_by}: the check is incomplete.", err=True)


def _emit(out: OutputOptions, table: Any, data: Any) -> None:
    import json

    from syncdemo.cli.output import Session

    with Session(out, total_trials=0) as session:
        session.finish(table, {"json": lambda: json.dumps(data(), indent=2)})


def _replay(
    cls: type, make: Any, target: str, plan: Any, text: str, settings: Any, out: OutputOptions
) -> None:
    from syncdemo.explore import explorer, search
    from syncdemo.linearize.check import replay

    try:
        steps, fingerprint = explorer.parse_schedule(text)
        if not steps:
            raise ValueError("a schedule needs at least one thread number")
        run, history, failure = replay(cls, make, target, plan, steps, fingerprint, settings)
    except explorer.SourceChanged as exc:
        raise click.ClickException(str(exc)) from None
    except (ValueError, search.BadSchedule) as exc:
        raise click.BadParameter(str(exc), param_hint="'--schedule'") from None

    def table() -> RenderableType:
        from syncdemo.linearize.report import replay_report

        return replay_report(target, run, history, failure)

    def data() -> dict[str, Any]:
        return {
            "target": target,
            "linearizable": failure is None,
            "history": [o.to_dict() for o in history.ops] if history is not None else None,
            "failure": failure.to_dict() if failure is not None else None,
            "replay": run.to_dict(),
        }

    _emit(out, table, data)
    if failure is not None:
        click.get_current_context().exit(EXIT_VIOLATED)


def _free_threaded() -> bool:
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return is_enabled is not None and not is_enabled()


def _made(cls: type, make: Any) -> None:
    """Make one instance now, so that a constructor that fails is one line before any
    thread runs."""
    from syncdemo import guard
    from syncdemo.linearize.calls import BadCalls

    try:
        make()
    except Exception as exc:
        opt.show_traceback(exc)
        raise BadCalls(f"making a {cls.__name__} raised {guard.failure(exc)}") from None


def load_class(text: str) -> type:
    """The class ``FILE.py:Class`` or ``package.module:Class`` names (one line, exit 2,
    for anything else)."""
    from pathlib import Path

    from syncdemo import scenarios, userfile

    hint = "'TARGET'"
    try:
        if ".py:" in text:
            path, _, attr = text.rpartition(".py:")
            module = userfile.import_file(Path(path + ".py"), path + ".py")
            if not Path(path + ".py").is_file():
                raise click.BadParameter(f"No such file: {path + '.py'!r}.", param_hint=hint)
        elif userfile.MODULE_REFERENCE.fullmatch(text):
            name, _, attr = text.partition(":")
            module = _import(name)
        else:
            raise click.BadParameter(
                f"{text!r}: give the class, as FILE.py:Class or package.module:Class.",
                param_hint=hint,
            )
    except scenarios.ScenarioError as exc:
        raise opt.lookup_error(exc, hint) from None
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
    if obj is None:
        known = [k for k, v in vars(module).items() if isinstance(v, type) and k[0] != "_"]
        close = difflib.get_close_matches(attr, known, n=3, cutoff=0.5)
        also = f" Did you mean {' or '.join(close)}?" if close else ""
        raise click.BadParameter(f"{text}: there is no {attr!r} in it.{also}", param_hint=hint)
    if not isinstance(obj, type):
        raise click.BadParameter(
            f"{text}: {attr} is a {type(obj).__name__}, not a class.", param_hint=hint
        )
    return obj


def _import(name: str) -> Any:
    import importlib
    from pathlib import Path

    from syncdemo import guard

    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(name)
    except BaseException as exc:
        if guard.real_interrupt(exc):
            raise
        opt.show_traceback(exc)
        if isinstance(exc, ModuleNotFoundError) and exc.name == name:
            raise click.BadParameter(f"No module named {name!r}.", param_hint="'TARGET'") from None
        raise click.BadParameter(
            f"Importing {name} failed: {guard.failure(exc)}", param_hint="'TARGET'"
        ) from None
