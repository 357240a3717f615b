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
    """What one violation is called, plural: "lost updates", "stale reads". A trial's
    ``Outcome.violations`` counts exactly these, and nothing else."""
    counted: tuple[str, str] = ("expected", "observed")
    """What ``Outcome.expected`` and ``Outcome.observed`` count, as the report's column
    headers: ("takes tried", "found an item")."""
    violation_share: bool = True
    """Whether violations are a part of ``Outcome.expected`` (lost updates of the expected
    final value), so the report may show them as a percentage of it."""
    why: WhyItBreaks
    strategies: tuple[Strategy, ...]
    default_sync: str
    default_threads: int = 4
    default_iterations: int = 10_000
    iterations_meaning: str = "iterations per thread"
    windows: tuple[str, ...] = ("fixed",)
    """The race windows ``--window`` can choose; most scenarios have one, built in."""
    default_window: str = "fixed"
    runtimes: tuple[str, ...] = ("threads",)
    """What can run the workers (--runtime): threads, and for some, asyncio and processes."""
    helpers: tuple[Callable[..., Any], ...] = ()
    """Functions the workers call inside the race window; ``describe`` shows them too."""

    starts_threads: bool = False
    """Whether its workers start threads of their own (a user's plain function), so that
    one thread of it can race too."""
    explore_threads: int | None = None
    """``explore``'s and ``play``'s default --threads (None: the default, at most 2)."""
    explore_iterations: int | None = None
    """Their default --iterations (None: the default, at most 2)."""
    explore_seed: int = 0
    """Their default --seed, where the workers make random choices."""
    explore_preemptions: int = 2
    """``explore``'s default --max-preemptions: most bugs need one or two (CHESS); a
    scenario of three threads, whose every bound has far more schedules, says 1."""
    explore_limit: int | None = None
    """``explore``'s default --limit of runs, where most schedules never end (a livelock
    retries until the step limit cuts it) and the general default would take minutes."""

    def explore_size(self) -> tuple[int, int]:
        """(threads, iterations) small enough that every schedule can be tried in seconds."""
        return (
            self.explore_threads or min(self.default_threads, 2),
            self.explore_iterations or min(self.default_iterations, 2),
        )

    def default_window_for(self, runtime: str) -> str:
        """The window ``--window`` defaults to on ``runtime``."""
        return self.default_window

    def default_iterations_for(self, runtime: str, window: str = "") -> int:
        """``--iterations``' default on ``runtime`` with ``window``: each window's run takes
        about as long as the default window's (some runtimes switch far more slowly)."""
        return self.window_iterations.get(window, self.default_iterations)

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

    def kept_ops(self, outcome: Outcome, ops: int) -> int:
        """Of the ``ops`` operations the threads did, how many left their work intact.

        By default the share the check found intact: ``observed / expected`` of them when
        violations are a part of ``expected`` (the increments that survived; the reads that
        were clean), else one operation undone per violation. A scenario whose violations
        are work never done (a deadlock) keeps every operation done, and overrides this."""
        if self.violation_share and outcome.expected > 0:
            kept = round(ops * min(1.0, max(0, outcome.observed) / outcome.expected))
        else:
            kept = ops - outcome.violations
        return max(0, min(ops, kept))

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

    origin: str = "syncdemo"
    """Where the scenario comes from: "syncdemo", a plugin's package, or the user's file."""

    def code_files(self, workers: Sequence[Callable[..., Any]]) -> frozenset[str]:
        """The source files of the code under test, where ``explore`` may switch threads:
        this scenario's module and those of its ``workers``."""
        import sys

        module = sys.modules.get(type(self).__module__)
        files = {str(getattr(module, "__file__", "") or "")}
        from syncdemo.engine.context import lesson_of

        lessons = [lesson_of(w) for w in workers]
        files.update(w.__code__.co_filename for w in lessons if hasattr(w, "__code__"))
        return frozenset(f for f in files if f)

    def code_roots(self) -> tuple[Any, ...]:
        """Classes and functions whose code is the code under test besides what the
        modules of :meth:`code_files` define (code with no file: the REPL's)."""
        return ()

    def explored_state(self, state: S, root: str, track: Callable[[Any, str], Any]) -> S:
        """``state`` with what the workers share made to report its reads and writes
        (``track(obj, name)`` returns the tracked object); ``root`` is the workers' name for
        the state."""
        tracked: S = track(state, root)
        return tracked

    def explored_view(self, state: S) -> Any:
        """What ``explore`` shows as the shared state after each step."""
        return state

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
            runtimes=tuple(self.runtimes),
        )

    def sources(self) -> tuple[Source, ...]:
        """The worker of each strategy and role (at the default thread count), then the
        helpers they call, as ``describe`` shows them."""
        import inspect

        from syncdemo.engine.config import resolve
        from syncdemo.engine.context import lesson_of
        from syncdemo.info import Source

        roles = set(self.roles(resolve(self, iterations=1, trials=1, seed=0, race_budget=0)))
        found = [
            Source(
                title=f"--sync {s.name}: each {role} thread runs {lesson.__name__}()",
                strategy=s.name,
                role=role,
                function=lesson.__name__,
                code=inspect.getsource(lesson).rstrip(),
            )
            for s in self.strategies
            for role, lesson in ((r, lesson_of(w)) for r, w in s.workers.items())
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
        if config.threads == 1 and not self.starts_threads:
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
