"""reentrant: a method that holds a lock calls another that takes the same lock.

``restock()`` holds the stock lock and calls ``record_restock()``, which takes the stock
lock too, because it is also called on its own. A ``threading.Lock`` does not know who holds
it, so the thread waits for itself for ever: a wait-for cycle of one thread, which the
instrumented lock (syncdemo.engine.locks) shows the watchdog. Every other thread then waits
for the lock that thread holds. No race is needed: it happens on every interpreter, every
time, with one thread as with many.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import ThreadContext
from syncdemo.engine.locks import TracedLock, Watched, Who, member, one_by_one
from syncdemo.engine.watchdog import Stuck
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks


@dataclass(eq=False)
class Stock:
    """A shop's stock and its audit log, guarded by one lock (re-entrant or not)."""

    reentrant: bool
    watched: Watched = field(default_factory=Watched)
    lock: TracedLock = field(init=False)
    items: int = 0
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = self.watched.graph.lock("the stock lock", reentrant=self.reentrant)


def record_restock(stock: Stock, me: Who, n: int) -> None:
    """Public: also called on its own, so it takes the lock itself."""
    with stock.lock.held(me):  # a second acquire by the thread that already holds it
        _record_restock_locked(stock, me, n)


def _record_restock_locked(stock: Stock, me: Who, n: int) -> None:
    """The same, for a caller that already holds the lock."""
    stock.log.append(f"{me.name} added {n}")


def restock_nested(stock: Stock, me: Who, n: int) -> None:
    with stock.lock.held(me):
        stock.items += n
        record_restock(stock, me, n)  # takes the lock this thread holds


def restock_unlocked_helper(stock: Stock, me: Who, n: int) -> None:
    with stock.lock.held(me):
        stock.items += n
        _record_restock_locked(stock, me, n)  # the lock is held: call the unlocked helper


def restock_with_lock(stock: Stock, ctx: ThreadContext) -> None:
    me = member(f"thread {ctx.index}", ctx)
    for _ in one_by_one(ctx):
        restock_nested(stock, me, 1)


def restock_with_rlock(stock: Stock, ctx: ThreadContext) -> None:
    me = member(f"thread {ctx.index}", ctx)
    for _ in one_by_one(ctx):
        restock_nested(stock, me, 1)  # the same code: the RLock lets its owner in again


def restock_split(stock: Stock, ctx: ThreadContext) -> None:
    me = member(f"thread {ctx.index}", ctx)
    for _ in one_by_one(ctx):
        restock_unlocked_helper(stock, me, 1)


class ReentrantScenario(Scenario[Stock]):
    name = "reentrant"
    # at 2, a search of some strategy ran 15 s to minutes (or stopped at --limit); at 1
    # every strategy's takes about 2 s or less, and each unsafe one fails
    explore_preemptions = 1
    summary = "A method holding a Lock calls one that takes it again: it waits for itself."
    explanation = (
        "restock() holds the stock lock and calls record_restock(), which takes the same "
        "lock because it is also called on its own. A threading.Lock does not know who holds "
        "it, so the second acquire waits for the lock its own thread holds, for ever: a "
        "wait-for cycle of one thread, which the watchdog reports as such; every other thread "
        "then waits for that thread's lock. The fix: a threading.RLock, which lets its owner "
        "take it again (it counts, and each acquire needs its release), or an unlocked helper "
        "for callers that already hold the lock (split). An RLock can only be released by the "
        "thread that holds it (anyone else gets RuntimeError), while a Lock can be released "
        "by any thread, which is what makes a Lock usable as a signal between threads."
    )
    shared_state = "the stock count and its audit log, under one instrumented lock"
    invariant = "every restock is done and logged"
    violation_noun = "restocks never done (deadlocked)"
    why = WhyItBreaks(
        gil=(
            "this is no race, and the GIL changes nothing: the thread holding the Lock asked "
            "for it again, and a Lock does not know its owner, so the thread waits for itself "
            "and every other thread waits behind it. An RLock lets its owner take it again."
        ),
        free_threaded=(
            "this is no race, so the free-threaded build behaves as a GIL build does: the "
            "thread holding the Lock asked for it again and waits for itself for ever, and the "
            "others wait for its lock. An RLock lets its owner take it again."
        ),
    )
    strategies = (
        Strategy(
            "lock",
            "a threading.Lock, taken again by the method its holder calls",
            "nothing, until the nested call: then the thread waits for itself for ever",
            False,
            {"worker": restock_with_lock},
        ),
        Strategy(
            "rlock",
            "a threading.RLock: its owner may take it again; each acquire needs a release",
            "a little more than a Lock per acquire (it checks and counts its owner)",
            True,
            {"worker": restock_with_rlock},
        ),
        Strategy(
            "split",
            "a Lock, and an unlocked helper for callers that already hold it",
            "nothing at run time; two versions of the helper to keep apart",
            True,
            {"worker": restock_split},
        ),
    )
    helpers = (restock_nested, record_restock, restock_unlocked_helper, _record_restock_locked)
    default_sync = "lock"
    default_threads = 4
    default_iterations = 1000
    iterations_meaning = "restocks per thread"

    def setup(self, config: RunConfig) -> Stock:
        return Stock(reentrant=config.sync == "rlock")

    def deadlock(self, state: Stock) -> str | None:
        return state.watched.graph.deadlock()

    def stuck(self, state: Stock, stuck: Stuck) -> None:
        state.watched.record(stuck)

    def verdict(self, ok: bool, config: RunConfig, gil: bool) -> str:
        if config.threads == 1 and not ok:
            return (
                "One thread deadlocked on itself: it held the Lock and asked for it again. "
                "No second thread is needed; an RLock lets its owner take it again."
            )
        return super().verdict(ok, config, gil)

    def check(self, state: Stock, contexts: Sequence[ThreadContext]) -> Outcome:
        expected = sum(c.config.iterations for c in contexts)
        done = sum(c.ops for c in contexts)
        details: dict[str, Scalar] = {
            **state.watched.details(),
            "stock": state.items,
            "logged": len(state.log),
        }
        deadlocked = state.watched.stuck is not None
        return Outcome(
            expected=expected,
            observed=done,
            violations=expected - done if deadlocked else 0,
            details=details,
        )
