"""producer-consumer: producers put numbered items into a bounded buffer, consumers take them.

The buffer is the textbook ring: ``slots``, a ``head`` where consumers take, a ``tail``
where producers put, and a ``count``. Unsynchronized, a consumer reads the head, handles
that item (I/O), and only then advances the head it read: two consumers that read the same
head handle the same item (a duplicate), both advance, and both decrement the count, so
producers see room that is not there and overwrite an item nobody handled (lost).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from syncdemo.engine.context import ThreadContext
from syncdemo.engine.evidence import first_of_each_kind, trace_start
from syncdemo.results import ACCEPTABLE, FORBIDDEN, INTERESTING, Evidence, Outcome, RunConfig, Step
from syncdemo.scenarios.base import ProducerConsumerRoles, Strategy, WhyItBreaks

CAPACITY = 8
PUT = "put"
TAKE = "take"
#: What a slot holds before any producer wrote it; a consumer that handles it took nothing.
EMPTY = -2
#: What the queue strategy's consumers receive once every producer has finished.
DONE = -1
#: How often a thread blocked in queue.Queue looks up to see whether the run was cancelled.
POLL_S = 0.1


@dataclass(eq=False)
class Buffer:
    """A ring of ``capacity`` slots: producers put at ``tail``, consumers take at ``head``."""

    capacity: int
    producers: int
    slots: list[int] = field(default_factory=list)
    head: int = 0
    tail: int = 0
    count: int = 0
    done: list[bool] = field(default_factory=list)
    """One flag a producer, each written by its own producer only (no read-modify-write)."""
    high_water: int = 0
    cancelled: bool = False
    lock: threading.Lock = field(default_factory=lambda: threading.Lock())
    not_full: threading.Condition = field(init=False)
    not_empty: threading.Condition = field(init=False)
    fifo: queue.Queue[int] = field(init=False)

    def __post_init__(self) -> None:
        self.slots = [EMPTY] * self.capacity
        self.done = [False] * self.producers
        self.not_full = threading.Condition(self.lock)
        self.not_empty = threading.Condition(self.lock)
        self.fifo = queue.Queue(maxsize=self.capacity)

    def put(self, item: int) -> int:
        """Write at the tail and advance it (the caller made sure there is room).
        Returns the slot written, for the trace."""
        slot = self.tail
        self.slots[slot] = item
        self.tail = (slot + 1) % self.capacity
        self.count += 1
        self.high_water = max(self.high_water, self.count)
        return slot

    def take(self) -> int:
        """Read at the head and advance it (the caller made sure there is an item)."""
        item = self.slots[self.head]
        self.head = (self.head + 1) % self.capacity
        self.count -= 1
        return item


def first_item(ctx: ThreadContext) -> int:
    """Producer k puts items k*iterations ... so every item number is unique and traceable."""
    return ctx.role_index * ctx.config.iterations


def handle(item: int, taken: list[int]) -> None:
    """A consumer's work on one item. ``time.sleep(0)`` stands for the I/O that real
    consumers do (write to a file, a socket, a database): it releases the GIL, as I/O does,
    and sleeps for no set time (its cost is the system call: about 1 µs on 3.10, the
    timer slack of about 60 µs on 3.11+ under Linux)."""
    time.sleep(0)
    taken.append(item)


def _taken(ctx: ThreadContext) -> list[int]:
    taken: list[int] = ctx.data.setdefault("taken", [])
    return taken


# --- none: check-then-act on a plain ring buffer ------------------------------------------


def produce_unsafe(buf: Buffer, ctx: ThreadContext) -> None:
    first = first_item(ctx)
    for chunk in ctx.chunks():
        for i in chunk:
            while buf.count >= buf.capacity:  # check: full? then poll until it is not
                ctx.check_stop()
                time.sleep(0)  # give the CPU away while polling, as a polling loop would
            slot = buf.put(first + i)  # act: the count may be stale by now
            if ctx.trace is not None:
                ctx.record(PUT, first + i, slot)
    buf.done[ctx.role_index] = True


def consume_unsafe(buf: Buffer, ctx: ThreadContext) -> None:
    taken = _taken(ctx)
    while True:
        if buf.count <= 0:  # check: empty? then poll, or stop once every producer is done
            if all(buf.done):
                return
            ctx.check_stop()
            time.sleep(0)
            continue
        head = buf.head  # read the head ...
        item = buf.slots[head]
        if ctx.trace is not None:
            ctx.record(TAKE, item, head)
        handle(item, taken)  # ... work on that item (I/O) ...
        buf.head = (head + 1) % buf.capacity  # ... then advance the head we read earlier
        buf.count -= 1
        ctx.ops += 1


# --- condition: the same list, guarded by one lock and two conditions ---------------------


def produce_condition(buf: Buffer, ctx: ThreadContext) -> None:
    first = first_item(ctx)
    for chunk in ctx.chunks():
        for i in chunk:
            began = time.perf_counter_ns()
            with buf.not_full:
                buf.not_full.wait_for(lambda: buf.count < buf.capacity or buf.cancelled)
                ctx.wait_ns += time.perf_counter_ns() - began
                ctx.check_stop()
                buf.put(first + i)
                buf.not_empty.notify()
    with buf.lock:
        buf.done[ctx.role_index] = True
        buf.not_empty.notify_all()  # consumers waiting on an empty buffer may be finished


def consume_condition(buf: Buffer, ctx: ThreadContext) -> None:
    taken = _taken(ctx)
    while True:
        began = time.perf_counter_ns()
        with buf.not_empty:
            buf.not_empty.wait_for(lambda: buf.count or all(buf.done) or buf.cancelled)
            ctx.wait_ns += time.perf_counter_ns() - began
            ctx.check_stop()
            if not buf.count:
                return  # every producer is done and the buffer is empty
            item = buf.take()  # take it out while holding the lock ...
            buf.not_full.notify()
        handle(item, taken)  # ... and work on it after releasing it
        ctx.ops += 1


# --- queue: queue.Queue does the locking; the last producer posts one DONE per consumer ---


def produce_queue(buf: Buffer, ctx: ThreadContext) -> None:
    first = first_item(ctx)
    for chunk in ctx.chunks():
        for i in chunk:
            began = time.perf_counter_ns()
            while True:
                try:
                    buf.fifo.put(first + i, timeout=POLL_S)  # blocks while the queue is full
                    break
                except queue.Full:
                    ctx.check_stop()
            ctx.wait_ns += time.perf_counter_ns() - began
            buf.high_water = max(buf.high_water, buf.fifo.qsize())
    with buf.lock:
        buf.done[ctx.role_index] = True
        last = all(buf.done)
    if last:
        for _ in range(ctx.config.threads - buf.producers):
            buf.fifo.put(DONE)


def consume_queue(buf: Buffer, ctx: ThreadContext) -> None:
    taken = _taken(ctx)
    while True:
        began = time.perf_counter_ns()
        while True:
            try:
                item = buf.fifo.get(timeout=POLL_S)  # blocks while the queue is empty
                break
            except queue.Empty:
                ctx.check_stop()
        ctx.wait_ns += time.perf_counter_ns() - began
        if item == DONE:
            return
        handle(item, taken)
        ctx.ops += 1


def produce_and_consume(buf: Buffer, ctx: ThreadContext) -> None:
    """With one thread there is nobody to hand items to: put one, take it back, repeat."""
    taken = _taken(ctx)
    first = first_item(ctx)
    for chunk in ctx.chunks():
        for i in chunk:
            buf.put(first + i)
            handle(buf.take(), taken)
    buf.done[ctx.role_index] = True


def _strategy(name: str, summary: str, cost: str, safe: bool, produce: object) -> Strategy:
    consume = {"none": consume_unsafe, "condition": consume_condition, "queue": consume_queue}
    return Strategy(
        name=name,
        summary=summary,
        cost=cost,
        safe=safe,
        workers={
            "producer": produce,  # type: ignore[dict-item]
            "consumer": consume[name],
            "producer+consumer": produce_and_consume,
        },
    )


class ProducerConsumerScenario(ProducerConsumerRoles[Buffer]):
    name = "producer-consumer"
    summary = "Producers fill a bounded buffer, consumers empty it; items get lost or doubled."
    explanation = (
        "Half the threads (rounded down, at least one) are producers, each putting "
        f"--iterations numbered items into a ring buffer of {CAPACITY} slots (head, tail, "
        "count); the rest are "
        "consumers, which take items until every producer has finished and the buffer is "
        "empty. Unsynchronized, a consumer checks the count, reads the head, handles the item "
        "there, and only then advances the head it read: two consumers that read the same "
        "head handle the same item (duplicated), and since both decrement the count, "
        "producers see room that is not there and overwrite an item nobody handled (lost). "
        "Handling an item calls time.sleep(0), standing for the I/O a real consumer does: "
        "like I/O, it releases the GIL; it asks for no delay at all (the system call costs "
        "about 1 µs on 3.10 and about 60 µs of timer slack on 3.11+ under Linux)."
    )
    shared_state = (
        f"a ring buffer of {CAPACITY} slots with head, tail and count, and one 'done' flag "
        "per producer (each written by its own producer only)"
    )
    invariant = "every item produced is consumed exactly once"
    violation_noun = "lost items, duplicates and empty takes"
    counted = ("produced", "consumed once")
    why = WhyItBreaks(
        gil=(
            "under the GIL another consumer runs while this one handles an item (its I/O "
            "released the GIL): it reads the same head and handles the same item "
            "(duplicated); both then advance the head and decrement the count, so producers "
            "overwrite an item nobody handled (lost). Taking the item under a Condition's "
            "lock, or using queue.Queue, makes read-and-advance one step."
        ),
        free_threaded=(
            "consumers (and producers) truly run in parallel on this free-threaded build: two "
            "consumers read the same head and handle the same item (duplicated), two producers "
            "write the same slot, and the count drifts, so items are overwritten before anyone "
            "handled them (lost). Taking the item under a Condition's lock, or using "
            "queue.Queue, makes read-and-advance one step."
        ),
    )
    strategies = (
        _strategy(
            "none",
            "a plain ring buffer: read the head, handle that item, then advance the head",
            "nothing, and it loses and duplicates items",
            False,
            produce_unsafe,
        ),
        _strategy(
            "condition",
            "one lock and two threading.Conditions (not full, not empty) guard the ring; "
            "consumers take the item under the lock and handle it after releasing it",
            "every put and take holds the lock; threads sleep while the ring is full or empty",
            True,
            produce_condition,
        ),
        _strategy(
            "queue",
            "queue.Queue(maxsize=capacity), which does the same locking inside",
            "like condition, plus queue.Queue's own bookkeeping per item",
            True,
            produce_queue,
        ),
    )
    helpers = (handle,)
    grade_meanings: ClassVar[Mapping[str, str]] = {
        ACCEPTABLE: "every item handled exactly once",
        FORBIDDEN: "items were lost or handled twice",
        INTERESTING: "a consumer handled a slot before any producer had written it",
    }
    windows = ("io",)
    default_window = "io"
    default_sync = "condition"
    default_iterations = 2_000
    iterations_meaning = "items per producer"
    explore_threads = 3  # one producer and two consumers: their race needs two
    explore_iterations = 1
    explore_preemptions = 1

    split_rule = "half the threads produce, rounded down"

    def split(self, threads: int) -> tuple[int, int]:
        """(producers, consumers): half the threads produce, rounded down (so that three
        threads are one producer and the two consumers whose race this is)."""
        if threads == 1:
            return 1, 0
        producers = threads // 2
        return producers, threads - producers

    def setup(self, config: RunConfig) -> Buffer:
        return Buffer(capacity=CAPACITY, producers=self.split(config.threads)[0])

    def grade(self, outcome: Outcome, config: RunConfig) -> str:
        if outcome.details.get("empty_takes"):
            return INTERESTING
        return super().grade(outcome, config)

    def evidence(
        self, state: Buffer, contexts: Sequence[ThreadContext], limit: int
    ) -> list[Evidence]:
        return ring_evidence(contexts, limit)

    def cancel(self, state: Buffer) -> None:
        with state.lock:
            state.cancelled = True
            state.not_full.notify_all()
            state.not_empty.notify_all()

    def check(self, state: Buffer, contexts: Sequence[ThreadContext]) -> Outcome:
        produced = [
            first_item(c) + i for c in contexts if "producer" in c.role for i in range(c.ops)
        ]
        handled: Tally[int] = Tally()
        for c in contexts:
            handled.update(_taken(c))
        empty = handled.pop(EMPTY, 0)
        lost = sum(1 for i in produced if handled[i] == 0)
        duplicated = sum(n - 1 for n in handled.values() if n > 1)
        exactly_once = sum(1 for i in produced if handled[i] == 1)
        return Outcome(
            expected=len(produced),
            observed=exactly_once,
            violations=lost + duplicated + empty,
            details={
                "lost": lost,
                "duplicated": duplicated,
                "empty_takes": empty,
                "high_water": state.high_water,
                "capacity": state.capacity,
            },
        )


def ring_evidence(contexts: Sequence[ThreadContext], limit: int) -> list[Evidence]:
    """Items taken twice (two consumers read the same head) and items overwritten before
    anyone took them (a producer wrote a slot whose item was still unhandled)."""
    base = trace_start(contexts)
    puts: list[tuple[int, int, int, int]] = []  # (t, thread, item, slot)
    takes: dict[int, list[tuple[int, int, int]]] = {}  # item -> [(t, thread, head)]
    for c in contexts:
        for t, kind, item, slot in c.recorded:
            if kind == PUT:
                puts.append((t, c.index, item, slot))
            elif kind == TAKE:
                takes.setdefault(item, []).append((t, c.index, slot))
    found: list[tuple[int, Evidence]] = []
    for item, seen in takes.items():
        if item == EMPTY or len({thread for _, thread, _ in seen}) < 2:
            continue
        seen.sort()
        (t1, c1, h1), (t2, c2, h2) = seen[0], next(x for x in seen if x[1] != seen[0][1])
        steps = (
            Step(t1 - base, c1, f"read head {h1}, take item {item}", f"head {h1}"),
            Step(t2 - base, c2, f"read head {h2}, take item {item}", f"head {h2}", True),
        )
        found.append(
            (
                t2,
                Evidence(
                    kind="item taken twice",
                    threads=(c1, c2),
                    steps=steps,
                    explanation=(
                        f"Consumer threads {c1} and {c2} both read head {h1} before either "
                        f"advanced it, so both handled item {item}. Both then advance the head "
                        "and decrement the count: the count now says there is room that is "
                        "not there."
                    ),
                ),
            )
        )
    puts.sort()
    last_put: dict[int, tuple[int, int, int]] = {}  # slot -> (t, thread, item)
    for t, thread, item, slot in puts:
        previous = last_put.get(slot)
        last_put[slot] = (t, thread, item)
        if previous is None or previous[2] in takes:
            continue
        pt, pthread, pitem = previous
        if any(x[0] < t for x in takes.get(pitem, [])):
            continue
        steps = (
            Step(pt - base, pthread, f"put item {pitem} in slot {slot}", f"slot {slot}: {pitem}"),
            Step(t - base, thread, f"put item {item} in slot {slot}", f"slot {slot}: {item}", True),
        )
        found.append(
            (
                t,
                Evidence(
                    kind="item overwritten (lost)",
                    threads=(pthread, thread),
                    steps=steps,
                    explanation=(
                        f"Producer thread {pthread} put item {pitem} in slot {slot}; "
                        + (
                            "it came round the ring and"
                            if thread == pthread
                            else f"producer thread {thread}"
                        )
                        + f" wrote item {item} over it before any consumer took it: item "
                        f"{pitem} is lost. The producer saw room because the count had been "
                        "decremented twice for an item two consumers took at once."
                    ),
                ),
            )
        )
    return first_of_each_kind(found, limit)
