"""counter and locked-counter: threads increment one shared integer.

The read-modify-write has an honest race window: between reading the value and writing
it back, the worker calls a small function, as real code does (validate, convert, log).
Under the GIL, CPython 3.10+ switches threads only at such calls and at backward jumps,
so the bare ``value += 1`` almost never loses an update there; with a call inside, a
switch can land between the read and the write and every update another thread makes
meanwhile is overwritten.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from syncdemo.engine.context import ThreadContext, Worker
from syncdemo.engine.evidence import READ, WRITE, lost_update_evidence
from syncdemo.explore.model import Model, ProgramBuilder
from syncdemo.results import ACCEPTABLE, FORBIDDEN, INTERESTING, Evidence, Outcome, RunConfig
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks


@dataclass(eq=False)
class Counter:
    value: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


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


def increment_unsafe(state: Counter, ctx: ThreadContext) -> None:
    step = STEPS[ctx.config.window]
    for chunk in ctx.chunks():
        trace = ctx.trace  # None unless --trace
        for _ in chunk:
            value = state.value  # read
            if trace is not None:
                trace.append((time.perf_counter_ns(), READ, value, -1))
            value = step(value)  # a call: another thread may run here
            state.value = value  # write: overwrites what others did meanwhile
            if trace is not None:
                trace.append((time.perf_counter_ns(), WRITE, value, -1))


def increment_locked(state: Counter, ctx: ThreadContext) -> None:
    step = STEPS[ctx.config.window]
    for chunk in ctx.chunks():
        trace = ctx.trace
        for _ in chunk:
            with state.lock:  # one thread at a time from here
                value = state.value
                if trace is not None:
                    trace.append((time.perf_counter_ns(), READ, value, -1))
                value = step(value)
                state.value = value
                if trace is not None:
                    trace.append((time.perf_counter_ns(), WRITE, value, -1))


def increment_bare(state: Counter, ctx: ThreadContext) -> None:
    """--window none: the classic ``+= 1`` (read, add, write with no call in between)."""
    for chunk in ctx.chunks():
        for _ in chunk:
            state.value += 1


def increment_bare_locked(state: Counter, ctx: ThreadContext) -> None:
    for chunk in ctx.chunks():
        for _ in chunk:
            with state.lock:
                state.value += 1


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
    workers={"worker": increment_unsafe},
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
    workers={"worker": increment_locked},
)


class CounterScenario(Scenario[Counter]):
    name = "counter"
    summary = "Threads increment one shared integer; unsynchronized increments get lost."
    explanation = (
        "Each thread adds 1 to a shared integer --iterations times. An increment is three "
        "steps: read the value, compute the next one (here with a small function call, as "
        "real code validates or logs), write it back. When another thread writes between "
        "this thread's read and write, this thread's write overwrites it: a lost update."
    )
    shared_state = "one integer, counter.value, starting at 0"
    invariant = "final value == threads x iterations"
    violation_noun = "lost updates"
    why = _WHY
    strategies = (_NONE, _LOCK)
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

    def setup(self, config: RunConfig) -> Counter:
        return Counter()

    def worker(self, strategy: Strategy, role: str, config: RunConfig) -> Worker:
        if config.window == "none":
            return increment_bare_locked if strategy.safe else increment_bare
        return strategy.workers[role]

    def outcome_key(self, outcome: Outcome) -> int:
        return outcome.observed

    def grade(self, outcome: Outcome, config: RunConfig) -> str:
        if outcome.ok:
            return ACCEPTABLE
        if config.threads > 1 and outcome.observed < config.iterations:
            return INTERESTING
        return FORBIDDEN

    def verdict(self, ok: bool, config: RunConfig, gil: bool) -> str:
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
        self, state: Counter, contexts: Sequence[ThreadContext], limit: int
    ) -> list[Evidence]:
        return lost_update_evidence(contexts, limit)

    def model(self, config: RunConfig) -> Model:
        return counter_model(config)

    def check(self, state: Counter, contexts: Sequence[ThreadContext]) -> Outcome:
        expected = sum(c.ops for c in contexts)
        observed = state.value
        return Outcome(
            expected=expected,
            observed=observed,
            violations=max(0, expected - observed),
        )


class LockedCounterScenario(CounterScenario):
    name = "locked-counter"
    summary = "The counter with a threading.Lock around each increment; no update is lost."
    default_sync = "lock"


# --- model for syncdemo explore -----------------------------------------------------------
# The workers above as atomic steps (syncdemo.explore.model). increment_unsafe is, per increment,
# a read, a call and a write; the call touches no shared state, so the model has two steps,
# and the write stores next_value() of what was read, as the worker does. increment_locked
# is the same between acquire and release. Change a worker, change its steps here.


def counter_model(config: RunConfig) -> Model:
    """Each thread: --iterations times read value, write next_value(what it read); with
    --sync lock, inside acquire lock ... release lock."""
    locked = config.sync == "lock"
    programs = []
    for t in range(config.threads):
        p = ProgramBuilder(t, "worker", registers=("read",))
        for _ in range(config.iterations):
            if locked:
                p.acquire("lock")
            p.read("value", into="read")
            p.step("write", "value", _write_next, "write (what it read) + 1")
            if locked:
                p.release("lock")
        programs.append(p.build())
    expected = config.threads * config.iterations
    return Model(
        scenario=config.scenario,
        sync=config.sync,
        programs=tuple(programs),
        initial={"value": 0, "lock": None, "increments": 0},
        shown=("value", "lock") if locked else ("value",),
        outcome=lambda s: Outcome(expected, s["value"], max(0, expected - s["value"])),
        label=lambda s: f"{s['value']:,}",
        outcome_name="final value",
        show=_show_counter,
        violation=_lost_updates,
        question="What is counter.value at the end?",
        answer=lambda s: str(s["value"]),
        notes=(
            "next_value() between the read and the write touches no shared state, so it is "
            "not a step: a thread switch there is a switch between the read and the write",
        ),
    )


def _write_next(s: dict[str, Any], loc: dict[str, Any]) -> str:
    s["value"] = next_value(loc["read"])
    s["increments"] += 1  # ghost: increments done so far, to see the first lost one
    loc["read"] = None
    return f"write {s['value']:,}"


def _show_counter(s: Mapping[str, Any]) -> str:
    held = "" if s["lock"] is None else f", lock: thread {s['lock']}"
    return f"value {s['value']:,}{held}"


def _lost_updates(s: Mapping[str, Any]) -> str | None:
    lost = s["increments"] - s["value"]
    if lost <= 0:
        return None
    return (
        f"{s['increments']:,} increments were written but value is {s['value']:,}: "
        f"this write overwrote {lost:,} of them"
    )
