"""Plain data from ``syncdemo explore``: the steps of a schedule, what a search found, and
the report (with its verdict in words and its JSON) that the renderers turn into text.

Frozen dataclasses with a ``to_dict`` giving the JSON fields README.md documents; nothing
here steps a model or touches a console.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncdemo.results import Outcome

#: PCT's bug depth: priority change points per run = depth - 1.
PCT_DEPTH = 3


@dataclass(frozen=True)
class Move:
    """One step of a replayed schedule, as the step table shows it."""

    index: int
    thread: int
    action: str
    hidden: str
    shared: str
    highlight: bool = False
    doomed: bool = False
    """After this step no continuation keeps the invariant (exhaustive searches only)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.index,
            "thread": self.thread,
            "action": self.action,
            "shared": self.shared,
            "highlight": self.highlight,
            "point_of_no_return": self.doomed,
        }


@dataclass(frozen=True)
class Execution:
    """One complete schedule and what it did."""

    schedule: tuple[int, ...]
    moves: tuple[Move, ...]
    outcome: Outcome
    label: str
    grade: str
    meaning: str
    deadlocked: bool
    waits: tuple[str, ...]
    """For a deadlock: what each unfinished thread waits for."""
    preemptions: int
    why: str
    """Why the invariant broke (the model's words at the highlighted step), or ""."""
    completed_from: int
    """How many steps the user's --schedule gave (the rest ran without preemption)."""
    answer: str
    initial: str

    @property
    def ok(self) -> bool:
        return self.outcome.ok and not self.deadlocked

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule": list(self.schedule),
            "length": len(self.schedule),
            "preemptions": self.preemptions,
            "outcome": self.label,
            "grade": self.grade,
            "meaning": self.meaning,
            "ok": self.ok,
            "deadlocked": self.deadlocked,
            "waits": list(self.waits),
            "why": self.why,
            "initial": self.initial,
            "steps": [m.to_dict() for m in self.moves],
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
class Exploration:
    """What a search found: plain data for the renderers."""

    mode: str
    """exhaustive, bounded (--max-preemptions) or random (--random)."""
    schedules: int
    """Complete schedules covered: exact in exhaustive and bounded mode, runs in random."""
    states: int
    elapsed_s: float
    complete: bool
    """False when --limit stopped the search: counts are then partial."""
    limit: int
    outcomes: tuple[OutcomeCount, ...]
    deadlocks: int
    deadlock_states: int
    counterexample: Execution | None
    max_preemptions: int | None = None
    runs: int = 0
    seed: int | None = None
    distinct: int = 0
    """Random mode: how many of the runs were different schedules."""
    counted: str = "schedules"
    """What the outcome counts count: "schedules", or "final states" when --limit cut the
    search short (schedule counts are then unknown)."""

    @property
    def violating(self) -> int:
        return sum(o.count for o in self.outcomes if not o.ok)

    @property
    def ok(self) -> bool:
        return self.violating == 0 and self.counterexample is None

    @property
    def schedules_per_s(self) -> float:
        return self.schedules / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "max_preemptions": self.max_preemptions,
            "random": self.runs if self.mode == "random" else None,
            "seed": self.seed,
            "schedules": self.schedules,
            "distinct_schedules": self.distinct if self.mode == "random" else self.schedules,
            "states": self.states,
            "complete": self.complete,
            "limit": self.limit,
            "elapsed_s": self.elapsed_s,
            "schedules_per_s": self.schedules_per_s,
            "violating": self.violating,
            "deadlocks": self.deadlocks,
            "deadlock_states": self.deadlock_states,
            "ok": self.ok,
            "counted": self.counted,
            "outcomes": [o.to_dict() for o in self.outcomes],
            "counterexample": self.counterexample.to_dict() if self.counterexample else None,
        }


@dataclass(frozen=True)
class Report:
    """One ``explore`` command's result with what the renderers need to say it in words."""

    scenario: str
    sync: str
    threads: int
    iterations: int
    iterations_meaning: str
    invariant: str
    violation_noun: str
    outcome_name: str
    roles: str
    notes: tuple[str, ...]
    command: str
    """The command that explores the same model; ``replay_command`` adds --schedule."""
    exploration: Exploration | None = None
    replay: Execution | None = None

    def replay_command(self, schedule: tuple[int, ...]) -> str:
        return f"{self.command} --schedule {','.join(map(str, schedule))}"

    @property
    def size(self) -> str:
        threads = f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        return f"{threads} × {self.iterations:,} {self.iterations_meaning}"

    @property
    def violated(self) -> bool:
        if self.replay is not None:
            return not self.replay.ok
        return self.exploration is not None and not self.exploration.ok

    def verdict(self) -> str:
        """The report's last sentence: what was found, and exactly what it covers."""
        if self.replay is not None:
            r = self.replay
            if r.ok:
                return f"This schedule keeps the invariant: it ends with {self._named(r.label)}."
            what = "ends in a deadlock" if r.deadlocked else f"ends with {self._named(r.label)}"
            return f"This schedule breaks the invariant: it {what} ({r.grade})."
        e = self.exploration
        assert e is not None
        scope = self._scope(e)
        if not e.complete:
            found = (
                "A violating schedule was found"
                if e.counterexample is not None
                else "No violation was found"
            )
            return (
                f"{found} before the search stopped at the --limit of {e.limit:,} states "
                f"({scope}): the rest of the schedules were not explored, so this proves "
                "nothing about them. Raise --limit, use fewer --threads or --iterations, or "
                "sample with --max-preemptions K or --random N."
            )
        if e.ok:
            if e.mode == "random":
                return (
                    f"No violation in {e.schedules:,} random schedules ({scope}). That is "
                    "evidence, not proof: an exhaustive search can prove it for small sizes."
                )
            every = (
                "the only schedule keeps"
                if e.schedules == 1
                else f"all {e.schedules:,} schedules keep"
            )
            return (
                f"Verified for this bound: {every} the invariant ({scope}). Larger sizes "
                "were not explored."
            )
        bad = e.violating
        share = f"{bad / e.schedules:.1%}" if e.schedules else "-"
        dead = f", {e.deadlocks:,} of them in a deadlock" if e.deadlocks else ""
        ex = e.counterexample
        shortest = ""
        if ex is not None:
            pre = f"{ex.preemptions} preemption{'s' if ex.preemptions != 1 else ''}"
            kind = "the shortest" if e.mode != "random" else "the shortest found"
            shortest = f"; {kind} takes {len(ex.schedule)} steps with {pre}"
        return (
            f"{bad:,} of {e.schedules:,} schedules ({share}) break the invariant{dead} "
            f"({scope}){shortest}."
        )

    def _named(self, label: str) -> str:
        return label if self.outcome_name == "outcome" else f"{self.outcome_name} {label}"

    def _scope(self, e: Exploration) -> str:
        if e.mode == "random":
            return f"{self.size}, PCT depth {PCT_DEPTH}, seed {e.seed}"
        if e.mode == "bounded":
            k = e.max_preemptions
            return f"{self.size}, schedules with at most {k} preemption{'s' if k != 1 else ''}"
        return f"{self.size}, every interleaving of the model's steps"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "scenario": self.scenario,
            "sync": self.sync,
            "params": {"threads": self.threads, "iterations": self.iterations},
            "invariant": self.invariant,
            "violation": self.violation_noun,
            "outcome_name": self.outcome_name,
            "notes": list(self.notes),
        }
        if self.exploration is not None:
            e = self.exploration
            data["params"].update(
                max_preemptions=e.max_preemptions,
                random=e.runs if e.mode == "random" else None,
                seed=e.seed,
                limit=e.limit if e.mode != "random" else None,
            )
            data["explored"] = e.to_dict()
            ex = e.counterexample
            if ex is not None:
                data["explored"]["counterexample"]["replay"] = self.replay_command(ex.schedule)
        if self.replay is not None:
            data["replay"] = self.replay.to_dict()
            data["replay"]["replay"] = self.replay_command(self.replay.schedule)
        data["verdict"] = self.verdict()
        data["ok"] = not self.violated
        return data
