"""Every command and option of the CLI, in-process with Click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from typing import Any

import click
import pytest
from click.testing import Result
from helpers import EXACT_TRIALS, UNTIL_SEEN, commands

import syncdemo
from syncdemo import scenarios
from syncdemo.cli.options import DEFAULT_SWITCH_INTERVAL
from syncdemo.engine import runner as engine
from syncdemo.results import RunConfig, RunResult

Invoke = Callable[..., Result]
RunJson = Callable[..., dict[str, Any]]

NAMES = ("counter", "locked-counter", "producer-consumer", "barrier")


def flat(text: str) -> str:
    """Whitespace-normalised text, so that a wrapped line still matches."""
    return " ".join(text.split())


# --- version and help ---------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(invoke: Invoke, flag: str) -> None:
    result = invoke(flag)
    assert result.exit_code == 0
    assert result.stdout.strip() == f"syncdemo, version {syncdemo.__version__}"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_group_help_lists_every_command(invoke: Invoke, flag: str) -> None:
    result = invoke(flag)
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    for name in commands():
        assert name in result.stdout


def test_no_command_shows_usage(invoke: Invoke) -> None:
    result = invoke()
    assert "Usage:" in result.output
    for name in commands():
        assert name in result.output


def test_the_cli_has_the_documented_commands() -> None:
    assert {"list", "describe", "run"} <= set(commands())


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_has_help(invoke: Invoke, name: str) -> None:
    command = commands()[name]
    assert (command.help or "").strip(), f"{name} has no docstring"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert (param.help or "").strip(), f"{name} {param.opts} has no help text"
    result = invoke(name, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()
    assert f"Usage: cli {name}" in result.stdout
    assert flat(command.get_short_help_str(limit=200)) in flat(result.stdout)


def test_run_help_documents_every_option(invoke: Invoke) -> None:
    result = invoke("run", "--help")
    assert result.exit_code == 0
    for option in (
        "--threads",
        "-t",
        "--iterations",
        "-n",
        "--trials",
        "--sync",
        "-s",
        "--format",
        "--check",
        "--seed",
        "--switch-interval",
    ):
        assert option in result.stdout


# --- list -----------------------------------------------------------------------------------


def test_list_table(invoke: Invoke) -> None:
    result = invoke("list")
    assert result.exit_code == 0
    words = set(result.stdout.replace("│", " ").split())
    for scenario in scenarios.all_scenarios():
        assert scenario.name in result.stdout
        # a long invariant wraps inside its cell: every word of it shows, whole
        assert set(scenario.invariant.split()) <= words, scenario.invariant
    assert "\x1b[" not in result.stdout, "not a terminal: no escape codes"


@pytest.mark.parametrize("flag", ["--format", "-f"])
def test_list_json(invoke: Invoke, flag: str) -> None:
    result = invoke("list", flag, "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    assert set(NAMES) <= {entry["name"] for entry in data}
    for entry in data:
        scenario = scenarios.get(entry["name"])
        assert entry["invariant"] == scenario.invariant
        assert entry["default_sync"] == scenario.default_sync
        assert [s["name"] for s in entry["strategies"]] == scenario.strategy_names()
        assert {s["safe"] for s in entry["strategies"]} == {True, False}


def test_list_as_csv_has_a_row_per_scenario(invoke: Invoke) -> None:
    result = invoke("list", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["name"] for r in rows] == scenarios.names()
    counter = rows[0]
    assert counter["strategies"].split() == ["none", "lock", "sharded"]
    assert counter["safe"].split() == ["lock", "sharded"]


def test_list_rejects_an_unknown_format(
    invoke: Invoke, usage_error: Callable[[Result], str]
) -> None:
    line = usage_error(invoke("list", "--format", "xml"))
    assert "--format" in line


# --- describe -------------------------------------------------------------------------------


def test_describe_counter(invoke: Invoke) -> None:
    result = invoke("describe", "counter")
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    scenario = scenarios.get("counter")
    assert flat(scenario.invariant) in text
    for name in scenario.strategy_names():
        assert f"--sync {name}" in text
    assert "def increment_unsafe(" in result.stdout
    assert "def increment_locked(" in result.stdout
    assert "\x1b[" not in result.stdout


def test_describe_producer_consumer_shows_each_role(invoke: Invoke) -> None:
    result = invoke("describe", "producer-consumer")
    assert result.exit_code == 0, result.output
    for worker in ("produce_unsafe", "consume_unsafe", "consume_condition", "produce_queue"):
        assert f"def {worker}(" in result.stdout


def test_describe_needs_a_name(invoke: Invoke, usage_error: Callable[[Result], str]) -> None:
    assert "NAME" in usage_error(invoke("describe"))


# --- run: options -----------------------------------------------------------------------------


def test_run_table(invoke: Invoke) -> None:
    result = invoke("run", "counter", "--sync", "lock", "--threads", "2", "-n", "100")
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    assert "counter · --sync lock · 2 threads × 100" in text
    assert "3 trials" in text
    assert "Invariant: final value == threads × iterations" in text
    assert "Runtime:" in text
    assert "0 of 3 trials violated the invariant." in text
    assert "VIOLATED" not in text
    assert "\x1b[" not in result.stdout


def test_run_long_options(run_json: RunJson) -> None:
    data = run_json(
        "counter", "--threads", "3", "--iterations", "70", "--trials", "2", "--sync", "lock"
    )
    assert data["sync"] == "lock"
    assert data["params"]["threads"] == 3
    assert data["params"]["iterations"] == 70
    assert data["params"]["trials"] == 2
    assert len(data["trials"]) == 2
    for t in data["trials"]:
        assert len(t["threads"]) == 3
        assert [s["ops"] for s in t["threads"]] == [70, 70, 70]
        assert t["expected"] == t["observed"] == 210


def test_run_short_options(run_json: RunJson) -> None:
    data = run_json("counter", "-t", "2", "-n", "30", "--trials", "1", "-s", "lock")
    assert data["sync"] == "lock"
    assert (data["params"]["threads"], data["params"]["iterations"]) == (2, 30)


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_run_short_format_flag(invoke: Invoke, fmt: str) -> None:
    result = invoke("run", "counter", "-t", "1", "-n", "10", "--trials", "1", "-f", fmt)
    assert result.exit_code == 0, result.output
    starts = {"table": "counter · --sync none", "json": "{", "csv": "scenario,sync,"}
    assert result.stdout.lstrip().startswith(starts[fmt])


@pytest.mark.parametrize("name", NAMES)
def test_run_uses_the_scenario_defaults(run_json: RunJson, name: str) -> None:
    scenario = scenarios.get(name)
    # --iterations kept small for speed; everything else is the scenario's default.
    data = run_json(name, "-n", "40", "--trials", "1")
    assert data["scenario"] == name
    assert data["sync"] == scenario.default_sync
    assert data["params"]["threads"] == scenario.default_threads
    assert data["params"]["switch_interval"] == DEFAULT_SWITCH_INTERVAL
    assert data["runtime"]["switch_interval"] == pytest.approx(DEFAULT_SWITCH_INTERVAL)


def test_run_default_iterations_and_trials(run_json: RunJson) -> None:
    scenario = scenarios.get("counter")
    data = run_json("counter", "-t", "1")
    assert data["params"]["iterations"] == scenario.default_iterations
    assert data["params"]["trials"] == 3
    assert len(data["trials"]) == 3


def test_run_csv(invoke: Invoke) -> None:
    result = invoke("run", "counter", "-n", "20", "--trials", "2", *EXACT_TRIALS, "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("scenario,sync,trial,")
    assert len(lines) == 3


def test_run_without_check_exits_0_even_when_violated(invoke: Invoke) -> None:
    """Exit 0 means it ran, whatever it showed; only --check turns violations into 1."""
    result = invoke("run", "counter", "--sync", "none", *UNTIL_SEEN, "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["summary"]["violated"] >= 1


# --- --check --------------------------------------------------------------------------------


def test_check_exits_1_when_violated(invoke: Invoke) -> None:
    result = invoke("run", "counter", "--sync", "none", "--threads", "4", *UNTIL_SEEN, "--check")
    assert result.exit_code == 1, result.output
    assert "trials violated the invariant" in flat(result.stdout)
    assert "Traceback" not in result.output


def test_check_exits_1_with_json_still_on_stdout(invoke: Invoke) -> None:
    result = invoke("run", "counter", *UNTIL_SEEN, "--check", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert data["summary"]["violated"] >= 1


def test_check_exits_0_for_locked_counter(invoke: Invoke) -> None:
    result = invoke("run", "locked-counter", "--iterations", "2000", "--check")
    assert result.exit_code == 0, result.output
    assert "0 of 3 trials violated the invariant." in flat(result.stdout)


def test_check_exits_0_for_one_thread(invoke: Invoke) -> None:
    result = invoke("run", "counter", "--sync", "none", "--threads", "1", "--check")
    assert result.exit_code == 0, result.output
    assert "cannot race with itself" in flat(result.stdout)


# --- --seed ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["0", "42", str(2**63 - 1)])
def test_seed_is_echoed(run_json: RunJson, seed: str) -> None:
    data = run_json("counter", "-n", "10", "--trials", "1", "--seed", seed)
    assert data["params"]["seed"] == int(seed)


def test_seed_in_csv(invoke: Invoke) -> None:
    result = invoke(
        "run", "counter", "-n", "10", "--trials", "2", *EXACT_TRIALS, "--seed", "99", "-f", "csv"
    )
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["seed"] for row in rows] == ["99", "99"]


def test_without_seed_a_seed_is_reported(run_json: RunJson) -> None:
    seeds = {run_json("counter", "-n", "10", "--trials", "1")["params"]["seed"] for _ in range(3)}
    for seed in seeds:
        assert type(seed) is int
        assert 0 <= seed < 2**32, "a fresh seed is 32 bits: short enough to type again"
    assert len(seeds) > 1, "each run without --seed gets a fresh seed"


# --- --switch-interval ----------------------------------------------------------------------


def test_switch_interval_is_applied_reported_and_restored(run_json: RunJson) -> None:
    before = sys.getswitchinterval()
    data = run_json("counter", "-n", "100", "--trials", "1", "--switch-interval", "0.001")
    assert sys.getswitchinterval() == before
    assert data["params"]["switch_interval"] == 0.001
    assert data["runtime"]["switch_interval"] == pytest.approx(0.001)
    assert data["runtime"]["switch_interval_default"] == pytest.approx(before)


def test_default_switch_interval_is_restored(invoke: Invoke) -> None:
    before = sys.getswitchinterval()
    assert before != pytest.approx(DEFAULT_SWITCH_INTERVAL)
    result = invoke("run", "counter", "-n", "100", "--trials", "1")
    assert result.exit_code == 0
    assert sys.getswitchinterval() == before


@pytest.mark.parametrize("keep", ["keep", "KEEP", "default"])
def test_switch_interval_keep(run_json: RunJson, keep: str) -> None:
    sys.setswitchinterval(0.002)  # restored by the autouse fixture
    data = run_json("counter", "-n", "100", "--trials", "1", "--switch-interval", keep)
    assert sys.getswitchinterval() == pytest.approx(0.002)
    assert data["params"]["switch_interval"] is None
    assert data["runtime"]["switch_interval"] == pytest.approx(0.002)
    assert data["runtime"]["switch_interval_default"] == pytest.approx(0.002)


def test_switch_interval_shown_in_the_table(invoke: Invoke) -> None:
    result = invoke("run", "counter", "-n", "100", "--trials", "1", "--switch-interval", "0.002")
    assert result.exit_code == 0
    assert "switch interval 2.0 ms for this run" in flat(result.stdout)


@pytest.mark.parametrize("value", ["0.000001", "1", "0.25", "1e-3"])
def test_switch_interval_bounds_accepted(run_json: RunJson, value: str) -> None:
    data = run_json("counter", "-t", "1", "-n", "10", "--trials", "1", "--switch-interval", value)
    assert data["params"]["switch_interval"] == float(value)


# --- failures inside a run ------------------------------------------------------------------


def test_engine_error_exits_1_with_one_line(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(scenario: object, config: RunConfig, **_: object) -> RunResult:
        raise engine.EngineError("could only start 3 of 2048 threads: can't start new thread")

    monkeypatch.setattr(engine, "run", refuse)
    result = invoke("run", "counter")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "Error: could only start 3 of 2048 threads: can't start new thread"
    )


def test_interrupted_run_prints_the_finished_trials_and_exits_130(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, make_result: Callable[..., RunResult]
) -> None:
    partial = make_result((2000,), interrupted=True)

    def interrupted(scenario: object, config: RunConfig, **_: object) -> RunResult:
        raise engine.RunInterrupted(partial)

    monkeypatch.setattr(engine, "run", interrupted)
    result = invoke("run", "counter", "--trials", "3", "--format", "json")
    assert result.exit_code == 130
    data = json.loads(result.stdout)
    assert data["interrupted"] is True
    assert len(data["trials"]) == 1
    assert "Interrupted after 1 of 3 trials." in result.stderr
    assert "Traceback" not in result.output


def test_interrupted_before_any_trial_prints_no_data(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, make_result: Callable[..., RunResult]
) -> None:
    def interrupted(scenario: object, config: RunConfig, **_: object) -> RunResult:
        raise engine.RunInterrupted(make_result((), interrupted=True))

    monkeypatch.setattr(engine, "run", interrupted)
    result = invoke("run", "counter", "--format", "json")
    assert result.exit_code == 130
    assert result.stdout == ""
    assert "Interrupted after 0 of 3 trials." in result.stderr


def test_ctrl_c_outside_a_run_exits_130(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt() -> list[object]:
        raise KeyboardInterrupt

    monkeypatch.setattr(scenarios, "entries", interrupt)
    result = invoke("list")
    assert result.exit_code == 130
    assert "Interrupted." in result.stderr
    assert "Traceback" not in result.output
