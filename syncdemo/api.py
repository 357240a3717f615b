"""``syncdemo.run(...)``: a scenario run from Python (a pytest test, a notebook), with the
CLI's defaults, returning the same :class:`~syncdemo.results.RunResult` the CLI renders.

A test asserts ``syncdemo.run(MyScenario, sync="lock").ok``. Bad arguments raise
``ValueError`` with the CLI's message; a scenario that cannot be found or loaded raises
``LookupError`` (``syncdemo.scenarios.ScenarioError``); an exception in the scenario's own
code raises ``syncdemo.engine.runner.EngineError`` chained to it.
"""

from __future__ import annotations

import inspect
import secrets
from typing import TYPE_CHECKING, Any

from syncdemo.cli.options import (
    DEFAULT_SWITCH_INTERVAL,
    MAX_ITERATIONS,
    MAX_SEED,
    MAX_THREADS,
    MAX_TRIALS,
)

if TYPE_CHECKING:
    from syncdemo.results import RunResult
    from syncdemo.scenarios.base import Scenario


def run(
    scenario: Any,
    *,
    sync: str | None = None,
    threads: int | None = None,
    iterations: int | None = None,
    trials: int = 3,
    seed: int | None = None,
    switch_interval: float | None = DEFAULT_SWITCH_INTERVAL,
    window: str | None = None,
    timeout: float = 2.0,
) -> RunResult:
    """Run ``scenario`` on real threads, as ``syncdemo run`` does, and return the result.

    ``scenario`` is a class decorated with ``@syncdemo.scenario`` (or any class in that
    format), a built-in or plugin name ("counter"), or a reference to the user's code
    ("overdraft.py", "overdraft.py:Overdraft", "package.module:Class"). ``None`` for
    ``sync``, ``threads``, ``iterations`` and ``window`` means the scenario's default;
    ``switch_interval=None`` keeps the interpreter's.
    """
    from syncdemo.engine import runner
    from syncdemo.results import RunConfig

    target = resolve(scenario)
    sync = sync or target.default_sync
    if sync not in target.strategy_names():
        choices = ", ".join(target.strategy_names())
        raise ValueError(f"{target.name} has no strategy {sync!r}; choose from: {choices}.")
    window = target.default_window if window is None else window
    if window not in target.windows:
        raise ValueError(f"{target.name} has no window {window!r}; choose from: {target.windows}")
    config = RunConfig(
        scenario=target.name,
        sync=sync,
        threads=_bounded("threads", _or(threads, target.default_threads), MAX_THREADS),
        iterations=_bounded(
            "iterations", _or(iterations, target.default_iterations), MAX_ITERATIONS
        ),
        trials=_bounded("trials", trials, MAX_TRIALS),
        seed=secrets.randbelow(2**32) if seed is None else _bounded("seed", seed, MAX_SEED, 0),
        switch_interval=switch_interval,
        window=window,
        timeout=timeout,
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


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _bounded(what: str, value: int, high: int, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{what} = {value!r}; it must be a whole number {low} to {high:,}.")
    return value
