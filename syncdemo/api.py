"""``syncdemo.run(...)``: a scenario run from Python (a pytest test, a notebook), with the
CLI's defaults, returning the same :class:`~syncdemo.results.RunResult` the CLI renders.

A test asserts ``syncdemo.run(MyScenario, sync="lock").ok``. Bad arguments raise
``ValueError`` with the CLI's message; a scenario that cannot be found or loaded raises
``LookupError`` (``syncdemo.scenarios.ScenarioError``); an exception in the scenario's own
code raises ``syncdemo.engine.runner.EngineError`` chained to it.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from syncdemo.engine.config import DEFAULT_SWITCH_INTERVAL

if TYPE_CHECKING:
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


def resolve(scenario: Any) -> Scenario[Any]:
    """The Scenario object for what :func:`run` was given."""
    from syncdemo import scenarios, userfile

    if isinstance(scenario, str):
        return scenarios.get(scenario)
    if isinstance(scenario, type):
        try:
            origin = userfile._relative(inspect.getfile(scenario))
        except TypeError:
            origin = scenario.__module__
        return userfile.adapt(scenario, origin)
    return userfile.adapt(scenario, "")
