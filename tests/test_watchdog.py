"""Deadlocks never hang syncdemo: the wait-for graph, the watchdog, and what the run reports.

Unit tests drive the Watchdog with a fake clock and the cycle finder with hand-made graphs;
integration tests deadlock real scenarios and check the report names the right threads and
locks, that the trial ends within --timeout, and that no thread is left behind.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import helpers
import pytest
from click.testing import Result
from helpers import no_worker_threads_left

from syncdemo import scenarios
from syncdemo.engine import runner as engine
from syncdemo.engine.context import Stopped, ThreadContext
from syncdemo.engine.locks import (
    SLICE_S,
    Snapshot,
    WaitForGraph,
    Who,
    describe_cycle,
    describe_graph,
    find_cycle,
)
from syncdemo.engine.watchdog import CYCLE, NO_PROGRESS, Stuck, Watchdog
from syncdemo.results import Outcome, RunConfig, RunResult
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks

# --- the Watchdog on its own, with a fake clock ----------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_no_progress_fires_after_the_timeout_and_only_once() -> None:
    clock = Clock()
    dog = Watchdog(2.0, progress=lambda: 7, clock=clock)
    assert dog.poll() is None
    clock.now += 1.9
    assert dog.poll() is None
    clock.now += 0.2
    stuck = dog.poll()
    assert stuck is not None and stuck.reason == NO_PROGRESS
    assert stuck.stalled_s == pytest.approx(2.1)
    assert "2.1 s" in stuck.detail
    assert dog.fired is stuck
    clock.now += 10
    assert dog.poll() is None, "it reports once"


def test_progress_resets_the_timeout() -> None:
    clock = Clock()
    value = [0]
    dog = Watchdog(1.0, progress=lambda: value[0], clock=clock)
    for _ in range(20):
        clock.now += 0.6
        value[0] += 1
        assert dog.poll() is None
    clock.now += 0.6
    assert dog.poll() is None  # 0.6 s without progress
    clock.now += 0.5
    assert dog.poll() is not None  # 1.1 s


def test_a_cycle_fires_once_seen_twice_in_a_row() -> None:
    clock = Clock()
    seen: list[str | None] = ["a -> b -> a", None, "a -> b -> a", "a -> b -> a"]
    dog = Watchdog(60.0, progress=lambda: 1, deadlock=lambda: seen.pop(0), clock=clock)
    assert dog.poll() is None  # first sighting
    assert dog.poll() is None  # gone again: it was not for certain
    assert dog.poll() is None  # seen again: first of a new streak
    stuck = dog.poll()
    assert stuck == Stuck(CYCLE, "a -> b -> a", 0.0)


def test_a_changing_cycle_does_not_fire() -> None:
    cycles = iter(["x", "y", "x", "y"])
    dog = Watchdog(60.0, progress=lambda: 1, deadlock=lambda: next(cycles), clock=Clock())
    assert [dog.poll() for _ in range(4)] == [None] * 4


# --- the wait-for graph ----------------------------------------------------------------------


def snap(
    holders: dict[str, str], waiting: dict[str, str], impatient: Sequence[str] = ()
) -> Snapshot:
    return Snapshot(holders, waiting, frozenset(set(waiting) - set(impatient)))


def test_two_threads_in_opposite_order() -> None:
    s = snap(
        {"lock A": "thread 1", "lock B": "thread 0"}, {"thread 1": "lock B", "thread 0": "lock A"}
    )
    assert find_cycle(s) == ["thread 0", "thread 1"]  # starts at the first thread by number
    assert describe_cycle(s, ["thread 0", "thread 1"]) == (
        "thread 0 holds lock B, waits for lock A -> thread 1 holds lock A, waits for lock B "
        "-> thread 0"
    )


def test_a_table_of_philosophers() -> None:
    n = 12
    holders = {f"fork {i}": f"philosopher {i}" for i in range(n)}
    waiting = {f"philosopher {i}": f"fork {(i + 1) % n}" for i in range(n)}
    s = snap(holders, waiting)
    cycle = find_cycle(s)
    assert cycle == [f"philosopher {i}" for i in range(n)]  # 10 and 11 sort after 9
    text = describe_cycle(s, cycle)
    assert text.startswith("philosopher 0 holds fork 0, waits for fork 1 -> philosopher 1")
    assert "philosopher 11 holds fork 11, waits for fork 0 -> philosopher 0" in text


def test_a_chain_is_not_a_cycle() -> None:
    s = snap({"a": "t1", "b": "t2"}, {"t0": "a", "t1": "b"})  # t2 is running
    assert find_cycle(s) is None
    assert describe_graph(s) == "t0 waits for a (held by t1); t1 waits for b (held by t2)"
    assert describe_graph(s, leave_out=["t0"]) == "t1 waits for b (held by t2)"


def test_a_timed_waiter_makes_a_cycle_uncertain() -> None:
    s = snap({"a": "t1", "b": "t0"}, {"t0": "a", "t1": "b"}, impatient=["t1"])
    assert find_cycle(s) is None  # t1 will give up (trylock): not a deadlock for certain
    assert find_cycle(s, patient_only=False) == ["t0", "t1"]


def test_blocked_threads_outside_the_cycle() -> None:
    s = snap(
        {"A": "t0", "B": "t1"},
        {"t0": "B", "t1": "A", "t2": "A", "t3": "C"},
    )
    assert find_cycle(s) == ["t0", "t1"]
    assert describe_graph(s, leave_out=["t0", "t1"]) == (
        "t2 waits for A (held by t0); t3 waits for C (free a moment ago)"
    )


def test_traced_locks_record_holders_and_waiters() -> None:
    graph = WaitForGraph()
    a, b = graph.lock("lock A"), graph.lock("lock B")
    stop = threading.Event()
    me, other = Who("thread 0", stop), Who("thread 1", stop)
    assert a.acquire(me)
    assert graph.snapshot().holders == {"lock A": "thread 0"}
    began = time.monotonic()
    assert a.acquire(other, timeout=0.05) is False  # a trylock gives up, and says so
    assert time.monotonic() - began >= 0.04
    assert graph.snapshot().waiting == {}, "a waiter that gave up is no longer waiting"
    assert b.acquire(other)
    a.release(me)
    b.release(other)
    assert graph.snapshot() == Snapshot({}, {}, frozenset())


@pytest.mark.timeout(30)
def test_a_deadlocked_pair_of_traced_locks_is_seen_and_gives_up() -> None:
    graph = WaitForGraph()
    a, b = graph.lock("lock A"), graph.lock("lock B")
    stop = threading.Event()
    both_hold = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def take(name: str, first: Any, second: Any) -> None:
        me = Who(name, stop)
        first.acquire(me)
        both_hold.wait()
        try:
            second.acquire(me)
        except Stopped:
            outcome[name] = "gave up"

    threads = [
        threading.Thread(target=take, args=("thread 0", a, b)),
        threading.Thread(target=take, args=("thread 1", b, a)),
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while graph.deadlock() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert graph.deadlock() == (
        "thread 0 holds lock A, waits for lock B -> thread 1 holds lock B, waits for lock A "
        "-> thread 0"
    )
    began = time.monotonic()
    stop.set()
    for t in threads:
        t.join(5)
    assert time.monotonic() - began < 10 + 4 * SLICE_S, "a hang guard: they give up"
    assert outcome == {"thread 0": "gave up", "thread 1": "gave up"}


# --- real deadlocks, end to end ---------------------------------------------------------------


def run(name: str, sync: str, **changes: Any) -> RunResult:
    """One trial of ``name`` (seed 7), more only if ``race_budget`` asks for them."""
    changes.setdefault("trials", 1)
    changes.setdefault("seed", 7)
    return helpers.run(name, sync, **changes)


def run_until_violated(name: str, sync: str, **changes: Any) -> RunResult:
    """Trials until one deadlocks (or otherwise violates), within the tests' budget."""
    changes.setdefault("seed", 7)
    return helpers.run_until_violated(name, sync, **changes)


PAIR = re.compile(
    r"^thread (\d) holds lock ([AB]), waits for lock ([AB]) -> "
    r"thread (\d) holds lock \3, waits for lock \2 -> thread \1$"
)


@pytest.mark.timeout(180)
def test_a_deadlock_is_reported_with_its_cycle() -> None:
    """Trials until one deadlocks (4 threads, the default; most trials do, and on 3.10,
    where sleep(0) hardly yields, fewer): each that deadlocked was seen as a wait-for cycle
    (not by the --timeout, set far away here), names the two threads and the two locks of
    the cycle, and ended; each that did not, did all its work. No thread is left behind."""
    result = run_until_violated("deadlock", "none", timeout=30.0)
    assert no_worker_threads_left(), threading.enumerate()
    for trial in result.trials:
        d: dict[str, Any] = dict(trial.outcome.details)
        if not d["deadlocked"]:
            assert trial.ok and trial.outcome.observed == trial.outcome.expected
            continue
        assert d["detected_by"] == CYCLE
        match = PAIR.match(d["cycle"])
        assert match, d["cycle"]
        first, held, second = int(match[1]), match[2], int(match[4])
        assert first % 2 != second % 2, "an A-then-B thread and a B-then-A one"
        assert held == ("A" if first % 2 == 0 else "B"), "each holds its own first lock"
        others = {0, 1, 2, 3} - {first, second}
        queued = re.findall(r"thread (\d) waits for lock [AB]", d.get("also_blocked", ""))
        assert {int(t) for t in queued} <= others, "the rest queue behind the cycle"
        assert trial.outcome.violations == trial.outcome.expected - trial.outcome.observed > 0
        assert 2 <= d["stuck_threads"] <= 4  # (3.10: a third thread may have finished)
    assert "broke" in result.verdict


@pytest.mark.timeout(180)
def test_dining_philosophers_cycle_goes_round_the_table() -> None:
    """Trials until one deadlocks (rarely, one philosopher eats all its meals first)."""
    result = run_until_violated("dining-philosophers", "naive", threads=5, timeout=30.0)
    deadlocked = [t for t in result.trials if t.outcome.details["deadlocked"]]
    assert deadlocked
    for trial in deadlocked:
        d: dict[str, Any] = dict(trial.outcome.details)
        assert d["detected_by"] == CYCLE
        assert d["cycle"] == " -> ".join(
            [f"philosopher {i} holds fork {i}, waits for fork {(i + 1) % 5}" for i in range(5)]
            + ["philosopher 0"]
        )
        assert d["hungry"] == 5
    assert no_worker_threads_left()


@pytest.mark.timeout(180)
def test_bank_transfer_unordered_account_locks_deadlock() -> None:
    result = run_until_violated("bank-transfer", "account-locks-unordered", timeout=30.0)
    step = re.compile(r"teller (\d) holds account (\d), waits for account (\d)")
    deadlocked = [t for t in result.trials if t.outcome.details["deadlocked"]]
    assert deadlocked
    for trial in deadlocked:
        d: dict[str, Any] = dict(trial.outcome.details)
        steps = step.findall(d["cycle"])
        assert len(steps) >= 2
        for (_, _, wanted), (_, held, _) in zip(steps, steps[1:] + steps[:1], strict=True):
            assert wanted == held, "each waits for what the next one holds"
        assert d["misplaced"] == 0, "nobody moved money half-way: locks come before changes"
    assert no_worker_threads_left()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("name", "sync"), [("deadlock", "ordered"), ("deadlock", "trylock")])
def test_the_fixes_never_deadlock(name: str, sync: str) -> None:
    result = run(name, sync, threads=4, iterations=200, trials=2)
    for trial in result.trials:
        assert trial.outcome.details["deadlocked"] is False
        assert trial.ok


@pytest.mark.timeout(180)
def test_deadlock_in_a_real_process_exits_like_any_violation() -> None:
    demo = ["run", "dining-philosophers", *helpers.UNTIL_SEEN, "--check", "-f", "json"]
    done = subprocess.run(
        [sys.executable, "-m", "syncdemo", *demo],
        capture_output=True,
        text=True,
        timeout=helpers.BUDGET_S + 60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert '"deadlocked": true' in done.stdout
    assert "Traceback" not in done.stderr


# --- a trial stuck without a cycle, and threads that will not stop ----------------------------


@dataclass(eq=False)
class Hang:
    released: threading.Event = field(default_factory=threading.Event)
    ignore_until: threading.Event = field(default_factory=threading.Event)
    stuck: list[Stuck] = field(default_factory=list)


def wait_for_cancel(state: Hang, ctx: ThreadContext) -> None:
    """Waits on the scenario's own primitive; only cancel() frees it."""
    state.released.wait(30)
    ctx.check_stop()


def ignore_everything(state: Hang, ctx: ThreadContext) -> None:
    """Ignores the stop flag and cancel() until the test lets it go."""
    state.ignore_until.wait(30)


class HangScenario(Scenario[Hang]):
    name = "hang-for-test"
    summary = explanation = shared_state = invariant = violation_noun = "test"
    why = WhyItBreaks(gil="g", free_threaded="f")
    strategies = (
        Strategy("cancellable", "", "x", True, {"worker": wait_for_cancel}),
        Strategy("stubborn", "", "x", False, {"worker": ignore_everything}),
    )
    default_sync = "cancellable"

    def __init__(self) -> None:
        self.states: list[Hang] = []

    def setup(self, config: RunConfig) -> Hang:
        self.states.append(Hang())
        return self.states[-1]

    def stuck(self, state: Hang, stuck: Stuck) -> None:
        state.stuck.append(stuck)

    def cancel(self, state: Hang) -> None:
        state.released.set()

    def check(self, state: Hang, contexts: Sequence[ThreadContext]) -> Outcome:
        return Outcome(1, 0 if state.stuck else 1, 1 if state.stuck else 0)


def hang_config(sync: str, timeout: float) -> RunConfig:
    return RunConfig("hang-for-test", sync, 3, 1, 1, 0, 0.0001, timeout=timeout)


@pytest.mark.timeout(30)
def test_no_progress_ends_the_trial_after_the_timeout() -> None:
    scenario = HangScenario()
    began = time.monotonic()
    result = engine.run(scenario, hang_config("cancellable", 0.3))
    took = time.monotonic() - began
    assert took >= 0.3, "not before the timeout"
    assert took < 20, "a hang guard: the trial ends soon after the timeout"
    (stuck,) = scenario.states[0].stuck
    assert stuck.reason == NO_PROGRESS and stuck.stalled_s >= 0.3
    assert not result.ok and len(result.trials) == 1
    assert no_worker_threads_left()


@pytest.fixture
def stubborn() -> Iterator[HangScenario]:
    scenario = HangScenario()
    yield scenario
    for state in scenario.states:  # let the abandoned threads finish: leave nothing behind
        state.ignore_until.set()
    deadline = time.monotonic() + 10
    while not no_worker_threads_left() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert no_worker_threads_left()


@pytest.mark.timeout(30)
def test_threads_that_do_not_stop_are_abandoned(
    stubborn: HangScenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "CANCEL_GRACE_S", 0.2)
    with pytest.raises(engine.ThreadsAbandoned, match=r"3 of its worker threads did not give up"):
        engine.run(stubborn, hang_config("stubborn", 0.2))
    assert isinstance(engine.ThreadsAbandoned("x"), engine.EngineError)


@pytest.mark.timeout(30)
def test_abandoned_threads_exit_3_with_one_line(
    stubborn: HangScenario,
    monkeypatch: pytest.MonkeyPatch,
    invoke: Callable[..., Result],
) -> None:
    monkeypatch.setattr(engine, "CANCEL_GRACE_S", 0.2)
    monkeypatch.setitem(scenarios._registry, stubborn.name, stubborn)
    result = invoke("run", stubborn.name, "-s", "stubborn", "--timeout", "0.2", "--trials", "1")
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: hang-for-test trial 1 was stuck")
    assert "Traceback" not in result.output
