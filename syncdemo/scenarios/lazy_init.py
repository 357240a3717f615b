"""lazy-init: many threads need the same expensive objects, built on first use.

``if obj is None: obj = build()`` is check-then-act: building takes I/O, and every thread
that checks while the first one is still building sees None too and builds its own. The
last one to publish wins; the others' objects (connections, caches) are wasted or, worse,
in use by threads that hold a different instance than everybody else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import ThreadContext
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks


@dataclass(frozen=True, eq=False)
class Expensive:
    """A stand-in for a connection pool or a parsed configuration: costly, meant to be one."""

    key: int
    built_by: int


@dataclass(eq=False)
class Registry:
    """One slot per object; None until someone has built it."""

    slots: list[Expensive | None]
    lock: threading.Lock = field(default_factory=lambda: threading.Lock())


def build(key: int, ctx: ThreadContext) -> Expensive:
    """Construct the object. ``time.sleep(0)`` stands for the I/O that makes it expensive
    (connecting, reading a file): it releases the GIL, as I/O does, and asks for no time at all."""
    time.sleep(0)
    ctx.data["built"] += 1
    return Expensive(key, ctx.index)


def get_unsafe(reg: Registry, key: int, ctx: ThreadContext) -> Expensive:
    obj = reg.slots[key]
    if obj is None:  # check: nobody built it yet ...
        obj = build(key, ctx)  # ... build it (I/O: others check meanwhile, see None too)
        reg.slots[key] = obj  # ... publish: may replace another thread's object
    return obj


def get_locked(reg: Registry, key: int, ctx: ThreadContext) -> Expensive:
    began = time.perf_counter_ns()
    with reg.lock:  # every get takes the lock, even long after the object exists
        ctx.wait_ns += time.perf_counter_ns() - began
        obj = reg.slots[key]
        if obj is None:
            obj = build(key, ctx)
            reg.slots[key] = obj
    return obj


def get_double_checked(reg: Registry, key: int, ctx: ThreadContext) -> Expensive:
    obj = reg.slots[key]
    if obj is None:  # first check, without the lock: the common case once it is built
        began = time.perf_counter_ns()
        with reg.lock:
            ctx.wait_ns += time.perf_counter_ns() - began
            obj = reg.slots[key]
            if obj is None:  # second check, with the lock: did someone build it meanwhile?
                obj = build(key, ctx)
                reg.slots[key] = obj
    return obj


def _use_all(
    reg: Registry, ctx: ThreadContext, get: Callable[[Registry, int, ThreadContext], Expensive]
) -> None:
    ctx.data.update(built=0, got=[])
    got = ctx.data["got"]
    for chunk in ctx.chunks():
        for key in chunk:
            got.append(get(reg, key, ctx))


def need_unsafe(reg: Registry, ctx: ThreadContext) -> None:
    _use_all(reg, ctx, get_unsafe)


def need_locked(reg: Registry, ctx: ThreadContext) -> None:
    _use_all(reg, ctx, get_locked)


def need_double_checked(reg: Registry, ctx: ThreadContext) -> None:
    _use_all(reg, ctx, get_double_checked)


class LazyInitScenario(Scenario[Registry]):
    name = "lazy-init"
    # at 2, a search of some strategy ran 15 s to minutes (or stopped at --limit); at 1
    # every strategy's takes about 2 s or less, and each unsafe one fails
    explore_preemptions = 1
    summary = "Threads build shared objects on first use; check-then-create builds several."
    explanation = (
        "There are --iterations expensive objects, each built the first time some thread "
        "needs it, and every thread needs each of them, in order. Building one takes I/O "
        "(time.sleep(0) stands for it: it releases the GIL, as connecting or reading a file "
        "does, and asks for no time at all). Unsynchronized, a thread checks the slot, sees None "
        "and starts building; while it waits for its I/O the others check the same slot, "
        "see None too, and build their own. The last to publish wins; the other objects are "
        "wasted and their builders use an instance nobody else has. A lock around check and "
        "build makes it one step; double-checked locking takes that lock only while the "
        "object does not exist yet."
    )
    shared_state = "one slot per object, None until built, and one lock"
    invariant = "each object is built exactly once"
    violation_noun = "extra constructions"
    counted = ("objects", "constructions")
    violation_share = False  # extra constructions can outnumber the objects several times
    why = WhyItBreaks(
        gil=(
            "under the GIL the first builder released the GIL for its I/O between checking "
            "the slot and publishing its object; the threads that ran meanwhile checked the "
            "same empty slot and built their own. A lock around check and build makes them "
            "one step (double-checked: only until the object exists)."
        ),
        free_threaded=(
            "on this free-threaded build several threads checked the empty slot at the same "
            "moment, and all of them built an object; the I/O only widened the gap. A lock "
            "around check and build makes them one step (double-checked: only until the "
            "object exists)."
        ),
    )
    strategies = (
        Strategy(
            "none",
            "if the slot is empty, build and publish, with nothing around it",
            "nothing, and objects get built several times",
            False,
            {"worker": need_unsafe},
        ),
        Strategy(
            "lock",
            "a lock around check, build and publish",
            "every get takes the lock, for the whole life of the program, and threads queue "
            "behind a build they could have skipped",
            True,
            {"worker": need_locked},
        ),
        Strategy(
            "double-checked",
            "check without the lock; if empty, lock, check again, build and publish",
            "the lock only while the object is missing; after that a get is one read. Safe "
            "in Python (publishing a reference publishes a fully built object), famously "
            "not in languages with weaker memory models without extra care",
            True,
            {"worker": need_double_checked},
        ),
    )
    helpers = (get_unsafe, get_locked, get_double_checked, build, _use_all)
    default_sync = "none"
    default_threads = 8
    default_iterations = 200
    iterations_meaning = "objects every thread needs"

    def setup(self, config: RunConfig) -> Registry:
        return Registry(slots=[None] * config.iterations)

    def check(self, state: Registry, contexts: Sequence[ThreadContext]) -> Outcome:
        objects = sum(1 for obj in state.slots if obj is not None)
        built = sum(c.data.get("built", 0) for c in contexts)
        orphans = sum(
            1 for c in contexts for obj in c.data.get("got", []) if state.slots[obj.key] is not obj
        )
        details: dict[str, Scalar] = {
            "objects": objects,
            "constructions": built,
            "stray_instances_in_use": orphans,
        }
        return Outcome(
            expected=objects, observed=built, violations=built - objects, details=details
        )
