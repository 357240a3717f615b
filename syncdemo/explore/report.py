"""One ``explore`` command's result, with what the renderers need to say it in words: the
scenario's names for things, the search (or replay) from :mod:`syncdemo.explore.results`,
and the verdict, which says exactly what the search covered and what the schedule needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from syncdemo.explore.results import NEEDS, RealExecution, RealExploration

if TYPE_CHECKING:
    from syncdemo.results import RunConfig
    from syncdemo.scenarios.base import Scenario

#: What each --granularity stops the threads at, in words.
GRANULARITY = {
    "line": "each source line of the scenario's code, every point where this CPython's GIL "
    "can change hands in any Python code a step runs, and each lock operation",
    "opcode": "each bytecode instruction of the scenario's code (what a free-threaded build "
    "can interleave), every point where the GIL can change hands elsewhere, and each lock "
    "operation",
    "gil": "where this CPython's GIL can change hands, in any Python code a step runs "
    "(function entry and resume, after a call of C code, a backward jump; on 3.10 after "
    "every call), and each lock operation",
}


@dataclass(frozen=True)
class Report:
    name: str
    """How the user named the scenario when not by its registered name (FILE.py), or ""."""
    scenario: str
    sync: str
    threads: int
    iterations: int
    iterations_meaning: str
    invariant: str
    violation_noun: str
    outcome_name: str
    roles: str
    granularity: str
    exploration: RealExploration | None = None
    replay: RealExecution | None = None

    @classmethod
    def of(cls, scenario: Scenario[Any], config: RunConfig, granularity: str, name: str) -> Report:
        """The report of exploring ``scenario`` as ``config`` says (``name``: how the user
        named it, when not by its registered name), before anything ran."""
        return cls(
            name=name if name != scenario.name else "",
            scenario=scenario.name,
            sync=config.sync,
            threads=config.threads,
            iterations=config.iterations,
            iterations_meaning=scenario.iterations_meaning,
            invariant=scenario.invariant,
            violation_noun=scenario.violation_noun,
            outcome_name=scenario.outcome_name,
            roles=scenario.roles_note(config),
            granularity=granularity,
        )

    @property
    def size(self) -> str:
        threads = f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        return f"{threads} × {self.iterations:,} {self.iterations_meaning}"

    @property
    def violated(self) -> bool:
        if self.replay is not None:
            return not self.replay.ok
        return self.exploration is not None and not self.exploration.ok

    @property
    def proved(self) -> bool:
        """Whether the report is a proof that nothing broke: a replay that kept the
        invariant (of that one schedule), or a search that ran every schedule within its
        bound and found no failure. A search stopped by its --limit or --time-limit, or
        random schedules, prove nothing about the schedules they did not run; nor does one
        whose schedules ran past the step limit (after it, they ran in one fair order)."""
        if self.replay is not None:
            return self.replay.ok
        e = self.exploration
        return (
            e is not None
            and e.ok
            and e.complete
            and not e.cut
            and not e.interrupted
            and e.mode != "random"
        )

    def unproved(self) -> str:
        """Why a search that found no failure is not a proof ("" when it is one)."""
        e = self.exploration
        if e is None or self.proved or not e.ok:
            return ""
        if e.mode == "random":
            return "random schedules are a sample, not a proof"
        if not e.complete or e.interrupted:
            return "the search stopped before it had run every schedule within its bound"
        return (
            f"{e.cut:,} schedule{'s' if e.cut != 1 else ''} ran past the step limit of "
            f"{e.step_limit:,} steps, and after it ran on in one fair order, not in every order"
        )

    def named(self, label: str) -> str:
        return label if self.outcome_name in ("outcome", "") else f"{self.outcome_name} {label}"

    def verdict(self) -> str:
        """The report's last sentence: what was found, and exactly what it covers."""
        if self.replay is not None:
            return self._replay_verdict(self.replay)
        e = self.exploration
        assert e is not None
        scope = self.scope(e)
        if e.interrupted:
            return self._interrupted_verdict(e, scope)
        if not e.complete:
            found = "A failing schedule was found" if e.counterexample else "No failure was found"
            return (
                f"{found} before the search stopped at {e.stopped_by} "
                f"({scope}): the rest were not run, so this proves nothing about them. Raise "
                f"{'--time-limit' if e.timed_out else '--limit'}, lower --max-preemptions, "
                "or sample with --random N."
            )
        if e.ok:
            if e.mode == "random":
                return (
                    f"No failure in {e.schedules:,} random schedules ({scope}). That is "
                    "evidence, not proof: a bounded search can prove it for small sizes."
                )
            if e.cut:
                return (
                    f"No failure was found ({scope}), but this is not a proof: "
                    f"{self.unproved()}. The step limit is twice the length of the schedule "
                    "that runs each thread to its end in turn; fewer --iterations make "
                    "retries end sooner."
                )
            return (
                f"Verified for this bound: every schedule keeps the invariant ({scope}). "
                "Larger sizes and more preemptions were not explored."
            )
        ex = e.counterexample
        shortest = ""
        if ex is not None:
            pre = f"{ex.preemptions} preemption{'s' if ex.preemptions != 1 else ''}"
            kind = "the shortest" if e.mode != "random" else "the shortest found"
            shortest = f"; {kind} takes {len(ex.schedule)} steps with {pre}"
            if ex.needs:
                shortest += f"; it {_needs(ex.needs)}"
        dead = f", {e.deadlocks:,} of them in a deadlock" if e.deadlocks else ""
        return (
            f"{e.violating:,} of {e.schedules:,} schedules break the invariant{dead} "
            f"({scope}){shortest}."
        )

    def _interrupted_verdict(self, e: RealExploration, scope: str) -> str:
        """Never a proof: what the schedules run before the signal showed."""
        ex = e.counterexample
        if e.complete and ex is not None:
            missing = []
            if not ex.recorded:
                missing.append("the values of the failing schedule")
            if e.gil_found is None and self.granularity != "gil":
                missing.append("whether the GIL allows it")
            left = f", before {' and '.join(missing)} could be found out" if missing else ""
            return (
                f"Interrupted after the search: {e.violating:,} of {e.schedules:,} schedules "
                f"break the invariant ({scope}){left}."
            )
        found = "a failing schedule was found" if ex is not None else "no failure was found"
        return (
            f"Interrupted: {found} in the {e.schedules:,} schedules run before it "
            f"({scope}). This is partial: the rest were not run, so it proves nothing about "
            "them."
        )

    def _replay_verdict(self, r: RealExecution) -> str:
        if r.ok:
            return f"This schedule keeps the invariant: it ends with {self.named(r.label)}."
        if r.deadlocked:
            what = "ends in a deadlock"
        elif r.how == "done":
            what = f"ends with {self.named(r.label)}"
        else:
            what = f"did not finish ({r.how})"
        needs = f"; it {_needs(r.needs)}" if r.needs else ""
        return f"This schedule breaks the invariant: it {what} ({r.grade}){needs}."

    def scope(self, e: RealExploration) -> str:
        where = f"switching at {self.granularity} granularity"
        if e.mode == "random":
            return f"{self.size}, PCT, seed {e.seed}, {where}"
        if e.max_preemptions is None:
            return f"{self.size}, every schedule, {where}"
        k = e.max_preemptions
        return f"{self.size}, at most {k} preemption{'s' if k != 1 else ''}, {where}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "scenario": self.scenario,
            "file": self.name or None,
            "sync": self.sync,
            "params": {
                "threads": self.threads,
                "iterations": self.iterations,
                "granularity": self.granularity,
            },
            "invariant": self.invariant,
            "violation": self.violation_noun,
            "outcome_name": self.outcome_name,
        }
        if self.exploration is not None:
            data["explored"] = self.exploration.to_dict()
        if self.replay is not None:
            data["replay"] = self.replay.to_dict()
        data["verdict"] = self.verdict()
        data["ok"] = not self.violated
        return data


def _needs(needs: str) -> str:
    """ "is possible with the GIL" or "needs threads that run in parallel (...)"."""
    text = NEEDS[needs]
    return text if text.startswith("needs") else f"is {text}"
