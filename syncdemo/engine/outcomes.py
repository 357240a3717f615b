"""The outcome histogram: which outcomes the trials produced, how often, and their grades.

In the style of jcstress: each distinct outcome with its count, frequency and grade. When a
grade has many distinct values (a counter's final value differs in every trial), they are
bucketed into a few equal-width ranges so the table stays readable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from syncdemo.results import OutcomeBin

#: Above this many distinct values within one grade, values are bucketed into ranges.
MAX_DISTINCT = 8
BUCKETS = 6


def histogram(
    samples: Sequence[tuple[int, str]], meanings: Mapping[str, str]
) -> tuple[OutcomeBin, ...]:
    """Bins for (value, grade) samples, one per trial; counts add up to len(samples)."""
    total = len(samples)
    if not total:
        return ()
    by_grade: dict[str, list[int]] = {}
    for value, grade in samples:
        by_grade.setdefault(grade, []).append(value)
    bins: list[tuple[int, OutcomeBin]] = []
    for grade, values in by_grade.items():
        for low, high, count in _buckets(values):
            label = f"{low:,}" if low == high else f"{low:,} to {high:,}"
            bins.append(
                (
                    low,
                    OutcomeBin(
                        outcome=label,
                        count=count,
                        frequency=count / total,
                        grade=grade,
                        meaning=meanings.get(grade, ""),
                    ),
                )
            )
    bins.sort(key=lambda b: b[0])
    return tuple(b for _, b in bins)


def _buckets(values: list[int]) -> list[tuple[int, int, int]]:
    """(low, high, count) for each distinct value, or for equal-width ranges if many."""
    distinct = Counter(values)
    if len(distinct) <= MAX_DISTINCT:
        return [(v, v, n) for v, n in sorted(distinct.items())]
    low, high = min(values), max(values)
    width = -(-(high - low + 1) // BUCKETS)  # ceiling division: every value lands in a bucket
    counts = Counter((v - low) // width for v in values)
    return [
        (low + i * width, min(high, low + (i + 1) * width - 1), n)
        for i, n in sorted(counts.items())
    ]
