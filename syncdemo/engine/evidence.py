"""Rebuild concrete failures from the events workers recorded with --trace.

Everything here reads the per-thread event buffers after the join; nothing is inferred
that the events do not show. Times come from ``perf_counter_ns`` (one clock for every
thread) and are shown relative to the trial's first event.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from syncdemo.engine.context import ThreadContext
from syncdemo.results import Evidence, Step

READ = "read"
WRITE = "write"


@dataclass(frozen=True)
class ReadWrite:
    """One read-modify-write of a shared register by one thread, as recorded."""

    thread: int
    read_ns: int
    read: int
    write_ns: int
    written: int


def trace_start(contexts: Sequence[ThreadContext]) -> int:
    """The earliest recorded timestamp, so steps can be shown from 0."""
    firsts = [c.recorded[0][0] for c in contexts if c.recorded]
    return min(firsts) if firsts else 0


def first_of_each_kind(found: list[tuple[int, Evidence]], limit: int) -> list[Evidence]:
    """The earliest ``limit`` failures, taking the kinds in turn so each kind shows."""
    kinds: dict[str, list[tuple[int, Evidence]]] = {}
    for t, ev in sorted(found, key=lambda pair: pair[0]):
        kinds.setdefault(ev.kind, []).append((t, ev))
    picked: list[tuple[int, Evidence]] = []
    queues = list(kinds.values())
    while len(picked) < limit and any(queues):
        for q in queues:
            if q and len(picked) < limit:
                picked.append(q.pop(0))
    return [ev for _, ev in sorted(picked, key=lambda pair: pair[0])]


def read_writes(contexts: Sequence[ThreadContext]) -> list[ReadWrite]:
    """Pair each thread's recorded READ with the WRITE that follows it."""
    pairs: list[ReadWrite] = []
    for c in contexts:
        pending: tuple[int, int] | None = None
        for t, kind, value, _ in c.recorded:
            if kind == READ:
                pending = (t, value)
            elif kind == WRITE and pending is not None:
                pairs.append(ReadWrite(c.index, pending[0], pending[1], t, value))
                pending = None
    return pairs


def lost_update_evidence(contexts: Sequence[ThreadContext], limit: int) -> list[Evidence]:
    """Find two threads that read the same value and both wrote value + 1.

    The later of the two writes was computed from a stale read: it sets the register back
    and overwrites every write made since the earlier one. Those are the lost updates.
    """
    pairs = read_writes(contexts)
    writes = sorted((p.write_ns, p.written, p.thread) for p in pairs)
    write_times = [w[0] for w in writes]
    by_value: dict[int, list[ReadWrite]] = {}
    for p in pairs:
        by_value.setdefault(p.written, []).append(p)

    found: list[tuple[ReadWrite, ReadWrite]] = []
    for same in by_value.values():
        if len(same) < 2:
            continue
        same.sort(key=lambda p: p.write_ns)
        first = same[0]
        for later in same[1:]:
            if later.thread != first.thread and later.read_ns < first.write_ns:
                found.append((first, later))
                break
    found.sort(key=lambda pair: pair[1].write_ns)

    base = trace_start(contexts)
    evidence = []
    for first, later in found[:limit]:
        lo = bisect.bisect_right(write_times, first.write_ns)
        hi = bisect.bisect_left(write_times, later.write_ns)
        between = writes[lo:hi]

        def value_at(t: int) -> int:
            i = bisect.bisect_right(write_times, t)
            return writes[i - 1][1] if i else 0

        steps = [
            (later.read_ns, later.thread, f"read {later.read:,}", value_at(later.read_ns)),
            (first.read_ns, first.thread, f"read {first.read:,}", value_at(first.read_ns)),
        ]
        steps.sort()
        steps.append((first.write_ns, first.thread, f"write {first.written:,}", first.written))
        peak = first.written
        if between:
            peak = between[-1][1]
            who = sorted({w[2] for w in between})
            steps.append(
                (
                    between[-1][0],
                    first.thread if who == [first.thread] else -1,
                    f"{len(between):,} more writes by thread"
                    f"{'s' if len(who) > 1 else ''} {', '.join(map(str, who))}",
                    peak,
                )
            )
        steps.append((later.write_ns, later.thread, f"write {later.written:,}", later.written))
        lost = len(between) + 1
        evidence.append(
            Evidence(
                kind="lost update",
                threads=(later.thread, first.thread),
                steps=tuple(
                    Step(
                        t_ns=t - base,
                        thread=thread,
                        action=action,
                        shared=f"{shared:,}",
                        highlight=i == len(steps) - 1,
                    )
                    for i, (t, thread, action, shared) in enumerate(steps)
                ),
                explanation=(
                    f"Threads {later.thread} and {first.thread} both read {first.read:,}. "
                    f"Thread {first.thread} wrote {first.written:,}"
                    + (
                        f", {len(between):,} more writes followed (the counter stood at {peak:,})"
                        if between
                        else ""
                    )
                    + f"; then thread {later.thread} wrote {later.written:,}, computed from "
                    f"its stale read: the {lost:,} increment{'s' if lost != 1 else ''} "
                    "written since it read are overwritten by that one write."
                ),
            )
        )
    return evidence
