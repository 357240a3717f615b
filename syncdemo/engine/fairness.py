"""Fairness, waiting and overlap arithmetic on timestamps the workers recorded themselves.

Workers stamp ``time.perf_counter_ns()`` into their own ``ctx.data`` (no shared
bookkeeping that would need a lock, or race); after the join, the scenarios' checks turn
those stamps into the numbers below. Pure functions on plain lists, tested on fixed inputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def jain_index(amounts: Sequence[float]) -> float:
    """Jain's fairness index, (sum x)^2 / (n * sum x^2): 1.0 when everyone got the same,
    1/n when one got everything. Nobody getting anything counts as fair (1.0)."""
    n = len(amounts)
    squares = sum(x * x for x in amounts)
    if n == 0 or squares == 0:
        return 1.0
    return sum(amounts) ** 2 / (n * squares)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile: the smallest value with at least q% of values at or
    below it (q in 0..100). 0 for no values."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def counts_until(stamps: Sequence[Sequence[int]], cutoff: int) -> list[int]:
    """How many of each thread's timestamps fall at or before ``cutoff``."""
    return [sum(1 for s in own if s <= cutoff) for own in stamps]


def peak_overlap(intervals: Iterable[tuple[int, int]], limit: int) -> tuple[int, int]:
    """(most intervals open at once, how many intervals opened while ``limit`` or more were
    already open). An interval that ends at the instant another begins does not overlap it.
    """
    events: list[tuple[int, int]] = []
    for begin, end in intervals:
        events.append((begin, 1))
        events.append((end, -1))
    events.sort()  # at equal times -1 sorts first: ends before begins
    open_now = peak = over = 0
    for _, step in events:
        if step == 1 and open_now >= limit:
            over += 1
        open_now += step
        peak = max(peak, open_now)
    return peak, over


def micros(ns: float) -> float:
    """Nanoseconds as microseconds, rounded to 0.1 µs for reports."""
    return round(ns / 1000, 1)


def wait_summary(prefix: str, waits_ns: Sequence[int]) -> dict[str, float]:
    """p50, p99 and max of the waits, in µs, under keys like ``reader_wait_p50_us``."""
    return {
        f"{prefix}_wait_p50_us": micros(percentile(waits_ns, 50)),
        f"{prefix}_wait_p99_us": micros(percentile(waits_ns, 99)),
        f"{prefix}_wait_max_us": micros(max(waits_ns, default=0)),
    }
