"""The scenario contract: a workload on shared state, its sync strategies and its invariant.

A scenario never starts a thread, sleeps to encourage a race, prints or reads argv. The
engine owns threads, timing and trials; the scenario owns the shared state and says,
after the threads joined, what went wrong in it.
"""

from __future__ import annotations

import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from syncdemo.results import Evidence, Outcome, RunConfig
from syncdemo.watchdog import Stuck

if TYPE_CHECKING:
    from syncdemo.model import Model

S = TypeVar("S")

#: How many iterations a worker runs between two looks at the stop flag. Large enough
#: that the check costs nothing measurable, small enough that Ctrl-C is prompt.
CHUNK = 1024

#: With --trace, the events all threads together may record in one trial (memory bound:
#: about 100 bytes an event). Each thread gets an equal share; a thread whose share is
#: full stops recording at its next chunk and the report says the trace was capped.
TRACE_EVENTS_MAX = 400_000

#: One recorded event: (perf_counter_ns, what happened, value, second value or -1).
Event = tuple[int, str, int, int]

ACCEPTABLE = "ACCEPTABLE"
FORBIDDEN = "FORBIDDEN"
INTERESTING = "INTERESTING"


class Stopped(Exception):
    """Raised inside a worker (by :meth:`ThreadContext.check_stop`) when the run is cancelled."""


@dataclass(eq=False)
class ThreadContext:
    """One worker thread's own bookkeeping: only that thread writes it, so no lock is needed.

    The engine reads it after the join to build per-thread statistics; scenarios keep
    per-thread observations (items consumed, stale reads seen) in ``data``.
    """

    index: int
    role: str
    role_index: int
    config: RunConfig
    stop: threading.Event
    rng: random.Random
    ops: int = 0
    wait_ns: int = 0
    start_ns: int = 0
    end_ns: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    trace: list[Event] | None = None
    """With --trace: this thread's own event buffer (no lock: only this thread appends)."""
    trace_cap: int = 0
    trace_capped: bool = False
    recorded: list[Event] = field(default_factory=list)
    """The events kept after the run (the buffer outlives ``trace`` being switched off)."""
    finished: threading.Event = field(default_factory=threading.Event)
    """Set by the engine when this thread's function has returned, whatever happened."""

    def chunks(self) -> Iterator[range]:
        """Hand out this thread's ``--iterations`` as consecutive ranges of iteration numbers,
        counting them as operations and ending early when the run is cancelled (Ctrl-C).

        Looking at the stop flag once a chunk, not once an iteration, keeps the loop that
        races free of extra calls (each call is a place the interpreter may switch threads).
        """
        total = self.config.iterations
        done = 0
        while done < total and not self.stop.is_set():
            if self.trace is not None and len(self.trace) >= self.trace_cap:
                self.trace = None  # workers re-read ctx.trace at each chunk
                self.trace_capped = True
            n = min(CHUNK, total - done)
            self.ops += n
            yield range(done, done + n)
            done += n

    def record(self, kind: str, value: int, other: int = -1) -> None:
        """With --trace: append one event to this thread's own buffer, up to its cap."""
        trace = self.trace
        if trace is None:
            return
        if len(trace) >= self.trace_cap:
            self.trace = None
            self.trace_capped = True
            return
        trace.append((time.perf_counter_ns(), kind, value, other))

    def check_stop(self) -> None:
        """Give up (raise :class:`Stopped`) if the run was cancelled; call it in wait loops."""
        if self.stop.is_set():
            raise Stopped


Worker = Callable[[Any, ThreadContext], None]


@dataclass(frozen=True)
class Strategy:
    """One way to synchronise a scenario's workload (or not to)."""

    name: str
    summary: str
    cost: str
    safe: bool
    workers: Mapping[str, Worker]
    """The function each role runs; ``describe`` shows their source."""


@dataclass(frozen=True)
class WhyItBreaks:
    """Why the unsafe strategy fails, in words for each kind of interpreter."""

    gil: str
    free_threaded: str


class Scenario(ABC, Generic[S]):
    """Subclass, fill in the class attributes, implement setup/check, register it."""

    name: str
    summary: str
    explanation: str
    shared_state: str
    invariant: str
    violation_noun: str
    """What one violation is called, plural: "lost updates", "stale reads"."""
    why: WhyItBreaks
    strategies: tuple[Strategy, ...]
    default_sync: str
    default_threads: int = 4
    default_iterations: int = 10_000
    iterations_meaning: str = "iterations per thread"
    windows: tuple[str, ...] = ("fixed",)
    """The race windows ``--window`` can choose; most scenarios have one, built in."""
    default_window: str = "fixed"
    helpers: tuple[Callable[..., Any], ...] = ()
    """Functions the workers call inside the race window; ``describe`` shows them too."""

    def strategy(self, name: str) -> Strategy:
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)

    def strategy_names(self) -> list[str]:
        return [s.name for s in self.strategies]

    window_help: ClassVar[Mapping[str, str]] = {}
    """What each of ``windows`` means, for describe."""
    outcome_name: str = "violations"
    """What the outcome histogram counts (see :meth:`outcome_key`)."""
    grade_meanings: ClassVar[Mapping[str, str]] = {
        ACCEPTABLE: "the invariant held",
        FORBIDDEN: "the invariant was violated",
    }

    def worker(self, strategy: Strategy, role: str, config: RunConfig) -> Worker:
        """The function a thread of ``role`` runs; scenarios with windows pick a variant."""
        return strategy.workers[role]

    def outcome_key(self, outcome: Outcome) -> int:
        """The number the outcome histogram buckets trials by."""
        return outcome.violations

    def grade(self, outcome: Outcome, config: RunConfig) -> str:
        """jcstress-style: ACCEPTABLE, FORBIDDEN, or a scenario's own INTERESTING case."""
        return ACCEPTABLE if outcome.ok else FORBIDDEN

    def evidence(self, state: S, contexts: Sequence[ThreadContext], limit: int) -> list[Evidence]:
        """With --trace: up to ``limit`` concrete failures rebuilt from the recorded events."""
        return []

    def roles(self, config: RunConfig) -> Sequence[str]:
        """The role of each thread, in thread order; one role unless a scenario splits them."""
        return ["worker"] * config.threads

    def roles_note(self, config: RunConfig) -> str:
        """How ``--threads`` was split between roles, in words ("" when there is one role)."""
        return ""

    @abstractmethod
    def setup(self, config: RunConfig) -> S:
        """Build fresh shared state for one trial (not timed)."""

    @abstractmethod
    def check(self, state: S, contexts: Sequence[ThreadContext]) -> Outcome:
        """After the join: compare the shared state with the invariant."""

    def cancel(self, state: S) -> None:
        """Wake workers blocked inside the scenario's own primitives (on Ctrl-C)."""

    def progress(self, state: S, contexts: Sequence[ThreadContext]) -> int:
        """A number that changes whenever any worker gets anywhere; the watchdog calls a
        trial stuck when it stays the same for ``--timeout`` seconds. Operations done plus
        time spent in counted waits: a thread that finishes a barrier wait has moved on."""
        return sum(c.ops + c.wait_ns for c in contexts)

    def deadlock(self, state: S) -> str | None:
        """A deadlock that is certain right now (a wait-for cycle of instrumented locks), in
        words, or None. The watchdog polls it while the workers run."""
        return None

    def stuck(self, state: S, stuck: Stuck) -> None:
        """The watchdog gave up on this trial (``cancel`` follows): keep why, so that
        ``check`` can report the trial as deadlocked or hung."""

    def model(self, config: RunConfig) -> Model | None:
        """The workers as atomic steps for ``syncdemo explore`` (syncdemo.model), or None
        when this scenario, or this ``config.sync``, has no model."""
        return None

    def verdict(self, ok: bool, config: RunConfig, gil: bool) -> str:
        """One sentence for the report's last line: what happened and why, plainly."""
        strategy = self.strategy(config.sync)
        if config.threads == 1:
            return (
                "One thread cannot race with itself: nothing else touched the shared state, "
                "so the invariant held. Run it with --threads 2 or more."
            )
        if not ok:
            why = self.why.gil if gil else self.why.free_threaded
            return f"The invariant broke with --sync {strategy.name}: {why}"
        if strategy.safe:
            return f"The invariant held, as it must with --sync {strategy.name}: {strategy.summary}"
        return (
            f"No {self.violation_noun} this time, but --sync {strategy.name} is still unsafe: "
            "nothing stops the interleaving, it just did not happen in this run. "
            "Try more --iterations or --trials."
        )


class ProducerConsumerRoles(Scenario[S]):
    """A scenario whose threads are producers and consumers, split by :meth:`split`.

    One thread alone both produces and consumes (role "producer+consumer").
    """

    split_rule: str = "half the threads produce"

    @abstractmethod
    def split(self, threads: int) -> tuple[int, int]:
        """(producers, consumers) for ``threads``; (1, 0) for one thread."""

    def roles(self, config: RunConfig) -> Sequence[str]:
        producers, consumers = self.split(config.threads)
        if consumers == 0:
            return ["producer+consumer"]
        return ["producer"] * producers + ["consumer"] * consumers

    def roles_note(self, config: RunConfig) -> str:
        producers, consumers = self.split(config.threads)
        if consumers == 0:
            return "1 thread puts each item and takes it back"
        return f"{producers} producers, {consumers} consumers ({self.split_rule})"
