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
from dataclasses import dataclass, field

from syncdemo.engine.context import Stopped, ThreadContext
from syncdemo.engine.watchdog import CYCLE, Stuck
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


def member(name: str, ctx: ThreadContext) -> Who:
    return Who(name, ctx.stop)


@dataclass(frozen=True)
class Snapshot:
    """The wait-for graph at one instant (taken under the graph's lock, so consistent)."""

    holders: Mapping[str, str]
    """lock name -> the thread holding it."""
    waiting: Mapping[str, str]
    """thread name -> the lock it waits for."""
    patient: frozenset[str]
    """The waiting threads that wait without a time limit (a trylock does not)."""


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


class WaitForGraph:
    """The bookkeeping shared by every :class:`TracedLock` of one trial."""

    def __init__(self) -> None:
        self._meta = threading.Lock()
        self._holders: dict[str, str] = {}
        self._waiting: dict[str, str] = {}
        self._patient: set[str] = set()

    def lock(self, name: str) -> TracedLock:
        return TracedLock(self, name)

    def snapshot(self) -> Snapshot:
        with self._meta:
            return Snapshot(dict(self._holders), dict(self._waiting), frozenset(self._patient))

    def deadlock(self) -> str | None:
        """The certain wait-for cycle, in words, or None."""
        snap = self.snapshot()
        cycle = find_cycle(snap)
        return None if cycle is None else describe_cycle(snap, cycle)

    def _wait(self, who: str, lock: str, patient: bool) -> None:
        with self._meta:
            self._waiting[who] = lock
            if patient:
                self._patient.add(who)

    def _stop_waiting(self, who: str) -> None:
        with self._meta:
            self._waiting.pop(who, None)
            self._patient.discard(who)

    def _got(self, who: str, lock: str) -> None:
        with self._meta:
            self._holders[lock] = who
            self._waiting.pop(who, None)
            self._patient.discard(who)

    def _released(self, lock: str) -> None:
        with self._meta:
            self._holders.pop(lock, None)


class TracedLock:
    """A ``threading.Lock`` that tells its graph who holds it and who waits for it.

    The graph hears of a holder only after the real lock is taken and forgets it before the
    real lock is let go, so a snapshot never shows a holder that does not hold the lock.
    """

    def __init__(self, graph: WaitForGraph, name: str) -> None:
        self.graph = graph
        self.name = name
        self._lock = threading.Lock()

    def acquire(self, who: Who, timeout: float | None = None) -> bool:
        """Take the lock, waiting for ever (``timeout=None``) or up to ``timeout`` seconds
        (then return False). Raises :class:`Stopped` once ``who.stop`` is set."""
        if self._lock.acquire(blocking=False):
            self.graph._got(who.name, self.name)
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
                    self.graph._got(who.name, self.name)
                    return True
            raise Stopped
        finally:
            self.graph._stop_waiting(who.name)

    def release(self, who: Who) -> None:
        self.graph._released(self.name)
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


@dataclass(eq=False)
class Watched:
    """One trial's wait-for graph and, once the watchdog fired, what it saw then."""

    graph: WaitForGraph = field(default_factory=WaitForGraph)
    stuck: Stuck | None = None
    cycle: str = ""
    """The wait-for cycle in words ("" if the threads were stuck without one)."""
    also_blocked: str = ""
    """The waiting threads outside the cycle, and what they wait for."""

    def record(self, stuck: Stuck) -> None:
        """Keep the watchdog's verdict and the graph as it is now, before anyone gives up."""
        snap = self.graph.snapshot()
        self.stuck = stuck
        # a certain cycle, or (stuck for want of progress) one among threads that wait a while
        cycle = find_cycle(snap) or find_cycle(snap, patient_only=False) or []
        self.cycle = stuck.detail if stuck.reason == CYCLE else ""
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
