"""Instrumented locks: who holds which lock, who waits for which, and the wait-for cycle.

The deadlocking scenarios take their locks through :class:`TracedLock`. Every lock of one
trial belongs to one :class:`WaitForGraph`, which records, under its own small lock, the
holder of each lock and the lock each waiting thread wants. That is enough to see a
deadlock for certain (threads that each hold a lock the next one waits for, all waiting
without a time limit: nobody in that cycle can ever let go) and to describe it in words.

A waiting thread never blocks for good: it acquires in short timed slices and gives up
(raises :class:`Stopped`) once the run's stop flag is set, which is how the watchdog, a
failed worker or Ctrl-C make a deadlocked trial end.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from syncdemo.engine.context import Stopped, ThreadContext
from syncdemo.engine.watchdog import CYCLE, LEAKED, Diagnosis, Stuck
from syncdemo.results import Scalar

#: How long one timed acquire blocks before the waiter looks at the stop flag. A release
#: wakes a waiter at once (the slice is a timeout, not a polling period), so the slice only
#: bounds how long a deadlocked thread takes to notice that it should give up.
SLICE_S = 0.01


@dataclass(frozen=True)
class Who:
    """A thread as the wait-for graph names it, with the flag that tells it to give up."""

    name: str
    stop: threading.Event
    finished: threading.Event | None = None
    """Set once the thread's worker has returned (the engine's ``ThreadContext.finished``):
    a lock it still holds then is leaked."""


def member(name: str, ctx: ThreadContext) -> Who:
    return Who(name, ctx.stop, ctx.finished)


@dataclass(frozen=True)
class Snapshot:
    """The wait-for graph at one instant (taken under the graph's lock, so consistent)."""

    holders: Mapping[str, str]
    """lock name -> the thread holding it."""
    waiting: Mapping[str, str]
    """thread name -> the lock it waits for."""
    patient: frozenset[str]
    """The waiting threads that wait without a time limit (a trylock does not)."""
    finished: frozenset[str] = frozenset()
    """The holders whose thread has finished: whatever they hold, nobody will release."""


def natural(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort "philosopher 10" after "philosopher 9"."""
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in re.split(r"(\d+)", name) if p)


def find_cycle(snap: Snapshot, *, patient_only: bool = True) -> list[str] | None:
    """Threads t0, t1, ... where each waits for a lock the next one holds, back to t0.

    Each waiting thread waits for one lock, held by at most one thread, so the graph has at
    most one edge out of every node: follow the edges from each thread until a thread
    repeats (a cycle) or the path ends (someone who is running). With ``patient_only``,
    only threads that wait without a time limit count, so a cycle found is certain.
    """

    def next_of(thread: str) -> str | None:
        lock = snap.waiting.get(thread)
        if lock is None or (patient_only and thread not in snap.patient):
            return None
        return snap.holders.get(lock)

    for start in sorted(snap.waiting, key=natural):
        path: list[str] = []
        thread: str | None = start
        while thread is not None and thread not in path:
            path.append(thread)
            thread = next_of(thread)
        if thread is not None:  # came back to a thread on the path: the cycle starts there
            cycle = path[path.index(thread) :]
            first = min(range(len(cycle)), key=lambda i: natural(cycle[i]))
            return cycle[first:] + cycle[:first]
    return None


def describe_cycle(snap: Snapshot, cycle: list[str]) -> str:
    """ "philosopher 0 holds fork 0, waits for fork 1 -> philosopher 1 holds fork 1, ..."."""
    if len(cycle) == 1:
        (thread,) = cycle
        lock = snap.waiting[thread]
        return (
            f"{thread} holds {lock} and waits for {lock} itself: a cycle of one thread "
            "(the lock is not re-entrant)"
        )
    steps = []
    for i, thread in enumerate(cycle):
        held = snap.waiting[cycle[i - 1]]  # what the previous thread waits for, this one holds
        steps.append(f"{thread} holds {held}, waits for {snap.waiting[thread]}")
    return " -> ".join([*steps, cycle[0]])


def describe_graph(snap: Snapshot, leave_out: Iterable[str] = ()) -> str:
    """Every waiting thread (but those left out), the lock it waits for and who holds that
    lock, in words."""
    edges = []
    skip = set(leave_out)
    for thread in sorted(set(snap.waiting) - skip, key=natural):
        lock = snap.waiting[thread]
        holder = snap.holders.get(lock)
        held_by = f"held by {holder}" if holder else "free a moment ago"
        edges.append(f"{thread} waits for {lock} ({held_by})")
    return "; ".join(edges)


def describe_leak(snap: Snapshot) -> str | None:
    """A lock held by a thread that has finished, while others wait for it without a time
    limit, in words; None if there is none. Nobody in the program will release it."""
    for lock, holder in sorted(snap.holders.items()):
        if holder not in snap.finished:
            continue
        waiters = sorted(
            (t for t, wanted in snap.waiting.items() if wanted == lock and t in snap.patient),
            key=natural,
        )
        if waiters:
            return (
                f"{lock} is still held by {holder}, which has finished without releasing "
                f"it; {', '.join(waiters)} wait{'s' if len(waiters) == 1 else ''} for it for ever"
            )
    return None


class WaitForGraph:
    """The bookkeeping shared by every :class:`TracedLock` of one trial."""

    def __init__(self) -> None:
        self._meta = threading.Lock()
        self._holders: dict[str, str] = {}
        self._waiting: dict[str, str] = {}
        self._patient: set[str] = set()
        self._ends: dict[str, threading.Event] = {}
        """thread name -> its ``finished`` event, for the threads that hold a lock."""

    def lock(self, name: str, *, reentrant: bool = False) -> TracedLock:
        return TracedLock(self, name, reentrant=reentrant)

    def snapshot(self) -> Snapshot:
        with self._meta:
            holders = dict(self._holders)
            finished = frozenset(
                t for t in holders.values() if t in self._ends and self._ends[t].is_set()
            )
            return Snapshot(holders, dict(self._waiting), frozenset(self._patient), finished)

    def deadlock(self) -> str | None:
        """The certain wait-for cycle, or a lock leaked by a finished thread that others wait
        for (a :class:`Diagnosis` of :data:`LEAKED`), in words; or None."""
        snap = self.snapshot()
        cycle = find_cycle(snap)
        if cycle is not None:
            return describe_cycle(snap, cycle)
        leak = describe_leak(snap)
        return None if leak is None else Diagnosis(leak, LEAKED)

    def _wait(self, who: str, lock: str, patient: bool) -> None:
        with self._meta:
            self._waiting[who] = lock
            if patient:
                self._patient.add(who)

    def _stop_waiting(self, who: str) -> None:
        with self._meta:
            self._waiting.pop(who, None)
            self._patient.discard(who)

    def _got(self, who: str, lock: str, ends: threading.Event | None = None) -> None:
        with self._meta:
            self._holders[lock] = who
            if ends is not None:
                self._ends[who] = ends
            self._waiting.pop(who, None)
            self._patient.discard(who)

    def _released(self, lock: str) -> None:
        with self._meta:
            self._holders.pop(lock, None)


class TracedLock:
    """A ``threading.Lock`` that tells its graph who holds it and who waits for it.

    The graph hears of a holder only after the real lock is taken and forgets it before the
    real lock is let go, so a snapshot never shows a holder that does not hold the lock.
    With ``reentrant=True`` it is a ``threading.RLock``: its owner may take it again (each
    acquire needs its release) and the graph forgets the holder at the last release.
    """

    def __init__(self, graph: WaitForGraph, name: str, *, reentrant: bool = False) -> None:
        self.graph = graph
        self.name = name
        self.reentrant = reentrant
        self._lock: threading.Lock | threading.RLock = (
            threading.RLock() if reentrant else threading.Lock()
        )
        self._depth = 0
        """How many times the holder holds it (only the holder changes it)."""

    def acquire(self, who: Who, timeout: float | None = None) -> bool:
        """Take the lock, waiting for ever (``timeout=None``) or up to ``timeout`` seconds
        (then return False). Raises :class:`Stopped` once ``who.stop`` is set."""
        if self._lock.acquire(blocking=False):
            self._depth += 1
            self.graph._got(who.name, self.name, who.finished)
            return True
        if timeout is not None and timeout <= 0:
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        self.graph._wait(who.name, self.name, patient=timeout is None)
        try:
            while not who.stop.is_set():
                left = SLICE_S if deadline is None else min(SLICE_S, deadline - time.monotonic())
                if left <= 0:
                    return False
                if self._lock.acquire(timeout=left):
                    self._depth += 1
                    self.graph._got(who.name, self.name, who.finished)
                    return True
            raise Stopped
        finally:
            self.graph._stop_waiting(who.name)

    def release(self, who: Who) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.graph._released(self.name)
        self._lock.release()

    @contextmanager
    def held(self, who: Who) -> Iterator[None]:
        """``with lock.held(me):`` acquires (waiting for ever), and releases however the
        block ends, as ``with threading.Lock():`` does."""
        self.acquire(who)
        try:
            yield
        finally:
            self.release(who)

    def locked(self) -> bool:
        return self._depth > 0


@dataclass(eq=False)
class Watched:
    """One trial's wait-for graph and, once the watchdog fired, what it saw then."""

    graph: WaitForGraph = field(default_factory=WaitForGraph)
    stuck: Stuck | None = None
    cycle: str = ""
    """The wait-for cycle in words ("" if the threads were stuck without one)."""
    also_blocked: str = ""
    """The waiting threads outside the cycle, and what they wait for."""
    leaked: str = ""
    """The lock a finished thread still held, and who waited for it ("" if none)."""

    def record(self, stuck: Stuck) -> None:
        """Keep the watchdog's verdict and the graph as it is now, before anyone gives up."""
        snap = self.graph.snapshot()
        self.stuck = stuck
        # a certain cycle, or (stuck for want of progress) one among threads that wait a while
        cycle = find_cycle(snap) or find_cycle(snap, patient_only=False) or []
        self.cycle = stuck.detail if stuck.reason == CYCLE else ""
        self.leaked = stuck.detail if stuck.reason == LEAKED else (describe_leak(snap) or "")
        if cycle and not self.cycle:
            self.cycle = describe_cycle(snap, cycle)
        self.also_blocked = describe_graph(snap, leave_out=cycle)

    def details(self) -> dict[str, Scalar]:
        """What to add to a check's details: deadlocked, and if so how it was seen."""
        if self.stuck is None:
            return {"deadlocked": False}
        found: dict[str, Scalar] = {
            "deadlocked": True,
            "detected_by": self.stuck.reason,
            "stalled_s": round(self.stuck.stalled_s, 3),
            "cycle": self.cycle or "none found among the instrumented locks",
        }
        if self.leaked:
            found["leaked"] = self.leaked
            if not self.cycle:
                found["cycle"] = "none: the holder has left"
        if self.also_blocked:
            found["also_blocked"] = self.also_blocked
        return found


def one_by_one(ctx: ThreadContext) -> Iterator[int]:
    """This thread's ``--iterations``, one at a time: an operation counts (``ctx.ops``) only
    once its body finished, and the thread gives up between two when the run is stopped.

    Deadlocking scenarios use it instead of ``ctx.chunks()`` so that a thread stuck in its
    third iteration reports 2 operations, not a whole chunk, and the watchdog sees progress
    stop the moment the threads do.
    """
    for i in range(ctx.config.iterations):
        ctx.check_stop()
        yield i
        ctx.ops += 1
