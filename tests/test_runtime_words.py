"""Reports name what ran the workers: "4 processes", "per task", no switch interval where
none applies (one event loop's tasks, processes of one worker thread each)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest
from click.testing import Result
from helpers import render

from syncdemo.batch import Comparison
from syncdemo.render.compare import compare_table, sweep_table
from syncdemo.render.table import run_report
from syncdemo.results import RunResult
from syncdemo.sweep import Sweep

MakeResult = Callable[..., RunResult]

#: runtime -> (one worker, several of them)
WORDS = {
    "threads": ("thread", "threads"),
    "asyncio": ("task", "tasks"),
    "processes": ("process", "processes"),
}


def on(result: RunResult, runtime: str, threads: int | None = None) -> RunResult:
    config = dataclasses.replace(result.config, runtime=runtime)
    if threads is not None:
        config = dataclasses.replace(config, threads=threads)
    method = "fork" if runtime == "processes" else ""
    return dataclasses.replace(result, config=config, start_method=method)


@pytest.mark.parametrize("runtime", list(WORDS))
def test_a_run_is_headed_and_tabled_by_what_ran_it(make_result: MakeResult, runtime: str) -> None:
    one, many = WORDS[runtime]
    out = render(run_report(on(make_result(), runtime)), 120)
    head = out.splitlines()[0]
    assert f"2 {many} × 1,000 iterations per {one}" in head, head
    assert f"per {one} (trial 2)" in out
    assert re.search(rf"^\s*{one} ┃ role +┃", out, re.MULTILINE), out
    others = [w for r, words in WORDS.items() if r != runtime for w in words]
    assert not any(f"2 {w} ×" in out or f"per {w} (" in out for w in others), out
    assert ("switch interval" in out) == (runtime == "threads"), out


def test_processes_say_how_they_were_started(make_result: MakeResult) -> None:
    out = " ".join(render(run_report(on(make_result(), "processes")), 120).split())
    assert "Runtime: one process per worker, the state in shared memory (started by fork)" in out


def test_compare_names_one_runtime_and_says_workers_for_several(
    make_result: MakeResult,
) -> None:
    processes = [on(make_result(sync=s), "processes") for s in ("none", "lock")]
    out = render(compare_table(Comparison.of(processes, [False, True])), 120)
    assert "2 processes × 1,000 iterations per process" in out.splitlines()[0]
    assert "switch interval" not in out
    mixed = [on(make_result(), "threads"), on(make_result(), "asyncio")]
    out = render(compare_table(Comparison.of(mixed, [False, False])), 120)
    assert "2 workers × 1,000 iterations per worker" in out.splitlines()[0]
    assert "switch interval" in out, "the threads row ran under the switch interval"


def test_a_sweep_of_tasks_counts_tasks(make_result: MakeResult) -> None:
    runs = [on(make_result((2000,), threads=t), "asyncio", t) for t in (1, 2)]
    out = render(sweep_table(Sweep.of(runs)), 120)
    assert out.splitlines()[0].startswith("counter:none@asyncio")
    assert "tasks ┃" in out and "speedup vs 1 task" in out
    assert "kept ops/s (median) by tasks" in out
    assert "threads" not in out.replace("threads × iterations", ""), out


def test_run_on_processes_from_the_cli(invoke: Callable[..., Result]) -> None:
    result = invoke("run", "counter", "-r", "processes", "-t", "2", "-n", "200", "--trials", "1")
    assert result.exit_code == 0, result.output
    assert "2 processes × 200 increments per process" in result.stdout.splitlines()[0]
    assert "per process" in result.stdout and "switch interval" not in result.stdout
