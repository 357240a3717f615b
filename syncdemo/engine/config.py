"""What a run is, from what was asked: the one place a :class:`RunConfig` gets its defaults.

``syncdemo run``, ``compare``, ``sweep``, ``explore``, ``play``, ``describe`` and the Python
API (``syncdemo.run``) all build their configuration here, so a default cannot differ
between them: the iterations that depend on the runtime and the race window, the window
that depends on the runtime, the race budget, the trials, the switch interval, the
watchdog's timeout. What a command does differently is named by its ``purpose``: a run on
real threads, a sweep (a safe strategy does less work per point), or a run under the
explorer's scheduler (explore's small size, play's game size, one trial, the scenario's
own seed, no race budget: nothing races in virtual time).

Bad values raise :class:`ConfigError` (a ``ValueError``) naming the option at fault; the
CLI turns it into a usage error, the API lets it through.

Imports nothing heavy at module level: the CLI reads the defaults for ``--help``.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from syncdemo.results import RunConfig
    from syncdemo.scenarios.base import Scenario

MAX_THREADS = 2048
MAX_ITERATIONS = 10_000_000
MAX_TRIALS = 10_000
MAX_SEED = 2**63 - 1
DEFAULT_TRIALS = 3
#: The run's default ``sys.setswitchinterval``: 0.1 ms instead of CPython's 5 ms, so that
#: threads interleave many times even in a run that lasts a few milliseconds.
DEFAULT_SWITCH_INTERVAL = 0.0001
#: Seconds without progress before the watchdog calls a trial stuck.
DEFAULT_TIMEOUT = 2.0
#: Seconds an unsafe strategy's run may go on looking for its race: a demo on a busy
#: laptop shows the race and still ends in about a second.
DEFAULT_RACE_BUDGET = 1.0
MAX_RACE_BUDGET = 3600.0
#: Where a race budget is set for every run that does not name one (CLI and API alike).
RACE_BUDGET_ENV = "SYNCDEMO_RACE_BUDGET"
#: ``play``'s game: two threads, one call of the worker each, a line a move.
PLAY_THREADS = 2
PLAY_ITERATIONS = 1
#: A sweep of a safe strategy defaults to the scenario's iterations divided by this:
#: contended synchronisation gets slower with every thread added (a locked counter under
#: the GIL measured from 0.5 to 7 µs an increment at 4 to 8 threads on 2 CPUs, depending
#: on whether the threads convoy on the lock), and 1,2,4,8 threads should take seconds.
SAFE_SWEEP_DIVISOR = 4
RUNTIMES = ("threads", "asyncio", "processes")

Purpose = Literal["run", "sweep", "explore", "play"]
#: The purposes whose workers run under the explorer's scheduler, not on real threads.
SCHEDULED = ("explore", "play")


class ConfigError(ValueError):
    """A value no run can have; ``option`` names the CLI option it came from ("" for a
    combination of options)."""

    def __init__(self, message: str, option: str = "") -> None:
        super().__init__(message)
        self.option = option


def fresh_seed(seed: int | None = None) -> int:
    """``seed``, or a fresh one that the report shows so the run can be repeated."""
    import secrets

    return secrets.randbelow(2**32) if seed is None else seed


def resolve(
    scenario: Scenario[Any],
    *,
    purpose: Purpose = "run",
    sync: str | None = None,
    threads: int | None = None,
    iterations: int | None = None,
    window: str | None = None,
    runtime: str | None = None,
    trials: int | None = None,
    seed: int | None = None,
    switch_interval: float | None = DEFAULT_SWITCH_INTERVAL,
    timeout: float | None = None,
    race_budget: float | None = None,
    trace: bool = False,
    show: int = 3,
    keep_events: bool = False,
    name: str | None = None,
) -> RunConfig:
    """The configuration of one run of ``scenario``: what was given, validated, and every
    None filled with its default for ``purpose``. ``switch_interval=None`` keeps the
    interpreter's; ``race_budget=None`` is $SYNCDEMO_RACE_BUDGET, else 1 s; ``seed=None`` is
    a fresh seed (for explore and play: the scenario's own); ``name`` is what the run is
    called in its report (the scenario's name, or the file it came from)."""
    from syncdemo.results import RunConfig

    scheduled = purpose in SCHEDULED
    sync = sync or scenario.default_sync
    if sync not in scenario.strategy_names():
        raise ConfigError(
            f"{scenario.name} has no strategy {sync!r}; choose from: "
            f"{', '.join(scenario.strategy_names())}.",
            "--sync",
        )
    runtime = runtime or "threads"
    if runtime not in scenario.runtimes or (scheduled and runtime != "threads"):
        can = ("threads",) if scheduled else scenario.runtimes
        raise ConfigError(f"{scenario.name} runs on {', '.join(can)}, not {runtime}.", "--runtime")
    if window is None:
        window = scenario.default_window_for(runtime)
    if window not in scenario.windows:
        choices = ", ".join(scenario.windows) or "none (this scenario has a fixed window)"
        raise ConfigError(
            f"{scenario.name} has no window {window!r}; choose from: {choices}.", "--window"
        )
    if trace and runtime != "threads":
        raise ConfigError("--trace and --export-trace record threads only (--runtime threads).")
    if scheduled:
        small = scenario.explore_size() if purpose == "explore" else (PLAY_THREADS, PLAY_ITERATIONS)
        threads = small[0] if threads is None else threads
        iterations = small[1] if iterations is None else iterations
        trials = 1 if trials is None else trials
        seed = scenario.explore_seed if seed is None else seed
        race_budget = 0.0
    else:
        threads = scenario.default_threads if threads is None else threads
        if iterations is None:
            iterations = scenario.default_iterations_for(runtime, window)
            if purpose == "sweep" and scenario.strategy(sync).safe:
                iterations = max(1, iterations // SAFE_SWEEP_DIVISOR)
        trials = DEFAULT_TRIALS if trials is None else trials
        race_budget = _env_budget() if race_budget is None else race_budget
    return RunConfig(
        scenario=name or scenario.name,
        sync=sync,
        threads=_whole("threads", threads, MAX_THREADS),
        iterations=_whole("iterations", iterations, MAX_ITERATIONS),
        trials=_whole("trials", trials, MAX_TRIALS),
        seed=_whole("seed", fresh_seed(seed), MAX_SEED, low=0),
        switch_interval=switch_interval,
        window=window,
        trace=trace,
        show=show,
        timeout=_seconds("timeout", DEFAULT_TIMEOUT if timeout is None else timeout, 0.1),
        keep_events=keep_events,
        runtime=runtime,
        race_budget=_seconds("race_budget", race_budget, 0.0, MAX_RACE_BUDGET),
    )


def _env_budget() -> float:
    text = os.environ.get(RACE_BUDGET_ENV, "").strip()
    if not text:
        return DEFAULT_RACE_BUDGET
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= MAX_RACE_BUDGET):
        raise ConfigError(
            f"{RACE_BUDGET_ENV}={text!r}: a race budget is 0 to {MAX_RACE_BUDGET:g} seconds.",
            "--race-budget",
        )
    return value


def _whole(what: str, value: int, high: int, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            f"{what} = {value!r}; it must be a whole number {low} to {high:,}.",
            f"--{what.replace('_', '-')}",
        )
    return value


def _seconds(what: str, value: float, low: float, high: float = 3600.0) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ConfigError(
            f"{what} = {value!r}; it must be a number of seconds {low:g} to {high:g}.",
            f"--{what.replace('_', '-')}",
        )
    return float(value)
