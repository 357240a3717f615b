"""Tables never cut a name or a number: at 80 columns, in a pipe, for every scenario.

The layout tests build tables by hand; the walk runs every scenario and strategy through
the CLI at COLUMNS=80 (CliRunner's stdout is not a terminal: the piped case).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import render

from syncdemo import scenarios
from syncdemo.cli import cli
from syncdemo.render.layout import Col, Grid
from syncdemo.render.table import run_report
from syncdemo.results import Outcome, RunConfig, RunResult, RuntimeInfo, TrialResult

LONG_NAME = "account-locks-unordered-and-then-some"
LONG_NUMBER = "96,135,712,345"


def assert_uncut(out: str, width: int, *whole: str) -> None:
    assert "…" not in out, out
    assert all(len(line) <= width for line in out.splitlines()), out
    for text in whole:
        assert text in out, f"{text!r} is not whole in:\n{out}"


def wide_grid(columns: int, bars: bool = True) -> Grid:
    grid = Grid(
        Col("name"),
        *(Col(f"a long header number {i}", "right") for i in range(columns)),
        title="a table",
    )
    if bars:
        grid.columns.append(Col("", decorative=True))
    grid.add_row(LONG_NAME, *([LONG_NUMBER] * columns), "█" * 5)
    grid.add_row("short", *(["1"] * columns), "█")
    return grid


def test_a_table_that_fits_is_left_alone() -> None:
    out = render(wide_grid(1), 200)
    assert "a long header number 0" in out, "natural width: the header on one line"
    assert "█" * 5 in out


def test_headers_wrap_between_words_and_numbers_stay_whole() -> None:
    out = render(wide_grid(2, bars=False), 72)  # natural: 87 columns; wrapped headers: 71
    assert_uncut(out, 72, LONG_NAME, LONG_NUMBER)
    assert "a long header number 0" not in out, "the headers wrapped to make room"


def test_headers_may_wrap_to_keep_the_bars() -> None:
    out = render(wide_grid(2), 90)  # natural: 95 columns; wrapped headers: 79
    assert_uncut(out, 90, LONG_NAME, LONG_NUMBER, "█" * 5)


def test_bars_go_before_a_cell_wraps() -> None:
    sentence = "a sentence of some length that could wrap over lines"
    grid = Grid(Col("name"), Col("meaning", wrap=True), Col("", decorative=True))
    grid.add_row(LONG_NAME, sentence, "█" * 10)
    out = render(grid, 80)  # natural 105, without the bar 94
    assert_uncut(out, 80, LONG_NAME)
    assert "█" not in out
    assert sentence in " ".join(line.split("│")[-1].strip() for line in out.splitlines()[2:])


def test_a_table_too_wide_for_any_layout_stacks() -> None:
    out = render(wide_grid(8), 64)
    assert_uncut(out, 64, LONG_NAME, LONG_NUMBER)
    assert out.count(LONG_NUMBER) == 8
    assert re.search(r"^a long header number 7 +96,135,712,345 *$", out, re.M), out


def test_shorter_headers_before_stacking() -> None:
    grid = Grid(
        Col("trial", "right"),
        Col("a header far too long to fit anywhere useful", "right", short="short"),
        Col("another header that is also much too long", "right", short="other"),
    )
    grid.add_row("1", "12", "34")
    out = render(grid, 30)
    assert_uncut(out, 30, "short", "other", "12", "34")
    assert "useful" not in out


def test_keyed_rows_turn_into_columns_before_stacking() -> None:
    grid = Grid(Col("trial", "right"), keyed=True)
    grid.columns += [Col(f"detail number {i}", "right") for i in range(12)]
    for trial in (1, 2, 3):
        grid.add_row(str(trial), *(f"{trial * 1000 + i:,}" for i in range(12)))
    out = render(grid, 80)
    assert_uncut(out, 80, "detail number 11", "3,011")
    assert re.search(r"^detail number 11 +│ +1,011 │ +2,011 │ +3,011$", out, re.M), out


def deadlocked_bank(runtime: Callable[..., RuntimeInfo]) -> RunResult:
    """A bank-transfer run as the engine returns it when the tellers deadlocked: no money
    misplaced, yet violated, because transfers were never done."""
    scenario = scenarios.get("bank-transfer")
    config = RunConfig(
        "bank-transfer", "account-locks-unordered", 4, 500, 1, seed=96135712, timeout=2.0
    )
    details = {
        "misplaced": 0,
        "overdrafts": 0,
        "negative_accounts": 0,
        "transfers": 23,
        "declined": 7,
        "deadlocked": True,
        "detected_by": "wait-for cycle",
        "stalled_s": 0.05,
        "cycle": "teller 0 holds account 3, waits for account 5 -> teller 1 holds account 5, "
        "waits for account 3 -> teller 0",
        "transfers_never_done": 1977,
    }
    trial = TrialResult(
        trial=1,
        outcome=Outcome(expected=800, observed=800, violations=1977, details=details),
        elapsed_s=0.1,
        ops=23,
        threads=(),
    )
    return RunResult(
        config=config,
        runtime=runtime(),
        invariant=scenario.invariant,
        violation_noun=scenario.violation_noun,
        trials=(trial,),
        verdict="",
        violation_share=scenario.violation_share,
    )


def test_run_report_of_a_deadlock_at_80_columns(
    make_runtime: Callable[..., RuntimeInfo],
) -> None:
    out = render(run_report(deadlocked_bank(make_runtime)), 80)
    assert_uncut(out, 80, "1,977", "transfers never done", "wait-for cycle")
    assert "deadlocked" in out.split("what the check found")[0], "the trial row says why"
    assert "VIOLATED" not in out
    assert "%" not in out.split("what the check found")[0], "money + counts is no share"
    assert "Seed: 96135712" in out


# --- the walk: every command, scenario and strategy at 80 columns, piped ----------------------


@pytest.fixture
def narrow() -> Callable[..., Result]:
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": None, "FORCE_COLOR": None})

    def _invoke(*args: str) -> Result:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    return _invoke


def _pipe_clean(text: str) -> None:
    assert "…" not in text, text
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert not any(line.endswith(" ") for line in text.splitlines()), "trailing spaces"


def test_list_and_grep_find_every_strategy(narrow: Callable[..., Result]) -> None:
    out = narrow("list").stdout
    _pipe_clean(out)
    for scenario in scenarios.all_scenarios():
        for name in [scenario.name, *scenario.strategy_names()]:
            # grep -w: the name with no word character (letter, digit, _) on either side
            word = re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])")
            assert any(word.search(line) for line in out.splitlines()), name


@pytest.mark.parametrize("name", scenarios.names())
def test_every_scenario_and_strategy_fits_80_columns(
    name: str, narrow: Callable[..., Result], tmp_path: Path
) -> None:
    """run (traced, two trials: every part of the report), compare, describe and explore, at 80
    columns in a pipe; and the JSON written alongside has both trials, with no violation
    for a safe strategy."""
    scenario = scenarios.get(name)
    _pipe_clean(narrow("describe", name).stdout)
    for sync in scenario.strategy_names():
        data = tmp_path / f"{sync}.json"
        run = narrow(
            "run", name, "--sync", sync, "-n", "40", "--trials", "2", "--trace", "-o", str(data)
        )
        _pipe_clean(run.stdout)
        document = json.loads(data.read_text())
        assert len(document["trials"]) == 2, sync
        if scenario.strategy(sync).safe:  # what a safe strategy promises, traced or not
            assert document["ok"], (sync, [t["violations"] for t in document["trials"]])
    _pipe_clean(narrow("compare", name, "-n", "40", "--trials", "1").stdout)
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": None, "FORCE_COLOR": None})
    # what is drawn, not what is found: a small bound (none for three threads) keeps it quick
    bound = "0" if scenario.explore_size()[0] > 2 else "1"
    for sync in scenario.strategy_names():
        explored = runner.invoke(cli, ["explore", name, "--sync", sync, "--max-preemptions", bound])
        if explored.exit_code == 2:  # no model of this strategy (the message says why)
            assert "Error" in explored.stderr
            continue
        assert explored.exit_code == 0, explored.output
        _pipe_clean(explored.stdout)


def test_sweep_fits_80_columns(narrow: Callable[..., Result]) -> None:
    out = narrow("sweep", "counter", "--threads", "1,2,4,8,16", "-n", "200", "--trials", "1")
    _pipe_clean(out.stdout)


def test_a_closed_pipe_ends_every_command_quietly() -> None:
    """``syncdemo sweep ... -f jsonl | head -1``: exit 0, nothing on stderr."""
    command = [sys.executable, "-m", "syncdemo", "sweep", "counter", "-f", "jsonl"]
    command += ["--threads", "1,2,4,8,16,32", "-n", "2000", "--trials", "2"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader had enough
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, stderr
    assert json.loads(first)["scenario"] == "counter"
    assert stderr == b""
