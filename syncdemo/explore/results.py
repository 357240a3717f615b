"""Plain data from exploring the real code: each step as the source lines a thread ran, the
values it read and wrote, the state after it, and what a search covered.

Frozen dataclasses with ``to_dict``, read by render/explore.py and play.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncdemo.results import Outcome

GIL = "gil"
PARALLEL = "parallel"
NEEDS = {
    GIL: "possible with the GIL",
    PARALLEL: "needs threads that run in parallel (free-threaded CPython)",
    "": "",
}


@dataclass(frozen=True)
class OutcomeCount:
    label: str
    count: int
    frequency: float
    grade: str
    meaning: str
    ok: bool
    deadlock: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.label,
            "count": self.count,
            "frequency": self.frequency,
            "grade": self.grade,
            "meaning": self.meaning,
            "ok": self.ok,
            "deadlock": self.deadlock,
        }


@dataclass(frozen=True)
class SourceLine:
    file: str
    line: int
    code: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "code": self.code}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}  {self.code}"


@dataclass(frozen=True)
class Value:
    """One read or write of the shared state (or operation on a primitive) in a step."""

    kind: str
    """"read" or "write" ("write" also for operations on primitives)."""
    what: str
    value: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "what": self.what, "value": self.value}

    def __str__(self) -> str:
        if self.kind == "read":
            return f"read {self.what} = {self.value}"
        return f"{self.what} ← {self.value}"


@dataclass(frozen=True)
class RealStep:
    index: int
    """1-based."""
    thread: int
    lines: tuple[SourceLine, ...]
    values: tuple[Value, ...]
    state: str
    """The shared state after this step, or "" when it changed nothing."""
    preemption: bool
    timed_out: bool = False
    unreachable: bool = False
    """From this step on, no continuation keeps the invariant (within the bound)."""
    broke: bool = False

    @property
    def code(self) -> str:
        """The last line the step ran, without its comment ("(start)" for none)."""
        if not self.lines:
            return "(start)"
        return self.lines[-1].code.split("  #", 1)[0].strip() or self.lines[-1].code

    @property
    def action(self) -> str:
        """What the step did in one cell: its last line and the values it touched (no
        square brackets: table cells are Rich markup)."""
        shown = "; ".join(str(v) for v in self.values[-3:])
        return f"{self.code}  ({shown})" if shown else self.code

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.index,
            "thread": self.thread,
            "lines": [line.to_dict() for line in self.lines],
            "values": [v.to_dict() for v in self.values],
            "state": self.state,
            "preemption": self.preemption,
            "timed_out": self.timed_out,
            "invariant_unreachable": self.unreachable,
            "invariant_broken": self.broke,
        }


@dataclass(frozen=True)
class RealExecution:
    """One schedule of the real code, replayed in detail."""

    schedule: tuple[int, ...]
    steps: tuple[RealStep, ...]
    outcome: Outcome | None
    label: str
    grade: str
    meaning: str
    how: str
    """done, deadlock, cut (step limit) or hung."""
    cycle: str
    waits: tuple[str, ...]
    preemptions: int
    granularity: str
    initial: str
    replay: str
    needs: str = ""
    """GIL or PARALLEL for a failing schedule (see :data:`NEEDS`), "" when unknown or ok."""
    given: int = 0
    """How many steps the caller's schedule gave (the rest ran without preemption)."""
    error: str = ""
    """When a worker raised in this schedule: which thread, and what."""
    elided: int = 0
    """Steps left out before the first one shown (a livelock shows only its last steps)."""
    recorded: bool = True
    """Whether the values each step read and wrote (and the state after it) were recorded:
    not for a schedule shown as the search ran it (Ctrl-C came before its replay)."""
    fair_from: int | None = None
    """Set when the run went past the step limit: its first ``fair_from`` steps were
    chosen, the rest ran with each thread given its turn in order (a fair scheduler)."""

    @property
    def deadlocked(self) -> bool:
        return self.how == "deadlock"

    @property
    def ok(self) -> bool:
        return self.how == "done" and self.outcome is not None and self.outcome.ok

    @property
    def check(self) -> str:
        """What the scenario's check() said of this schedule's end when it failed ("" when
        it held, or said no more than False)."""
        if self.outcome is None or self.outcome.ok:
            return ""
        said = self.outcome.details.get("check", "")
        return "" if said in ("", "False") else str(said)

    @property
    def unreachable_step(self) -> int | None:
        return next((s.index for s in self.steps if s.unreachable), None)

    @property
    def broken_step(self) -> int | None:
        return next((s.index for s in self.steps if s.broke), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule": list(self.schedule),
            "length": len(self.schedule),
            "preemptions": self.preemptions,
            "granularity": self.granularity,
            "outcome": self.label,
            "grade": self.grade,
            "meaning": self.meaning,
            "ok": self.ok,
            "end": self.how,
            "deadlocked": self.deadlocked,
            "cycle": self.cycle,
            "waits": list(self.waits),
            "error": self.error,
            "check": self.check,
            "needs": self.needs,
            "needs_text": NEEDS.get(self.needs, ""),
            "invariant_unreachable_at": self.unreachable_step,
            "invariant_broken_at": self.broken_step,
            "initial": self.initial,
            "replay": self.replay,
            "values_recorded": self.recorded,
            "fair_from": self.fair_from,
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True)
class RealExploration:
    """What a search over the real code covered and found."""

    mode: str
    """bounded (--max-preemptions K), exhaustive (no bound) or random (PCT)."""
    granularity: str
    max_preemptions: int | None
    reduction: bool
    schedules: int
    """Complete schedules run (each ended done or deadlocked)."""
    pruned: int
    """Runs the chooser abandoned (0 for a search: it prunes nothing within its bound)."""
    cut: int
    """Runs cut at the step limit that then finished under a fair continuation (a
    spinning thread the search's own order kept running): counted among the schedules
    by the ending they then had."""
    hung: int
    elapsed_s: float
    complete: bool
    """False when the run limit (or a signal) stopped the search: counts are then partial."""
    limit: int
    step_limit: int
    outcomes: tuple[OutcomeCount, ...]
    deadlocks: int
    counterexample: RealExecution | None
    livelocks: int = 0
    """Schedules that ran on past the step limit even under a fair continuation."""
    seed: int | None = None
    runs: int = 0
    raw: int | None = None
    """Complete schedules without reduction, when that search was run too."""
    gil_found: bool | None = None
    """Whether a search at ``gil`` granularity, same bound, found a failure too."""
    interrupted: bool = False
    """A signal (Ctrl-C, SIGTERM) stopped the exploration: during the search (then it is
    not ``complete``), or after it, before the report's other checks were done."""
    time_limit: float | None = None
    """The search's time limit in seconds (--time-limit), if it had one."""
    timed_out: bool = False
    """The time limit stopped the search (it is then not ``complete``)."""
    check_unseen: bool = False
    """The scenario's check read none of the shared state the workers were seen to write
    (see :attr:`syncdemo.explore.runner.Runner.check_unseen`)."""

    @property
    def stopped_by(self) -> str:
        """What stopped an incomplete search, in words ("" for a complete one)."""
        if self.interrupted:
            return "the interruption"
        if self.timed_out:
            return f"the --time-limit of {self.time_limit:g} s"
        if not self.complete:
            return f"the --limit of {self.limit:,} schedules"
        return ""

    @property
    def violating(self) -> int:
        return sum(o.count for o in self.outcomes if not o.ok)

    @property
    def ok(self) -> bool:
        return self.violating == 0 and self.counterexample is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "granularity": self.granularity,
            "max_preemptions": self.max_preemptions,
            "reduction": self.reduction,
            "random": self.runs if self.mode == "random" else None,
            "seed": self.seed,
            "schedules": self.schedules,
            "raw_schedules": self.raw,
            "pruned": self.pruned,
            "cut": self.cut,
            "hung": self.hung,
            "complete": self.complete,
            "interrupted": self.interrupted,
            "time_limit": self.time_limit,
            "timed_out": self.timed_out,
            "check_unseen": self.check_unseen,
            "limit": self.limit,
            "step_limit": self.step_limit,
            "elapsed_s": self.elapsed_s,
            "violating": self.violating,
            "deadlocks": self.deadlocks,
            "livelocks": self.livelocks,
            "ok": self.ok,
            "gil_found": self.gil_found,
            "outcomes": [o.to_dict() for o in self.outcomes],
            "counterexample": self.counterexample.to_dict() if self.counterexample else None,
        }
