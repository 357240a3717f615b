"""barrier: threads compute in phases; each reads what every thread wrote in that phase.

Phase p: every thread writes p into its own slot, then reads all the slots. Without a
barrier between the writes and the reads, a thread reads slots that the others have not
written yet in this phase (stale: an earlier phase) or have already overwritten for the
next one (early: a later phase).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import Stopped, ThreadContext
from syncdemo.engine.evidence import READ, WRITE, first_of_each_kind, trace_start
from syncdemo.results import Evidence, Outcome, RunConfig, Step
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks


@dataclass(eq=False)
class Phases:
    threads: int
    slots: list[int] = field(default_factory=list)
    """slots[i]: the phase whose value thread i wrote last (-1: none yet)."""
    barrier: threading.Barrier = field(init=False)

    def __post_init__(self) -> None:
        self.slots = [-1] * self.threads
        self.barrier = threading.Barrier(self.threads)


def read_all(slots: list[int], phase: int, ctx: ThreadContext) -> None:
    """Read every slot and tally the ones that are not from this phase."""
    for slot, value in enumerate(slots):
        if value < phase:
            ctx.data["stale"] += 1
        elif value > phase:
            ctx.data["early"] += 1
        else:
            continue
        if ctx.trace is not None:
            ctx.record(READ, value, slot)


def _wait(state: Phases, ctx: ThreadContext) -> None:
    began = time.perf_counter_ns()
    try:
        state.barrier.wait()
    except threading.BrokenBarrierError:
        raise Stopped from None
    finally:
        ctx.wait_ns += time.perf_counter_ns() - began


def phases_unsafe(state: Phases, ctx: ThreadContext) -> None:
    ctx.data.update(stale=0, early=0)
    for chunk in ctx.chunks():
        for phase in chunk:
            state.slots[ctx.index] = phase  # write my slot for this phase
            if ctx.trace is not None:
                ctx.record(WRITE, phase)
            read_all(state.slots, phase, ctx)  # read everyone's: have they written yet?


def phases_barrier(state: Phases, ctx: ThreadContext) -> None:
    ctx.data.update(stale=0, early=0)
    for chunk in ctx.chunks():
        for phase in chunk:
            state.slots[ctx.index] = phase
            _wait(state, ctx)  # everyone has written this phase
            read_all(state.slots, phase, ctx)
            _wait(state, ctx)  # everyone has read it: only now may a slot be overwritten


class BarrierScenario(Scenario[Phases]):
    name = "barrier"
    # at 2, a search of some strategy ran 15 s to minutes (or stopped at --limit); at 1
    # every strategy's takes about 2 s or less, and each unsafe one fails
    explore_preemptions = 1
    summary = "Threads work in phases and read each other's results; without a barrier, stale."
    explanation = (
        "Each of --iterations phases, every thread writes the phase number into its own slot "
        "and then reads every slot, expecting each to hold this phase. Nothing makes a thread "
        "wait for the others: a fast thread reads slots the others have not written yet "
        "(stale, from an earlier phase) or have already overwritten (early, from the next)."
    )
    shared_state = "one slot per thread holding the phase it last wrote"
    invariant = "every slot a thread reads holds the current phase"
    violation_noun = "stale or early reads"
    counted = ("reads", "current reads")
    why = WhyItBreaks(
        gil=(
            "under the GIL a thread runs many phases in its time slice before the interpreter "
            "switches to another, so it reads the other threads' slots long before they write "
            "this phase. threading.Barrier holds every thread until all have written, and "
            "again until all have read."
        ),
        free_threaded=(
            "threads run in parallel on this free-threaded build but at different speeds, so "
            "one reads the others' slots before they write this phase (or after they moved "
            "on). threading.Barrier holds every thread until all have written, and again "
            "until all have read."
        ),
    )
    strategies = (
        Strategy(
            name="none",
            summary="write my slot, then read all slots, with nothing in between",
            cost="nothing, and it reads stale or early values",
            safe=False,
            workers={"worker": phases_unsafe},
        ),
        Strategy(
            name="barrier",
            summary="threading.Barrier after the writes and again after the reads",
            cost=(
                "two barrier waits a phase; each lets the slowest thread set the pace and, "
                "under the GIL, wakes every thread in turn"
            ),
            safe=True,
            workers={"worker": phases_barrier},
        ),
    )
    helpers = (read_all,)
    windows = ("none",)
    default_window = "none"
    default_sync = "barrier"
    default_iterations = 500
    iterations_meaning = "phases"

    def evidence(
        self, state: Phases, contexts: Sequence[ThreadContext], limit: int
    ) -> list[Evidence]:
        return phase_evidence(contexts, limit)

    def setup(self, config: RunConfig) -> Phases:
        return Phases(threads=config.threads)

    def cancel(self, state: Phases) -> None:
        state.barrier.abort()

    def check(self, state: Phases, contexts: Sequence[ThreadContext]) -> Outcome:
        reads = sum(c.ops for c in contexts) * len(contexts)
        stale = sum(c.data.get("stale", 0) for c in contexts)
        early = sum(c.data.get("early", 0) for c in contexts)
        return Outcome(
            expected=reads,
            observed=reads - stale - early,
            violations=stale + early,
            details={"reads": reads, "stale": stale, "early": early},
        )


def phase_evidence(contexts: Sequence[ThreadContext], limit: int) -> list[Evidence]:
    """A read of a slot from another phase, and when its owner wrote the phase it missed."""
    base = trace_start(contexts)
    writes: dict[tuple[int, int], int] = {}  # (thread, phase) -> t
    for c in contexts:
        for t, kind, phase, _ in c.recorded:
            if kind == WRITE:
                writes[(c.index, phase)] = t
    found: list[tuple[int, Evidence]] = []
    for c in contexts:
        phase = -1
        for t, kind, value, slot in c.recorded:
            if kind == WRITE:
                phase = value
                continue
            stale = value < phase
            kind_name = "stale read" if stale else "early read"
            missed = writes.get((slot, phase))
            steps = [
                Step(t - base, c.index, f"read slot {slot}", f"slot {slot}: phase {value}", True)
            ]
            if (c.index, phase) in writes:
                t_own = writes[(c.index, phase)] - base
                own = f"slot {c.index}: phase {phase}"
                steps.insert(0, Step(t_own, c.index, f"write phase {phase}", own))
            if missed is not None:
                theirs = f"slot {slot}: phase {phase}"
                steps.append(Step(missed - base, slot, f"write phase {phase}", theirs))
                steps.sort(key=lambda s: s.t_ns)
            when = (
                f"thread {slot} wrote phase {phase} {(missed - t) / 1e3:,.1f} µs later"
                if missed is not None and missed > t
                else f"thread {slot} had already moved past phase {phase}"
                if not stale
                else f"thread {slot} wrote phase {phase} only after that (not recorded)"
            )
            found.append(
                (
                    t,
                    Evidence(
                        kind=kind_name,
                        threads=(c.index, slot),
                        steps=tuple(steps),
                        explanation=(
                            f"In phase {phase}, thread {c.index} read slot {slot} and found "
                            f"phase {value}: {when}. Nothing made thread {c.index} wait for it; "
                            "a barrier between the writes and the reads would have."
                        ),
                    ),
                )
            )
    return first_of_each_kind(found, limit)
