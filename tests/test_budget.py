"""--race-budget: an unsafe strategy's run keeps running trials until one shows the race.

The mechanics are tested on a scenario that violates at a trial chosen by the test, so
these assertions are exact; the real races are asserted within a budget elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import Result

from syncdemo import scenarios
from syncdemo.engine import runner as engine
from syncdemo.engine.context import ThreadContext
from syncdemo.results import Outcome, RunConfig
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks
from syncdemo.scenarios.counter import IO_ITERATIONS

Invoke = Callable[..., Result]


@dataclass(eq=False)
class Trial:
    number: int


def do_nothing(state: Trial, ctx: ThreadContext) -> None:
    for chunk in ctx.chunks():
        for _ in chunk:
            pass


class ViolatesAt(Scenario[Trial]):
    """Violates its invariant in trial ``at`` (never when ``at`` is 0), whatever the threads do."""

    name = "violates-at-for-test"
    summary = explanation = shared_state = invariant = "test"
    violation_noun = "violations"
    why = WhyItBreaks(gil="g", free_threaded="f")
    strategies = (
        Strategy("unsafe", "", "", False, {"worker": do_nothing}),
        Strategy("safe", "", "", True, {"worker": do_nothing}),
    )
    default_sync = "unsafe"

    def __init__(self, at: int) -> None:
        self.at = at
        self.setups = 0

    def setup(self, config: RunConfig) -> Trial:
        self.setups += 1
        return Trial(self.setups)

    def check(self, state: Trial, contexts: Sequence[ThreadContext]) -> Outcome:
        bad = int(state.number == self.at)
        return Outcome(expected=1, observed=1 - bad, violations=bad)


def run(at: int, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "scenario": ViolatesAt.name,
        "sync": "unsafe",
        "threads": 2,
        "iterations": 10,
        "trials": 3,
        "seed": 0,
        "race_budget": 30.0,
    }
    values.update(changes)
    return engine.run(ViolatesAt(at), RunConfig(**values))


def test_runs_on_until_a_trial_violates_and_says_which() -> None:
    result = run(at=7)
    assert [t.trial for t in result.trials] == [1, 2, 3, 4, 5, 6, 7]
    assert [t.ok for t in result.trials] == [True] * 6 + [False]
    assert result.budget is not None
    assert (result.budget.asked, result.budget.extra, result.budget.first_violated) == (3, 4, 7)
    assert result.budget.budget_s == 30.0
    assert 0 < result.budget.elapsed_s < 30.0


def test_no_extra_trial_when_the_asked_ones_showed_it() -> None:
    result = run(at=2)
    assert len(result.trials) == 3, "all the trials asked for run, and no more"
    assert result.budget is not None
    assert (result.budget.extra, result.budget.first_violated) == (0, 2)


def test_stops_when_the_budget_is_spent() -> None:
    """Trials go on until the run has lasted the budget, then stop (how many fit in it
    depends on the machine: a trial of nothing took 0.2 s on a loaded 3.13t)."""
    result = run(at=0, trials=1, race_budget=0.5)
    assert result.ok
    assert result.budget is not None
    assert result.budget.first_violated is None
    assert result.budget.extra == len(result.trials) - 1
    assert result.budget.elapsed_s >= 0.5
    assert result.budget.elapsed_s < 30, "a hang guard: it stops once the budget is spent"


@pytest.mark.parametrize(
    "changes",
    [{"sync": "safe"}, {"threads": 1}, {"race_budget": 0.0}],
    ids=["safe strategy", "one thread", "no budget"],
)
def test_runs_exactly_the_trials_when_it_does_not_apply(changes: dict[str, Any]) -> None:
    result = run(at=0, **changes)
    assert len(result.trials) == 3
    assert result.budget is None


def test_ctrl_c_keeps_what_the_budget_did(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = ViolatesAt(0)
    real_check = scenario.check

    def check_then_interrupt(state: Trial, contexts: Sequence[ThreadContext]) -> Outcome:
        if state.number == 5:
            raise KeyboardInterrupt
        return real_check(state, contexts)

    monkeypatch.setattr(scenario, "check", check_then_interrupt)
    config = RunConfig(ViolatesAt.name, "unsafe", 2, 10, 3, 0, race_budget=30.0)
    with pytest.raises(engine.RunInterrupted) as stop:
        engine.run(scenario, config)
    partial = stop.value.partial
    assert len(partial.trials) == 4
    assert partial.budget is not None and partial.budget.extra == 1


# --- the CLI ------------------------------------------------------------------------------


def test_run_reports_the_budget_in_json_and_in_the_table(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(scenarios._registry, ViolatesAt.name, ViolatesAt(5))
    args = ("run", ViolatesAt.name, "-t", "2", "-n", "10", "--race-budget", "30")
    data = json.loads(invoke(*args, "-f", "json").stdout)
    assert data["params"]["race_budget"] == 30.0
    assert data["params"]["trials"] == 3 and len(data["trials"]) == 5
    assert data["budget"] | {"elapsed_s": 0} == {
        "budget_s": 30.0,
        "asked": 3,
        "extra": 2,
        "first_violated": 5,
        "elapsed_s": 0,
    }
    monkeypatch.setitem(scenarios._registry, ViolatesAt.name, ViolatesAt(5))
    text = " ".join(invoke(*args).stdout.split())
    assert "Race budget: none of the 3 trials asked for violated the invariant" in text
    assert "trial 5 did" in text


def test_run_says_nothing_of_the_budget_when_it_ran_no_extra_trial(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(scenarios._registry, ViolatesAt.name, ViolatesAt(1))
    result = invoke("run", ViolatesAt.name, "-t", "2", "-n", "10", "--race-budget", "30")
    assert "Race budget" not in result.stdout


def test_the_default_budget_is_about_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """A demo that misses its race looks for it this long: a class waits about a second."""
    monkeypatch.delenv("SYNCDEMO_RACE_BUDGET")  # tests/conftest.py sets 0 for the suite
    from click.testing import CliRunner

    from syncdemo.cli import cli

    scenario = ViolatesAt(0)
    monkeypatch.setitem(scenarios._registry, ViolatesAt.name, scenario)
    result = CliRunner().invoke(cli, ["run", ViolatesAt.name, "-t", "2", "-n", "1", "-f", "json"])
    assert json.loads(result.stdout)["params"]["race_budget"] == 1.0


# --- each --window has its own default --iterations ---------------------------------------


def test_window_io_has_its_own_default_iterations(invoke: Invoke) -> None:
    counter = scenarios.get("counter")
    assert (
        counter.default_iterations_for("threads", "io")
        == IO_ITERATIONS
        < counter.default_iterations
    )
    assert counter.default_iterations_for("threads", "call") == counter.default_iterations
    assert counter.default_iterations_for("threads", "none") == counter.default_iterations
    data = json.loads(
        invoke(
            "run", "counter", "-w", "io", "--trials", "1", "--timeout", "60", "-f", "json"
        ).stdout
    )
    assert data["params"]["iterations"] == IO_ITERATIONS
    data = json.loads(
        invoke(
            "run", "counter", "-s", "lock", "-w", "io", "-n", "7", "--trials", "1", "-f", "json"
        ).stdout
    )
    assert data["params"]["iterations"] == 7, "--iterations still wins"


def test_describe_gives_the_io_windows_default(invoke: Invoke) -> None:
    text = " ".join(invoke("describe", "counter").stdout.split())
    assert f"Default --iterations {IO_ITERATIONS:,}" in text


@pytest.mark.parametrize(
    ("asked", "extra", "first", "expected"),
    [
        (
            3,
            4,
            7,
            "none of the 3 trials asked for violated the invariant; run on for up to "
            "1 s, trial 7 did, after 250.0 ms.",
        ),
        (
            1,
            1,
            None,
            "the trial asked for did not violate the invariant; run on for up to "
            "1 s, the one more did not either (250.0 ms in all).",
        ),
        (
            3,
            12,
            None,
            "none of the 3 trials asked for violated the invariant; run on for up "
            "to 1 s, none of 12 more did (250.0 ms in all).",
        ),
    ],
)
def test_budget_line_counts_in_words(
    asked: int, extra: int, first: int | None, expected: str
) -> None:
    from syncdemo.render.table import budget_line
    from syncdemo.results import BudgetUse

    assert budget_line(BudgetUse(1.0, asked, extra, first, 0.25)) == expected
