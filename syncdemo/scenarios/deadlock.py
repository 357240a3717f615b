"""deadlock: threads take the same two locks in opposite orders and wait for each other.

Even-numbered threads take lock A then lock B, odd-numbered ones lock B then lock A, to
update two records that must change together. When thread 0 holds A and thread 1 holds B,
each waits for the lock the other holds, and neither will ever let go: a deadlock. The
locks are instrumented (syncdemo.engine.locks), so the watchdog sees the wait-for cycle,
names it, and makes every thread give up; the trial is reported as deadlocked.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import ThreadContext
from syncdemo.engine.fairness import wait_summary
from syncdemo.engine.locks import TracedLock, Watched, Who, member, one_by_one
from syncdemo.engine.watchdog import Stuck
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks

#: trylock: after backing off, a thread waits a random moment of up to this long before it
#: tries again, so that two threads that collided do not collide again in step (a livelock).
BACKOFF_S = 0.0002


@dataclass(eq=False)
class Records:
    """Two records that must change together, each guarded by its own lock."""

    watched: Watched = field(default_factory=Watched)
    a: TracedLock = field(init=False)
    b: TracedLock = field(init=False)
    values: list[int] = field(default_factory=lambda: [0, 0])

    def __post_init__(self) -> None:
        self.a = self.watched.graph.lock("lock A")
        self.b = self.watched.graph.lock("lock B")


def my_order(state: Records, ctx: ThreadContext) -> tuple[TracedLock, TracedLock]:
    """Even threads update A then B, odd threads B then A: each takes its first record's
    lock first, as code written by two different people would."""
    return (state.a, state.b) if ctx.index % 2 == 0 else (state.b, state.a)


def move_one(state: Records, ctx: ThreadContext) -> None:
    """The update both locks protect: move one unit from one record to the other."""
    source = ctx.index % 2
    state.values[source] -= 1
    state.values[1 - source] += 1


def load(lock: TracedLock) -> None:
    """Read the record that ``lock`` guards. ``time.sleep(0)`` stands for that I/O (a
    database row, a file): it releases the GIL, as I/O does, and asks for no time at all."""
    time.sleep(0)


def _take_both(first: TracedLock, second: TracedLock, me: Who, ctx: ThreadContext) -> None:
    ctx.begin_wait()
    first.acquire(me)
    load(first)  # read the first record (I/O) before the second one is needed
    second.acquire(me)  # the other thread may hold this one, waiting for ours
    ctx.end_wait()


def update_opposite_order(state: Records, ctx: ThreadContext) -> None:
    me = member(f"thread {ctx.index}", ctx)
    first, second = my_order(state, ctx)
    for _ in one_by_one(ctx):
        _take_both(first, second, me, ctx)
        move_one(state, ctx)
        second.release(me)
        first.release(me)


def update_in_global_order(state: Records, ctx: ThreadContext) -> None:
    me = member(f"thread {ctx.index}", ctx)
    first, second = sorted(my_order(state, ctx), key=lambda lock: lock.name)  # A before B
    for _ in one_by_one(ctx):
        _take_both(first, second, me, ctx)
        move_one(state, ctx)
        second.release(me)
        first.release(me)


def update_with_trylock(state: Records, ctx: ThreadContext) -> None:
    me = member(f"thread {ctx.index}", ctx)
    ctx.data["backoffs"] = 0
    first, second = my_order(state, ctx)
    for _ in one_by_one(ctx):
        ctx.begin_wait()
        while True:
            first.acquire(me)
            load(first)
            if second.acquire(me, timeout=0):  # try it, without waiting
                break
            first.release(me)  # back off: let go of what we hold, so the other can finish
            ctx.data["backoffs"] += 1
            time.sleep(ctx.rng.uniform(0, BACKOFF_S))  # wait a random moment, then try again
        ctx.end_wait()
        move_one(state, ctx)
        second.release(me)
        first.release(me)


_NONE = Strategy(
    name="none",
    summary="each thread takes its own first record's lock first: A then B, or B then A",
    cost="nothing until two threads each hold one lock: then both wait for ever",
    safe=False,
    workers={"worker": update_opposite_order},
)
_ORDERED = Strategy(
    name="ordered",
    summary="every thread takes the locks in one global order (A before B)",
    cost=(
        "nothing at run time; every piece of code must know and follow the order, which is "
        "easy for two locks and hard when locks are chosen at run time"
    ),
    safe=True,
    workers={"worker": update_in_global_order},
)
_TRYLOCK = Strategy(
    name="trylock",
    summary=(
        "take the first lock, try the second without waiting; if it is busy, let go of the "
        f"first, wait a random moment (up to {BACKOFF_S * 1e6:.0f} µs), and start again"
    ),
    cost=(
        "retries: under contention a thread gives up its first lock again and again (the "
        "report counts backoffs), redoing the work it did holding it and waiting out its "
        "backoff; without the random wait, threads that collided keep colliding in step (a "
        "livelock)"
    ),
    safe=True,
    workers={"worker": update_with_trylock},
)


class DeadlockScenario(Scenario[Records]):
    name = "deadlock"
    # at 2, a search of some strategy ran 15 s to minutes (or stopped at --limit); at 1
    # every strategy's takes about 2 s or less, and each unsafe one fails
    explore_preemptions = 1
    summary = "Threads take two locks in opposite orders and wait for each other for ever."
    explanation = (
        "Two records must change together, so an update holds both of their locks. "
        "Even-numbered threads take lock A then lock B, odd-numbered ones lock B then lock A, "
        "and each reads its first record before it needs the second (time.sleep(0) stands for "
        "that I/O: it releases the GIL, as I/O does, and asks for no time at all). When "
        "another thread takes B while the thread holding A reads, each then waits for the "
        "lock the other holds: neither can go on, so neither lets go. The GIL does not help: "
        "a thread waiting for a lock releases the GIL, so the other runs into the same wall. "
        "The locks record who holds them and who waits, so "
        "the watchdog sees the cycle in the wait-for graph (certain, because nobody in it "
        "can ever let go), reports it, and makes every thread give up; the trial is marked "
        "deadlocked. The fix: one global lock order (ordered), or never wait for the second "
        "lock while holding the first (trylock)."
    )
    shared_state = "two records, each guarded by its own instrumented lock (lock A, lock B)"
    invariant = "every thread finishes all its updates"
    violation_noun = "updates never done (deadlocked)"
    counted = ("updates planned", "updates done")
    why = WhyItBreaks(
        gil=(
            "under the GIL a thread holding one lock released the GIL (its I/O, or a switch) "
            "and another thread took the other lock; each then waited for the lock the other "
            "held, and a waiting thread releases the GIL, so nothing could ever move again. The "
            "watchdog found the wait-for cycle and stopped them. Taking the locks in one "
            "global order makes a cycle impossible."
        ),
        free_threaded=(
            "on this free-threaded build two threads ran at once, one took lock A while the "
            "other took lock B, and each then waited for the lock the other held: a cycle "
            "nobody can leave. The watchdog found it and stopped them. Taking the locks in "
            "one global order makes a cycle impossible."
        ),
    )
    strategies = (_NONE, _ORDERED, _TRYLOCK)
    helpers = (my_order, load, move_one, _take_both, TracedLock.acquire)
    default_sync = "none"
    default_threads = 4
    default_iterations = 300
    iterations_meaning = "updates per thread"

    def setup(self, config: RunConfig) -> Records:
        return Records()

    def deadlock(self, state: Records) -> str | None:
        return state.watched.graph.deadlock()

    def stuck(self, state: Records, stuck: Stuck) -> None:
        state.watched.record(stuck)

    def kept_ops(self, outcome: Outcome, ops: int) -> int:
        """Violations here are work never done (deadlocked), not work undone: every
        operation done was done right."""
        return ops

    def check(self, state: Records, contexts: Sequence[ThreadContext]) -> Outcome:
        expected = len(contexts) * (contexts[0].config.iterations if contexts else 0)
        observed = sum(c.ops for c in contexts)
        waits = [w for c in contexts for w in c.waits]
        details: dict[str, Scalar] = {
            **state.watched.details(),
            "stuck_threads": sum(1 for c in contexts if c.ops < c.config.iterations),
            **wait_summary("lock", waits),
        }
        if any("backoffs" in c.data for c in contexts):
            details["backoffs"] = sum(c.data.get("backoffs", 0) for c in contexts)
        deadlocked = state.watched.stuck is not None
        return Outcome(
            expected=expected,
            observed=observed,
            violations=expected - observed if deadlocked else 0,
            details=details,
        )
