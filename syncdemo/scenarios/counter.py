"""counter and locked-counter: threads increment one shared integer.

The read-modify-write has an honest race window: between reading the value and writing
it back, the worker calls a small function, as real code does (validate, convert, log).
Under the GIL, CPython 3.10+ switches threads only at such calls and at backward jumps,
so the bare ``value += 1`` almost never loses an update there; with a call inside, a
switch can land between the read and the write and every update another thread makes
meanwhile is overwritten.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from syncdemo.engine.context import ThreadContext, Worker, each_iteration, lesson_of, running
from syncdemo.engine.evidence import READ, WRITE, lost_update_evidence
from syncdemo.results import ACCEPTABLE, FORBIDDEN, INTERESTING, Evidence, Outcome, RunConfig
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks


@dataclass(eq=False)
class Counter:
    """The shared count: with --sync none, all there is."""

    value: int = 0

    def total(self) -> int:
        """The count as the main thread sees it after the join."""
        return self.value


@dataclass(eq=False)
class LockedCounter(Counter):
    """--sync lock: the count and the lock held around each increment."""

    lock: threading.Lock = field(default_factory=lambda: threading.Lock())


@dataclass(eq=False)
class AsyncLockedCounter(Counter):
    """--sync lock on --runtime asyncio: the count and an asyncio.Lock."""

    lock: asyncio.Lock = field(default_factory=lambda: asyncio.Lock())


@dataclass(eq=False)
class Shard:
    """One thread's own counter: no other thread reads or writes it while they run."""

    value: int = 0


@dataclass(eq=False)
class ShardedCounter(Counter):
    """--sync sharded: a counter per thread besides the shared one (which stays 0)."""

    shards: list[Shard] = field(default_factory=list)
    """One counter per thread, made before the threads start, summed after the join."""

    def total(self) -> int:
        return self.value + sum(shard.value for shard in self.shards)


class _TracedValue:
    """With --trace: ``value`` records each read and write in the trace of the thread that
    makes it (the harness's doing, outside the worker's code: a property call at each read
    and write, whose cost the report measures against untraced trials)."""

    _value = 0

    @property
    def value(self) -> int:
        value = self._value
        ctx = running()
        if ctx is not None:
            ctx.record(READ, value)
        return value

    @value.setter
    def value(self, value: int) -> None:
        self._value = value
        ctx = running()
        if ctx is not None:
            ctx.record(WRITE, value)


_TRACED: dict[type[Counter], type[Counter]] = {}


def traced(kind: type[Counter]) -> type[Counter]:
    """``kind`` with its ``value`` recorded (see :class:`_TracedValue`)."""
    made = _TRACED.get(kind)
    if made is None:
        made = _TRACED[kind] = type(f"Traced{kind.__name__}", (_TracedValue, kind), {})
    return made


#: Each strategy's shared state.
KINDS: dict[str, type[Counter]] = {
    "none": Counter,
    "lock": LockedCounter,
    "sharded": ShardedCounter,
}


class CounterState(Protocol):
    """What the check reads: the shared count (a Counter, or counter_runtimes.SharedCounter
    in shared memory for --runtime processes)."""

    @property
    def value(self) -> int: ...

    def total(self) -> int: ...


def _validate(value: int) -> int:
    if value < 0:
        raise ValueError(f"a counter cannot be negative: {value}")
    return value


def _add_one(value: int) -> int:
    return value + 1


def next_value(value: int) -> int:
    """The step between read and write: check the value read, then compute the new one."""
    return _add_one(_validate(value))


def next_value_after_io(value: int) -> int:
    """The same step after an I/O call; ``time.sleep(0)`` stands for it (a log write, a
    database call): it releases the GIL, as I/O does, and sleeps for no set time (the
    system call itself costs about 1 µs on 3.10 and, on Linux, the timer slack of about
    60 µs on 3.11+, which is what a short I/O call costs too)."""
    time.sleep(0)
    return next_value(value)


#: --window: what happens between the read and the write.
STEPS = {"call": next_value, "io": next_value_after_io}
#: --window io's default --iterations: 4 threads x 2,000 I/O calls take about 0.2 s a trial
#: on 3.11+ (20,000, the call window's default, took 1.5 s).
IO_ITERATIONS = 2_000


#: The call between a worker's read and its write: next_value, or with --window io
#: next_value_after_io (the harness passes the window's).
Step = Callable[[int], int]


def increment_unsafe(counter: Counter, step: Step) -> None:
    value = counter.value  # read
    value = step(value)  # a call: another thread may run here
    counter.value = value  # write: what others wrote since is lost


def increment_locked(counter: LockedCounter, step: Step) -> None:
    with counter.lock:  # one thread at a time from here
        value = counter.value
        value = step(value)
        counter.value = value


def increment_sharded(counter: ShardedCounter, thread: int, step: Step) -> None:
    own = counter.shards[thread]  # this thread's own: nobody else writes it
    value = own.value
    value = step(value)
    own.value = value


def increment_bare(counter: Counter) -> None:
    """--window none: the classic ``+= 1`` (read, add, write with no call in between)."""
    counter.value += 1


def increment_bare_locked(counter: LockedCounter) -> None:
    with counter.lock:
        counter.value += 1


def increment_bare_sharded(counter: ShardedCounter, thread: int) -> None:
    counter.shards[thread].value += 1


#: --window none: each strategy's bare increment.
BARE: dict[str, Callable[..., None]] = {
    "none": increment_bare,
    "lock": increment_bare_locked,
    "sharded": increment_bare_sharded,
}


_WHY = WhyItBreaks(
    gil=(
        "under the GIL only one thread runs bytecode at a time, but the interpreter may switch "
        "threads at any call or loop jump; when it switches at the call between a thread's read "
        "and its write, every increment the other threads make meanwhile is overwritten when "
        "that thread resumes and writes its stale value + 1. A lock makes the three steps one."
    ),
    free_threaded=(
        "threads truly run in parallel on this free-threaded build, so two threads read the same "
        "value at the same moment and both write value + 1: one increment is lost each time. "
        "A lock makes the read-modify-write one step."
    ),
)

_NONE = Strategy(
    name="none",
    summary="read, call, write with nothing around it",
    cost="nothing, and it loses updates",
    safe=False,
    workers={"worker": each_iteration(increment_unsafe, step=next_value)},
)
_LOCK = Strategy(
    name="lock",
    summary="a threading.Lock held around the read-modify-write, so it runs as one step",
    cost=(
        "one acquire and release per increment; when threads contend, waiters block and, "
        "under the GIL, hand the interpreter back and forth, which is far slower than the "
        "unsafe loop"
    ),
    safe=True,
    workers={"worker": each_iteration(increment_locked, step=next_value)},
)
_SHARDED = Strategy(
    name="sharded",
    summary="one counter per thread, summed after the join (nothing shared while counting)",
    cost=(
        "a counter per thread and a sum at the end; no lock and no waiting, so as fast as the "
        "unsafe loop, but the total is only known once every thread is done"
    ),
    safe=True,
    workers={"worker": each_iteration(increment_sharded, step=next_value)},
)


class CounterScenario(Scenario[CounterState]):
    name = "counter"
    summary = "Threads increment one shared integer; unsynchronized increments get lost."
    explanation = (
        "Each thread adds 1 to a shared integer --iterations times. An increment is three "
        "steps: read the value, compute the next one (here with a small function call, as "
        "real code validates or logs), write it back. When another thread writes between "
        "this thread's read and write, this thread's write overwrites it: a lost update. "
        "--sync sharded gives each thread its own counter and sums them after the join (the "
        "approximate counter of the textbooks, exact here because the sum waits for the "
        "join): nothing is shared, so nothing is lost, at the speed of the unsafe loop."
    )
    shared_state = "one integer, counter.value, starting at 0"
    invariant = "final value == threads × iterations"
    violation_noun = "lost updates"
    counted = ("expected", "final value")
    why = _WHY
    strategies = (_NONE, _LOCK, _SHARDED)
    helpers = (next_value, _validate, _add_one, next_value_after_io, increment_bare)
    windows = ("call", "io", "none")
    default_window = "call"
    window_help: ClassVar[Mapping[str, str]] = {
        "call": "read; call next_value() (a plain Python function); write",
        "io": (
            "read; an I/O call (time.sleep(0), which releases the GIL); next_value(); write. "
            f"Default --iterations {IO_ITERATIONS:,}: each I/O call costs about 60 µs of "
            "timer slack on Linux (3.11+)"
        ),
        "none": (
            "the bare value += 1: no call between read and write, so under the GIL on "
            "CPython 3.10+ no thread switch lands inside it (it is still not atomic)"
        ),
    }
    outcome_name = "final value"
    grade_meanings: ClassVar[Mapping[str, str]] = {
        ACCEPTABLE: "every increment counted",
        FORBIDDEN: "updates were lost",
        INTERESTING: (
            "below one thread's own count: stale writes undid even the writers' own increments"
        ),
    }
    default_sync = "none"
    default_iterations = 20_000
    window_iterations: ClassVar[Mapping[str, int]] = {"io": IO_ITERATIONS}
    iterations_meaning = "increments per thread"

    runtimes = ("threads", "asyncio", "processes")

    def default_window_for(self, runtime: str) -> str:
        return "io" if runtime == "asyncio" else self.default_window

    def default_iterations_for(self, runtime: str, window: str = "") -> int:
        # every await suspends, so tasks interleave at each increment: a few thousand show
        # the loss, and 20,000 awaits a task would take over a second
        return 2_000 if runtime == "asyncio" else super().default_iterations_for(runtime, window)

    def setup(self, config: RunConfig) -> CounterState:
        if config.runtime == "processes":
            from syncdemo.scenarios.counter_runtimes import SharedCounter

            return SharedCounter()
        kind = KINDS[config.sync]
        if config.runtime == "asyncio" and kind is LockedCounter:
            kind = AsyncLockedCounter
        counter = (traced(kind) if config.trace else kind)()
        if isinstance(counter, ShardedCounter) and config.runtime == "threads":
            counter.shards = [Shard() for _ in range(config.threads)]
        return counter

    def worker(self, strategy: Strategy, role: str, config: RunConfig) -> Worker:
        if config.runtime != "threads":
            from syncdemo.scenarios.counter_runtimes import RUNTIME_WORKERS

            return RUNTIME_WORKERS[config.runtime][strategy.name]
        if config.window == "none":
            return each_iteration(BARE[strategy.name])
        return each_iteration(lesson_of(strategy.workers[role]), step=STEPS[config.window])

    def outcome_key(self, outcome: Outcome) -> int:
        return outcome.observed

    def grade(self, outcome: Outcome, config: RunConfig) -> str:
        if outcome.ok:
            return ACCEPTABLE
        if config.threads > 1 and outcome.observed < config.iterations:
            return INTERESTING
        return FORBIDDEN

    def verdict(self, ok: bool, config: RunConfig, gil: bool) -> str:
        if config.threads > 1 and config.runtime != "threads":
            from syncdemo.scenarios.counter_runtimes import runtime_verdict

            return runtime_verdict(ok, config)
        if ok and config.window == "none" and config.sync == "none" and config.threads > 1:
            if gil:
                return (
                    "No update was lost, yet value += 1 is still not atomic: it is a read, an "
                    "add and a write. CPython 3.10+ under the GIL switches threads only at "
                    "calls and backward jumps, and value += 1 has neither inside it, so no "
                    "switch landed between its read and its write. Free-threaded builds "
                    "(3.13t, 3.14t), other versions and other Pythons do lose updates here; "
                    "so does any real code that calls a function in between (--window call)."
                )
            return (
                "No update was lost this time, but value += 1 is not atomic and threads run "
                "in parallel here: run more --iterations or --trials and it will lose some."
            )
        return super().verdict(ok, config, gil)

    def evidence(
        self, state: CounterState, contexts: Sequence[ThreadContext], limit: int
    ) -> list[Evidence]:
        return lost_update_evidence(contexts, limit)

    def check(self, state: CounterState, contexts: Sequence[ThreadContext]) -> Outcome:
        expected = sum(c.ops for c in contexts)
        observed = state.total()
        return Outcome(
            expected=expected,
            observed=observed,
            violations=max(0, expected - observed),
        )


class LockedCounterScenario(CounterScenario):
    name = "locked-counter"
    summary = "The counter with a threading.Lock around each increment; no update is lost."
    default_sync = "lock"
