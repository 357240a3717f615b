"""The producer-consumer workers as atomic steps, for ``syncdemo explore``.

They sit beside the explorer, not in the scenario, because only the explorer reads them;
the real workers are in :mod:`syncdemo.scenarios.producer_consumer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncdemo.explore.model import END, Model, Program, ProgramBuilder
from syncdemo.results import Outcome, RunConfig
from syncdemo.scenarios.producer_consumer import CAPACITY, DONE, EMPTY

# --- model for syncdemo explore -----------------------------------------------------------
# The workers above as atomic steps (syncdemo.explore.model), on a ring of MODEL_CAPACITY slots.
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
