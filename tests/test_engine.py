"""The engine on its own: contexts and seeds, the switch interval, trials, failures, Ctrl-C."""

from __future__ import annotations

import _thread
import dataclasses
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from helpers import no_worker_threads_left, workers_end_within

from syncdemo import scenarios
from syncdemo.engine import runner as engine
from syncdemo.engine.context import ThreadContext
from syncdemo.results import Outcome, RunConfig, TrialResult
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks


def config(**changes: object) -> RunConfig:
    values: dict[str, object] = {
        "scenario": "probe",
        "sync": "none",
        "threads": 3,
        "iterations": 100,
        "trials": 2,
        "seed": 1234,
        "switch_interval": 0.0001,
    }
    values.update(changes)
    return RunConfig(**values)  # type: ignore[arg-type]


# --- a scenario made for these tests (not registered: list/describe/run never see it) -----


@dataclass(eq=False)
class Probe:
    switch_intervals: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)


def count(state: Probe, ctx: ThreadContext) -> None:
    with state.lock:
        state.switch_intervals.append(sys.getswitchinterval())
    for chunk in ctx.chunks():
        for _ in chunk:
            pass


def fail_in_thread_1(state: Probe, ctx: ThreadContext) -> None:
    if ctx.index == 1:
        raise ValueError("boom")
    for chunk in ctx.chunks():  # the others run until the engine stops them
        for _ in chunk:
            pass


def fail_while_others_wait(state: Probe, ctx: ThreadContext) -> None:
    """The others wait on the scenario's own primitive; only cancel() releases them."""
    if ctx.index == 1:
        raise ValueError("boom")
    state.released.wait(120)


def press_ctrl_c(state: Probe, ctx: ThreadContext) -> None:
    if ctx.index == 0:
        _thread.interrupt_main()  # as if SIGINT arrived while the main thread waits
    for chunk in ctx.chunks():
        for _ in chunk:
            pass


def _strategy(name: str, worker: object) -> Strategy:
    return Strategy(name=name, summary=name, cost="", safe=True, workers={"worker": worker})  # type: ignore[dict-item]


class ProbeScenario(Scenario[Probe]):
    name = "probe"
    summary = "test scenario"
    explanation = "records what the engine does"
    shared_state = "a list"
    invariant = "nothing"
    violation_noun = "nothing"
    why = WhyItBreaks(gil="g", free_threaded="f")
    strategies = (
        _strategy("none", count),
        _strategy("fail", fail_in_thread_1),
        _strategy("interrupt", press_ctrl_c),
        _strategy("fail-blocked", fail_while_others_wait),
    )
    default_sync = "none"

    def __init__(self, interrupt_setup_at: int = 0) -> None:
        self.states: list[Probe] = []
        self.interrupt_setup_at = interrupt_setup_at

    def setup(self, config: RunConfig) -> Probe:
        if len(self.states) + 1 == self.interrupt_setup_at:
            raise KeyboardInterrupt
        state = Probe()
        self.states.append(state)
        return state

    def cancel(self, state: Probe) -> None:
        state.released.set()

    def check(self, state: Probe, contexts: Sequence[ThreadContext]) -> Outcome:
        return Outcome(expected=len(contexts), observed=len(state.switch_intervals), violations=0)


# --- make_contexts: one rng per thread, fixed by (seed, trial, index) ----------------------


def draws(contexts: list[ThreadContext]) -> list[list[float]]:
    return [[c.rng.random() for _ in range(5)] for c in contexts]


def test_contexts_are_deterministic_per_seed_trial_and_index() -> None:
    cfg = config(threads=4)
    roles = ["worker"] * 4
    first = draws(engine.make_contexts(roles, cfg, 1, threading.Event()))
    again = draws(engine.make_contexts(roles, cfg, 1, threading.Event()))
    assert first == again
    assert len({tuple(d) for d in first}) == 4, "each thread has its own sequence"
    other_trial = draws(engine.make_contexts(roles, cfg, 2, threading.Event()))
    other_seed = draws(
        engine.make_contexts(roles, config(threads=4, seed=1235), 1, threading.Event())
    )
    for i in range(4):
        assert other_trial[i] != first[i]
        assert other_seed[i] != first[i]


def test_context_rng_does_not_depend_on_the_thread_count() -> None:
    """Thread 0's choices stay the same when more threads join (seed, trial, index only)."""
    two = draws(engine.make_contexts(["worker"] * 2, config(threads=2), 1, threading.Event()))
    five = draws(engine.make_contexts(["worker"] * 5, config(threads=5), 1, threading.Event()))
    assert five[:2] == two


def test_contexts_number_threads_and_roles() -> None:
    stop = threading.Event()
    roles = ["producer", "producer", "consumer", "producer", "consumer"]
    contexts = engine.make_contexts(roles, config(threads=5), 1, stop)
    assert [c.index for c in contexts] == [0, 1, 2, 3, 4]
    assert [c.role for c in contexts] == roles
    assert [c.role_index for c in contexts] == [0, 1, 0, 2, 1]
    assert all(c.stop is stop for c in contexts)
    assert all(c.ops == 0 and c.data == {} for c in contexts)


def test_chunks_hand_out_exactly_the_iterations() -> None:
    ctx = engine.make_contexts(["worker"], config(iterations=2500), 1, threading.Event())[0]
    seen = [i for chunk in ctx.chunks() for i in chunk]
    assert seen == list(range(2500))
    assert ctx.ops == 2500


def test_chunks_end_early_once_stopped() -> None:
    stop = threading.Event()
    ctx = engine.make_contexts(["worker"], config(iterations=10**6), 1, stop)[0]
    for n, _ in enumerate(ctx.chunks()):
        if n == 2:
            stop.set()
    assert 0 < ctx.ops < 10**6


# --- the switch interval --------------------------------------------------------------------


def test_switch_interval_is_set_during_the_run_and_restored() -> None:
    before = sys.getswitchinterval()
    scenario = ProbeScenario()
    result = engine.run(scenario, config(switch_interval=0.001))
    assert sys.getswitchinterval() == before
    seen = [s for state in scenario.states for s in state.switch_intervals]
    assert seen and all(s == pytest.approx(0.001) for s in seen)
    assert result.runtime.switch_interval == pytest.approx(0.001)
    assert result.runtime.switch_interval_default == pytest.approx(before)


def test_switch_interval_none_keeps_the_interpreters() -> None:
    sys.setswitchinterval(0.003)  # restored by the autouse fixture
    scenario = ProbeScenario()
    result = engine.run(scenario, config(switch_interval=None))
    assert sys.getswitchinterval() == pytest.approx(0.003)
    seen = [s for state in scenario.states for s in state.switch_intervals]
    assert seen and all(s == pytest.approx(0.003) for s in seen)
    assert result.runtime.switch_interval == pytest.approx(0.003)
    assert result.runtime.switch_interval_default == pytest.approx(0.003)


def test_switch_interval_restored_with_a_real_scenario() -> None:
    before = sys.getswitchinterval()
    result = engine.run(
        scenarios.get("counter"),
        config(scenario="counter", threads=2, iterations=200, switch_interval=0.0001),
    )
    assert sys.getswitchinterval() == before
    assert result.runtime.switch_interval == pytest.approx(0.0001)
    assert result.runtime.switch_interval_default == pytest.approx(before)


# --- trials and results ---------------------------------------------------------------------


def test_every_trial_gets_fresh_state_and_stats() -> None:
    scenario = ProbeScenario()
    seen: list[TrialResult] = []
    result = engine.run(scenario, config(threads=3, iterations=300, trials=4), on_trial=seen.append)
    assert len(scenario.states) == 4
    assert len({id(s) for s in scenario.states}) == 4
    assert list(result.trials) == seen
    assert [t.trial for t in result.trials] == [1, 2, 3, 4]
    for t in result.trials:
        assert t.ops == 900
        assert [s.ops for s in t.threads] == [300, 300, 300]
        assert [s.index for s in t.threads] == [0, 1, 2]
        assert t.elapsed_s > 0
        assert all(0 <= s.elapsed_s <= t.elapsed_s for s in t.threads)
        assert t.outcome == Outcome(expected=3, observed=3, violations=0)
    assert result.ok and not result.interrupted
    # the engine fills in the scenario's default race window; nothing else changes
    expected = config(threads=3, iterations=300, trials=4)
    assert result.config == dataclasses.replace(expected, window=scenario.default_window)
    assert no_worker_threads_left(), threading.enumerate()


def test_counter_counts_what_the_threads_did() -> None:
    """The check reads the real counter: with a lock every increment is in it; without,
    the final value is never above the increments done, and the trials reported violated
    are exactly those whose counter fell short."""
    counter = scenarios.get("counter")
    size = {"scenario": "counter", "threads": 4, "iterations": 5000, "trials": 3}
    locked = engine.run(counter, config(sync="lock", **size))
    for t in locked.trials:
        assert (t.outcome.expected, t.outcome.observed) == (20_000, 20_000)
        assert [s.ops for s in t.threads] == [5000] * 4
    assert locked.ok
    unsafe = engine.run(counter, config(**size))
    assert all(0 < t.outcome.observed <= 20_000 for t in unsafe.trials)
    short = [t.trial for t in unsafe.trials if t.outcome.observed < 20_000]
    assert [t.trial for t in unsafe.trials if not t.ok] == short
    assert unsafe.violated == len(short)


@pytest.mark.parametrize(
    ("threads", "producers", "consumers"), [(1, 1, 0), (2, 1, 1), (3, 1, 2), (4, 2, 2), (5, 2, 3)]
)
def test_producer_consumer_splits_the_threads(threads: int, producers: int, consumers: int) -> None:
    scenario = scenarios.get("producer-consumer")
    result = engine.run(
        scenario,
        config(scenario=scenario.name, sync="queue", threads=threads, iterations=50, trials=1),
    )
    (t,) = result.trials
    roles = [s.role for s in t.threads]
    if consumers:
        assert roles == ["producer"] * producers + ["consumer"] * consumers
    else:
        assert roles == ["producer+consumer"]
    assert t.outcome.expected == producers * 50
    assert t.outcome.observed == producers * 50


# --- failures -------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_failing_worker_is_an_engine_error_and_stops_the_others() -> None:
    before = sys.getswitchinterval()
    began = time.monotonic()
    with pytest.raises(engine.EngineError, match=r"worker thread 1 .*ValueError: boom"):
        engine.run(ProbeScenario(), config(sync="fail", iterations=10**10, switch_interval=0.001))
    assert time.monotonic() - began < 30, "the others must stop, not run their 10**10 loops"
    assert sys.getswitchinterval() == before
    assert no_worker_threads_left(), threading.enumerate()


@pytest.mark.timeout(120)
def test_a_failing_worker_cancels_the_scenario() -> None:
    began = time.monotonic()
    with pytest.raises(engine.EngineError, match="boom"):
        engine.run(ProbeScenario(), config(sync="fail-blocked"))
    assert time.monotonic() - began < 30, "cancel() must free the threads waiting in the scenario"
    assert no_worker_threads_left()


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_during_a_trial_cancels_the_workers() -> None:
    before = sys.getswitchinterval()
    began = time.monotonic()
    with pytest.raises(engine.RunInterrupted) as stop:
        engine.run(ProbeScenario(), config(sync="interrupt", iterations=10**10, trials=3))
    assert time.monotonic() - began < 30, "the workers must stop, not run their 10**10 loops"
    assert isinstance(stop.value, KeyboardInterrupt)
    assert stop.value.partial.trials == ()
    assert stop.value.partial.interrupted is True
    assert sys.getswitchinterval() == before
    assert workers_end_within(10), threading.enumerate()


def test_ctrl_c_between_trials_keeps_the_finished_ones() -> None:
    scenario = ProbeScenario(interrupt_setup_at=3)
    with pytest.raises(engine.RunInterrupted) as stop:
        engine.run(scenario, config(trials=5))
    partial = stop.value.partial
    assert [t.trial for t in partial.trials] == [1, 2]
    assert partial.interrupted is True
    assert partial.ok


def start_blocked_workers(
    name: str, sync: str, select: Callable[[ThreadContext], bool]
) -> tuple[Scenario[Any], Any, threading.Event, list[threading.Thread]]:
    """Start only some of a run's threads, so that they block waiting for the others."""
    scenario = scenarios.get(name)
    cfg = config(scenario=name, sync=sync, threads=4, iterations=10**7, trials=1)
    state = scenario.setup(cfg)
    stop = threading.Event()
    contexts = engine.make_contexts(scenario.roles(cfg), cfg, 1, stop)
    chosen = [c for c in contexts if select(c)]
    gate = threading.Barrier(len(chosen))
    workers = scenario.strategy(sync).workers
    threads = [
        threading.Thread(
            target=engine._thread_main, args=(workers[c.role], state, c, gate), daemon=True
        )
        for c in chosen
    ]
    for t in threads:
        t.start()
    return scenario, state, stop, threads


@pytest.mark.timeout(120)
@pytest.mark.parametrize("role", ["producer", "consumer"])
def test_cancel_wakes_threads_waiting_on_a_condition(role: str) -> None:
    """Producers alone block on a full buffer, consumers alone on an empty one: the stop flag
    cannot reach a thread inside Condition.wait, so cancel() must wake them."""
    scenario, state, stop, threads = start_blocked_workers(
        "producer-consumer", "condition", lambda c: c.role == role
    )
    for t in threads:
        t.join(0.3)
    assert all(t.is_alive() for t in threads), "they should be waiting for the other role"
    stop.set()
    scenario.cancel(state)
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)


@pytest.mark.timeout(120)
def test_cancel_breaks_the_barrier() -> None:
    """Half the threads never arrive at the barrier; cancel() alone must free the others."""
    scenario, state, _, threads = start_blocked_workers("barrier", "barrier", lambda c: c.index < 2)
    for t in threads:
        t.join(0.3)
    assert all(t.is_alive() for t in threads), "they should be waiting at the barrier"
    scenario.cancel(state)
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
