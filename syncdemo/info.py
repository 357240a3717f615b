"""What a scenario is, as plain data: what ``list`` and ``describe`` show, and their JSON.

A scenario object builds its :class:`ScenarioInfo` (``Scenario.info()``); the renderers
read only this, never the live scenario, its workers or the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StrategyInfo:
    name: str
    summary: str
    cost: str
    safe: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "summary": self.summary, "cost": self.cost, "safe": self.safe}


@dataclass(frozen=True)
class WindowInfo:
    """One ``--window`` choice: what happens between the read and the write."""

    name: str
    meaning: str
    default: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "meaning": self.meaning, "default": self.default}


@dataclass(frozen=True)
class Source:
    """Code a thread runs (a worker, or the helpers it calls), as a reader should see it."""

    title: str
    strategy: str
    """The strategy whose worker this is; "" for helpers shared by the workers."""
    role: str
    function: str
    code: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "strategy": self.strategy,
            "role": self.role,
            "function": self.function,
            "code": self.code,
        }


@dataclass(frozen=True)
class ScenarioInfo:
    name: str
    summary: str
    explanation: str
    shared_state: str
    invariant: str
    violation_noun: str
    default_sync: str
    default_threads: int
    default_iterations: int
    iterations_meaning: str
    strategies: tuple[StrategyInfo, ...]
    why_gil: str
    why_free_threaded: str
    windows: tuple[WindowInfo, ...] = ()
    sources: tuple[Source, ...] = ()
    origin: str = "syncdemo"
    """Where the scenario comes from: "syncdemo" (built in), a package, or a file."""
    runtimes: tuple[str, ...] = ("threads",)

    def to_dict(self, *, sources: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "summary": self.summary,
            "explanation": self.explanation,
            "shared_state": self.shared_state,
            "invariant": self.invariant,
            "violation": self.violation_noun,
            "default_sync": self.default_sync,
            "defaults": {
                "threads": self.default_threads,
                "iterations": self.default_iterations,
                "iterations_meaning": self.iterations_meaning,
            },
            "strategies": [s.to_dict() for s in self.strategies],
            "why": {"gil": self.why_gil, "free_threaded": self.why_free_threaded},
            "origin": self.origin,
            "runtimes": list(self.runtimes),
        }
        if sources:
            data["windows"] = [w.to_dict() for w in self.windows]
            data["sources"] = [s.to_dict() for s in self.sources]
        return data


#: Where each --runtime lets another worker in, and what the workers share.
RUNTIME_SWITCHES = {
    "threads": (
        "under the GIL (CPython 3.10+) a thread can be switched out at a call, a function "
        "entry or a backward jump, and wherever it releases the GIL (I/O); on a free-threaded "
        "build threads run in parallel, so anywhere; they share every object"
    ),
    "asyncio": (
        "tasks share one thread and one event loop, which switches tasks only at an await "
        "that suspends; nothing else is a switch point, and the GIL and the switch interval "
        "play no part; they share every object"
    ),
    "processes": (
        "each process has its own interpreter and runs in parallel, so anywhere; they share "
        "only what lives in shared memory (a multiprocessing.Value, say)"
    ),
}
