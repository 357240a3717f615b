"""Runs a scenario on real threads: start gate, timing, joins, trials, Ctrl-C.

Only this module starts threads. Workers are released together by a start barrier that
the main thread joins too, so thread creation is outside the measured section; each
worker stamps ``perf_counter_ns`` after the gate and after its loop, and a trial's wall
time is the span from the first start to the last end.

A race shows only when the threads happen to interleave inside its window, and on a busy
machine a few trials can all miss it. So a run of an unsafe strategy with a
``race_budget`` keeps running trials after ``trials`` until one violates the invariant or
the run has lasted that long, and the result says how many it took (``BudgetUse``).
Nothing is staged: the extra trials are the same workload, counted like the others.
"""

from __future__ import annotations

import math
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from syncdemo import guard
from syncdemo.engine.context import TRACE_EVENTS_MAX, Stopped, ThreadContext, Worker
from syncdemo.engine.evidence import trace_start
from syncdemo.engine.outcomes import histogram
from syncdemo.engine.runtime import runtime_info, switch_interval
from syncdemo.engine.watchdog import Watchdog
from syncdemo.results import (
    BudgetUse,
    Evidence,
    RunConfig,
    RunResult,
    ThreadEvents,
    ThreadStats,
    TraceInfo,
    TrialResult,
)
from syncdemo.scenarios.base import Scenario

#: What one worker is called in messages, by --runtime.
WORKER_NOUN = {"threads": "worker thread", "asyncio": "worker task", "processes": "worker process"}
#: The clock the driver waits by, bound at import: a worker that replaces
#: ``time.monotonic`` must not stop the driver from waiting for it (and then from putting
#: the original back once every worker has ended).
_monotonic = time.monotonic

#: How long cancelled workers get to notice the stop flag before we give up on them.
CANCEL_GRACE_S = 5.0
#: After Ctrl-C: how long they get (they are daemon threads: the process may end without
#: them, and Ctrl-C must end a command within a second).
INTERRUPT_GRACE_S = 0.5


class EngineError(RuntimeError):
    """A run could not be carried out (the OS refused threads, a worker crashed)."""


class ThreadsAbandoned(EngineError):
    """The watchdog stopped a stuck trial but some workers never gave up (exit status 3)."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``partial`` holds the trials that finished before it."""

    def __init__(self, partial: RunResult) -> None:
        super().__init__()
        self.partial = partial


def run(
    scenario: Scenario[Any],
    config: RunConfig,
    *,
    on_trial: Callable[[TrialResult], None] | None = None,
) -> RunResult:
    """Run every trial of ``config`` (and, for an unsafe strategy that has not violated
    yet, more within ``config.race_budget``) and return plain data; restore the switch
    interval."""
    if not config.window:
        config = replace(config, window=scenario.default_window_for(config.runtime))
    done: list[TrialResult] = []
    untraced: list[TrialResult] = []
    looks = _looks_for_race(scenario, config)
    with switch_interval(config.switch_interval) as previous, guard.no_hard_exit():
        runtime = runtime_info(switch_interval_default=previous)
        began = time.perf_counter()
        try:
            trial = 0
            while trial < config.trials or (
                looks
                and all(t.ok for t in done)
                and time.perf_counter() - began < config.race_budget
            ):
                trial += 1
                result = _guarded_trial(scenario, config, trial)
                done.append(result)
                if on_trial is not None:
                    on_trial(result)
            budget = _budget_use(config, done, time.perf_counter() - began) if looks else None
            if config.trace:  # as many trials untraced: what tracing costs, and changes
                baseline = replace(config, trace=False)
                untraced = [
                    _run_trial(scenario, baseline, len(done) + i)
                    for i in range(1, config.trials + 1)
                ]
        except KeyboardInterrupt:
            budget = _budget_use(config, done, time.perf_counter() - began) if looks else None
            partial = _result(scenario, config, runtime, done, True, budget=budget)
            raise RunInterrupted(partial) from None
    return _result(scenario, config, runtime, done, False, untraced or None, budget)


def _guarded_trial(scenario: Scenario[Any], config: RunConfig, trial: int) -> TrialResult:
    """One trial; if the scenario's code replaced what syncdemo needs (``threading.Event =
    None`` in a worker), the originals are put back and the run stops with one line."""
    before = guard.snapshot()
    try:
        result = _run_trial(scenario, config, trial)
    except KeyboardInterrupt:
        guard.restore(before)
        raise
    except BaseException as exc:
        _check_replaced(scenario, before, exc)
        raise
    _check_replaced(scenario, before, None)
    return result


def _check_replaced(scenario: Scenario[Any], before: guard.Snapshot, exc: Any) -> None:
    changed = guard.restore(before)
    if changed:
        raise EngineError(f"{scenario.name}: its code {guard.replaced_line(changed)}") from exc


def _looks_for_race(scenario: Scenario[Any], config: RunConfig) -> bool:
    """Whether this run may add trials to find the race: an unsafe strategy, more than one
    thread (one cannot race with itself), and a budget."""
    several = config.threads > 1 or scenario.starts_threads
    return config.race_budget > 0 and several and not scenario.strategy(config.sync).safe


def _budget_use(config: RunConfig, done: list[TrialResult], elapsed_s: float) -> BudgetUse:
    first = next((t.trial for t in done if not t.ok), None)
    return BudgetUse(
        budget_s=config.race_budget,
        asked=config.trials,
        extra=max(0, len(done) - config.trials),
        first_violated=first,
        elapsed_s=elapsed_s,
    )


def _result(
    scenario: Scenario[Any],
    config: RunConfig,
    runtime: Any,
    trials: list[TrialResult],
    interrupted: bool,
    untraced: list[TrialResult] | None = None,
    budget: BudgetUse | None = None,
) -> RunResult:
    ok = all(t.ok for t in trials)
    samples = [(scenario.outcome_key(t.outcome), t.grade) for t in trials]
    return RunResult(
        config=config,
        runtime=runtime,
        invariant=scenario.invariant,
        violation_noun=scenario.violation_noun,
        trials=tuple(trials),
        verdict=scenario.verdict(ok, config, runtime.gil),
        interrupted=interrupted,
        outcomes=histogram(samples, scenario.grade_meanings),
        outcome_name=scenario.outcome_name,
        untraced_ops_per_s=(statistics.median(t.ops_per_s for t in untraced) if untraced else None),
        untraced_violated=sum(not t.ok for t in untraced) if untraced else None,
        violation_share=scenario.violation_share,
        counted=scenario.counted,
        iterations_meaning=scenario.iterations_meaning,
        roles_note=scenario.roles_note(config),
        start_method=_start_method(config.runtime),
        budget=budget,
    )


def _start_method(runtime: str) -> str:
    if runtime != "processes":
        return ""
    import multiprocessing

    return str(multiprocessing.get_start_method())


def make_contexts(
    roles: Sequence[str], config: RunConfig, trial: int, stop: threading.Event
) -> list[ThreadContext]:
    """One context per thread; the rng of each is fixed by (seed, trial, thread)."""
    seen: Counter[str] = Counter()
    contexts = []
    cap = max(1_000, TRACE_EVENTS_MAX // max(1, len(roles)))
    for index, role in enumerate(roles):
        ctx = ThreadContext(
            index=index,
            role=role,
            role_index=seen[role],
            config=config,
            stop=stop,
            rng=random.Random(f"{config.seed}:{trial}:{index}"),
        )
        if config.trace:
            ctx.trace = ctx.recorded  # the same list: it stays readable after a cap
            ctx.trace_cap = cap
        contexts.append(ctx)
        seen[role] += 1
    return contexts


def _thread_main(worker: Worker, state: Any, ctx: ThreadContext, gate: threading.Barrier) -> None:
    try:
        try:
            gate.wait()
        except threading.BrokenBarrierError:
            return
        ctx.start_ns = time.perf_counter_ns()
        try:
            worker(state, ctx)
        except Stopped:
            pass
        except BaseException as exc:  # reported by the main thread after the join
            ctx.data["error"] = exc
            ctx.stop.set()
        finally:
            ctx.end_ns = time.perf_counter_ns()
            ctx.end_wait(ctx.end_ns)  # stopped while blocked: that was waiting too
    finally:
        ctx.finished.set()


def _run_trial(scenario: Scenario[Any], config: RunConfig, trial: int) -> TrialResult:
    if config.runtime == "asyncio":
        from syncdemo.engine import tasks

        return tasks.run_trial(scenario, config, trial)
    if config.runtime == "processes":
        from syncdemo.engine import processes

        return processes.run_trial(scenario, config, trial)
    strategy = scenario.strategy(config.sync)
    state = scenario.setup(config)
    stop = threading.Event()
    contexts = make_contexts(scenario.roles(config), config, trial, stop)
    gate = threading.Barrier(len(contexts) + 1)
    threads: list[threading.Thread] = []
    try:
        for ctx in contexts:
            t = threading.Thread(
                target=_thread_main,
                args=(scenario.worker(strategy, ctx.role, config), state, ctx, gate),
                name=f"syncdemo-{ctx.role}-{ctx.index}",
                daemon=True,
            )
            t.start()
            threads.append(t)
        gate.wait()
        cancelled = False
        watchdog = Watchdog(
            config.timeout,
            progress=lambda: scenario.progress(state, contexts),
            deadlock=lambda: scenario.deadlock(state),
        )
        give_up_at = math.inf
        for t in threads:
            while t.is_alive() and _monotonic() < give_up_at:
                t.join(0.05)
                stuck = watchdog.poll()
                if stuck is not None:  # deadlocked or hung: keep why, make every worker give up
                    scenario.stuck(state, stuck)
                    stop.set()
                    cancelled = False
                    give_up_at = _monotonic() + CANCEL_GRACE_S
                if stop.is_set() and not cancelled:  # a worker failed: free the others
                    scenario.cancel(state)
                    cancelled = True
    except KeyboardInterrupt:  # Ctrl-C ends the command within a second: wait less
        _cancel(scenario, state, stop, gate, contexts[: len(threads)], INTERRUPT_GRACE_S)
        raise
    except RuntimeError as exc:  # "can't start new thread"
        _cancel(scenario, state, stop, gate, contexts[: len(threads)])
        raise EngineError(
            f"could only start {len(threads)} of {len(contexts)} threads: {exc}"
        ) from None
    alive = [t.name for t in threads if t.is_alive()]
    if alive:  # the watchdog stopped a stuck trial, and these ignored it (daemons: no hang)
        raise ThreadsAbandoned(
            f"{scenario.name} trial {trial} was stuck and {len(alive)} of its worker threads "
            f"did not give up within {CANCEL_GRACE_S:.0f} s of being stopped; abandoned "
            f"{', '.join(alive[:4])}{' ...' if len(alive) > 4 else ''}"
        )

    return finish_trial(scenario, config, trial, state, contexts)


def finish_trial(
    scenario: Scenario[Any],
    config: RunConfig,
    trial: int,
    state: Any,
    contexts: Sequence[ThreadContext],
    startup_s: float = 0.0,
) -> TrialResult:
    """After the workers ended (threads, tasks or processes alike): a worker's error, or
    the check, the timing from the start gate, per-thread statistics and evidence."""
    for ctx in contexts:
        error = ctx.data.get("error")
        if error is not None:
            raise EngineError(
                f"{scenario.name} {WORKER_NOUN[config.runtime]} {ctx.index} ({ctx.role}) failed: "
                f"{guard.failure(error)}"
            ) from error
    try:
        outcome = scenario.check(state, contexts)
    except EngineError:
        raise
    except Exception as exc:  # a check() whose result cannot even be read (its __bool__)
        raise EngineError(f"{scenario.name}: its check failed: {guard.failure(exc)}") from exc
    started = [c.start_ns for c in contexts if c.start_ns]
    ended = [c.end_ns for c in contexts if c.end_ns]
    elapsed_ns = max(ended) - min(started) if started and ended else 0
    stats = tuple(
        ThreadStats(
            index=c.index,
            role=c.role,
            ops=c.ops,
            elapsed_s=(c.end_ns - c.start_ns) / 1e9,
            wait_s=c.wait_ns / 1e9,
        )
        for c in contexts
    )
    trace = None
    evidence: list[Evidence] = []
    if config.trace:
        trace = TraceInfo(
            events=sum(len(c.recorded) for c in contexts),
            capped=any(c.trace_capped for c in contexts),
            threads=_recordings(contexts) if config.keep_events else (),
            base_ns=trace_start(contexts),
        )
        if not outcome.ok and config.show:
            evidence = scenario.evidence(state, contexts, config.show)
    return TrialResult(
        trial=trial,
        outcome=outcome,
        elapsed_s=elapsed_ns / 1e9,
        ops=(ops := sum(c.ops for c in contexts)),
        kept_ops=scenario.kept_ops(outcome, ops),
        threads=stats,
        grade=scenario.grade(outcome, config),
        evidence=tuple(evidence),
        trace=trace,
        startup_s=startup_s,
    )


def _recordings(contexts: Sequence[ThreadContext]) -> tuple[ThreadEvents, ...]:
    return tuple(
        ThreadEvents(c.index, c.role, c.start_ns, c.end_ns, tuple(c.recorded)) for c in contexts
    )


def _cancel(
    scenario: Scenario[Any],
    state: Any,
    stop: threading.Event,
    gate: threading.Barrier,
    started: list[ThreadContext],
    grace_s: float = CANCEL_GRACE_S,
) -> None:
    """Make every started worker give up, and wait (bounded) until they have.

    Waits on each worker's own ``finished`` event, not ``Thread.join``: on CPython
    3.10-3.12 a KeyboardInterrupt that lands inside ``join`` can leave the thread marked
    as stopped while it still runs (gh-90882), and then a second join returns at once.
    """
    stop.set()
    gate.abort()
    scenario.cancel(state)
    deadline = _monotonic() + grace_s
    for ctx in started:
        ctx.finished.wait(max(0.0, deadline - _monotonic()))
