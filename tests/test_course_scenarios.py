"""The rest of a synchronization course (issue 16): livelock, reentrant, leaked-lock,
semaphore, queue-shutdown, print-interleave, shared-dict, and counter --sync sharded.

tests/test_scenarios.py holds every registered scenario to the contract (every command,
safe strategies never violate, one thread never does). Here: each broken strategy shows its
failure within a budget ("seen at least once in N trials or S seconds": a race is not
promised in any one trial), each stall is reported as what it is, and each check counts
exactly what its column says. Every test has a time limit: a hang is a bug.
"""

from __future__ import annotations

import contextlib
import random
import sys
import threading
import time
from typing import Any

import pytest
from helpers import no_worker_threads_left

from syncdemo import scenarios
from syncdemo.engine import runner as engine
from syncdemo.engine.context import Stopped, ThreadContext
from syncdemo.engine.locks import WaitForGraph, Who, describe_leak
from syncdemo.engine.watchdog import (
    CYCLE,
    LEAKED,
    LIVELOCK,
    Diagnosis,
    LivelockMeter,
    Watchdog,
)
from syncdemo.results import RunConfig, RunResult, TrialResult
from syncdemo.scenarios.catalogue import BUILTINS

COURSE = [
    "livelock",
    "reentrant",
    "leaked-lock",
    "semaphore",
    "queue-shutdown",
    "print-interleave",
    "shared-dict",
]
BROKEN = [(n, s.name) for n in COURSE for s in scenarios.get(n).strategies if not s.safe]
FIXED = [(n, s.name) for n in COURSE for s in scenarios.get(n).strategies if s.safe]
#: A broken strategy must show its failure within this many trials ...
BUDGET_TRIALS = 30
#: ... or this many seconds, whichever comes first (the machine may be busy).
BUDGET_S = 40.0


def config(name: str, sync: str, **changes: Any) -> RunConfig:
    scenario = scenarios.get(name)
    values: dict[str, Any] = {
        "scenario": name,
        "sync": sync,
        "threads": scenario.default_threads,
        "iterations": scenario.default_iterations,
        "trials": 1,
        "seed": 16,
        "switch_interval": 0.0001,
    }
    values.update(changes)
    return RunConfig(**values)


def run(name: str, sync: str, **changes: Any) -> RunResult:
    return engine.run(scenarios.get(name), config(name, sync, **changes))


def first_failure(name: str, sync: str, **changes: Any) -> TrialResult | None:
    """Run one trial at a time until one violates, within the budget; that trial or None."""
    until = time.monotonic() + BUDGET_S
    for seed in range(BUDGET_TRIALS):
        result = run(name, sync, seed=seed, **changes)
        if not result.ok:
            return result.trials[0]
        if time.monotonic() > until:
            break
    return None


# --- the registry -------------------------------------------------------------------------


def test_every_course_scenario_is_registered_with_a_fix_and_a_bug() -> None:
    for name in COURSE:
        scenario = scenarios.get(name)
        assert any(s.safe for s in scenario.strategies)
        assert any(not s.safe for s in scenario.strategies)
    assert scenarios.get("counter").strategy("sharded").safe


def test_queue_shutdown_strategy_only_where_the_interpreter_has_it() -> None:
    import queue

    scenario = scenarios.get("queue-shutdown")
    (row,) = [e for e in BUILTINS if e.name == "queue-shutdown"]
    has = hasattr(queue.Queue, "shutdown")
    assert ("shutdown" in scenario.strategy_names()) is has
    assert ("shutdown" in row.strategies) is has
    assert has is (sys.version_info >= (3, 13))
    if not has:
        assert "3.13" in scenario.explanation and "not offered here" in scenario.explanation


# --- broken strategies show their failure --------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("name", "sync"), BROKEN)
def test_broken_strategy_shows_its_failure_within_the_budget(name: str, sync: str) -> None:
    trial = first_failure(name, sync)
    assert trial is not None, f"no violation in {BUDGET_TRIALS} trials or {BUDGET_S:.0f} s"
    assert trial.outcome.violations > 0
    assert no_worker_threads_left()


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("name", "sync"), FIXED)
def test_fixed_strategy_never_fails_at_the_defaults(name: str, sync: str) -> None:
    result = run(name, sync, trials=3)
    assert [t.outcome.violations for t in result.trials] == [0, 0, 0]
    for t in result.trials:
        assert "stalled_s" not in t.outcome.details


# --- stalls: reported as what they are, soon after they begin ------------------------------


@pytest.mark.timeout(60)
def test_livelock_is_reported_as_a_livelock_with_attempts_against_jobs() -> None:
    result = run("livelock", "polite", trials=2)
    for t in result.trials:
        d = dict(t.outcome.details)
        assert d["livelocked"] is True and d["detected_by"] == LIVELOCK
        assert d["stalled_s"] < 2.0  # within 2 s of the last job done
        assert d["attempts"] > d["jobs_done"]
        assert "none is blocked" in d["seen"]
        assert t.outcome.violations == t.outcome.expected - d["jobs_done"]
    assert no_worker_threads_left()


@pytest.mark.timeout(60)
def test_reentrant_lock_is_a_cycle_of_one_thread() -> None:
    result = run("reentrant", "lock", trials=2)
    for t in result.trials:
        d = dict(t.outcome.details)
        assert d["detected_by"] == CYCLE
        assert "a cycle of one thread" in d["cycle"]
        assert d["stalled_s"] < 2.0
        assert t.outcome.violations == t.outcome.expected - t.outcome.observed > 0


@pytest.mark.timeout(60)
def test_reentrant_deadlocks_even_alone() -> None:
    result = run("reentrant", "lock", threads=1, iterations=10, trials=1)
    assert not result.ok
    assert result.verdict.startswith("One thread deadlocked on itself")


@pytest.mark.timeout(60)
def test_leaked_lock_names_the_finished_holder_and_its_waiters() -> None:
    result = run("leaked-lock", "bare", threads=4, trials=2)
    for t in result.trials:
        d = dict(t.outcome.details)
        assert d["detected_by"] == LEAKED
        assert d["stalled_s"] < 2.0
        assert "which has finished without releasing it" in d["leaked"]
        assert t.outcome.violations == 3  # everyone but the thread that died
        assert d["died"].count("died of ValueError") == 1
        assert d["lines_tallied"] == d["good_lines"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sync", ["with", "try-finally"])
def test_leaked_lock_fixes_let_the_others_finish(sync: str) -> None:
    result = run("leaked-lock", sync, threads=4, trials=2)
    for t in result.trials:
        d = dict(t.outcome.details)
        assert d["died"].count("died of ValueError") == 1  # the bad line still ends a thread
        assert d["lines_tallied"] == d["good_lines"] and d["total_ok"] is True
        assert t.outcome.observed == 4


@pytest.mark.timeout(60)
def test_queue_shutdown_stuck_consumer_is_reported_at_once() -> None:
    trial = first_failure("queue-shutdown", "none")
    assert trial is not None
    d = dict(trial.outcome.details)
    assert trial.outcome.violations == d["left_behind"] + d["stuck_in_get"]
    assert d["produced"] == trial.outcome.expected
    if d["stuck_in_get"]:
        assert d["stalled_s"] < 2.0 and "every producer has finished" in d["seen"]


# --- the watchdog's new diagnoses, on their own --------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


def test_livelock_meter_needs_climbing_attempts_and_no_work() -> None:
    clock = Clock()
    meter = LivelockMeter(window_s=0.5, min_attempts=100, clock=clock)
    assert meter.look(0, 0) is None
    clock.now += 0.6
    assert meter.look(50, 0) is None  # idle, but not trying: blocked or slow, not livelocked
    clock.now += 0.1
    assert meter.look(500, 1) is None  # work got done: the window starts again
    clock.now += 0.4
    assert meter.look(5000, 1) is None  # not long enough yet
    clock.now += 0.2
    found = meter.look(6000, 1)
    assert isinstance(found, Diagnosis) and found.reason == LIVELOCK and not found.confirm
    assert "5,500 attempts" in found


def test_watchdog_names_the_diagnosis_it_was_given() -> None:
    seen = [Diagnosis("spinning", LIVELOCK, confirm=False)]
    dog = Watchdog(60.0, progress=lambda: 1, deadlock=lambda: seen[0], clock=Clock())
    stuck = dog.poll()
    assert stuck is not None and stuck.reason == LIVELOCK and stuck.detail == "spinning"
    assert type(stuck.detail) is str


def test_graph_sees_a_lock_held_by_a_finished_thread() -> None:
    graph = WaitForGraph()
    lock = graph.lock("the lock")
    stop, ended = threading.Event(), threading.Event()
    leaver = Who("thread 0", stop, ended)
    assert lock.acquire(leaver)
    waiting = threading.Thread(target=lambda: _wait_for(lock, Who("thread 1", stop)))
    waiting.start()
    try:
        deadline = time.monotonic() + 5
        while "thread 1" not in graph.snapshot().waiting and time.monotonic() < deadline:
            time.sleep(0.005)
        assert graph.deadlock() is None  # the holder still runs: it may yet release
        ended.set()
        found = graph.deadlock()
        assert isinstance(found, Diagnosis) and found.reason == LEAKED
        assert found == describe_leak(graph.snapshot())
        assert "held by thread 0, which has finished" in found and "thread 1 waits" in found
    finally:
        stop.set()
        waiting.join(5)
    assert not waiting.is_alive()


def _wait_for(lock: Any, who: Who) -> None:
    with contextlib.suppress(Stopped):
        lock.acquire(who)


def test_a_reentrant_traced_lock_counts_its_owner_in() -> None:
    graph = WaitForGraph()
    lock = graph.lock("r", reentrant=True)
    me = Who("thread 0", threading.Event())
    with lock.held(me), lock.held(me):
        assert graph.snapshot().holders == {"r": "thread 0"}
    assert graph.snapshot().holders == {}
    assert not lock.locked()


def test_an_rlock_is_released_only_by_its_owner_a_lock_by_anyone() -> None:
    """What reentrant's describe says about the two."""
    plain, owned = threading.Lock(), threading.RLock()
    plain.acquire()
    owned.acquire()
    errors: list[BaseException] = []

    def release_both() -> None:
        plain.release()
        try:
            owned.release()
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=release_both)
    t.start()
    t.join(5)
    assert not plain.locked()
    assert len(errors) == 1
    owned.release()


# --- each check counts what its column names --------------------------------------------------


def context(index: int, sync: str, ops: int) -> ThreadContext:
    cfg = RunConfig("x", sync, 2, ops, 1, 0)
    return ThreadContext(index, "worker", index, cfg, threading.Event(), random.Random(0), ops=ops)


def test_print_interleave_counts_the_lines_that_are_not_one_message() -> None:
    from syncdemo.scenarios.print_interleave import PrintInterleaveScenario, Terminal

    term = Terminal()
    for piece in ["thread 0 says line 0", "\n", "thread 0 says line 1", "thread 1 says line 0"]:
        term.stream.write(piece)
    for piece in ["\n", "\n", "thread 1 says line 1", "\n"]:
        term.stream.write(piece)
    contexts = [context(0, "none", 2), context(1, "none", 2)]
    outcome = PrintInterleaveScenario().check(term, contexts)
    assert (outcome.expected, outcome.observed, outcome.violations) == (4, 2, 2)
    assert outcome.details["example"] == "thread 0 says line 1thread 1 says line 0"


def test_stream_print_writes_like_print() -> None:
    from syncdemo.scenarios.print_interleave import Stream

    stream = Stream()
    stream.print("thread", 3, "says line", 17)
    assert stream._pieces == ["thread", " ", "3", " ", "says line", " ", "17", "\n"]


def test_shared_dict_counts_the_lost_counts() -> None:
    from syncdemo.scenarios.shared_dict import SharedDictScenario, Words

    words = Words(texts=[["a", "b", "a"], ["a", "b"]], counts={"a": 2, "b": 2})
    outcome = SharedDictScenario().check(words, [context(0, "none", 3), context(1, "none", 2)])
    assert (outcome.expected, outcome.observed, outcome.violations) == (5, 4, 1)


@pytest.mark.timeout(60)
def test_shared_dict_safe_strategies_count_exactly_on_this_interpreter() -> None:
    for sync in ("lock", "merge", "append"):
        result = run("shared-dict", sync, threads=4, iterations=5000, trials=2)
        for t in result.trials:
            assert t.outcome.observed == t.outcome.expected == 20_000


@pytest.mark.timeout(60)
def test_semaphore_bounded_reports_where_the_error_was_raised() -> None:
    trial = first_failure("semaphore", "bounded")
    assert trial is not None
    d = dict(trial.outcome.details)
    assert d["errors_at_the_bug"] + d["errors_elsewhere"] >= 1
    assert "semaphore.py:" in d["first_error"] and "release()" in d["first_error"]
    assert d["peak"] > d["limit"]


@pytest.mark.timeout(60)
def test_semaphore_violations_are_uses_over_the_limit() -> None:
    result = run("semaphore", "semaphore", trials=2)
    for t in result.trials:
        d = dict(t.outcome.details)
        assert t.outcome.violations == t.outcome.expected - t.outcome.observed
        assert (d["peak"] > d["limit"]) is (t.outcome.violations > 0)


@pytest.mark.timeout(60)
def test_counter_sharded_keeps_every_update_and_is_not_slower_than_the_lock() -> None:
    sharded = run("counter", "sharded", trials=3)
    locked = run("counter", "lock", trials=3)
    assert sharded.ok and all(t.outcome.observed == t.outcome.expected for t in sharded.trials)
    assert sharded.elapsed.median < locked.elapsed.median * 2  # typically far below
    window_none = run("counter", "sharded", window="none", trials=1)
    assert window_none.ok
