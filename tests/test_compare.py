"""syncdemo compare: strategies side by side, in every format, with its verdict and errors."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from helpers import render, seen_within, timed
from test_output_formats import check_schema

from syncdemo.batch import COMPARE_CSV_FIELDS, Comparison
from syncdemo.engine import runner as engine
from syncdemo.render.compare import compare_csv, compare_json, compare_table
from syncdemo.results import RunConfig, RunResult

Invoke = Callable[..., Result]
MakeResult = Callable[..., RunResult]
#: Small runs: these tests check what compare reports, not how fast the strategies are.
FAST = ("--threads", "2", "--iterations", "200", "--trials", "2")


def compare_json_of(invoke: Invoke, *args: str) -> dict[str, Any]:
    result = invoke("compare", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# --- what runs --------------------------------------------------------------------------------


def test_compare_name_runs_every_strategy_with_the_same_parameters(invoke: Invoke) -> None:
    data = compare_json_of(invoke, "producer-consumer", *FAST, "--seed", "11")
    assert [r["spec"] for r in data["rows"]] == [
        "producer-consumer:none",
        "producer-consumer:condition",
        "producer-consumer:queue",
    ]
    assert [r["sync"] for r in data["runs"]] == ["none", "condition", "queue"]
    for run in data["runs"]:
        check_schema(run)
        assert run["params"]["threads"] == 2
        assert run["params"]["iterations"] == 200
        assert run["params"]["trials"] == 2
        assert run["params"]["seed"] == 11
    assert [r["safe"] for r in data["rows"]] == [False, True, True]


def test_compare_defaults_are_the_scenarios_and_three_trials(invoke: Invoke) -> None:
    data = compare_json_of(invoke, "barrier")
    for run in data["runs"]:
        assert run["params"]["threads"] == 4
        assert run["params"]["iterations"] == 500
        assert run["params"]["trials"] == 3
    assert len({run["params"]["seed"] for run in data["runs"]}) == 1, "one seed for all"


def test_compare_explicit_specs_in_order(invoke: Invoke) -> None:
    data = compare_json_of(invoke, "counter:none", "counter:lock", "producer-consumer:queue", *FAST)
    assert [r["spec"] for r in data["rows"]] == [
        "counter:none",
        "counter:lock",
        "producer-consumer:queue",
    ]
    assert [(r["scenario"], r["sync"]) for r in data["runs"]] == [
        ("counter", "none"),
        ("counter", "lock"),
        ("producer-consumer", "queue"),
    ]


def test_compare_bare_name_among_specs_means_all_and_repeats_run_once(invoke: Invoke) -> None:
    data = compare_json_of(invoke, "counter:lock", "counter", "barrier:none", *FAST)
    assert [r["spec"] for r in data["rows"]] == [
        "counter:lock",
        "counter:none",
        "counter:sharded",
        "barrier:none",
    ]


def test_compare_rows_summarise_their_runs(invoke: Invoke) -> None:
    data = compare_json_of(invoke, "counter", *FAST)
    for row, run in zip(data["rows"], data["runs"], strict=True):
        assert row["violated"] == run["summary"]["violated"]
        assert row["violation_rate"] == pytest.approx(run["summary"]["violation_rate"])
        assert row["elapsed_s"] == run["summary"]["elapsed_s"]
        assert row["ops_per_s"] == run["summary"]["ops_per_s"]
        assert row["ok"] is run["ok"]
    best = max(r["ops_per_s"]["median"] for r in data["rows"])
    for row in data["rows"]:
        assert row["slowdown"] == pytest.approx(best / row["ops_per_s"]["median"])
    assert min(r["slowdown"] for r in data["rows"]) == pytest.approx(1.0)
    # a run that lost work is never the fastest, however many ops it counted
    fastest = min((r for r in data["rows"] if r["ok"]), key=lambda r: r["slowdown"])
    assert data["fastest"] == fastest["spec"]
    safe_rows = [r for r in data["rows"] if r["spec"] in ("counter:lock", "counter:sharded")]
    cheapest = min(safe_rows, key=lambda r: r["slowdown"])
    assert data["cheapest_safe"] == cheapest["spec"], "the faster of the two safe strategies"
    assert data["ok"] is all(r["ok"] for r in data["rows"])
    assert data["interrupted"] is False


# --- formats --------------------------------------------------------------------------------


def test_compare_table(invoke: Invoke) -> None:
    result = invoke("compare", "counter", *FAST)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "counter · 2 threads × 200 increments per thread · 2 trials each" in out
    assert re.search(r"^none( †)?\s+│\s+\d/2 │", out, re.M), out
    assert re.search(r"^lock\s+│\s+0/2 │\s+0 \(0\.0%\)", out, re.M), out
    assert "slowdown" in out
    assert re.search(r"^sharded\s+│\s+0/2 │\s+0 \(0\.0%\)", out, re.M), out
    assert re.search(  # tiny runs: the two safe ones may well be within noise of each other
        "The cheapest strategy that kept the invariant: counter:(lock|sharded)"
        "|The safe strategies counter:lock and counter:sharded kept the invariant at the same "
        "cost within noise",
        " ".join(out.split()),
    )
    assert result.stderr == "", "no progress bar when stderr is not a terminal"


def test_compare_jsonl_is_one_run_object_per_line(invoke: Invoke) -> None:
    result = invoke("compare", "counter", *FAST, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    runs = [json.loads(line) for line in lines]
    for run in runs:
        check_schema(run)
    assert [r["sync"] for r in runs] == ["none", "lock", "sharded"]


def test_compare_csv_has_one_row_per_strategy(invoke: Invoke) -> None:
    result = invoke("compare", "counter", *FAST, "--format", "csv")
    assert result.exit_code == 0, result.output
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert tuple(reader.fieldnames or ()) == COMPARE_CSV_FIELDS
    rows = list(reader)
    assert [r["spec"] for r in rows] == ["counter:none", "counter:lock", "counter:sharded"]
    assert [r["safe"] for r in rows] == ["false", "true", "true"]
    for row in rows:
        assert (row["threads"], row["iterations"], row["trials"]) == ("2", "200", "2")
        assert row["ok"] in ("true", "false")
        assert float(row["ops_per_s_median"]) > 0
        assert float(row["slowdown"]) >= 1.0
    assert rows[1]["violations_median"] == "0"


def test_compare_quiet_prints_nothing(invoke: Invoke) -> None:
    result = invoke("compare", "counter", *FAST, "-q")
    assert result.exit_code == 0
    assert result.stdout == ""


# --- --check and errors -----------------------------------------------------------------------


def test_check_exits_1_when_a_row_violated(invoke: Invoke) -> None:
    result = seen_within(
        lambda: invoke("compare", "barrier:none", "barrier:barrier", "-n", "200", "--check", "-q"),
        lambda result: result.exit_code != 0,
    )
    assert result.exit_code == 1
    assert result.stdout == ""


def test_check_exits_0_when_every_row_held(invoke: Invoke) -> None:
    result = invoke("compare", "counter:lock", "barrier:barrier", *FAST, "--check", "-q")
    assert result.exit_code == 0, result.output


def test_check_keeps_the_data_on_stdout(invoke: Invoke) -> None:
    result = seen_within(
        lambda: invoke("compare", "barrier:none", "-n", "200", "--check", "-f", "json"),
        lambda result: result.exit_code != 0,
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["ok"] is False


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["countr"], "Did you mean 'counter'"),
        (["counter:queue"], "counter has no strategy 'queue'; choose from: none, lock, sharded."),
        (["counter:lock", "nosuch:lock"], "No scenario named 'nosuch'"),
        ([], "Missing argument"),
        (["counter", "--threads", "0"], "2048"),
        (["counter", "--format", "xml"], "'xml' is not one of"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    invoke: Invoke, usage_error: Callable[[Result], str], args: list[str], expected: str
) -> None:
    line = usage_error(invoke("compare", *args))
    assert expected in line


def test_output_into_a_missing_directory_is_a_usage_error(
    invoke: Invoke, usage_error: Callable[[Result], str], tmp_path: Any
) -> None:
    line = usage_error(invoke("compare", "counter", "-o", str(tmp_path / "nope" / "c.json")))
    assert "is not a directory" in line


def test_engine_error_exits_1_and_names_the_run(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(scenario: object, config: RunConfig, **_: object) -> RunResult:
        raise engine.EngineError("could only start 3 of 4 threads")

    monkeypatch.setattr(engine, "run", refuse)
    result = invoke("compare", "counter")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "Error: counter:none · 4 threads × 20,000: could only start 3 of 4 threads"
    )


def test_ctrl_c_shows_the_runs_that_finished_and_exits_130(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, make_result: MakeResult
) -> None:
    real = engine.run
    calls: list[str] = []

    def second_is_interrupted(scenario: Any, config: RunConfig, **kwargs: Any) -> RunResult:
        calls.append(config.sync)
        if len(calls) == 2:
            raise engine.RunInterrupted(make_result((), interrupted=True))
        return real(scenario, config, **kwargs)

    monkeypatch.setattr(engine, "run", second_is_interrupted)
    result = invoke("compare", "counter", *FAST, "-f", "json")
    assert result.exit_code == 130
    data = json.loads(result.stdout)
    assert data["interrupted"] is True
    assert [r["spec"] for r in data["rows"]] == ["counter:none"]
    assert "Interrupted after 1 of 3 runs." in result.stderr
    assert "Traceback" not in result.output


# --- the table and verdict from data built by hand ------------------------------------------


def test_table_bars_grow_with_the_slowdown(make_result: MakeResult) -> None:
    unsafe = timed(make_result((2000, 1500), sync="none"), 0.001)
    locked = timed(make_result((2000, 2000), sync="lock"), 0.010)
    out = render(compare_table(Comparison.of([unsafe, locked], [False, True])))
    none_line = next(line for line in out.splitlines() if line.startswith("none"))
    lock_line = next(line for line in out.splitlines() if line.startswith("lock"))
    assert "lost work" in none_line and "█" not in none_line, "no price for lost work"
    assert "1.0×" in lock_line and "█" * 14 in lock_line, "the only ranked row is the slowest"
    assert "1/2" in none_line and "0/2" in lock_line
    assert "250 (12.5%)" in none_line, "median of 0 and 500 lost of 2,000"
    assert "1.0 ms (1.0-1.0)" in none_line
    assert "1.75 M/s" in none_line, "kept ops/s: median of 2,000 and 1,500 in 1 ms"
    flat = " ".join(out.split())
    assert (
        "The cheapest strategy that kept the invariant: counter:lock, which was also the "
        "fastest. counter:none violated it in 1 of 2 trials: work it lost is no speed, so it "
        "is not ranked." in flat
    )
    assert "Invariant: final value == threads × iterations" in flat
    assert "Runtime: CPython 3.13.1" in flat


def test_narrow_terminal_drops_details_rather_than_cropping(make_result: MakeResult) -> None:
    unsafe = timed(make_result((2000, 1500), sync="none"), 0.001)
    locked = timed(make_result((2000, 2000), sync="lock"), 0.010)
    comparison = Comparison.of([unsafe, locked], [False, True])
    wide = render(compare_table(comparison), width=120)
    narrow = render(compare_table(comparison), width=72)
    assert "(min-max)" in wide and "(1.0-1.0)" in wide
    assert "(min-max)" not in narrow and "(1.0-1.0)" not in narrow
    assert "…" not in narrow
    assert all(len(line) <= 72 for line in narrow.splitlines())
    for whole in ("250", "(12.5%)", "1.75 M/s", "10.0 ms", "200.0 k/s"):
        assert whole in narrow


def test_verdict_when_the_fastest_is_safe(make_result: MakeResult) -> None:
    locked = timed(make_result((2000, 2000), sync="lock"), 0.001)
    unsafe = timed(make_result((2000, 1500), sync="none"), 0.002)
    comparison = Comparison.of([unsafe, locked], [False, True])
    assert comparison.verdict() == (
        "The cheapest strategy that kept the invariant: counter:lock, which was also the "
        "fastest. counter:none violated it in 1 of 2 trials: work it lost is no speed, so it "
        "is not ranked."
    )


def test_verdict_warns_about_a_lucky_unsafe_run(make_result: MakeResult) -> None:
    lucky = timed(make_result((2000, 2000), sync="none"), 0.001)
    locked = timed(make_result((2000, 2000), sync="lock"), 0.004)
    comparison = Comparison.of([lucky, locked], [False, True])
    assert comparison.verdict().endswith(
        "4.0× slower than the fastest, counter:none, which showed no violation this time "
        "but is unsafe."
    )
    out = render(compare_table(comparison))
    assert "none †" in out
    assert "† unsafe by design" in out


# --- noise: a difference inside the trials' own spread ranks nothing ----------------------------

KEPT = (2000, 2000, 2000)


def test_overlapping_trials_are_within_noise_not_a_winner(make_result: MakeResult) -> None:
    # lock's trials took 10-14 ms, sharded's 11-15 ms: sharded's median is slower, but a
    # lock trial was slower than a sharded one
    lock = timed(make_result(KEPT, sync="lock"), 0.010, 0.012, 0.014)
    sharded = timed(make_result(KEPT, sync="sharded"), 0.011, 0.013, 0.015)
    comparison = Comparison.of([lock, sharded], [True, True])
    assert [r.within_noise for r in comparison.rows] == [True, True]
    verdict = comparison.verdict()
    assert "within noise" in verdict and "counter:lock and counter:sharded" in verdict
    assert "cheapest strategy" not in verdict and "fastest" not in verdict, verdict
    flat = " ".join(render(compare_table(comparison), 120).split())
    assert "1.1×, within noise" in flat  # sharded's median 13 ms over lock's 12 ms
    data = json.loads(compare_json(comparison))
    assert [r["within_noise"] for r in data["rows"]] == [True, True]


def test_separate_trials_still_rank(make_result: MakeResult) -> None:
    lock = timed(make_result(KEPT, sync="lock"), 0.010, 0.011, 0.012)
    sharded = timed(make_result(KEPT, sync="sharded"), 0.0125, 0.013, 0.015)
    comparison = Comparison.of([lock, sharded], [True, True])
    assert [r.within_noise for r in comparison.rows] == [False, False]
    assert comparison.verdict() == (
        "The cheapest strategy that kept the invariant: counter:lock, which was also the fastest."
    )
    assert "within noise" not in render(compare_table(comparison), 120)


def test_a_lucky_unsafe_run_within_noise_is_not_faster(make_result: MakeResult) -> None:
    lucky = timed(make_result(KEPT, sync="none"), 0.0010, 0.0011, 0.0016)
    locked = timed(make_result(KEPT, sync="lock"), 0.0012, 0.0015, 0.0017)
    verdict = Comparison.of([lucky, locked], [False, True]).verdict()
    assert verdict == (
        "The cheapest strategy that kept the invariant: counter:lock, as fast as counter:none "
        "within noise (their trials' kept ops/s overlap); counter:none showed no violation "
        "this time but is unsafe."
    )


def test_one_trial_each_has_no_spread_to_hide_in(make_result: MakeResult) -> None:
    lock = timed(make_result((2000,), sync="lock"), 0.010)
    sharded = timed(make_result((2000,), sync="sharded"), 0.0101)
    comparison = Comparison.of([lock, sharded], [True, True])
    assert not any(r.within_noise for r in comparison.rows)
    assert comparison.verdict().startswith("The cheapest strategy that kept the invariant: ")


def test_verdict_without_a_safe_strategy(make_result: MakeResult) -> None:
    broken = make_result((2000, 1500), sync="none")
    assert Comparison.of([broken], [False]).verdict() == (
        "No strategy kept the invariant in every trial."
    )
    assert Comparison.of([], []).verdict() == "No run finished, so there is nothing to compare."


def test_data_renderers_agree(make_result: MakeResult) -> None:
    unsafe = timed(make_result((2000, 1500), sync="none"), 0.001)
    locked = timed(make_result((2000, 2000), sync="lock"), 0.010)
    comparison = Comparison.of([unsafe, locked], [False, True])
    data = json.loads(compare_json(comparison))
    assert data["command"] == "compare"
    assert [r["slowdown"] for r in data["rows"]] == [None, 1.0], "lost work is not ranked"
    assert [r["lost_fraction"] for r in data["rows"]] == pytest.approx([0.125, 0.0])
    assert data["cheapest_safe"] == "counter:lock"
    assert data["fastest"] == "counter:lock", "a run that lost work is never the fastest"
    assert data["ranked"] is True
    assert data["ok"] is False
    for run in data["runs"]:
        check_schema(run)
    rows = list(csv.DictReader(io.StringIO(compare_csv(comparison))))
    assert [r["slowdown"] for r in rows] == ["", "1.0000"]
    assert [r["ok"] for r in rows] == ["false", "true"]
    assert {r["python"] for r in rows} == {"3.13.1"}
