"""livelock: two polite workers that keep giving way to each other, so neither gets anywhere.

Threads work in pairs; each job needs both locks of the pair. A polite worker raises its
hand (it wants the locks), takes its own lock, and if its partner's hand is up too (or the
partner's lock is busy) gives its own lock back and tries again at once, hand still up. Once
both hands are up, each always finds the other wanting: both stay busy, their attempts
climb, and no job is ever done. The watchdog tells this from a deadlock (nobody is blocked)
with a :class:`~syncdemo.engine.watchdog.LivelockMeter`, and stops it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import ThreadContext
from syncdemo.engine.locks import TracedLock, Watched, Who, member, one_by_one
from syncdemo.engine.watchdog import LIVELOCK, LivelockMeter, Stuck
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks

#: backoff: after giving way, a worker lowers its hand and waits a random moment of up to
#: this long (from its seeded rng) before it tries again, so that the two fall out of step.
BACKOFF_S = 0.0002


@dataclass(eq=False)
class Pairs:
    """One lock and one raised-hand flag per thread; thread 2k and 2k+1 are partners."""

    threads: int
    meter: LivelockMeter
    watched: Watched = field(default_factory=Watched)
    locks: list[TracedLock] = field(init=False)
    hands: list[bool] = field(init=False)
    attempts: list[int] = field(init=False)
    """Per thread, written only by that thread: tries at taking both locks."""
    jobs: list[int] = field(init=False)
    """Per thread, written only by that thread: jobs done."""

    def __post_init__(self) -> None:
        self.locks = [self.watched.graph.lock(f"lock {i}") for i in range(self.threads)]
        self.hands = [False] * self.threads
        self.attempts = [0] * self.threads
        self.jobs = [0] * self.threads


def partner_of(i: int, threads: int) -> int | None:
    """Thread 2k works with 2k+1; the last of an odd number works alone."""
    j = i ^ 1
    return j if j < threads else None


def take_both_politely(state: Pairs, me: Who, i: int, j: int) -> bool:
    """Take my lock; if my partner wants in too, or holds its lock, give mine back (False)."""
    state.attempts[i] += 1
    state.locks[i].acquire(me)
    if not state.hands[j] and state.locks[j].acquire(me, timeout=0):
        return True
    state.locks[i].release(me)  # polite: let the partner go first
    return False


def do_job(state: Pairs, me: Who, i: int, j: int | None) -> None:
    """The work both locks guard; then let go of them."""
    state.jobs[i] += 1
    if j is not None:
        state.locks[j].release(me)
    state.locks[i].release(me)


def work_politely(state: Pairs, ctx: ThreadContext) -> None:
    i, j = ctx.index, partner_of(ctx.index, ctx.config.threads)
    me = member(f"thread {i}", ctx)
    for _ in one_by_one(ctx):
        state.hands[i] = True  # I want both locks
        if j is None:
            state.locks[i].acquire(me)
        else:
            while not take_both_politely(state, me, i, j):
                ctx.check_stop()  # and try again at once, hand still up
        do_job(state, me, i, j)
        state.hands[i] = False


def work_with_backoff(state: Pairs, ctx: ThreadContext) -> None:
    i, j = ctx.index, partner_of(ctx.index, ctx.config.threads)
    me = member(f"thread {i}", ctx)
    for _ in one_by_one(ctx):
        state.hands[i] = True
        if j is None:
            state.locks[i].acquire(me)
        else:
            while not take_both_politely(state, me, i, j):
                ctx.check_stop()
                state.hands[i] = False  # step aside for a random moment, then want again
                time.sleep(ctx.rng.uniform(0, BACKOFF_S))
                state.hands[i] = True
        do_job(state, me, i, j)
        state.hands[i] = False


def work_in_lock_order(state: Pairs, ctx: ThreadContext) -> None:
    i, j = ctx.index, partner_of(ctx.index, ctx.config.threads)
    me = member(f"thread {i}", ctx)
    for _ in one_by_one(ctx):
        state.attempts[i] += 1
        first, second = (i, j) if j is None or i < j else (j, i)
        state.locks[first].acquire(me)  # the lower-numbered lock first, waiting for it
        if second is not None:
            state.locks[second].acquire(me)
        do_job(state, me, i, j)


class LivelockScenario(Scenario[Pairs]):
    name = "livelock"
    # at 2, a search of some strategy ran 15 s to minutes (or stopped at --limit); at 1
    # every strategy's takes about 2 s or less, and each unsafe one fails
    explore_preemptions = 1
    summary = "Two polite workers keep giving way to each other: busy for ever, nothing done."
    explanation = (
        "Threads work in pairs and every job needs both locks of the pair. A polite worker "
        "raises its hand, takes its own lock and, if its partner's hand is up too (or its "
        "lock is busy), gives its own lock back and tries again at once, hand still up. Once "
        "both hands are up, each always finds the other wanting: both keep trying, attempts "
        "climb, and no job is ever done. That is a livelock, not a deadlock: nobody is "
        "blocked. The watchdog sees attempts climbing with no work completed, names it a "
        "livelock and stops it; the report shows attempts against jobs done. The fix: step "
        "aside for a random moment (backoff, seeded), so one of the two gets through, or take "
        "the locks in one order and wait for them (ordered), so nobody needs to give way."
    )
    shared_state = "one lock and one raised-hand flag per thread; threads 2k and 2k+1 share two"
    invariant = "every worker finishes all its jobs"
    violation_noun = "jobs never done (livelocked)"
    why = WhyItBreaks(
        gil=(
            "this needs no unlucky timing: once both partners had their hands up, each gave way "
            "to the other at every attempt. Under the GIL they took turns at running, each "
            "spinning through its own time slice, so both looked busy while nothing got done; "
            "the watchdog saw attempts climb without a job done and stopped them. A random "
            "back-off lets one through; a lock order needs nobody to give way."
        ),
        free_threaded=(
            "this needs no unlucky timing: once both partners had their hands up, each gave way "
            "to the other at every attempt. On this free-threaded build both spun at once on "
            "two cores, busy and getting nowhere; the watchdog saw attempts climb without a "
            "job done and stopped them. A random back-off lets one through; a lock order "
            "needs nobody to give way."
        ),
    )
    strategies = (
        Strategy(
            "polite",
            "take my lock; if my partner wants in too, give it back and retry at once",
            "nothing until both want in at once: then both retry for ever (a livelock)",
            False,
            {"worker": work_politely},
        ),
        Strategy(
            "backoff",
            "give way as polite does, then lower the hand for a random moment "
            f"(up to {BACKOFF_S * 1e6:.0f} µs, seeded) before trying again",
            "wasted attempts and random waits under contention (the report counts attempts)",
            True,
            {"worker": work_with_backoff},
        ),
        Strategy(
            "ordered",
            "take the lower-numbered lock first and wait for each: nobody gives way",
            "one wait per job while the partner works; needs one order known to all",
            True,
            {"worker": work_in_lock_order},
        ),
    )
    helpers = (take_both_politely, do_job, partner_of)
    default_sync = "polite"
    default_threads = 2
    default_iterations = 50_000
    """Enough that one thread cannot finish its jobs before its partner starts, even when a
    busy machine starts the partner tens of milliseconds late."""
    iterations_meaning = "jobs per thread"

    def setup(self, config: RunConfig) -> Pairs:
        window = max(0.1, min(0.5, config.timeout / 4))
        return Pairs(threads=config.threads, meter=LivelockMeter(window_s=window))

    def deadlock(self, state: Pairs) -> str | None:
        cycle = state.watched.graph.deadlock()
        if cycle is not None:
            return cycle
        return state.meter.look(sum(state.attempts), sum(state.jobs))

    def stuck(self, state: Pairs, stuck: Stuck) -> None:
        state.watched.record(stuck)

    def check(self, state: Pairs, contexts: Sequence[ThreadContext]) -> Outcome:
        expected = sum(c.config.iterations for c in contexts)
        done = sum(state.jobs)
        stuck = state.watched.stuck
        details: dict[str, Scalar] = {"attempts": sum(state.attempts), "jobs_done": done}
        if stuck is not None and stuck.reason == LIVELOCK:
            details.update(
                livelocked=True,
                detected_by=stuck.reason,
                stalled_s=round(stuck.stalled_s, 3),
                seen=stuck.detail,
            )
        else:
            details.update(livelocked=False, **state.watched.details())
        return Outcome(
            expected=expected,
            observed=done,
            violations=expected - done if stuck is not None else 0,
            details=details,
        )
