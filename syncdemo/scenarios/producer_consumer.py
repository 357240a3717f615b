"""producer-consumer: producers put numbered items into a bounded buffer, consumers take them.

The buffer is the textbook ring: ``slots``, a ``head`` where consumers take, a ``tail``
where producers put, and a ``count``. Unsynchronized, a consumer reads the head, handles
that item (I/O), and only then advances the head it read: two consumers that read the same
head handle the same item (a duplicate), both advance, and both decrement the count, so
producers see room that is not there and overwrite an item nobody handled (lost).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from syncdemo.evidence import first_of_each_kind, trace_start
from syncdemo.model import END, Model, Program, ProgramBuilder
from syncdemo.results import Evidence, Outcome, RunConfig, Step
from syncdemo.scenarios import register
from syncdemo.scenarios.base import (
    ACCEPTABLE,
    FORBIDDEN,
    INTERESTING,
    ProducerConsumerRoles,
    Strategy,
    ThreadContext,
    WhyItBreaks,
)

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


@register
class ProducerConsumerScenario(ProducerConsumerRoles[Buffer]):
    name = "producer-consumer"
    summary = "Producers fill a bounded buffer, consumers empty it; items get lost or doubled."
    explanation = (
        "Half the threads (rounded up) are producers, each putting --iterations numbered "
        f"items into a ring buffer of {CAPACITY} slots (head, tail, count); the rest are "
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
    violation_noun = "lost or duplicated items"
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

    split_rule = "half the threads produce"

    def split(self, threads: int) -> tuple[int, int]:
        """(producers, consumers): half the threads produce, rounded up."""
        if threads == 1:
            return 1, 0
        producers = math.ceil(threads / 2)
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

    def model(self, config: RunConfig) -> Model:
        return producer_consumer_model(config, self.split(config.threads))

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


# --- model for syncdemo explore -----------------------------------------------------------
# The workers above as atomic steps (syncdemo.model), on a ring of MODEL_CAPACITY slots.
# none: the consumer reads the count, reads the head, takes the slot (and handles it),
# advances the head, decrements the count, each a step; the producer waits for room, writes
# the slot at the tail, advances the tail, increments the count. Polling loops are steps
# that are blocked until what they poll for holds. condition and queue: the same work
# under the lock (one step, since nobody else can touch the ring meanwhile), with the
# waits of wait_for and of queue.Queue.put/get. Change a worker, change its steps here.

#: The model's ring is smaller than the real one: the races are the same, the states fewer.
MODEL_CAPACITY = 2


def producer_consumer_model(
    config: RunConfig, split: tuple[int, int], capacity: int = MODEL_CAPACITY
) -> Model:
    producers, consumers = split
    n = config.iterations
    programs = []
    for t in range(config.threads):
        if consumers == 0:
            programs.append(_alone_program(t, n, capacity))
        elif t < producers:
            programs.append(_PRODUCERS[config.sync](t, t, n, capacity, consumers))
        else:
            programs.append(_CONSUMERS[config.sync](t, capacity))
    items = producers * n
    initial: dict[str, Any] = {
        "slots": (EMPTY,) * capacity,
        "head": 0,
        "tail": 0,
        "count": 0,
        "done": (False,) * producers,
        "lock": None,
        "fifo": (),
        "handled": (0,) * items,  # ghost: how often each item was handled
        "empty_takes": 0,  # ghost: slots handled before any producer wrote them
        "overwritten": 0,  # ghost: items written over before anyone handled them
    }
    shown = ("fifo", "done") if config.sync == "queue" else ("slots", "head", "tail", "count")
    return Model(
        scenario=config.scenario,
        sync=config.sync,
        programs=tuple(programs),
        initial=initial,
        shown=shown,
        outcome=_ring_outcome,
        label=_ring_label,
        show=_show_queue if config.sync == "queue" else _show_ring,
        violation=_ring_violation,
        notes=(
            f"the ring has {capacity} slots in the model ({CAPACITY} in real runs): the same "
            "races, far fewer states",
            "a polling loop (while count is 0: sleep(0)) is one step, blocked until what it "
            "polls for holds",
            "count += 1 and count -= 1 are single steps (they have no call inside, so under "
            "the GIL nothing runs in between; a free-threaded build can split them too)",
        ),
    )


def _ring_outcome(s: Mapping[str, Any]) -> Outcome:
    handled = s["handled"]
    lost = sum(1 for h in handled if h == 0)
    duplicated = sum(h - 1 for h in handled if h > 1)
    once = sum(1 for h in handled if h == 1)
    return Outcome(
        expected=len(handled),
        observed=once,
        violations=lost + duplicated + s["empty_takes"],
        details={"lost": lost, "duplicated": duplicated, "empty_takes": s["empty_takes"]},
    )


def _ring_label(s: Mapping[str, Any]) -> str:
    o = _ring_outcome(s)
    wrong = [f"{k.replace('_', ' ')} {v}" for k, v in o.details.items() if v]
    return ", ".join(wrong) if wrong else "every item once"


def _ring_violation(s: Mapping[str, Any]) -> str | None:
    twice = [i for i, h in enumerate(s["handled"]) if h > 1]
    if twice:
        return f"item {twice[0]} was handled twice"
    if s["overwritten"]:
        return "an item was written over before anyone handled it: it is lost"
    if s["empty_takes"]:
        return "a consumer handled a slot that no producer had written"
    return None


def _show_ring(s: Mapping[str, Any]) -> str:
    slots = ", ".join("-" if v == EMPTY else str(v) for v in s["slots"])
    held = "" if s["lock"] is None else f" · lock: thread {s['lock']}"
    return f"slots [{slots}] head {s['head']} tail {s['tail']} count {s['count']}{held}"


def _show_queue(s: Mapping[str, Any]) -> str:
    items = ", ".join("DONE" if v == DONE else str(v) for v in s["fifo"])
    done = "".join("y" if d else "n" for d in s["done"])
    return f"queue [{items}] · producers done: {done}"


def _handle(s: dict[str, Any], item: int) -> None:
    """Ghost bookkeeping for handle(): count what each consumer handled."""
    if item == EMPTY:
        s["empty_takes"] += 1
        return
    handled = list(s["handled"])
    handled[item] += 1
    s["handled"] = tuple(handled)


def _write_slot(s: dict[str, Any], slot: int, item: int) -> None:
    old = s["slots"][slot]
    if old != EMPTY and s["handled"][old] == 0:
        s["overwritten"] += 1
    slots = list(s["slots"])
    slots[slot] = item
    s["slots"] = tuple(slots)


def _set_done(s: dict[str, Any], k: int) -> None:
    done = list(s["done"])
    done[k] = True
    s["done"] = tuple(done)


def _producer_none(t: int, k: int, n: int, capacity: int, consumers: int) -> Program:
    p = ProgramBuilder(t, "producer", registers=("slot",))
    for i in range(n):
        item = k * n + i

        def put(s: dict[str, Any], loc: dict[str, Any], item: int = item) -> str:
            loc["slot"] = s["tail"]
            _write_slot(s, s["tail"], item)
            return f"put item {item} in slot {loc['slot']}"

        def advance(s: dict[str, Any], loc: dict[str, Any]) -> str:
            s["tail"] = (loc["slot"] + 1) % capacity
            loc["slot"] = None
            return f"tail = {s['tail']}"

        p.step(
            "wait",
            "count",
            lambda s, loc: f"read count = {s['count']}: room",
            "wait for room (count < capacity)",
            ready=lambda s, loc: s["count"] < capacity,
            waits_for=lambda s, loc: f"polls for room (count {s['count']})",
        )
        p.step("write", "slots", put, f"put item {item} at the tail")
        p.step("write", "tail", advance, "advance the tail")
        p.step("write", "count", _count_up, "count += 1")
    p.step("write", "done", lambda s, loc: _mark_done(s, k), f"done[{k}] = True")
    return p.build()


def _count_up(s: dict[str, Any], loc: dict[str, Any]) -> str:
    s["count"] += 1
    return f"count = {s['count']}"


def _mark_done(s: dict[str, Any], k: int) -> str:
    _set_done(s, k)
    return f"done[{k}] = True"


def _consumer_none(t: int, capacity: int) -> Program:
    p = ProgramBuilder(t, "consumer", registers=("count", "head"))

    def read_done(s: dict[str, Any], loc: dict[str, Any]) -> str:
        loc["count"] = all(s["done"])
        return "read done: every producer finished" if loc["count"] else "read done: not yet"

    def take(s: dict[str, Any], loc: dict[str, Any]) -> str:
        item = s["slots"][loc["head"]]
        _handle(s, item)
        return f"take slot {loc['head']}: " + ("empty!" if item == EMPTY else f"item {item}")

    def advance(s: dict[str, Any], loc: dict[str, Any]) -> str:
        s["head"] = (loc["head"] + 1) % capacity
        loc["head"] = None
        return f"head = {s['head']}"

    def count_down(s: dict[str, Any], loc: dict[str, Any]) -> str:
        s["count"] -= 1
        return f"count = {s['count']}"

    p.label("loop")
    p.read("count", into="count", branch=lambda loc: "take" if loc.pop("count") > 0 else None)
    p.step(
        "read",
        "done",
        read_done,
        "read done (poll while count is 0)",
        ready=lambda s, loc: s["count"] > 0 or all(s["done"]),
        waits_for=lambda s, loc: "polls for an item (count 0, producers not done)",
        branch=lambda loc: END if loc.pop("count") else "loop",
    )
    p.label("take")
    p.read("head", into="head")
    p.step("read", "slots", take, "take the item at the head (and handle it)")
    p.step("write", "head", advance, "advance the head")
    p.step("write", "count", count_down, "count -= 1", branch=lambda loc: "loop")
    return p.build()


def _alone_program(t: int, n: int, capacity: int) -> Program:
    """One thread: put an item, take it back (produce_and_consume)."""
    p = ProgramBuilder(t, "producer+consumer")
    for i in range(n):

        def put_take(s: dict[str, Any], loc: dict[str, Any], item: int = i) -> str:
            _write_slot(s, s["tail"], item)
            s["tail"] = (s["tail"] + 1) % capacity
            s["count"] += 1
            taken = s["slots"][s["head"]]
            s["head"] = (s["head"] + 1) % capacity
            s["count"] -= 1
            _handle(s, taken)
            return f"put item {item}, take item {taken}"

        p.step("write", "slots", put_take, "put an item, take one back")
    p.step("write", "done", lambda s, loc: _mark_done(s, 0), "done[0] = True")
    return p.build()


def _producer_condition(t: int, k: int, n: int, capacity: int, consumers: int) -> Program:
    p = ProgramBuilder(t, "producer")
    for i in range(n):
        item = k * n + i

        def put(s: dict[str, Any], loc: dict[str, Any], item: int = item) -> str:
            slot = s["tail"]
            _write_slot(s, slot, item)
            s["tail"] = (slot + 1) % capacity
            s["count"] += 1
            return f"put item {item} in slot {slot}, notify"

        p.acquire("lock")
        p.wait_until("not_full", lambda s: s["count"] < capacity, "room", lock="lock")
        p.step("write", "slots", put, "put an item at the tail, notify")
        p.release("lock")
    p.acquire("lock")
    p.step("write", "done", lambda s, loc: _mark_done(s, k), f"done[{k}] = True, notify_all")
    p.release("lock")
    return p.build()


def _consumer_condition(t: int, capacity: int) -> Program:
    p = ProgramBuilder(t, "consumer", registers=("left",))

    def take(s: dict[str, Any], loc: dict[str, Any]) -> str:
        if not s["count"]:
            loc["left"] = True
            return "count is 0: every producer is done, leave"
        slot = s["head"]
        item = s["slots"][slot]
        s["head"] = (slot + 1) % capacity
        s["count"] -= 1
        _handle(s, item)
        return f"take item {item} from slot {slot}, notify"

    def leave(loc: dict[str, Any]) -> str | None:
        return "leave" if loc.pop("left") else None

    p.label("loop")
    p.acquire("lock")
    p.wait_until(
        "not_empty",
        lambda s: bool(s["count"]) or all(s["done"]),
        "an item, or every producer done",
        lock="lock",
    )
    p.step("read", "slots", take, "take the item at the head, notify", branch=leave)
    p.release("lock", branch=lambda loc: "loop")
    p.label("leave")
    p.release("lock")
    return p.build()


def _producer_queue(t: int, k: int, n: int, capacity: int, consumers: int) -> Program:
    p = ProgramBuilder(t, "producer", registers=("last",))

    def put_step(item: int) -> None:
        def put(s: dict[str, Any], loc: dict[str, Any]) -> str:
            s["fifo"] = (*s["fifo"], item)
            return f"put {'DONE' if item == DONE else f'item {item}'}"

        p.step(
            "put",
            "fifo",
            put,
            "put DONE" if item == DONE else f"put item {item}",
            ready=lambda s, loc: len(s["fifo"]) < capacity,
            waits_for=lambda s, loc: "waits for room in the queue",
        )

    def finish(s: dict[str, Any], loc: dict[str, Any]) -> str:
        _set_done(s, k)
        loc["last"] = all(s["done"])
        return f"with lock: done[{k}] = True, " + ("last one" if loc["last"] else "not last")

    for i in range(n):
        put_step(k * n + i)
    p.step(
        "write",
        "done",
        finish,
        f"with lock: done[{k}] = True; last?",
        branch=lambda loc: None if loc.pop("last") else END,
    )
    for _ in range(consumers):
        put_step(DONE)
    return p.build()


def _consumer_queue(t: int, capacity: int) -> Program:
    p = ProgramBuilder(t, "consumer", registers=("item",))

    def get(s: dict[str, Any], loc: dict[str, Any]) -> str:
        item = s["fifo"][0]
        s["fifo"] = s["fifo"][1:]
        if item == DONE:
            loc["item"] = DONE
            return "get DONE: leave"
        _handle(s, item)
        return f"get item {item}"

    p.label("loop")
    p.step(
        "get",
        "fifo",
        get,
        "get an item",
        ready=lambda s, loc: len(s["fifo"]) > 0,
        waits_for=lambda s, loc: "waits for an item in the queue",
        branch=lambda loc: END if loc.pop("item") == DONE else "loop",
    )
    return p.build()


_PRODUCERS = {"none": _producer_none, "condition": _producer_condition, "queue": _producer_queue}
_CONSUMERS = {"none": _consumer_none, "condition": _consumer_condition, "queue": _consumer_queue}
