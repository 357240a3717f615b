"""Every number a report prints means what its column says (issue 11's defects 2-10).

Most tests render results built by hand (tests/conftest.py), so what they assert does
not depend on how a race went; the few that run the engine assert only what holds on
every run.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from helpers import render, timed

from syncdemo import scenarios
from syncdemo.batch import Comparison
from syncdemo.engine import runner as engine
from syncdemo.engine.context import CHUNK, Stopped, ThreadContext
from syncdemo.render.compare import compare_table
from syncdemo.render.table import run_report
from syncdemo.results import Outcome, RunConfig, RunResult
from syncdemo.sweep import Sweep

MakeResult = Callable[..., RunResult]
Invoke = Callable[..., Result]


def flat(text: str) -> str:
    return " ".join(text.split())


def context(iterations: int, role: str = "worker") -> ThreadContext:
    config = RunConfig("probe", "none", 1, iterations, 1, 0)
    (ctx,) = engine.make_contexts([role], config, 1, threading.Event())
    return ctx


# --- 2: a violation count counts what its column names -------------------------------------


def test_condition_wait_expects_every_take_tried() -> None:
    """2,000 = 2,000 yet VIOLATED: expected and observed were items produced and taken,
    while the violations were failed takes. Now expected counts the takes tried."""
    scenario = scenarios.get("condition-wait")
    config = RunConfig("condition-wait", "if-wait", 3, 10, 1, 0)
    shelf = scenario.setup(config)
    ctxs = engine.make_contexts(scenario.roles(config), config, 1, threading.Event())
    producer, first, second = ctxs
    producer.ops = 10
    first.data.update(taken=6, failed=2)
    second.data.update(taken=4, failed=1)
    outcome = scenario.check(shelf, ctxs)
    assert (outcome.expected, outcome.observed, outcome.violations) == (13, 10, 3)
    assert outcome.expected - outcome.observed == outcome.violations


def test_bank_transfer_names_every_kind_of_violation_it_counts() -> None:
    scenario = scenarios.get("bank-transfer")
    assert "transfers never done" in scenario.violation_noun
    assert "misplaced" in scenario.violation_noun and "overdrafts" in scenario.violation_noun
    assert not scenario.violation_share, "money + counts of transfers is no share of money"


def test_a_deadlocked_trial_says_so(make_result: MakeResult) -> None:
    result = make_result((2000, 1500))
    stuck = dataclasses.replace(
        result.trials[1].outcome, details={"deadlocked": True, "detected_by": "wait-for cycle"}
    )
    trials = (result.trials[0], dataclasses.replace(result.trials[1], outcome=stuck))
    out = render(run_report(dataclasses.replace(result, trials=trials)))
    row = next(line for line in out.splitlines() if line.lstrip().startswith("2 │"))
    assert "deadlocked" in row and "VIOLATED" not in row


def test_no_percentage_for_violations_that_are_not_a_share(make_result: MakeResult) -> None:
    """lazy-init: 1,279 extra constructions of 200 objects is not '639.5%'."""
    result = make_result((2000, 1500))
    shown = render(run_report(result))
    assert "500 (25.0%)" in shown
    plain = render(run_report(dataclasses.replace(result, violation_share=False)))
    assert re.search(r"│ +500 │", plain) and "25.0%" not in plain
    assert not scenarios.get("lazy-init").violation_share


# --- 3: a deadlocked wait is waiting time ---------------------------------------------------


def test_a_thread_stopped_while_blocked_counts_its_wait() -> None:
    ctx = context(10)

    def stuck(state: object, ctx: ThreadContext) -> None:
        ctx.begin_wait()
        time.sleep(0.002)  # blocked until the watchdog stops it
        raise Stopped

    engine._thread_main(stuck, None, ctx, threading.Barrier(1))
    assert ctx.waits and ctx.waits[0] >= 2_000_000
    assert ctx.wait_ns == ctx.waits[0]
    assert ctx.waiting_since == 0


def test_end_wait_counts_once() -> None:
    ctx = context(10)
    ctx.waiting_since = 1_000
    assert ctx.end_wait(now=6_000) == 5_000
    assert ctx.end_wait(now=9_000) == 0, "no wait open any more"
    assert (ctx.wait_ns, ctx.waits) == (5_000, [5_000])


# --- 4: compare ranks only runs of one workload ---------------------------------------------


def test_compare_across_scenarios_is_unranked(make_result: MakeResult) -> None:
    none = timed(make_result((2000, 2000), sync="none"), 0.001)
    lock = timed(make_result((2000, 2000), sync="lock"), 0.004)
    queue = timed(make_result((2000, 2000), sync="lock"), 0.4)
    queue = dataclasses.replace(
        queue, config=dataclasses.replace(queue.config, scenario="producer-consumer", sync="queue")
    )
    comparison = Comparison.of([none, lock, queue], [False, True, True])
    assert not comparison.ranked
    assert comparison.cheapest_safe is None and comparison.fastest is None
    slowdowns = [r.slowdown for r in comparison.rows]
    assert slowdowns == [1.0, 4.0, None], "counter's rows against each other only"
    verdict = comparison.verdict()
    assert "unranked" in verdict
    assert "producer-consumer" not in verdict, "a lone workload is compared with nothing"
    out = flat(render(compare_table(comparison), 120))
    assert "100.0×" not in out and "unranked" in out


def test_other_parameters_are_another_workload(make_result: MakeResult) -> None:
    two = timed(make_result((2000, 2000), sync="lock", threads=2), 0.001)
    four = timed(make_result((4000, 4000), sync="lock", threads=4), 0.004)
    comparison = Comparison.of([two, four], [True, True])
    assert not comparison.ranked
    assert [r.slowdown for r in comparison.rows] == [None, None]


# --- 5: throughput is work kept -------------------------------------------------------------


def test_a_run_that_lost_work_is_never_the_fastest(make_result: MakeResult) -> None:
    unsafe = timed(make_result((2000, 500), sync="none"), 0.0001)
    locked = timed(make_result((2000, 2000), sync="lock"), 0.01)
    comparison = Comparison.of([unsafe, locked], [False, True])
    assert comparison.fastest is not None and comparison.fastest.spec == "counter:lock"
    assert comparison.rows[0].slowdown is None


def test_sweep_peaks_on_kept_work(make_result: MakeResult) -> None:
    """8 threads did 1.38× the increments of 1 thread a second, but lost 75% of them."""
    one = timed(make_result((1000,), threads=1), 0.001)  # 1.0 M/s, all kept
    eight = timed(make_result((8000,), threads=8), 8000 / 1.38e6)
    eight = dataclasses.replace(
        eight,
        trials=(
            dataclasses.replace(
                eight.trials[0],
                outcome=Outcome(expected=8000, observed=2000, violations=6000),
                kept_ops=2000,
            ),
        ),
    )
    sweep = Sweep.of([one, eight])
    assert eight.ops_per_s.median == pytest.approx(1.38e6)
    assert sweep.rows[1].speedup == pytest.approx(0.345)
    assert sweep.verdict().startswith(
        "Throughput of kept work peaked at 1 thread; 8 threads ran at 0.34× 1 thread."
    )


def test_kept_ops_from_the_scenarios() -> None:
    lost = Outcome(expected=100, observed=60, violations=40)
    assert scenarios.get("counter").kept_ops(lost, 100) == 60
    never_done = Outcome(expected=100, observed=30, violations=70)
    assert scenarios.get("deadlock").kept_ops(never_done, 30) == 30, "nothing done was undone"
    misplaced = Outcome(800, 790, 15, details={"misplaced": 10, "overdrafts": 5})
    assert scenarios.get("bank-transfer").kept_ops(misplaced, 50) == 0
    overdrawn = Outcome(800, 800, 5, details={"misplaced": 0, "overdrafts": 5})
    assert scenarios.get("bank-transfer").kept_ops(overdrawn, 50) == 45


# --- 6: work counted when done --------------------------------------------------------------


def test_a_chunk_counts_once_it_is_done() -> None:
    ctx = context(3 * CHUNK)
    chunks = ctx.chunks()
    first = next(chunks)
    assert ctx.ops == 0, "handed out, not done yet"
    for _ in first:
        pass
    second = next(chunks)
    assert ctx.ops == CHUNK
    for i in second:
        if i == CHUNK + 10:
            break  # stopped in the middle of the chunk
    chunks.close()
    assert ctx.ops == CHUNK, "the chunk cut short is not counted as done"


# --- 7: tracing changes the race, and the report says so ------------------------------------


def test_the_report_compares_traced_and_untraced_violations(make_result: MakeResult) -> None:
    result = make_result((2000, 1500))
    result = dataclasses.replace(
        result,
        config=dataclasses.replace(result.config, trace=True),
        untraced_ops_per_s=4e6,
        untraced_violated=0,
    )
    out = flat(render(run_report(result)))
    assert "Tracing changes the race" in out
    assert "Violated: 1 of 2 traced trials, 0 of 2 untraced." in out
    assert "× slower while recording" in out and "x slower" not in out
    overhead = result.trace_overhead()
    assert overhead is not None
    assert overhead["untraced_violation_rate"] == 0.0
    assert overhead["traced_violation_rate"] == 0.5


def test_a_traced_run_measures_untraced_trials_too() -> None:
    scenario = scenarios.get("counter")
    config = RunConfig("counter", "lock", 2, 200, 2, 1, trace=True)
    result = engine.run(scenario, config)
    assert result.untraced_violated == 0, "a lock never loses an update, traced or not"


# --- 8: run shows its seed ------------------------------------------------------------------


def test_run_shows_the_seed(make_result: MakeResult) -> None:
    out = flat(render(run_report(make_result())))
    assert "Seed: 7 (--seed 7 makes the same random choices again)" in out


# --- 9: paths -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["run.md", "run.png", "run.yaml"])
def test_o_refuses_a_format_syncdemo_does_not_write(
    invoke: Invoke, usage_error: Callable[[Result], str], tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    error = usage_error(invoke("run", "counter", "-o", str(path)))
    assert "does not write" in error and ".json" in error and ".txt" in error
    assert not path.exists()


def test_o_txt_writes_the_plain_table(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "run.txt"
    result = invoke("run", "counter", "-n", "100", "--trials", "1", "-o", str(path), "-q")
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert "counter · --sync none" in text and "\x1b[" not in text
    assert not any(line.endswith(" ") for line in text.splitlines())


# --- 10: the smaller ones -------------------------------------------------------------------


def test_details_read_as_words_with_units(make_result: MakeResult) -> None:
    result = make_result((2000, 1500))
    details: dict[str, Any] = {"deadlocked": False, "lock_wait_p50_us": 3.5, "reads": 1160}
    trials = tuple(
        dataclasses.replace(t, outcome=dataclasses.replace(t.outcome, details=details))
        for t in result.trials
    )
    out = render(run_report(dataclasses.replace(result, trials=trials)), 120)
    check = out.split("what the check found")[1].split("outcomes over")[0]
    assert "lock wait p50 (µs)" in check and " us" not in check
    assert "1,160" in check and "1160" not in check
    assert "no" in check.split() and "False" not in check


def test_one_of_something_is_singular(make_result: MakeResult) -> None:
    result = make_result((1,), threads=1)
    result = dataclasses.replace(
        result,
        config=dataclasses.replace(result.config, iterations=1),
        iterations_meaning="increments per thread",
    )
    title = render(run_report(result), 200).splitlines()[0]
    assert "1 thread × 1 increment per thread · 1 trial" in title


def test_a_long_detail_shared_by_trials_is_printed_once(make_result: MakeResult) -> None:
    cycle = "thread 0 holds lock A, waits for lock B -> thread 1 holds lock B, waits for lock A"
    result = make_result((2000, 1500, 1000))
    trials = tuple(
        dataclasses.replace(t, outcome=dataclasses.replace(t.outcome, details={"cycle": cycle}))
        for t in result.trials
    )
    out = flat(render(run_report(dataclasses.replace(result, trials=trials)), 200))
    assert out.count(cycle) == 1
    assert f"trials 1, 2, 3 cycle: {cycle}" in out


def test_show_without_trace_warns(invoke: Invoke) -> None:
    result = invoke("run", "counter", "-n", "100", "--trials", "1", "--show", "2", "-q")
    assert result.exit_code == 0
    assert "--show only matters with --trace" in result.stderr


def test_a_spec_with_an_empty_strategy_is_refused(
    invoke: Invoke, usage_error: Callable[[Result], str]
) -> None:
    error = usage_error(invoke("compare", "counter:"))
    assert "counter:STRATEGY" in error


def test_list_marks_the_safe_strategies(invoke: Invoke) -> None:
    out = invoke("list").stdout
    assert "✓ safe" in out
    assert "none*, lock✓" in out, "counter: none (default, unsafe), lock (safe)"


def test_describe_shows_the_counter_lesson_as_it_is(invoke: Invoke) -> None:
    import inspect

    from syncdemo.scenarios.counter import increment_unsafe

    out = invoke("describe", "counter").stdout
    body = out.split("def increment_unsafe(")[1].split("╰")[0]
    assert "counter.value = value" in body
    for harness in ("trace", "chunk", "ctx", "perf_counter"):  # the harness's, not the lesson's
        assert harness not in body
    assert "left out above" not in out  # nothing was hidden: there is nothing to hide
    data = json.loads(invoke("describe", "counter", "--format", "json").stdout)
    codes = [s["code"] for s in data["sources"] if s["function"] == "increment_unsafe"]
    assert codes == [inspect.getsource(increment_unsafe).rstrip()]


def test_describe_shows_workers_without_their_tracing(invoke: Invoke) -> None:
    out = invoke("describe", "barrier").stdout  # a lesson not yet rewritten records
    assert "ctx.record" not in out
    assert "left out above" in out
    data = invoke("describe", "barrier", "--format", "json").stdout
    assert "ctx.record" in data, "the JSON keeps the code as it is"


def test_without_tracing_drops_only_the_recording() -> None:
    from syncdemo.render.catalogue import without_tracing

    code = "\n".join(
        [
            "def work(state, ctx):",
            "    for chunk in ctx.chunks():",
            "        trace = ctx.trace",
            "        for _ in chunk:",
            "            value = state.value",
            "            if trace is not None:",
            "                trace.append((1, READ, value, -1))",
            "            state.value = value + 1",
            "        if ctx.trace is not None:",
            "            ctx.record(WRITE, 1)",
            "    done(state)",
        ]
    )
    assert without_tracing(code).splitlines() == [
        "def work(state, ctx):",
        "    for chunk in ctx.chunks():",
        "        for _ in chunk:",
        "            value = state.value",
        "            state.value = value + 1",
        "    done(state)",
    ]


def test_the_readme_says_what_one_violation_is_for_every_scenario() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### What one violation is")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    for scenario in scenarios.all_scenarios():
        row = next((r for r in rows if f"`{scenario.name}`" in r.split("|")[1]), None)
        assert row is not None, f"README: no 'one violation is' row for {scenario.name}"
        assert row.split("|")[2].strip() == scenario.violation_noun, scenario.name
        assert all(f"`{label}`" in row.split("|")[4] for label in scenario.counted), row


def test_the_quiz_asks_with_a_colon_and_ctrl_c_exits_130(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from syncdemo.cli import cli
    from syncdemo.cli import explore as explore_command

    monkeypatch.setattr(explore_command, "interactive", lambda: True)
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": None, "FORCE_COLOR": None})
    result = runner.invoke(cli, ["explore", "counter", "--quiz", "--seed", "5"], input="")
    assert result.exit_code == 130, result.output
    assert "Your answer: " in result.output
    assert "Aborted!" not in result.output


def test_a_trial_stopped_for_want_of_progress_says_stuck(make_result: MakeResult) -> None:
    result = make_result((1500,))
    stuck = dataclasses.replace(
        result.trials[0].outcome, details={"deadlocked": True, "detected_by": "no progress"}
    )
    trials = (dataclasses.replace(result.trials[0], outcome=stuck),)
    out = render(run_report(dataclasses.replace(result, trials=trials)))
    row = next(line for line in out.splitlines() if line.lstrip().startswith("1 │"))
    assert "stuck" in row and "deadlocked" not in row


def test_many_trials_fit_80_columns_in_one_summary_row(make_result: MakeResult) -> None:
    result = make_result(tuple(2000 - 10 * i for i in range(12)))
    out = render(run_report(result), 80)
    assert "…" not in out and all(len(line) <= 80 for line in out.splitlines())
    row = next(line for line in out.splitlines() if line.lstrip().startswith("1-12 │"))
    assert "11/12 violated" in row


def test_kept_work_is_the_share_the_check_found_intact() -> None:
    """barrier: 4 threads × 10 phases read 160 slots; 40 stale reads keep 3/4 of the
    phases' work, not 40 - 40 = 0."""
    barrier = scenarios.get("barrier")
    stale = Outcome(expected=160, observed=120, violations=40)
    assert barrier.kept_ops(stale, 40) == 30
    extra = Outcome(expected=200, observed=1500, violations=1300)
    assert scenarios.get("lazy-init").kept_ops(extra, 1600) == 300, "one get undone per extra"
