"""The scenario contract: a workload on shared state, its sync strategies and its invariant.

A scenario never starts a thread, sleeps to encourage a race, prints or reads argv. The
engine owns threads, timing and trials; the scenario owns the shared state and says,
after the threads joined, what went wrong in it.
"""

from __future__ import annotations

import random
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from syncdemo.results import Outcome, RunConfig

S = TypeVar("S")

#: How many iterations a worker runs between two looks at the stop flag. Large enough
#: that the check costs nothing measurable, small enough that Ctrl-C is prompt.
CHUNK = 1024


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

    def chunks(self) -> Iterator[range]:
        """Hand out this thread's ``--iterations`` as consecutive ranges of iteration numbers,
        counting them as operations and ending early when the run is cancelled (Ctrl-C).

        Looking at the stop flag once a chunk, not once an iteration, keeps the loop that
        races free of extra calls (each call is a place the interpreter may switch threads).
        """
        total = self.config.iterations
        done = 0
        while done < total and not self.stop.is_set():
            n = min(CHUNK, total - done)
            self.ops += n
            yield range(done, done + n)
            done += n

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
