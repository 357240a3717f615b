"""The machine-readable outputs: the JSON schema and the CSV columns scripts rely on."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from helpers import UNTIL_SEEN

from syncdemo.render.data import run_csv, run_json
from syncdemo.results import RunResult

Invoke = Callable[..., Result]

TOP_KEYS = {"scenario", "sync", "params", "runtime", "invariant", "trials", "summary", "ok"}
PARAMS_KEYS = {"threads", "iterations", "trials", "seed"}
RUNTIME_KEYS = {"python", "implementation", "gil", "switch_interval", "cpus"}
TRIAL_KEYS = {
    "trial",
    "expected",
    "observed",
    "violations",
    "ok",
    "elapsed_s",
    "ops_per_s",
    "threads",
    "details",
}
THREAD_KEYS = {"index", "role", "ops", "elapsed_s", "wait_s"}
SUMMARY_KEYS = {"trials", "violated", "violation_rate", "elapsed_s"}
CSV_COLUMNS = [
    "scenario",
    "sync",
    "trial",
    "threads",
    "iterations",
    "expected",
    "observed",
    "violations",
    "ok",
    "elapsed_s",
    "ops_per_s",
    "python",
    "gil",
]

NUMBER = (int, float)


def check_schema(data: dict[str, Any]) -> None:
    assert set(data) >= TOP_KEYS
    assert isinstance(data["scenario"], str)
    assert isinstance(data["sync"], str)
    assert isinstance(data["invariant"], str) and data["invariant"]
    assert isinstance(data["ok"], bool)

    params = data["params"]
    assert set(params) >= PARAMS_KEYS
    for key in PARAMS_KEYS:
        assert type(params[key]) is int, key

    rt = data["runtime"]
    assert set(rt) >= RUNTIME_KEYS
    assert isinstance(rt["python"], str) and rt["python"].count(".") >= 1
    assert isinstance(rt["implementation"], str) and rt["implementation"]
    assert isinstance(rt["gil"], bool)
    assert isinstance(rt["switch_interval"], float) and rt["switch_interval"] > 0
    assert type(rt["cpus"]) is int and rt["cpus"] >= 1

    trials = data["trials"]
    assert isinstance(trials, list)
    assert [t["trial"] for t in trials] == list(range(1, params["trials"] + 1))
    for t in trials:
        assert set(t) >= TRIAL_KEYS
        for key in ("expected", "observed", "violations"):
            assert type(t[key]) is int and t[key] >= 0, key
        assert isinstance(t["ok"], bool)
        assert isinstance(t["elapsed_s"], NUMBER) and t["elapsed_s"] > 0, "a trial takes time"
        assert isinstance(t["ops_per_s"], NUMBER)
        assert t["ops_per_s"] == pytest.approx(t["ops"] / t["elapsed_s"])
        assert isinstance(t["details"], dict)
        assert len(t["threads"]) == params["threads"]
        for i, stats in enumerate(t["threads"]):
            assert set(stats) >= THREAD_KEYS
            assert stats["index"] == i
            assert isinstance(stats["role"], str)
            assert type(stats["ops"]) is int

    summary = data["summary"]
    assert set(summary) >= SUMMARY_KEYS
    violated = sum(1 for t in trials if not t["ok"])
    assert summary["trials"] == len(trials)
    assert summary["violated"] == violated
    assert summary["violation_rate"] == pytest.approx(violated / len(trials))
    elapsed = [t["elapsed_s"] for t in trials]
    spread = {k: summary["elapsed_s"][k] for k in ("min", "median", "max")}
    assert spread == pytest.approx(
        {"min": min(elapsed), "median": statistics.median(elapsed), "max": max(elapsed)}
    )
    assert data["ok"] is (violated == 0)


def test_run_json_schema(invoke: Invoke) -> None:
    result = invoke(
        "run", "counter", "-t", "3", "-n", "500", "--trials", "4", "--seed", "5", "-f", "json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # fails if anything but the document is on stdout
    check_schema(data)
    assert data["scenario"] == "counter"
    assert data["sync"] == "none"
    assert data["params"] == {
        "threads": 3,
        "iterations": 500,
        "trials": 4,
        "seed": 5,
        "switch_interval": 0.0001,
        "window": "call",
        "trace": False,
        "timeout": 2.0,
        "runtime": "threads",
        "race_budget": 0.0,
    }
    for t in data["trials"]:
        assert t["expected"] == 1500
        assert t["observed"] + t["violations"] == 1500
        assert [s["ops"] for s in t["threads"]] == [500, 500, 500]


def test_run_json_stdout_is_only_json(invoke: Invoke) -> None:
    result = invoke("run", "barrier", "-n", "30", "--trials", "2", "-f", "json")
    assert result.exit_code == 0
    assert result.stdout.lstrip().startswith("{")
    assert result.stdout.rstrip().endswith("}")
    check_schema(json.loads(result.stdout))


def test_run_json_of_a_violated_run(invoke: Invoke) -> None:
    result = invoke("run", "barrier", "--sync", "none", *UNTIL_SEEN, "-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    check_schema(data)
    assert data["ok"] is False
    assert data["summary"]["violated"] >= 1
    for t in data["trials"]:
        assert t["details"]["stale"] + t["details"]["early"] == t["violations"]


def test_run_csv(invoke: Invoke) -> None:
    result = invoke(
        "run", "counter", "-s", "lock", "-t", "2", "-n", "50", "--trials", "3", "-f", "csv"
    )
    assert result.exit_code == 0, result.output
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert reader.fieldnames is not None
    assert set(CSV_COLUMNS) <= set(reader.fieldnames)
    rows = list(reader)
    assert len(rows) == 3
    assert [row["trial"] for row in rows] == ["1", "2", "3"]
    for row in rows:
        assert row["scenario"] == "counter"
        assert row["sync"] == "lock"
        assert (row["threads"], row["iterations"]) == ("2", "50")
        assert int(row["expected"]) == int(row["observed"]) == 100
        assert row["violations"] == "0"
        assert row["ok"] == "true"
        assert row["gil"] in ("true", "false")
        assert float(row["elapsed_s"]) > 0, "100 increments take time"
        rate = 100 / float(row["elapsed_s"])  # elapsed_s is written to the microsecond
        assert float(row["ops_per_s"]) == pytest.approx(rate, rel=0.02)
        assert row["python"].count(".") >= 1


def test_run_csv_header_only_for_each_run(invoke: Invoke) -> None:
    result = invoke("run", "counter", "-n", "10", "--trials", "5", "-f", "csv")
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    assert sum(1 for line in lines if line.startswith("scenario,")) == 1


def test_renderers_agree_on_hand_built_result(make_result: Callable[..., RunResult]) -> None:
    result = make_result((2000, 1500, 2000))
    data = json.loads(run_json(result))
    check_schema(data)
    assert [t["violations"] for t in data["trials"]] == [0, 500, 0]
    assert data["summary"]["violated"] == 1
    assert data["summary"]["violation_rate"] == pytest.approx(1 / 3)
    assert data["ok"] is False
    assert data["runtime"]["python"] == "3.13.1"

    rows = list(csv.DictReader(io.StringIO(run_csv(result))))
    assert [row["violations"] for row in rows] == ["0", "500", "0"]
    assert [row["ok"] for row in rows] == ["true", "false", "true"]
    assert {row["python"] for row in rows} == {"3.13.1"}
    assert {row["gil"] for row in rows} == {"true"}


def test_csv_of_a_run_without_trials_is_just_the_header(
    make_result: Callable[..., RunResult],
) -> None:
    lines = run_csv(make_result(())).splitlines()
    assert len(lines) == 1
    assert lines[0].split(",")[:3] == ["scenario", "sync", "trial"]
