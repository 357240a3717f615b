"""syncdemo sweep: list and range parsing, rows, speedups, the chart, every format."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from helpers import render, seen_within, timed
from test_output_formats import check_schema

from syncdemo.batch import SWEEP_CSV_FIELDS
from syncdemo.cli.lists import MAX_POINTS, ListError, parse_counts
from syncdemo.render.compare import bar, column_chart, sweep_csv, sweep_json, sweep_table
from syncdemo.results import RunResult
from syncdemo.sweep import Sweep

Invoke = Callable[..., Result]
MakeResult = Callable[..., RunResult]
UsageError = Callable[[Result], str]


def sweep_json_of(invoke: Invoke, *args: str) -> dict[str, Any]:
    result = invoke("sweep", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# --- parsing lists and ranges -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("1,2,4,8", (1, 2, 4, 8)),
        ("1-4", (1, 2, 3, 4)),
        ("1..4", (1, 2, 3, 4)),
        ("pow2:64", (1, 2, 4, 8, 16, 32, 64)),
        ("POW2:6", (1, 2, 4)),
        ("pow2:1", (1,)),
        ("8,1,2,2", (1, 2, 8)),
        (" 1 , 2 ", (1, 2)),
        ("1-3,8,pow2:16", (1, 2, 3, 4, 8, 16)),
        ("5", (5,)),
        ("3-3", (3,)),
        ("2048", (2048,)),
    ],
)
def test_parse_counts(text: str, values: tuple[int, ...]) -> None:
    assert parse_counts(text, 1, 2048) == values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,2", "0 is outside 1 to 2,048."),
        ("4-1", "'4-1' counts down, so it is empty; did you mean 1-4?"),
        ("8..2", "did you mean 2..8?"),
        ("x", "'x' is not a number"),
        ("", "has an empty item"),
        ("1,,2", "has an empty item"),
        ("pow2:0", "0 (in 'pow2:0') is outside 1 to 2,048."),
        ("pow2:", "'pow2:' is not a number"),
        ("1-x", "'1-x' is not a number"),
        ("-1", "-1 is outside 1 to 2,048."),
        ("3000", "3000 is outside 1 to 2,048."),
        ("0-4", "0 (in '0-4') is outside"),
        ("1-100", f"'1-100' gives 100 values; a sweep takes at most {MAX_POINTS}"),
        ("1.5", "'1.5' is not a number"),
    ],
)
def test_parse_counts_refuses(text: str, message: str) -> None:
    with pytest.raises(ListError) as caught:
        parse_counts(text, 1, 2048)
    assert message in str(caught.value)


def test_parse_counts_error_shows_the_syntax() -> None:
    with pytest.raises(ListError) as caught:
        parse_counts("x", 1, 2048)
    assert "1,2,4,8" in str(caught.value)
    assert "1-16 or 1..16" in str(caught.value)
    assert "pow2:64" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0,2", "0 is outside 1 to 2,048"), ("4-1", "counts down"), ("x", "is not a number")],
)
def test_bad_threads_exit_2_with_one_line(
    invoke: Invoke, usage_error: UsageError, value: str, expected: str
) -> None:
    line = usage_error(invoke("sweep", "counter", "--threads", value))
    assert "'--threads'" in line
    assert expected in line


def test_bad_iterations_exit_2(invoke: Invoke, usage_error: UsageError) -> None:
    line = usage_error(invoke("sweep", "counter", "--iterations", "100,0"))
    assert "'--iterations'" in line
    assert "10,000,000" in line


def test_too_many_points_exit_2(invoke: Invoke, usage_error: UsageError) -> None:
    line = usage_error(invoke("sweep", "counter", "-t", "1-10", "-n", "1-10"))
    assert "make 100 runs; a sweep does at most 64" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["countr"], "Did you mean 'counter'"),
        (["counter", "--sync", "queue"], "counter has no strategy 'queue'"),
        (["counter", "--trials", "0"], "10000"),
    ],
)
def test_other_usage_errors(
    invoke: Invoke, usage_error: UsageError, args: list[str], expected: str
) -> None:
    assert expected in usage_error(invoke("sweep", *args))


# --- what runs --------------------------------------------------------------------------------


def test_sweep_threads(invoke: Invoke) -> None:
    data = sweep_json_of(invoke, "counter", "-t", "1-3", "-n", "300", "--trials", "2")
    assert data["command"] == "sweep"
    assert (data["scenario"], data["sync"], data["axis"]) == ("counter", "none", "threads")
    assert [r["threads"] for r in data["rows"]] == [1, 2, 3]
    assert {r["iterations"] for r in data["rows"]} == {300}
    base = data["rows"][0]["ops_per_s"]["median"]
    for row, run in zip(data["rows"], data["runs"], strict=True):
        check_schema(run)
        assert run["params"]["threads"] == row["threads"]
        assert row["speedup"] == pytest.approx(row["ops_per_s"]["median"] / base)
        assert row["violated"] == run["summary"]["violated"]
        expected = [t["expected"] for t in run["trials"]]
        assert expected == [row["threads"] * 300] * 2
    assert data["rows"][0]["speedup"] == pytest.approx(1.0)
    assert data["rows"][0]["ok"] is True, "one thread has nobody to race with"
    assert len({run["params"]["seed"] for run in data["runs"]}) == 1


def test_default_threads_and_iterations(invoke: Invoke) -> None:
    data = sweep_json_of(invoke, "barrier", "--sync", "none", "--trials", "1")
    assert [r["threads"] for r in data["rows"]] == [1, 2, 4, 8]
    assert {r["iterations"] for r in data["rows"]} == {500}, "unsafe: the scenario's"
    assert {r["trials"] for r in data["rows"]} == {1}


def test_a_safe_strategy_sweeps_a_quarter_of_the_iterations(invoke: Invoke) -> None:
    data = sweep_json_of(invoke, "counter", "--sync", "lock", "-t", "1", "--trials", "1")
    assert data["rows"][0]["iterations"] == 20_000 // 4
    data = sweep_json_of(invoke, "locked-counter", "-t", "1", "--trials", "1")
    assert data["rows"][0]["iterations"] == 20_000 // 4


def test_sweep_iterations(invoke: Invoke) -> None:
    data = sweep_json_of(invoke, "counter", "-t", "2", "-n", "100,1000", "--trials", "1")
    assert data["axis"] == "iterations"
    assert [(r["threads"], r["iterations"]) for r in data["rows"]] == [(2, 100), (2, 1000)]
    assert [r["speedup"] for r in data["rows"]] == [None, None], "no thread axis"


def test_sweep_threads_and_iterations(invoke: Invoke) -> None:
    data = sweep_json_of(invoke, "counter", "-t", "1,2", "-n", "100..101", "--trials", "1")
    assert data["axis"] == "threads,iterations"
    points = [(r["threads"], r["iterations"]) for r in data["rows"]]
    assert points == [(1, 100), (2, 100), (1, 101), (2, 101)]
    speedups = {(r["threads"], r["iterations"]): r["speedup"] for r in data["rows"]}
    assert speedups[(1, 100)] == speedups[(1, 101)] == pytest.approx(1.0), "per iterations"


# --- formats --------------------------------------------------------------------------------


def test_sweep_table_and_chart(invoke: Invoke) -> None:
    result = invoke("sweep", "counter", "-t", "1,2", "-n", "300", "--trials", "2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "counter:none · 300 increments per thread · 2 trials each" in out
    assert "speedup vs" in out
    assert "ops/s (median) by threads" in out
    assert "violation rate by threads" in out
    assert "└" in out and "┤" in out
    assert "The invariant" in out
    assert result.stderr == ""


def test_sweep_jsonl(invoke: Invoke) -> None:
    result = invoke("sweep", "counter", "-t", "1,2,4", "-n", "200", "--trials", "1", "-f", "jsonl")
    assert result.exit_code == 0, result.output
    runs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["params"]["threads"] for r in runs] == [1, 2, 4]
    for run in runs:
        check_schema(run)


def test_sweep_csv(invoke: Invoke) -> None:
    result = invoke("sweep", "counter", "-t", "1,2", "-n", "200", "--trials", "2", "-f", "csv")
    assert result.exit_code == 0, result.output
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert tuple(reader.fieldnames or ()) == SWEEP_CSV_FIELDS
    rows = list(reader)
    assert [r["threads"] for r in rows] == ["1", "2"]
    assert rows[0]["speedup"] == "1.0000"
    assert rows[0]["violated"] == "0"
    assert float(rows[1]["ops_per_s_median"]) > 0


def test_quiet_table_prints_nothing(invoke: Invoke) -> None:
    result = invoke("sweep", "counter", "-t", "1,2", "-n", "100", "--trials", "1", "-q")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_quiet_with_a_format_still_prints_the_data(invoke: Invoke) -> None:
    result = invoke("sweep", "counter", "-t", "1", "-n", "100", "--trials", "1", "-q", "-f", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["rows"][0]["threads"] == 1


def test_check(invoke: Invoke) -> None:
    violated = seen_within(
        lambda: invoke("sweep", "barrier", "-s", "none", "-t", "2,4", "--check", "-q"),
        lambda result: result.exit_code != 0,
    )
    assert violated.exit_code == 1
    held = invoke("sweep", "counter", "-t", "1", "-n", "500", "--check", "-q")
    assert held.exit_code == 0, "one thread never races"


# --- rendering from data built by hand --------------------------------------------------------


def hand_built(make_result: MakeResult) -> Sweep:
    one = timed(make_result((1000, 1000), threads=1), 0.001)  # 1.0 M/s
    two = timed(make_result((2000, 1000), threads=2), 0.001)  # 2.0 and 1.0 M/s kept
    four = timed(make_result((4000, 3000), threads=4), 0.008)  # 0.5 and 0.375 M/s kept
    return Sweep.of([one, two, four])


def test_sweep_rows_from_data(make_result: MakeResult) -> None:
    sweep = hand_built(make_result)
    assert [r.speedup for r in sweep.rows] == pytest.approx([1.0, 1.5, 0.4375])
    assert sweep.axis == "threads"
    assert sweep.verdict() == (
        "Throughput of kept work peaked at 2 threads, 1.50× 1 thread; 4 threads ran at "
        "0.44× 1 thread. The invariant broke at 2 and 4 threads."
    )
    data = json.loads(sweep_json(sweep))
    assert [r["lost_fraction"] for r in data["rows"]] == pytest.approx([0.0, 0.25, 0.125])
    assert [r["violation_rate"] for r in data["rows"]] == pytest.approx([0.0, 0.5, 0.5])
    rows = list(csv.DictReader(io.StringIO(sweep_csv(sweep))))
    assert [r["speedup"] for r in rows] == ["1.0000", "1.5000", "0.4375"]


def test_sweep_table_from_data(make_result: MakeResult) -> None:
    out = render(sweep_table(hand_built(make_result)))
    lines = out.splitlines()
    two = next(line for line in lines if line.lstrip().startswith("2 │"))
    assert "50% │ ████ " in two
    assert "25.0%" in two
    assert "1.50 M/s" in two, "kept ops/s: the median of 2.0 and 1.0 M/s"
    assert "█" * 16 in two, "the fastest row has the full ops/s bar"
    assert two.rstrip().endswith("1.50×")
    chart = lines[lines.index(next(x for x in lines if "ops/s (median) by threads" in x)) :]
    assert chart[1].startswith("1.50 M/s ┤")
    assert "100% ┤" in chart[1]
    assert chart[9].startswith("       0 └")
    assert "0% └" in chart[9]
    assert chart[10].split() == ["1", "2", "4", "1", "2", "4"]


def test_bar() -> None:
    assert bar(0.0, 8) == ""
    assert bar(1.0, 4) == "████"
    assert bar(0.5, 4) == "██"
    assert bar(0.001, 4) == "▏", "anything above zero shows"
    assert bar(2.0, 3) == "███", "clamped"
    assert bar(9 / 64, 8) == "█▏"


def test_column_chart() -> None:
    lines = column_chart("t", ["1", "2", "3"], [4.0, 1.0, 0.0], 4.0, "4", "", height=2)
    assert [line.plain for line in lines] == [
        "t",
        "4 ┤ ██      ",
        "  │ ██ ▄▄   ",
        "0 └──────────",
        "    1  2  3 ",
    ], "a quarter of 2 rows = 4 eighths of the bottom row"


def test_column_chart_levels() -> None:
    lines = column_chart("t", ["a", "b"], [8.0, 3.0], 8.0, "8", "", height=2)
    rows = [line.plain for line in lines[1:3]]
    assert rows == ["8 ┤ ██   ", "  │ ██ ▆▆"], "3/8 of 2 rows = 6 eighths of the bottom row"


def test_chart_goes_narrow_when_there_are_many_points(make_result: MakeResult) -> None:
    runs = [timed(make_result((n * 1000,), threads=n), 0.001 * n) for n in range(1, 41)]
    out = render(sweep_table(Sweep.of(runs)), width=60)
    assert all(len(line) <= 60 for line in out.splitlines())
    assert "ops/s (median) by threads" in out
