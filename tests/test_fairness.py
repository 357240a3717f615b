"""Fairness, waiting and overlap arithmetic on fixed inputs, and the checks that use it.

The scenarios' workers stamp perf_counter_ns into their own ctx.data; these tests feed the
same arithmetic hand-made stamps, so every number a report shows can be worked out by hand.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from syncdemo import scenarios
from syncdemo.engine import runner as engine
from syncdemo.engine.context import ThreadContext
from syncdemo.engine.fairness import (
    counts_until,
    jain_index,
    micros,
    peak_overlap,
    percentile,
    wait_summary,
)
from syncdemo.results import RunConfig

# --- Jain's fairness index ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([5, 5, 5, 5], 1.0),  # everyone got the same
        ([7, 0, 0, 0], 0.25),  # one got everything: 1/n
        ([2, 4], 36 / 40),  # (2+4)^2 / (2 * (4+16))
        ([1, 2, 3], 36 / 42),  # 6^2 / (3 * 14)
        ([10], 1.0),
        ([], 1.0),  # nobody to be unfair to
        ([0, 0, 0], 1.0),  # nobody got anything: equal
    ],
)
def test_jain_index(amounts: list[float], expected: float) -> None:
    assert jain_index(amounts) == pytest.approx(expected)


def test_jain_index_is_between_one_over_n_and_one() -> None:
    for amounts in ([3, 1, 4, 1, 5], [100, 1], [0, 0, 9], [1] * 50):
        assert 1 / len(amounts) - 1e-12 <= jain_index(amounts) <= 1 + 1e-12


# --- percentiles (nearest rank) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0, 1), (1, 1), (50, 50), (90, 90), (99, 99), (99.5, 100), (100, 100)],
)
def test_percentile_of_one_to_a_hundred(q: float, expected: int) -> None:
    assert percentile(list(range(100, 0, -1)), q) == expected  # order does not matter


def test_percentile_small_samples() -> None:
    assert percentile([5, 1, 3], 50) == 3  # rank ceil(1.5) = 2 of [1, 3, 5]
    assert percentile([5, 1, 3], 99) == 5
    assert percentile([5, 1, 3, 7], 50) == 3  # rank 2 of [1, 3, 5, 7]: no interpolation
    assert percentile([42], 99) == 42
    assert percentile([], 50) == 0


def test_wait_summary_in_microseconds() -> None:
    waits_ns = [1_000, 2_000, 3_000, 250_000]
    assert wait_summary("fork", waits_ns) == {
        "fork_wait_p50_us": 2.0,
        "fork_wait_p99_us": 250.0,
        "fork_wait_max_us": 250.0,
    }
    assert wait_summary("x", []) == {"x_wait_p50_us": 0, "x_wait_p99_us": 0, "x_wait_max_us": 0}
    assert micros(1_234_567) == 1234.6


# --- counting up to a moment, and overlaps --------------------------------------------------


def test_counts_until_a_cutoff() -> None:
    stamps = [[10, 50, 90], [20, 30], [], [40, 40]]
    assert counts_until(stamps, 40) == [1, 2, 0, 2]  # at or before the cutoff
    assert counts_until(stamps, 0) == [0, 0, 0, 0]
    assert counts_until(stamps, 100) == [3, 2, 0, 2]


def test_peak_overlap() -> None:
    spans = [(0, 10), (5, 15), (12, 20)]
    assert peak_overlap(spans, 1) == (2, 2)  # 5 and 12 each began while one was open
    assert peak_overlap(spans, 2) == (2, 0)
    assert peak_overlap([(0, 5), (5, 10)], 1) == (1, 0)  # touching is not overlapping
    assert peak_overlap([(0, 100), (1, 99), (2, 98), (3, 97)], 2) == (4, 2)
    assert peak_overlap([], 1) == (0, 0)


# --- the scenarios' checks on hand-made stamps ------------------------------------------------


def contexts(role: str, count: int, iterations: int = 3) -> list[ThreadContext]:
    cfg = RunConfig("probe", "none", count, iterations, 1, 0)
    stop = threading.Event()
    return engine.make_contexts([role] * count, cfg, 1, stop)


def test_dining_fairness_counts_meals_until_the_first_philosopher_stops() -> None:
    scenario = scenarios.get("dining-philosophers")
    cfg = RunConfig(scenario.name, "ordered", 3, 3, 1, 0)
    table = scenario.setup(cfg)
    ctxs = contexts("philosopher", 3)
    meals_at = [[100, 200, 300], [150, 400, 500], [250, 450, 600]]
    waits = [[10, 20, 30], [5, 5, 5], [1000, 1, 1]]
    for ctx, stamps, waited in zip(ctxs, meals_at, waits, strict=True):
        ctx.data["meals_at"] = stamps
        ctx.waits[:] = waited
        ctx.end_ns = stamps[-1] + 1
        ctx.ops = 3
        table.plates[ctx.index] = 3
    outcome = scenario.check(table, ctxs)
    d: dict[str, Any] = dict(outcome.details)
    # philosopher 0 stopped first (at 301): by then the meals were 3, 1, 1
    assert (d["meals_min"], d["meals_max"]) == (1, 3)
    assert d["jain"] == round(25 / 33, 3)  # (3+1+1)^2 / (3 * (9+1+1))
    assert d["fork_wait_p50_us"] == micros(10)
    assert d["fork_wait_max_us"] == micros(1000)
    assert d["hungry"] == 0 and d["deadlocked"] is False
    assert outcome.ok and outcome.observed == outcome.expected == 9


def test_readers_writers_starvation_verdict() -> None:
    scenario = scenarios.get("readers-writers")
    record = scenario.setup(RunConfig(scenario.name, "fair", 3, 2, 1, 0))
    ctxs = [*contexts("writer", 1, 2), *contexts("reader", 2, 2)]
    ctxs[0].data["torn"] = 0
    ctxs[0].waits[:] = [1_000, 45_000_000]  # one write waited 45 ms
    ctxs[1].data["torn"] = 0
    ctxs[1].waits[:] = [2_000, 3_000]
    ctxs[2].data["torn"] = 0
    ctxs[2].waits[:] = [4_000, 1_000]
    for ctx in ctxs:
        ctx.ops = 2
    d: dict[str, Any] = dict(scenario.check(record, ctxs).details)
    assert d["writers_starved"] is True and d["readers_starved"] is False
    assert d["writer_wait_max_us"] == 45_000.0
    assert d["reader_wait_p50_us"] == 2.0  # [1, 2, 3, 4] µs: rank 2
    assert d["reader_ops"] == 4 and d["writer_ops"] == 2
    assert d["starvation"].startswith("writers (one waited 45.0 ms")


def test_readers_writers_a_role_that_did_nothing_starved() -> None:
    scenario = scenarios.get("readers-writers")
    record = scenario.setup(RunConfig(scenario.name, "fair", 2, 2, 1, 0))
    ctxs = [*contexts("writer", 1, 2), *contexts("reader", 1, 2)]
    ctxs[0].data["torn"] = 0
    ctxs[0].waits[:] = []
    ctxs[1].data["torn"] = 0
    ctxs[1].waits[:] = [1_000, 1_000]
    ctxs[1].ops = 2
    d: dict[str, Any] = dict(scenario.check(record, ctxs).details)
    assert d["writers_starved"] is True and d["readers_starved"] is False


def test_bounded_pool_peak_comes_from_the_stamps() -> None:
    scenario = scenarios.get("bounded-pool")
    pool = scenario.setup(RunConfig(scenario.name, "none", 4, 2, 1, 0))
    assert pool.limit == 2
    ctxs = contexts("worker", 4, 2)
    spans = [[(0, 10), (30, 40)], [(5, 15), (35, 45)], [(8, 12), (50, 60)], [(20, 25), (70, 80)]]
    for ctx, own in zip(ctxs, spans, strict=True):
        ctx.data["uses"] = own
    outcome = scenario.check(pool, ctxs)
    assert dict(outcome.details)["peak"] == 3  # 0-10, 5-15 and 8-12 overlap at 8..10
    assert outcome.violations == 1  # only the use beginning at 8 came in over the limit
    assert outcome.expected == 8 and outcome.observed == 7
