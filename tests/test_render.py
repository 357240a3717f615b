"""Rich renderings, into a StringIO console with no colour, from data built by hand."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from helpers import render

from syncdemo import scenarios
from syncdemo.render import catalogue, table
from syncdemo.results import RunConfig, RunResult, RuntimeInfo

MakeResult = Callable[..., RunResult]
MakeRuntime = Callable[..., RuntimeInfo]

#: Wide enough for every line of these reports.
WIDTH = 120


def flat(text: str) -> str:
    return " ".join(text.split())


COUNTER = scenarios.get("counter")
CONFIG = RunConfig("counter", "none", 4, 1000, 3, 1)


# --- verdicts -------------------------------------------------------------------------------


def test_verdict_depends_on_the_gil() -> None:
    with_gil = COUNTER.verdict(False, CONFIG, gil=True)
    free = COUNTER.verdict(False, CONFIG, gil=False)
    assert with_gil != free
    assert COUNTER.why.gil in with_gil
    assert COUNTER.why.free_threaded in free
    assert COUNTER.why.free_threaded not in with_gil


@pytest.mark.parametrize("scenario", scenarios.all_scenarios(), ids=lambda s: s.name)
def test_every_scenario_has_a_verdict_for_each_case(scenario: Any) -> None:
    for strategy in scenario.strategies:
        cfg = RunConfig(scenario.name, strategy.name, 4, 10, 1, 0)
        broke_gil = scenario.verdict(False, cfg, True)
        broke_free = scenario.verdict(False, cfg, False)
        held = scenario.verdict(True, cfg, True)
        assert broke_gil != broke_free
        assert f"--sync {strategy.name}" in broke_gil
        assert held not in (broke_gil, broke_free)
        if not strategy.safe:
            assert "still unsafe" in held
        one = scenario.verdict(True, dataclasses.replace(cfg, threads=1), True)
        assert "One thread" in one


# --- the runtime line -------------------------------------------------------------------------


def test_runtime_line_with_the_gil(make_runtime: MakeRuntime) -> None:
    line = table.runtime_line(make_runtime(gil=True))
    assert "GIL enabled" in line
    assert "free-threaded" not in line
    assert "CPython 3.13.1" in line
    assert "8 CPUs" in line
    assert "switch interval 100 µs for this run (interpreter's: 5.0 ms)" in line


def test_runtime_line_free_threaded(make_runtime: MakeRuntime) -> None:
    line = table.runtime_line(make_runtime(gil=False, free_threaded_build=True))
    assert "free-threaded" in line
    assert "GIL enabled" not in line


def test_runtime_line_gil_switched_back_on(make_runtime: MakeRuntime) -> None:
    line = table.runtime_line(make_runtime(gil=True, free_threaded_build=True))
    assert "GIL enabled on a free-threaded build" in line


def test_runtime_line_unchanged_switch_interval(make_runtime: MakeRuntime) -> None:
    info = make_runtime(switch_interval=0.005, switch_interval_default=0.005, cpus=1)
    line = table.runtime_line(info)
    assert "switch interval 5.0 ms" in line
    assert "for this run" not in line
    assert "1 CPU ·" in line
    assert "CPUs" not in line


# --- run reports ------------------------------------------------------------------------------


def test_run_report_with_the_gil(make_result: MakeResult) -> None:
    result = make_result((2000, 1500), gil=True)
    out = render(table.run_report(result), WIDTH)
    text = flat(out)
    assert "Runtime: CPython 3.13.1 · GIL enabled ·" in text
    assert "free-threaded" not in text
    assert flat(COUNTER.verdict(False, result.config, True)) in text
    assert flat(COUNTER.why.gil) in text
    assert "1 of 2 trials violated the invariant." in text
    assert "VIOLATED" in out
    assert "500 (25.0%)" in out
    assert "\x1b[" not in out


def test_run_report_free_threaded(make_result: MakeResult) -> None:
    result = make_result((2000, 1500), gil=False, free_threaded_build=True)
    out = render(table.run_report(result), WIDTH)
    text = flat(out)
    assert "GIL disabled (free-threaded)" in text
    assert "GIL enabled" not in text
    assert flat(COUNTER.why.free_threaded) in text
    assert flat(COUNTER.why.gil) not in text


def test_run_report_verdicts_differ_by_runtime(make_result: MakeResult) -> None:
    with_gil = render(table.run_report(make_result(gil=True)), WIDTH)
    free = render(table.run_report(make_result(gil=False)), WIDTH)
    assert with_gil != free
    last = [flat(o.split("Runtime:")[1]) for o in (with_gil, free)]
    assert last[0] != last[1]


def test_run_report_runtime_injected_with_replace(make_result: MakeResult) -> None:
    result = make_result((2000,))
    free = dataclasses.replace(
        result, runtime=dataclasses.replace(result.runtime, gil=False, python="3.14.0")
    )
    text = flat(render(table.run_report(free), WIDTH))
    assert "CPython 3.14.0 · GIL disabled (free-threaded)" in text


def test_run_report_all_ok(make_result: MakeResult) -> None:
    result = make_result((2000, 2000, 2000), sync="lock")
    text = flat(render(table.run_report(result), WIDTH))
    assert "0 of 3 trials violated the invariant." in text
    assert "VIOLATED" not in text
    assert "The invariant held" in text


def test_run_report_interrupted(make_result: MakeResult) -> None:
    text = flat(render(table.run_report(make_result((2000,), interrupted=True)), WIDTH))
    assert "Interrupted" in text
    assert "0 of 1 trials violated the invariant." in text


def test_run_report_with_no_trials(make_result: MakeResult) -> None:
    text = flat(render(table.run_report(make_result((), interrupted=True)), WIDTH))
    assert "No trial finished." in text


def test_run_report_many_trials_are_summarised(make_result: MakeResult) -> None:
    observed = (2000, 1900) * 10
    out = render(table.run_report(make_result(observed)), WIDTH)
    assert "10/20 violated" in flat(out)
    assert "median" in out


def test_run_report_many_threads_are_folded(make_result: MakeResult) -> None:
    out = render(table.run_report(make_result((40_000,), threads=40)), WIDTH)
    assert f"+{40 - table.MAX_THREAD_ROWS}" in out


# --- describe and list ------------------------------------------------------------------------


def test_describe_with_the_gil(make_runtime: MakeRuntime) -> None:
    out = render(catalogue.describe(COUNTER.info(sources=True), make_runtime(gil=True)), WIDTH)
    text = flat(out)
    assert flat(COUNTER.invariant) in text
    assert flat(COUNTER.why.gil) in text
    assert flat(COUNTER.why.free_threaded) not in text
    assert "GIL enabled" in text
    assert "def increment_unsafe(" in out
    assert "def increment_locked(" in out
    for name in COUNTER.strategy_names():
        assert f"--sync {name}" in text
    assert "\x1b[" not in out


def test_describe_free_threaded(make_runtime: MakeRuntime) -> None:
    text = flat(
        render(catalogue.describe(COUNTER.info(sources=True), make_runtime(gil=False)), WIDTH)
    )
    assert flat(COUNTER.why.free_threaded) in text
    assert flat(COUNTER.why.gil) not in text
    assert "free-threaded" in text


def test_scenario_list() -> None:
    every = scenarios.entries()
    out = render(catalogue.scenario_list(every), WIDTH)
    for s in every:
        assert s.name in out
        assert f"{s.default_sync}*" in out


@pytest.mark.parametrize(
    ("value", "shown"),
    [(2.5, "2.50 s"), (0.0123, "12.3 ms"), (0.000042, "42 µs")],
)
def test_seconds(value: float, shown: str) -> None:
    assert table.seconds(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(2_500_000, "2.50 M/s"), (12_300, "12.3 k/s"), (42, "42/s")],
)
def test_rate(value: float, shown: str) -> None:
    assert table.rate(value) == shown
