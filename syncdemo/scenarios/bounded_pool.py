"""bounded-pool: at most K threads may use a resource (a connection pool) at once.

Unsynchronized, a thread checks that fewer than K threads are in, gets its connection (I/O),
and only then counts itself in: every thread that checked meanwhile saw the same room and
came in too. Each thread stamps ``perf_counter_ns`` when it starts and stops using the
resource, in its own ``ctx.data``; the check sweeps those intervals to find how many really
used it at once, so the peak is measured, not inferred from the racy count.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import ThreadContext
from syncdemo.engine.fairness import peak_overlap, wait_summary
from syncdemo.engine.locks import SLICE_S
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks

#: How long one use of the resource lasts: 50 µs asked for (on Linux the kernel's timer
#: slack adds about as much again). A pool only matters if users hold it for a while.
USE_S = 0.00005


def pool_limit(threads: int) -> int:
    """K: half the threads, at least one, so that there is always somebody left waiting."""
    return max(1, threads // 2)


@dataclass(eq=False)
class Pool:
    limit: int
    users: set[int] = field(default_factory=set)
    """The threads counted in; set.add and set.discard are each one step, so the count
    itself never drifts: the race is only between checking it and joining it."""
    slots: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        self.slots = threading.BoundedSemaphore(self.limit)


def connect() -> None:
    """Get a connection from the pool. ``time.sleep(0)`` stands for the I/O of handing it
    over: it releases the GIL, as I/O does, and asks for no time at all."""
    time.sleep(0)


def use(ctx: ThreadContext) -> None:
    """Use the resource, stamping when we start and stop. The use is work done while holding
    a connection: a sleep of ``USE_S`` models it; it is not what lets too many in."""
    began = time.perf_counter_ns()
    time.sleep(USE_S)
    ctx.data["uses"].append((began, time.perf_counter_ns()))


def use_unsafe(pool: Pool, ctx: ThreadContext) -> None:
    ctx.data["uses"] = []
    for chunk in ctx.chunks():
        for _ in chunk:
            ctx.begin_wait()
            while len(pool.users) >= pool.limit:  # check: full? poll until it is not
                ctx.check_stop()
                time.sleep(0)
            connect()  # I/O: others pass the same check meanwhile
            pool.users.add(ctx.index)  # act: count ourselves in, perhaps as user K+1
            ctx.end_wait()
            use(ctx)
            pool.users.discard(ctx.index)


def use_semaphore(pool: Pool, ctx: ThreadContext) -> None:
    ctx.data["uses"] = []
    for chunk in ctx.chunks():
        for _ in chunk:
            ctx.begin_wait()
            while not pool.slots.acquire(timeout=SLICE_S):  # check and join in one step
                ctx.check_stop()
            connect()
            ctx.end_wait()
            try:
                use(ctx)
            finally:
                pool.slots.release()


class BoundedPoolScenario(Scenario[Pool]):
    name = "bounded-pool"
    # at 2, a search of some strategy ran 15 s to minutes (or stopped at --limit); at 1
    # every strategy's takes about 2 s or less, and each unsafe one fails
    explore_preemptions = 1
    summary = "At most K threads may use a resource at once; check-then-join lets more in."
    explanation = (
        "A pool admits at most K users at once, K being half the threads (at least one). "
        "Each thread uses the resource --iterations times: wait for room, get a connection, "
        "use it, leave. Getting the connection is I/O (time.sleep(0) stands for it: it "
        "releases the GIL, as I/O does, and asks for no time at all); using it is work that "
        f"lasts a while (a sleep of {USE_S * 1e6:.0f} µs models it, outside the race window). "
        "Unsynchronized, a thread checks that fewer than K are in, gets its connection, and "
        "only then counts itself in; every thread that checked while it was getting its "
        "connection saw the same room and came in too. Each thread stamps perf_counter_ns "
        "when it starts and stops using the resource; the check sweeps those intervals for "
        "the most users at once (the peak) and counts every use that began while K were "
        "already in. threading.BoundedSemaphore(K) checks and joins in one step."
    )
    shared_state = "the set of threads counted in (and a BoundedSemaphore of K)"
    invariant = "never more than K threads use the resource at once"
    violation_noun = "uses over the limit"
    counted = ("uses", "within the limit")
    why = WhyItBreaks(
        gil=(
            "under the GIL a thread that passed the room check released the GIL for its "
            "connection I/O before counting itself in; the threads that ran meanwhile passed "
            "the same check, so more than K ended up using the resource at once. A "
            "BoundedSemaphore checks for room and takes it in one step."
        ),
        free_threaded=(
            "on this free-threaded build several threads passed the room check at the same "
            "moment, before any of them counted itself in, so more than K used the resource "
            "at once. A BoundedSemaphore checks for room and takes it in one step."
        ),
    )
    strategies = (
        Strategy(
            "none",
            "check that fewer than K are in, connect, then count yourself in",
            "nothing, and the pool admits more than K",
            False,
            {"worker": use_unsafe},
        ),
        Strategy(
            "semaphore",
            "threading.BoundedSemaphore(K): acquire before connecting, release after use",
            "an acquire and a release per use; when K are in, the others sleep until one "
            "leaves, instead of polling",
            True,
            {"worker": use_semaphore},
        ),
    )
    helpers = (connect, use, pool_limit)
    default_sync = "none"
    default_threads = 6
    default_iterations = 300
    iterations_meaning = "uses per thread"

    def setup(self, config: RunConfig) -> Pool:
        return Pool(limit=pool_limit(config.threads))

    def check(self, state: Pool, contexts: Sequence[ThreadContext]) -> Outcome:
        intervals = [span for c in contexts for span in c.data.get("uses", [])]
        peak, over = peak_overlap(intervals, state.limit)
        waits = [w for c in contexts for w in c.waits]
        details: dict[str, Scalar] = {
            "limit": state.limit,
            "peak": peak,
            **wait_summary("admission", waits),
        }
        return Outcome(
            expected=len(intervals),
            observed=len(intervals) - over,
            violations=over,
            details=details,
        )
