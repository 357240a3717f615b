"""dining-philosophers: N philosophers around a table, one fork between each two neighbours.

A philosopher needs both neighbouring forks to eat. Taking the left fork and then the right
one, all N can end up holding their left fork and waiting for their right one, which their
neighbour holds: a cycle of N, a deadlock. The forks are instrumented locks, so the watchdog
sees the cycle and names every philosopher and fork in it. Meals are stamped with
``perf_counter_ns`` by each philosopher in its own ``ctx.data``; the check turns the stamps
into meals per philosopher, Jain's fairness index and wait percentiles.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import ThreadContext
from syncdemo.engine.fairness import counts_until, jain_index, wait_summary
from syncdemo.engine.locks import SLICE_S, TracedLock, Watched, Who, member, one_by_one
from syncdemo.engine.watchdog import Stuck
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks

#: trylock: the longest a philosopher holds its left fork waiting for the right one.
TRY_S = 0.001
#: How long a meal lasts: 50 µs asked for (on Linux the kernel's timer slack adds about as
#: much again). It models the work done with both forks, not the race.
EAT_S = 0.00005


@dataclass(eq=False)
class Table:
    seats: int
    watched: Watched = field(default_factory=Watched)
    forks: list[TracedLock] = field(default_factory=list)
    plates: list[int] = field(default_factory=list)
    """Meals served at each seat; only that seat's philosopher writes its plate."""
    waiter: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        self.forks = [self.watched.graph.lock(f"fork {i}") for i in range(self.seats)]
        self.plates = [0] * self.seats
        self.waiter = threading.BoundedSemaphore(max(1, self.seats - 1))


def forks_of(table: Table, seat: int) -> tuple[TracedLock, TracedLock]:
    """(left, right): fork i is to the left of philosopher i, fork i+1 to the right. Alone
    at the table, a philosopher has one fork, which serves as both."""
    return table.forks[seat], table.forks[(seat + 1) % table.seats]


def eat(table: Table, ctx: ThreadContext) -> None:
    """One meal: note how long this philosopher waited for its forks, and when it ate.
    Eating is work done while holding both forks: a sleep of ``EAT_S`` models it (it
    releases the GIL, as real work on I/O does); it is not what makes the deadlock."""
    now = time.perf_counter_ns()
    ctx.end_wait(now)
    time.sleep(EAT_S)
    ctx.data["meals_at"].append(now)
    table.plates[ctx.index] += 1


def _pick_up(first: TracedLock, second: TracedLock, me: Who) -> None:
    first.acquire(me)
    if second is not first:
        second.acquire(me)


def _put_down(first: TracedLock, second: TracedLock, me: Who) -> None:
    if second is not first:
        second.release(me)
    first.release(me)


def _seat(ctx: ThreadContext) -> Who:
    ctx.data["meals_at"] = []
    return member(f"philosopher {ctx.index}", ctx)


def dine_left_then_right(table: Table, ctx: ThreadContext) -> None:
    me = _seat(ctx)
    left, right = forks_of(table, ctx.index)
    for _ in one_by_one(ctx):
        ctx.begin_wait()  # hungry
        _pick_up(left, right, me)  # left, then right: its owner may be waiting for ours
        eat(table, ctx)
        _put_down(left, right, me)


def dine_in_fork_order(table: Table, ctx: ThreadContext) -> None:
    me = _seat(ctx)
    left, right = forks_of(table, ctx.index)
    low, high = sorted((left, right), key=lambda fork: table.forks.index(fork))
    for _ in one_by_one(ctx):
        ctx.begin_wait()  # hungry
        _pick_up(low, high, me)  # the lower-numbered fork first: the last philosopher differs
        eat(table, ctx)
        _put_down(low, high, me)


def dine_with_a_waiter(table: Table, ctx: ThreadContext) -> None:
    me = _seat(ctx)
    left, right = forks_of(table, ctx.index)
    for _ in one_by_one(ctx):
        ctx.begin_wait()  # hungry
        while not table.waiter.acquire(timeout=SLICE_S):  # at most N-1 at the table
            ctx.check_stop()
        try:
            _pick_up(left, right, me)
            eat(table, ctx)
            _put_down(left, right, me)
        finally:
            table.waiter.release()


def dine_with_trylock(table: Table, ctx: ThreadContext) -> None:
    me = _seat(ctx)
    ctx.data["backoffs"] = 0
    left, right = forks_of(table, ctx.index)
    for _ in one_by_one(ctx):
        ctx.begin_wait()  # hungry
        while True:
            left.acquire(me)
            if right is left or right.acquire(me, timeout=ctx.rng.uniform(0, TRY_S)):
                break
            left.release(me)  # put the left fork back so a neighbour can eat
            ctx.data["backoffs"] += 1
            time.sleep(0)  # and let the neighbour run before trying again
        eat(table, ctx)
        _put_down(left, right, me)


def _strategy(name: str, summary: str, cost: str, safe: bool, dine: object) -> Strategy:
    return Strategy(name, summary, cost, safe, {"philosopher": dine})  # type: ignore[dict-item]


class DiningPhilosophersScenario(Scenario[Table]):
    name = "dining-philosophers"
    # at 2, a search of some strategy ran 15 s to minutes (or stopped at --limit); at 1
    # every strategy's takes about 2 s or less, and each unsafe one fails
    explore_preemptions = 1
    summary = "N philosophers share N forks; left-then-right deadlocks, fairness is measured."
    explanation = (
        "--threads philosophers sit around a table with one fork between each two "
        "neighbours and eat --iterations meals each; a meal needs both neighbouring forks. "
        "Taking the left fork and then the right one, every philosopher can end up holding "
        "its left fork while its neighbour holds the one it needs next: a wait-for cycle "
        "through the whole table, a deadlock. A meal takes a moment (a sleep of "
        f"{EAT_S * 1e6:.0f} µs models the eating; it releases the GIL, as real work on I/O "
        "does): a hungry neighbour takes its left fork meanwhile and blocks on the right one, "
        "and under the GIL a philosopher switched out between its two forks closes the "
        "circle; on a free-threaded build they really reach for the forks at once. "
        "The forks are instrumented locks: "
        "the watchdog names every philosopher and fork in the cycle and stops the trial. "
        "Fixes: take the lower-numbered fork first (a resource hierarchy: the last "
        "philosopher reaches the other way, so no cycle can close), a waiter that seats at "
        "most N-1 philosophers at once (someone always gets both forks), or trylock (put the "
        "left fork back when the right one is busy). The report shows how fair each was: "
        "meals per philosopher by the time the first one stopped, Jain's fairness index of "
        "those meals (1.0: all equal; 1/N: one philosopher ate everything) and how long "
        "philosophers waited for their forks."
    )
    shared_state = "one instrumented lock per fork, and one plate per seat"
    invariant = "every philosopher eats all its meals"
    violation_noun = "meals never eaten (deadlocked)"
    counted = ("meals planned", "meals eaten")
    why = WhyItBreaks(
        gil=(
            "under the GIL each philosopher was switched out, or blocked, after taking its "
            "left fork and before taking its right one, until every fork was held by the "
            "philosopher to its right and wanted by the one to its left; waiting releases "
            "the GIL, so nobody could move again. The watchdog found the cycle and stopped "
            "them. Taking the lower-numbered fork first breaks the cycle."
        ),
        free_threaded=(
            "on this free-threaded build the philosophers reached for their forks at the "
            "same time: each took its left fork, and each right fork was already some "
            "neighbour's left one, a cycle through the whole table. The watchdog found it and "
            "stopped them. Taking the lower-numbered fork first breaks the cycle."
        ),
    )
    strategies = (
        _strategy(
            "naive",
            "left fork, then right fork",
            "nothing, until every philosopher holds one fork: then all wait for ever",
            False,
            dine_left_then_right,
        ),
        _strategy(
            "ordered",
            "lower-numbered fork first (a resource hierarchy)",
            "nothing at run time; the last philosopher's reversed order can make it and its "
            "neighbour wait more often (see the fairness numbers)",
            True,
            dine_in_fork_order,
        ),
        _strategy(
            "waiter",
            "a BoundedSemaphore(N-1) seats at most N-1 philosophers at once, then left, right",
            "one more acquire and release per meal, and a hungry philosopher may wait for a "
            "seat although its forks are free",
            True,
            dine_with_a_waiter,
        ),
        _strategy(
            "trylock",
            f"left fork, then try the right one for up to {TRY_S * 1000:.0f} ms; if it is "
            "busy, put the left one back, yield and try again",
            "retries (the report counts backoffs); an unlucky philosopher can back off "
            "again and again while its neighbours eat",
            True,
            dine_with_trylock,
        ),
    )
    helpers = (forks_of, eat, _pick_up, _put_down)
    default_sync = "naive"
    default_threads = 5
    default_iterations = 200
    iterations_meaning = "meals per philosopher"

    def roles(self, config: RunConfig) -> Sequence[str]:
        return ["philosopher"] * config.threads

    def setup(self, config: RunConfig) -> Table:
        return Table(seats=config.threads)

    def deadlock(self, state: Table) -> str | None:
        return state.watched.graph.deadlock()

    def stuck(self, state: Table, stuck: Stuck) -> None:
        state.watched.record(stuck)

    def kept_ops(self, outcome: Outcome, ops: int) -> int:
        """Violations here are work never done (deadlocked), not work undone: every
        operation done was done right."""
        return ops

    def check(self, state: Table, contexts: Sequence[ThreadContext]) -> Outcome:
        expected = sum(c.config.iterations for c in contexts)
        meals = [state.plates[c.index] for c in contexts]
        stamps = [c.data.get("meals_at", []) for c in contexts]
        first_stop = min((c.end_ns for c in contexts if c.end_ns), default=0)
        fair = counts_until(stamps, first_stop)
        waits = [w for c in contexts for w in c.waits]
        details: dict[str, Scalar] = {
            **state.watched.details(),
            "hungry": sum(1 for c in contexts if state.plates[c.index] < c.config.iterations),
            "meals_min": min(fair, default=0),
            "meals_max": max(fair, default=0),
            "jain": round(jain_index(fair), 3),
            **wait_summary("fork", waits),
        }
        if any("backoffs" in c.data for c in contexts):
            details["backoffs"] = sum(c.data.get("backoffs", 0) for c in contexts)
        observed = sum(meals)
        deadlocked = state.watched.stuck is not None
        return Outcome(
            expected=expected,
            observed=observed,
            violations=expected - observed if deadlocked else 0,
            details=details,
        )
