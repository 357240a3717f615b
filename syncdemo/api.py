"""``syncdemo.run(...)`` and ``syncdemo.explore(...)`` from Python (a pytest test, a
notebook, the REPL), with the CLI's defaults, returning what the CLI renders: a
:class:`~syncdemo.results.RunResult`, an explore :class:`~syncdemo.explore.report.Report`.

A test asserts ``syncdemo.run(MyScenario, sync="lock").ok`` or
``syncdemo.explore(MyScenario, sync="lock").proved``. Bad arguments raise
``ValueError`` with the CLI's message; a scenario that cannot be found or loaded raises
``LookupError`` (``syncdemo.scenarios.ScenarioError``); an exception in the scenario's own
code raises ``syncdemo.engine.runner.EngineError`` chained to it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from syncdemo.engine.config import DEFAULT_SWITCH_INTERVAL

if TYPE_CHECKING:
    from syncdemo.explore.report import Report
    from syncdemo.results import RunResult
    from syncdemo.scenarios.base import Scenario


def run(
    scenario: Any,
    *,
    sync: str | None = None,
    threads: int | None = None,
    iterations: int | None = None,
    trials: int | None = None,
    seed: int | None = None,
    switch_interval: float | None = DEFAULT_SWITCH_INTERVAL,
    window: str | None = None,
    runtime: str | None = None,
    timeout: float | None = None,
    race_budget: float | None = None,
) -> RunResult:
    """Run ``scenario`` as ``syncdemo run`` does, with its defaults, and return the result.

    ``scenario`` is a class decorated with ``@syncdemo.scenario`` (or any class in that
    format), a built-in or plugin name ("counter"), or a reference to the user's code
    ("overdraft.py", "overdraft.py:Overdraft", "package.module:Class"). ``None`` means the
    default ``syncdemo run`` has (both come from :func:`syncdemo.engine.config.resolve`):
    the scenario's strategy, threads and window, the iterations of that window on that
    runtime, 3 trials, a fresh seed, threads, a 2 s watchdog, and a race budget of
    $SYNCDEMO_RACE_BUDGET or 1 s; ``switch_interval=None`` keeps the interpreter's.
    """
    from syncdemo.engine import runner
    from syncdemo.engine.config import resolve as configure

    target = resolve(scenario)
    config = configure(
        target,
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
    )
    return runner.run(target, config)


def explore(
    scenario: Any,
    *,
    sync: str | None = None,
    threads: int | None = None,
    iterations: int | None = None,
    seed: int | None = None,
    granularity: str = "line",
    max_preemptions: int | str | None = "default",
    limit: int | None = None,
    time_limit: float | None = 300.0,
    schedule: str | None = None,
    name: str | None = None,
) -> Report:
    """Explore ``scenario`` as ``syncdemo explore`` does, and return its report.

    ``scenario`` is what :func:`run` takes, or a plain function that starts its own threads.
    The report's ``violated`` says a schedule broke the invariant (``proved``: every schedule
    within the bound kept it); ``exploration.counterexample`` is the shortest failing
    schedule, its steps and ``replay``, how to run it again: a command line for code in a
    file, this call with ``schedule=...`` for code defined in the REPL or a notebook.
    ``max_preemptions`` is the scenario's bound unless given (None: unbounded); with
    ``schedule`` (as ``replay`` gives it) the one schedule is run and shown in ``replay``.
    ``report.verdict()`` is the report's last sentence, ``report.to_dict()`` its JSON.
    ``name`` is how the replay command names the code (``tests/test_bank.py::test_x``)
    where the default (its file and name) is not the one to give.
    """
    from dataclasses import replace

    from syncdemo.engine.config import resolve as configure
    from syncdemo.explore import explorer, search
    from syncdemo.explore.report import Report

    target = resolve(scenario)
    config = configure(
        target, purpose="explore", sync=sync, threads=threads, iterations=iterations, seed=seed
    )
    if granularity not in ("line", "opcode", "gil"):
        raise ValueError(f"granularity is 'line', 'opcode' or 'gil', not {granularity!r}")
    bound = target.explore_preemptions if max_preemptions == "default" else max_preemptions
    if bound is not None and (not isinstance(bound, int) or bound < 0):
        raise ValueError(f"max_preemptions is a whole number or None, not {max_preemptions!r}")
    name = name or _named(scenario, target)
    command = None if name else _call_again(scenario, config, granularity, max_preemptions)
    report = Report.of(target, config, granularity, name)
    if schedule is not None:
        try:
            steps, fingerprint = explorer.parse_schedule(schedule)
        except ValueError as exc:
            raise ValueError(f"schedule: {exc}") from None
        run_one = explorer.replay(
            target,
            config,
            steps,
            granularity=granularity,
            fingerprint=fingerprint,
            name=name,
            command=command,
        )
        return replace(report, replay=run_one)
    found = explorer.explore(
        target,
        config,
        granularity=granularity,
        max_preemptions=bound,
        limit=limit or target.explore_limit or search.DEFAULT_LIMIT,
        name=name,
        command=command,
        time_limit=time_limit,
    )
    return replace(report, exploration=found)


def _named(given: Any, target: Scenario[Any]) -> str:
    """How the CLI names what was given ("" for code with no file, the REPL's)."""
    if isinstance(given, str):
        return given
    origin = target.origin
    if getattr(given, "__module__", "") != "__main__" and origin.endswith(".py"):
        qualname = getattr(given, "__qualname__", getattr(given, "__name__", ""))
        if "<locals>" not in qualname:
            return f"{origin.partition(':')[0]}:{qualname}"
    return ""


def _call_again(
    given: Any, config: Any, granularity: str, max_preemptions: int | str | None
) -> Callable[[tuple[int, ...]], str]:
    """The replay, for code with no file to name: this function called again."""
    from syncdemo.explore.explorer import format_schedule

    name = getattr(given, "__name__", "scenario")
    extra = "" if granularity == "line" else f", granularity={granularity!r}"
    if max_preemptions != "default":
        extra += f", max_preemptions={max_preemptions!r}"

    def command(schedule: tuple[int, ...]) -> str:
        return (
            f"syncdemo.explore({name}, sync={config.sync!r}, threads={config.threads}, "
            f"iterations={config.iterations}{extra}, schedule={format_schedule(schedule)!r})"
        )

    return command


def resolve(scenario: Any) -> Scenario[Any]:
    """The Scenario object for what :func:`run` was given."""
    from syncdemo import scenarios, userfile

    if isinstance(scenario, str):
        return scenarios.get(scenario)
    if inspect.isfunction(scenario):  # a plain function: the threads it starts
        from syncdemo.scenarios.user import function_class

        scenario = function_class(scenario, _origin(scenario))
    if isinstance(scenario, type):
        return userfile.adapt(scenario, _origin(scenario))
    return userfile.adapt(scenario, "")


def _origin(obj: Any) -> str:
    """The file that defines ``obj`` (as the CLI would name it), else its module's name."""
    from syncdemo import userfile

    try:
        return userfile._relative(inspect.getfile(obj))
    except (TypeError, OSError):  # defined in the REPL, `python -c` or a notebook
        return str(obj.__module__)
