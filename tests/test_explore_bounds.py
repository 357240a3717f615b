"""What bounds a search, and what each bound lets a report claim: the step limit fitted to
the workload (a long workload is not a livelock), workers that never end (one line, not
a search that runs for ever), the time limit (a partial report, never a proof), a
schedule past the step limit (no proof), and a livelock's counterexample (the search's
own preemptions, a replay command of its chosen steps)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from helpers import ENDLESS

from syncdemo import scenarios
from syncdemo.explore import detail
from syncdemo.explore.explorer import explore, replay
from syncdemo.explore.report import Report
from syncdemo.explore.runner import FIT_FACTOR, STEP_LIMIT
from syncdemo.results import RunConfig

pytestmark = pytest.mark.timeout(120)

Invoke = Callable[..., Result]


def _config(name: str, sync: str, threads: int = 2, iterations: int = 2) -> RunConfig:
    return RunConfig(name, sync, threads, iterations, trials=1, seed=0)


def _report(e: object) -> Report:
    return Report(
        name="",
        scenario="counter",
        sync="lock",
        threads=2,
        iterations=2,
        iterations_meaning="increments",
        invariant="final value == threads × iterations",
        violation_noun="lost updates",
        outcome_name="final value",
        roles="",
        granularity="line",
        exploration=e,  # type: ignore[arg-type]
    )


def test_a_workload_longer_than_the_default_step_limit_is_not_a_livelock() -> None:
    # 8 threads x 100 increments: the serial schedule alone is longer than 2,000 steps;
    # before the fitted limit every schedule was cut twice over and called a livelock
    e = explore(
        scenarios.get("counter"), _config("counter", "lock", 8, 100), limit=3, classify=False
    )
    assert e.livelocks == 0 and e.cut == 0
    assert e.step_limit > STEP_LIMIT
    assert e.schedules == 3 and e.ok and not e.complete  # stopped by its --limit of 3


def test_the_fitted_step_limit_is_twice_the_serial_schedule() -> None:
    config = _config("counter", "lock", 8, 100)
    e = explore(scenarios.get("counter"), config, limit=1, classify=False)
    # a replay of thread 0's first step goes on without preemption: the serial schedule
    serial = replay(scenarios.get("counter"), config, (0,))
    assert serial.ok and serial.preemptions == 0
    assert e.step_limit == FIT_FACTOR * len(serial.schedule) > STEP_LIMIT


def test_workers_that_never_end_are_one_line_and_exit_1(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "endless.py"
    path.write_text(textwrap.dedent(ENDLESS))
    for command in ("explore", "play"):
        extra = ("--moves", "0") if command == "play" else ()
        result = invoke(command, str(path), *extra)
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "do not end even one after another" in lines[0]
        assert "endless.py:" in lines[0]  # where the thread still ran
        assert "Traceback" not in result.output


def test_the_time_limit_stops_the_search_with_a_partial_report(invoke: Invoke) -> None:
    result = invoke(
        "explore", "counter", "--sync", "lock", "--time-limit", "0.001", "--check", "-f", "json"
    )
    assert result.exit_code == 1, result.output
    e = json.loads(result.stdout)["explored"]
    assert e["timed_out"] is True and e["complete"] is False and e["time_limit"] == 0.001
    assert "--check: not verified: the search stopped before" in result.stderr
    assert "Stopped at the --time-limit of 0.001 s" in result.stderr


def test_the_time_limit_is_refused_when_it_is_not_a_positive_number(invoke: Invoke) -> None:
    for bad in ("0", "-1", "nan", "inf", "soon"):
        result = invoke("explore", "counter", "--time-limit", bad)
        assert result.exit_code == 2, (bad, result.output)
        assert "--time-limit" in result.stderr


def test_schedules_past_the_step_limit_are_no_proof() -> None:
    # the locked counter keeps its invariant, but with a step limit of 5 every schedule
    # ran on past it in one fair order: nothing about the other orders is known
    e = explore(
        scenarios.get("locked-counter"),
        _config("locked-counter", "lock"),
        step_limit=5,
        classify=False,
    )
    assert e.ok and e.complete and e.cut > 0
    report = _report(e)
    assert not report.proved
    assert "past the step limit of 5 steps" in report.unproved()
    assert "Verified" not in report.verdict() and "not a proof" in report.verdict()


def test_a_gil_search_that_stops_early_does_not_rule_a_failure_out() -> None:
    # counter's first schedule at gil keeps the invariant; a search of one schedule does
    # not know whether the GIL allows the failure (it said "needs parallel threads")
    verdict = detail.fails_at_gil(
        scenarios.get("counter"), _config("counter", "none"), 2, limit=1, step_limit=None
    )
    assert verdict is None
    assert (
        detail.fails_at_gil(
            scenarios.get("counter"), _config("counter", "none"), 2, limit=20_000, step_limit=None
        )
        is True
    )


def test_a_livelock_names_the_searchs_preemptions_and_replays_from_its_choices(
    invoke: Invoke,
) -> None:
    result = invoke("explore", "livelock", "--sync", "polite", "-f", "json")
    e = json.loads(result.stdout)["explored"]
    ex = e["counterexample"]
    assert ex["outcome"] == "livelock"
    assert ex["preemptions"] <= e["max_preemptions"]  # fairness is not a preemption
    assert ex["fair_from"] is not None and ex["fair_from"] < ex["length"]
    schedule = ex["replay"].split("--schedule ", 1)[1]
    assert schedule.count(",") < 10  # the search's choices, not thousands of fair steps
    replayed = invoke(
        "explore", "livelock", "--sync", "polite", "--schedule", schedule, "-f", "json"
    )
    again = json.loads(replayed.stdout)["replay"]
    assert again["outcome"] == "livelock" and again["schedule"] == ex["schedule"]
    assert len(again["steps"]) == len(ex["steps"]) < ex["length"]  # its last steps shown


GLOBAL = """
import syncdemo

total = 0

@syncdemo.scenario
class Globals:
    def setup(self):
        global total
        total = 0

    def worker(self, thread):
        global total
        seen = total
        total = seen + 1

    def check(self):
        return total == 2
"""


ON_OBJECT = """
import syncdemo

@syncdemo.scenario
class OnTheObject:
    def setup(self):
        self.total = 0

    def worker(self, thread):
        seen = self.total
        self.total = seen + 1

    def check(self):
        return self.total == 2
"""


MIXED = """
import syncdemo

total = 0

@syncdemo.scenario
class Mixed:
    def setup(self):
        global total
        total = 0
        self.calls = 0

    def worker(self, thread):
        global total
        self.calls += 1
        seen = total
        total = seen + 1

    def check(self):
        return total == 2
"""


def _runner_of(path: Path) -> tuple[bool, bool]:
    """(spins on, check_unseen) of a fitted runner of the file's class, after one run."""
    from syncdemo.explore.runner import Runner
    from syncdemo.explore.search import Replay
    from syncdemo.explore.target import Target
    from syncdemo.userfile import load_reference

    scenario = load_reference(str(path))
    config = RunConfig(scenario.name, scenario.default_sync, 2, 1, trials=1, seed=0)
    with Runner(Target(scenario, config)) as runner:
        runner.run(Replay(()))
        return runner.controller.spins, runner.check_unseen


def test_spins_are_off_where_the_tracker_sees_no_write(tmp_path: Path) -> None:
    # a loop round "with no write seen" is a spin only if the tracker sees the writes:
    # module globals are out of its sight, so every loop is an ordinary switch point
    for text, spins in ((GLOBAL, False), (ON_OBJECT, True), (MIXED, True)):
        path = tmp_path / f"case_{spins}_{len(text)}.py"
        path.write_text(textwrap.dedent(text))
        assert _runner_of(path)[0] is spins, text


def test_a_check_that_reads_nothing_the_workers_were_seen_to_write_is_warned_of(
    invoke: Invoke, tmp_path: Path
) -> None:
    # the workers write self.calls (seen) and the global total (not seen); check reads
    # only total: spin detection trusts writes it cannot all see
    path = tmp_path / "mixed.py"
    path.write_text(textwrap.dedent(MIXED))
    data = json.loads(invoke("explore", str(path), "-f", "json").stdout)["explored"]
    assert data["check_unseen"] is True
    assert not data["ok"]  # the lost update is found all the same: switch points do not care
    text = " ".join(invoke("explore", str(path)).stdout.split())
    assert "Warning: the check read none of the shared state the workers were seen" in text
    # only globals: spins are off, nothing relies on the tracker, nothing to warn of
    for quiet in (GLOBAL, ON_OBJECT):
        path.write_text(textwrap.dedent(quiet))
        data = json.loads(invoke("explore", str(path), "-f", "json").stdout)["explored"]
        assert data["check_unseen"] is False and not data["ok"]
        assert "Warning" not in invoke("explore", str(path)).stdout
