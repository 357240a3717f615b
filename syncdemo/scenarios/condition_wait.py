"""condition-wait: consumers wait on a threading.Condition for items; `if` is not enough.

``notify()`` wakes a waiting consumer, but the consumer returns from ``wait()`` only once it
has the condition's lock back, and another consumer, one that was not waiting at all, may
take that lock first and take the item. A consumer that checked "empty?" with ``if`` before
waiting does not look again: it takes from an empty list. ``while`` (or ``wait_for``)
checks again after every wakeup.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import ThreadContext
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import ProducerConsumerRoles, Strategy, WhyItBreaks

#: What a producer puts once per consumer after its last item (the last producer only).
DONE = -1


@dataclass(eq=False)
class Shelf:
    consumers: int
    producers: int
    items: list[int] = field(default_factory=list)
    finished: int = 0
    """Producers done so far (changed under ``cond``)."""
    cond: threading.Condition = field(default_factory=lambda: threading.Condition())
    cancelled: bool = False


def handle(item: int, ctx: ThreadContext) -> None:
    """A consumer's work on one item. ``time.sleep(0)`` stands for its I/O (a write to a
    file, a socket): it releases the GIL, as I/O does, and asks for no time at all."""
    time.sleep(0)
    ctx.data["taken"] += 1


def take(shelf: Shelf, ctx: ThreadContext) -> int | None:
    """Take the oldest item; None (a failed take) if the list is empty after all."""
    if not shelf.items:
        ctx.data["failed"] += 1
        return None
    return shelf.items.pop(0)


def produce(shelf: Shelf, ctx: ThreadContext) -> None:
    first = ctx.role_index * ctx.config.iterations
    for chunk in ctx.chunks():
        for i in chunk:
            with shelf.cond:
                shelf.items.append(first + i)
                shelf.cond.notify()  # wake one waiting consumer
            time.sleep(0)  # producing the next item is I/O too
    with shelf.cond:
        shelf.finished += 1
        if shelf.finished == shelf.producers:  # the last producer: one DONE per consumer
            for _ in range(shelf.consumers):
                shelf.items.append(DONE)
                shelf.cond.notify()


def _consume(
    shelf: Shelf, ctx: ThreadContext, wait_and_take: Callable[[Shelf, ThreadContext], int | None]
) -> None:
    ctx.data.update(taken=0, failed=0)
    while True:
        began = time.perf_counter_ns()
        with shelf.cond:
            item = wait_and_take(shelf, ctx)
        ctx.wait_ns += time.perf_counter_ns() - began
        if item == DONE:
            return
        if item is not None:
            handle(item, ctx)
            ctx.ops += 1


def take_after_if(shelf: Shelf, ctx: ThreadContext) -> int | None:
    if not shelf.items:  # checked once ...
        ctx.check_stop()
        shelf.cond.wait()  # ... woken: "so there is an item now" (not if someone took it)
        ctx.check_stop()
    return take(shelf, ctx)


def take_after_while(shelf: Shelf, ctx: ThreadContext) -> int | None:
    while not shelf.items:  # checked again after every wakeup
        ctx.check_stop()
        shelf.cond.wait()
    return take(shelf, ctx)


def take_after_wait_for(shelf: Shelf, ctx: ThreadContext) -> int | None:
    shelf.cond.wait_for(lambda: shelf.items or shelf.cancelled)  # the while loop, built in
    ctx.check_stop()
    return take(shelf, ctx)


def consume_if_wait(shelf: Shelf, ctx: ThreadContext) -> None:
    _consume(shelf, ctx, take_after_if)


def consume_while_wait(shelf: Shelf, ctx: ThreadContext) -> None:
    _consume(shelf, ctx, take_after_while)


def consume_wait_for(shelf: Shelf, ctx: ThreadContext) -> None:
    _consume(shelf, ctx, take_after_wait_for)


def produce_and_consume(shelf: Shelf, ctx: ThreadContext) -> None:
    """Alone, one thread puts each item and takes it back."""
    ctx.data.update(taken=0, failed=0)
    first = ctx.role_index * ctx.config.iterations
    for chunk in ctx.chunks():
        for i in chunk:
            with shelf.cond:
                shelf.items.append(first + i)
                item = take(shelf, ctx)
            if item is not None:
                handle(item, ctx)


def _strategy(
    name: str, summary: str, cost: str, safe: bool, consume: Callable[[Shelf, ThreadContext], None]
) -> Strategy:
    roles = {"producer": produce, "consumer": consume, "producer+consumer": produce_and_consume}
    return Strategy(name, summary, cost, safe, roles)


class ConditionWaitScenario(ProducerConsumerRoles[Shelf]):
    name = "condition-wait"
    summary = "Consumers wait on a Condition; `if` instead of `while` takes from empty lists."
    explanation = (
        "A third of the threads (at least one) are producers, each putting --iterations "
        "items on a shared list under a threading.Condition and notifying one waiting "
        "consumer; the rest are consumers, which take items and handle them (time.sleep(0), "
        "standing for I/O: it releases the GIL and asks for no time at all). A consumer that "
        "finds the list empty waits. notify() makes a waiter runnable, but it returns from "
        "wait() only once it gets the condition's lock back, and a consumer that was busy "
        "handling its last item may get the lock first, see the new item and take it: a "
        "stolen wakeup. The waiter that checked 'empty?' with if does not look again and "
        "takes from an empty list (a failed take); with while, or Condition.wait_for, it "
        "checks again and waits some more."
    )
    shared_state = "a list of items and one threading.Condition guarding it"
    invariant = "a woken consumer never takes from an empty list"
    violation_noun = "failed takes"
    counted = ("takes tried", "found an item")
    why = WhyItBreaks(
        gil=(
            "under the GIL a notified consumer still had to get the condition's lock (and "
            "the GIL) back before it could return from wait(); a consumer that had been busy "
            "with I/O got there first and took the item, and the woken one, trusting its "
            "one if-check, took from an empty list. A while loop (or wait_for) checks again "
            "after every wakeup."
        ),
        free_threaded=(
            "on this free-threaded build a consumer running on another core took the lock "
            "between the notify and the woken consumer's return from wait(), and took the "
            "item; the woken one, trusting its one if-check, took from an empty list. A "
            "while loop (or wait_for) checks again after every wakeup."
        ),
    )
    strategies = (
        _strategy(
            "if-wait",
            "if the list is empty, wait once, then take",
            "nothing, and woken consumers take from empty lists",
            False,
            consume_if_wait,
        ),
        _strategy(
            "while-wait",
            "while the list is empty, wait; then take",
            "one more check per wakeup, and a consumer may wait again after being woken",
            True,
            consume_while_wait,
        ),
        _strategy(
            "wait-for",
            "Condition.wait_for(lambda: items), the while loop built in",
            "the same as while-wait, written once and hard to get wrong",
            True,
            consume_wait_for,
        ),
    )
    helpers = (_consume, take_after_if, take_after_while, take_after_wait_for, take, handle)
    explore_threads = 3  # two consumers: one alone cannot find the list emptied
    explore_iterations = 1
    explore_preemptions = 1
    default_sync = "if-wait"
    default_threads = 6
    default_iterations = 1_000
    iterations_meaning = "items per producer"

    split_rule = "a third of the threads produce"

    def split(self, threads: int) -> tuple[int, int]:
        """(producers, consumers): a third of the threads produce, at least one."""
        if threads == 1:
            return 1, 0
        producers = max(1, math.floor(threads / 3))
        return producers, threads - producers

    def setup(self, config: RunConfig) -> Shelf:
        producers, consumers = self.split(config.threads)
        return Shelf(consumers=consumers, producers=producers)

    def cancel(self, state: Shelf) -> None:
        with state.cond:
            state.cancelled = True
            state.cond.notify_all()

    def check(self, state: Shelf, contexts: Sequence[ThreadContext]) -> Outcome:
        produced = sum(c.ops for c in contexts if "producer" in c.role)
        taken = sum(c.data.get("taken", 0) for c in contexts)
        failed = sum(c.data.get("failed", 0) for c in contexts)
        details: dict[str, Scalar] = {"produced": produced, "taken": taken, "failed_takes": failed}
        # expected: every take a consumer tried; observed: those that found an item
        return Outcome(expected=taken + failed, observed=taken, violations=failed, details=details)
