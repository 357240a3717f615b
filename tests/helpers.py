"""Helpers the test modules share (import them; conftest.py holds the fixtures).

Nondeterministic outcomes (a race, a deadlock) are asserted within a budget: keep trying
until the outcome is seen or ``BUDGET_S`` has passed, and assert it was seen at least
once. A busy CI machine (2 CPUs, suites run two at a time) makes a race rarer, never
impossible, so a budget of many seconds turns "flaky" into "slower when loaded". What a
safe strategy guarantees stays strict: never a violation, in any trial.
"""

from __future__ import annotations

import dataclasses
import io
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from syncdemo import scenarios
from syncdemo.cli import cli
from syncdemo.engine import runner as engine
from syncdemo.engine.config import resolve
from syncdemo.results import RunConfig, RunResult

T = TypeVar("T")

#: Seconds a test may spend looking for a nondeterministic outcome before it fails. A race
#: that syncdemo's defaults show in every trial of an idle machine shows within a second
#: on a busy one; 60 s is a limit for a broken demo, not a speed requirement.
BUDGET_S = 60.0
#: The watchdog's --timeout in tests: a hang guard, not the CLI's 2 s, so that a loaded
#: machine that starves a thread for a while does not turn a safe run into a "stuck" one.
#: (Deadlocks are still seen at once, as wait-for cycles.)
WATCHDOG_S = 30.0

#: A user file whose workers never return (issue 23: explore refuses it; Ctrl-C stops it).
ENDLESS = """\
import syncdemo


@syncdemo.scenario
class Endless:
    threads = 2
    iterations = 1

    def setup(self):
        self.x = 0

    def worker(self, thread):
        while True:
            self.x += 1

    def check(self):
        return True
"""


def commands() -> dict[str, click.Command]:
    """Every command of the lazy group, loaded, by name."""
    ctx = click.Context(cli)
    found = {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}
    return {name: command for name, command in found.items() if command is not None}


def config(name: str, sync: str, **changes: Any) -> RunConfig:
    """The RunConfig ``syncdemo run NAME --sync SYNC --seed 2024 --race-budget 0`` builds,
    from the same resolver, with the watchdog's timeout at WATCHDOG_S, and ``changes``."""
    asked: dict[str, Any] = {"seed": 2024, "race_budget": 0.0, "timeout": WATCHDOG_S}
    return resolve(scenarios.get(name), sync=sync, **{**asked, **changes})


def render(renderable: Any, width: int = 100) -> str:
    """What ``renderable`` prints at ``width`` columns, without colour, on a console made
    the way any caller makes one (Rich's defaults: markup on), not syncdemo's own: what a
    renderer returns must not depend on the console it is printed on."""
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def timed(result: RunResult, *elapsed_s: float) -> RunResult:
    """The same run, every trial taking ``elapsed_s`` (one value: all of them; several: one
    a trial, in order): ops/s = ops / elapsed_s."""
    times = elapsed_s * len(result.trials) if len(elapsed_s) == 1 else elapsed_s
    trials = tuple(
        dataclasses.replace(t, elapsed_s=s) for t, s in zip(result.trials, times, strict=True)
    )
    return dataclasses.replace(result, trials=trials)


def run(name: str, sync: str, **changes: Any) -> RunResult:
    """Run ``name`` with ``sync`` on real threads at its defaults (see :func:`config`)."""
    return engine.run(scenarios.get(name), config(name, sync, **changes))


def run_until_violated(name: str, sync: str, **changes: Any) -> RunResult:
    """Run trials until one violates the invariant or ``BUDGET_S`` has passed (the engine's
    race budget); assert one did, and return the run."""
    changes.setdefault("race_budget", BUDGET_S)
    changes.setdefault("trials", 1)
    result = run(name, sync, **changes)
    assert not result.ok, (
        f"{name} --sync {sync} never violated its invariant in {len(result.trials)} trials "
        f"({changes['race_budget']:.0f} s): {[t.outcome for t in result.trials[-3:]]}"
    )
    return result


def seen_within(
    attempt: Callable[[], T], seen: Callable[[T], bool], budget_s: float = BUDGET_S
) -> T:
    """Call ``attempt`` until ``seen`` is true of what it returned, for at most ``budget_s``
    (at least once); return that result, or fail saying how many attempts missed."""
    deadline = time.monotonic() + budget_s
    tries = 0
    while True:
        result = attempt()
        tries += 1
        if seen(result):
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"not seen in {tries} attempts ({budget_s:.0f} s): {result!r}")


def no_worker_threads_left() -> bool:
    return not [t for t in threading.enumerate() if t.name.startswith("syncdemo-") and t.is_alive()]


def workers_end_within(seconds: float) -> bool:
    """Whether every worker thread has ended within ``seconds``: after Ctrl-C the engine
    waits only INTERRUPT_GRACE_S for them (they are daemons, and the command must end at
    once), so a worker told to stop may still be on its way out when run() returns; on a
    busy machine or a free-threaded build, by more than that grace."""
    deadline = time.monotonic() + seconds
    while not no_worker_threads_left():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def wait_for_threads_started(pid: int, count: int, timeout: float = BUDGET_S) -> None:
    """Wait until process ``pid`` has started ``count`` threads besides its main one, each
    counted once even after it ended (Linux, /proc; elsewhere, just sleep 2 s), or until
    ``timeout``: a test that sends Ctrl-C "during the second run" waits for that run's
    threads, not for a guessed number of seconds."""
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        time.sleep(2)
        return
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < count and time.monotonic() < deadline:
        try:
            seen |= {t.name for t in tasks.iterdir()} - {str(pid)}
        except OSError:
            return  # the process ended
        time.sleep(0.002)


def wait_for_steady_threads(
    pid: int, count: int, steady_s: float = 0.3, timeout: float = BUDGET_S
) -> None:
    """Wait until process ``pid`` has run the same ``count`` (or more) threads besides its
    main one for ``steady_s`` (Linux, /proc; elsewhere, just sleep 2 s), or ``timeout``: the
    threads of a run that lasts, not of a short one before it that came and went."""
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        time.sleep(2)
        return
    deadline = time.monotonic() + timeout
    steady: set[str] = set()
    since = time.monotonic()
    while time.monotonic() < deadline:
        try:
            now = {t.name for t in tasks.iterdir()} - {str(pid)}
        except OSError:
            return  # the process ended
        if len(now) < count or now != steady:
            steady, since = now, time.monotonic()
        elif time.monotonic() - since >= steady_s:
            return
        time.sleep(0.01)


def env(**changes: str | None) -> dict[str, str]:
    """This environment for a child ``syncdemo`` process: nothing that forces colour,
    ``COLUMNS=120``, plus ``changes`` (None removes a variable)."""
    result = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    result["COLUMNS"] = "120"
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


#: ``syncdemo run`` options: run trials until the race shows (at most BUDGET_S), or run
#: exactly ``--trials`` (for tests that count trials or rows, not violations).
UNTIL_SEEN = ("--race-budget", f"{BUDGET_S:g}")
EXACT_TRIALS = ("--race-budget", "0")


def scenario_file(folder: Path, name: str, source: str) -> Any:
    """A user's scenario file written into ``folder`` and loaded as syncdemo loads one."""
    path = folder / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    return scenarios.get(str(path))
