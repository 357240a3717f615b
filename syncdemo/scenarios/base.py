"""The scenario contract: a workload on shared state, its sync strategies and its invariant.

A scenario never starts a thread, sleeps to encourage a race, prints or reads argv. The
engine owns threads, timing and trials; the scenario owns the shared state and says,
after the threads joined, what went wrong in it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from syncdemo.engine.context import ThreadContext, Worker
from syncdemo.engine.watchdog import Stuck
from syncdemo.results import ACCEPTABLE, FORBIDDEN, Evidence, Outcome, RunConfig

if TYPE_CHECKING:
    from syncdemo.explore.model import Model
    from syncdemo.info import ScenarioInfo, Source

S = TypeVar("S")


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
    window_iterations: ClassVar[Mapping[str, int]] = {}
    """``--iterations`` defaults of the windows whose cost differs from the default one's."""

    def iterations_for(self, window: str) -> int:
        """The default ``--iterations`` with ``window``: each window's run takes about as
        long as the default window's."""
        return self.window_iterations.get(window, self.default_iterations)

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
        """The workers as atomic steps for ``syncdemo explore`` (syncdemo.explore.model), or None
        when this scenario, or this ``config.sync``, has no model."""
        return None

    origin: str = "syncdemo"
    """Where the scenario comes from: "syncdemo", a plugin's package, or the user's file."""

    def info(self, *, sources: bool = False) -> ScenarioInfo:
        """This scenario as plain data for ``list`` and ``describe``; with ``sources``, the
        code each role runs at the default thread count, and the helpers they call."""
        from syncdemo.info import ScenarioInfo, StrategyInfo, WindowInfo

        return ScenarioInfo(
            name=self.name,
            summary=self.summary,
            explanation=self.explanation,
            shared_state=self.shared_state,
            invariant=self.invariant,
            violation_noun=self.violation_noun,
            default_sync=self.default_sync,
            default_threads=self.default_threads,
            default_iterations=self.default_iterations,
            iterations_meaning=self.iterations_meaning,
            strategies=tuple(
                StrategyInfo(s.name, s.summary, s.cost, s.safe) for s in self.strategies
            ),
            why_gil=self.why.gil,
            why_free_threaded=self.why.free_threaded,
            windows=tuple(
                WindowInfo(name, text, name == self.default_window)
                for name, text in self.window_help.items()
            ),
            sources=self.sources() if sources else (),
            origin=self.origin,
        )

    def sources(self) -> tuple[Source, ...]:
        """The worker of each strategy and role (at the default thread count), then the
        helpers they call, as ``describe`` shows them."""
        import inspect

        from syncdemo.info import Source

        config = RunConfig(
            scenario=self.name,
            sync=self.default_sync,
            threads=self.default_threads,
            iterations=1,
            trials=1,
            seed=0,
        )
        roles = set(self.roles(config))
        found = [
            Source(
                title=f"--sync {s.name}: each {role} thread runs {worker.__name__}()",
                strategy=s.name,
                role=role,
                function=worker.__name__,
                code=inspect.getsource(worker).rstrip(),
            )
            for s in self.strategies
            for role, worker in s.workers.items()
            if role in roles
        ]
        if self.helpers:
            names = ", ".join(f"{h.__name__}()" for h in self.helpers)
            found.append(
                Source(
                    title=f"called by the workers: {names}",
                    strategy="",
                    role="",
                    function=names,
                    code="\n\n".join(inspect.getsource(h).rstrip() for h in self.helpers),
                )
            )
        return tuple(found)

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
