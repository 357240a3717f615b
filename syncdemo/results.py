"""Plain data that flows from the CLI to the engine and from the engine to the renderers.

Everything here is a frozen dataclass with a ``to_dict`` that gives the stable JSON
schema documented in README.md; renderers never reach back into live threads or state.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The grades of an outcome, jcstress-style (the scenario says what each means).
ACCEPTABLE = "ACCEPTABLE"
FORBIDDEN = "FORBIDDEN"
INTERESTING = "INTERESTING"

#: JSON-able scalar values used in scenario-specific details.
Scalar = int | float | str | bool | None

#: What one worker is called on each runtime (``--threads N`` starts N of them).
WORKER: Mapping[str, tuple[str, str]] = {
    "threads": ("thread", "threads"),
    "asyncio": ("task", "tasks"),
    "processes": ("process", "processes"),
}


def workers(count: int | None, runtime: str) -> str:
    """ "4 threads", "1 task", "2 processes"; with ``count`` None, the plural alone."""
    one, many = WORKER.get(runtime, ("worker", "workers"))
    if count is None:
        return many
    return f"{count:,} {one if count == 1 else many}"


def per_worker(meaning: str, runtime: str) -> str:
    """A scenario's "increments per thread" as it reads on ``runtime`` ("per process")."""
    return meaning.replace("per thread", f"per {WORKER.get(runtime, ('worker',))[0]}")


@dataclass(frozen=True)
class RunConfig:
    """What the user asked for, validated, with the scenario's defaults filled in."""

    scenario: str
    sync: str
    threads: int
    iterations: int
    trials: int
    seed: int
    switch_interval: float | None = None
    """Seconds for ``sys.setswitchinterval`` during the run; None keeps the interpreter's."""
    window: str = ""
    """How wide the unsynchronized read-modify-write is (see ``Scenario.windows``)."""
    trace: bool = False
    """Record shared-state events per thread and reconstruct the failures from them."""
    show: int = 3
    """With ``trace``: how many failures to reconstruct per trial."""
    timeout: float = 2.0
    """Seconds without progress after which the watchdog declares the trial stuck."""
    keep_events: bool = False
    """With ``trace``: keep every recorded event in the result (for ``--export-trace``)."""
    runtime: str = "threads"
    """What runs the workers: "threads", "asyncio" (tasks in one event loop) or
    "processes" (each worker a process, the state in shared memory)."""
    race_budget: float = 0.0
    """Seconds: when no trial of an unsafe strategy violated the invariant, keep running
    trials until one does or the run has lasted this long (0: run ``trials`` only)."""

    def params(self) -> dict[str, Any]:
        return {
            "threads": self.threads,
            "iterations": self.iterations,
            "trials": self.trials,
            "seed": self.seed,
            "switch_interval": self.switch_interval,
            "window": self.window,
            "trace": self.trace,
            "timeout": self.timeout,
            "runtime": self.runtime,
            "race_budget": self.race_budget,
        }


@dataclass(frozen=True)
class BudgetUse:
    """What ``--race-budget`` did in one run: whether trials beyond ``--trials`` were run to
    find the race, how many, and whether one of them found it.

    A race is a matter of timing: on a busy machine a few trials can all miss it. Running
    more, until one shows it or the time is up, demonstrates it without staging it, and
    saying how many it took keeps the report honest about how rare it was.
    """

    budget_s: float
    asked: int
    """The trials asked for (``--trials``)."""
    extra: int
    """Trials run beyond them, looking for the race."""
    first_violated: int | None
    """The number of the first trial that violated the invariant, or None if none did."""
    elapsed_s: float
    """Wall time of all the trials, from the first one's start to the last one's end."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget_s": self.budget_s,
            "asked": self.asked,
            "extra": self.extra,
            "first_violated": self.first_violated,
            "elapsed_s": self.elapsed_s,
        }


@dataclass(frozen=True)
class RuntimeInfo:
    """Facts about the interpreter a run happened on: the same code races differently."""

    python: str
    implementation: str
    gil: bool
    free_threaded_build: bool
    switch_interval: float
    switch_interval_default: float
    cpus: int
    platform: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "python": self.python,
            "implementation": self.implementation,
            "gil": self.gil,
            "free_threaded_build": self.free_threaded_build,
            "switch_interval": self.switch_interval,
            "switch_interval_default": self.switch_interval_default,
            "cpus": self.cpus,
            "platform": self.platform,
        }


@dataclass(frozen=True)
class Outcome:
    """What a scenario's ``check`` found in the shared state after the threads joined."""

    expected: int
    observed: int
    violations: int
    details: Mapping[str, Scalar] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.violations == 0


@dataclass(frozen=True)
class Step:
    """One recorded event in a reconstructed failure (times are from the trial's start)."""

    t_ns: int
    thread: int
    action: str
    shared: str
    """The shared state right after this step, as the recorded events show it."""
    highlight: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "t_ns": self.t_ns,
            "thread": self.thread,
            "action": self.action,
            "shared": self.shared,
            "highlight": self.highlight,
        }


@dataclass(frozen=True)
class Evidence:
    """A concrete failure, rebuilt after the join from events the workers recorded."""

    kind: str
    threads: tuple[int, ...]
    steps: tuple[Step, ...]
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "threads": list(self.threads),
            "events": [s.to_dict() for s in self.steps],
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class ThreadEvents:
    """What one thread recorded in a traced trial, kept for ``--export-trace``.

    Times are ``perf_counter_ns`` readings (one clock for every thread)."""

    index: int
    role: str
    start_ns: int
    end_ns: int
    events: tuple[tuple[int, str, int, int], ...]
    """(time, what happened, value, second value or -1), in the order they happened."""


@dataclass(frozen=True)
class TraceInfo:
    """How much a traced trial recorded, and whether the per-thread cap cut it short."""

    events: int
    capped: bool
    threads: tuple[ThreadEvents, ...] = ()
    """The events themselves, only when the run was asked to export them."""
    base_ns: int = 0
    """The earliest recorded event: evidence steps count their ``t_ns`` from it."""

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "capped": self.capped}


@dataclass(frozen=True)
class OutcomeBin:
    """One row of the outcome histogram: an observed outcome, how often, and its grade."""

    outcome: str
    count: int
    frequency: float
    grade: str
    meaning: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "count": self.count,
            "frequency": self.frequency,
            "grade": self.grade,
            "meaning": self.meaning,
        }


@dataclass(frozen=True)
class ThreadStats:
    index: int
    role: str
    ops: int
    elapsed_s: float
    wait_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "role": self.role,
            "ops": self.ops,
            "elapsed_s": self.elapsed_s,
            "wait_s": self.wait_s,
        }


@dataclass(frozen=True)
class TrialResult:
    trial: int
    outcome: Outcome
    elapsed_s: float
    ops: int
    threads: tuple[ThreadStats, ...]
    grade: str = ""
    evidence: tuple[Evidence, ...] = ()
    trace: TraceInfo | None = None
    startup_s: float = 0.0
    """--runtime processes: from starting the processes to all of them at the start gate
    (not part of ``elapsed_s``, so that ops/s compare fairly with threads)."""
    kept_ops: int | None = None
    """Of ``ops``, the operations whose work the check found intact (an increment that was
    not lost); None: all of them."""

    @property
    def ok(self) -> bool:
        return self.outcome.ok

    @property
    def ops_per_s(self) -> float:
        """Operations done per second, whether or not their work survived."""
        return self.ops / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def kept(self) -> int:
        return self.ops if self.kept_ops is None else self.kept_ops

    @property
    def kept_ops_per_s(self) -> float:
        """Operations per second whose work was kept: what an unsafe strategy really
        delivered (a lost update is no throughput)."""
        return self.kept / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial": self.trial,
            "expected": self.outcome.expected,
            "observed": self.outcome.observed,
            "violations": self.outcome.violations,
            "ok": self.ok,
            "elapsed_s": self.elapsed_s,
            "ops": self.ops,
            "ops_per_s": self.ops_per_s,
            "kept_ops": self.kept,
            "kept_ops_per_s": self.kept_ops_per_s,
            "threads": [t.to_dict() for t in self.threads],
            "details": dict(self.outcome.details),
            "grade": self.grade,
            "evidence": [e.to_dict() for e in self.evidence],
            "trace": self.trace.to_dict() if self.trace else None,
            "startup_s": self.startup_s,
        }


@dataclass(frozen=True)
class Spread:
    min: float
    median: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        if not values:
            return cls(0.0, 0.0, 0.0)
        return cls(min(values), statistics.median(values), max(values))

    @property
    def spread(self) -> float:
        """(max - min) / median: how much the trials disagree, as a fraction."""
        return (self.max - self.min) / self.median if self.median else 0.0

    def to_dict(self) -> dict[str, float]:
        return {"min": self.min, "median": self.median, "max": self.max, "spread": self.spread}


@dataclass(frozen=True)
class RunResult:
    """One run of one scenario: every trial, the interpreter, and a verdict in words."""

    config: RunConfig
    runtime: RuntimeInfo
    invariant: str
    violation_noun: str
    trials: tuple[TrialResult, ...]
    verdict: str
    interrupted: bool = False
    outcomes: tuple[OutcomeBin, ...] = ()
    outcome_name: str = "outcome"
    untraced_ops_per_s: float | None = None
    """With --trace: median ops/s of as many extra trials run without tracing, to show its
    overhead."""
    untraced_violated: int | None = None
    """With --trace: how many of those untraced trials violated the invariant (recording
    adds calls, so places to switch threads, inside the race window)."""
    counted: tuple[str, str] = ("expected", "observed")
    """What a trial's ``expected`` and ``observed`` count ("takes tried", "found an item")."""
    violation_share: bool = True
    """Whether a trial's violations are a part of its ``expected`` (lost updates of the
    final value), so that a percentage of it means something."""
    iterations_meaning: str = "iterations per thread"
    """What one of ``config.iterations`` is: "increments per thread", "items per producer"."""
    roles_note: str = ""
    """How ``--threads`` was split between roles, in words ("" when there is one role)."""
    start_method: str = ""
    """--runtime processes: how multiprocessing started them (fork, spawn, forkserver)."""
    budget: BudgetUse | None = None
    """What ``--race-budget`` did; None when it did not apply (a safe strategy, one thread,
    or no budget)."""

    @property
    def violated(self) -> int:
        return sum(1 for t in self.trials if not t.ok)

    @property
    def ok(self) -> bool:
        return self.violated == 0

    @property
    def violation_rate(self) -> float:
        return self.violated / len(self.trials) if self.trials else 0.0

    @property
    def elapsed(self) -> Spread:
        return Spread.of([t.elapsed_s for t in self.trials])

    @property
    def ops_per_s(self) -> Spread:
        return Spread.of([t.ops_per_s for t in self.trials])

    @property
    def kept_ops_per_s(self) -> Spread:
        return Spread.of([t.kept_ops_per_s for t in self.trials])

    @property
    def violations(self) -> Spread:
        return Spread.of([float(t.outcome.violations) for t in self.trials])

    def summary(self) -> dict[str, Any]:
        return {
            "trials": len(self.trials),
            "violated": self.violated,
            "violation_rate": self.violation_rate,
            "violations": self.violations.to_dict(),
            "elapsed_s": self.elapsed.to_dict(),
            "ops_per_s": self.ops_per_s.to_dict(),
            "kept_ops_per_s": self.kept_ops_per_s.to_dict(),
            "outcome_name": self.outcome_name,
            "outcomes": [o.to_dict() for o in self.outcomes],
            "trace_overhead": self.trace_overhead(),
        }

    def trace_overhead(self) -> dict[str, float | None] | None:
        if self.untraced_ops_per_s is None or not self.trials:
            return None
        traced = self.ops_per_s.median
        return {
            "traced_ops_per_s": traced,
            "untraced_ops_per_s": self.untraced_ops_per_s,
            "slowdown": self.untraced_ops_per_s / traced if traced else 0.0,
            "traced_violation_rate": self.violation_rate,
            "untraced_violation_rate": (
                self.untraced_violated / len(self.trials)
                if self.untraced_violated is not None
                else None
            ),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.config.scenario,
            "sync": self.config.sync,
            "params": self.config.params(),
            "runtime": self.runtime.to_dict(),
            "invariant": self.invariant,
            "violation": self.violation_noun,
            "counted": {"expected": self.counted[0], "observed": self.counted[1]},
            "trials": [t.to_dict() for t in self.trials],
            "summary": self.summary(),
            "verdict": self.verdict,
            "interrupted": self.interrupted,
            "budget": self.budget.to_dict() if self.budget else None,
            "ok": self.ok,
            "start_method": self.start_method or None,
        }
