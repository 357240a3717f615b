"""Plain data that flows from the CLI to the engine and from the engine to the renderers.

Everything here is a frozen dataclass with a ``to_dict`` that gives the stable JSON
schema documented in README.md; renderers never reach back into live threads or state.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: JSON-able scalar values used in scenario-specific details.
Scalar = int | float | str | bool | None


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

    @property
    def ok(self) -> bool:
        return self.outcome.ok

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.elapsed_s if self.elapsed_s > 0 else 0.0

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
            "threads": [t.to_dict() for t in self.threads],
            "details": dict(self.outcome.details),
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

    def to_dict(self) -> dict[str, float]:
        return {"min": self.min, "median": self.median, "max": self.max}


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
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.config.scenario,
            "sync": self.config.sync,
            "params": self.config.params(),
            "runtime": self.runtime.to_dict(),
            "invariant": self.invariant,
            "violation": self.violation_noun,
            "trials": [t.to_dict() for t in self.trials],
            "summary": self.summary(),
            "verdict": self.verdict,
            "interrupted": self.interrupted,
            "ok": self.ok,
        }
