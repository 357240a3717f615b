"""Bad input ends in exit 2 and one clear line on stderr, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

from syncdemo import scenarios
from syncdemo.cli.options import MAX_ITERATIONS, MAX_THREADS, MAX_TRIALS
from syncdemo.scenarios.base import Scenario

Invoke = Callable[..., Result]
UsageError = Callable[[Result], str]

RANGES = [
    ("--threads", MAX_THREADS),
    ("-t", MAX_THREADS),
    ("--iterations", MAX_ITERATIONS),
    ("-n", MAX_ITERATIONS),
    ("--trials", MAX_TRIALS),
]


@pytest.mark.parametrize(("option", "maximum"), RANGES)
@pytest.mark.parametrize("value", ["0", "-1", "999999999"])
def test_out_of_range_numbers(
    invoke: Invoke, usage_error: UsageError, option: str, maximum: int, value: str
) -> None:
    line = usage_error(invoke("run", "counter", option, value))
    assert option in line
    assert value in line
    assert str(maximum) in line, "the message must say what is allowed"


def test_threads_999999_names_the_limit(invoke: Invoke, usage_error: UsageError) -> None:
    line = usage_error(invoke("run", "counter", "--threads", "999999"))
    assert "999999" in line
    assert "2048" in line


@pytest.mark.parametrize(("option", "maximum"), RANGES)
@pytest.mark.parametrize("value", ["abc", "1.5", ""])
def test_not_a_number(
    invoke: Invoke, usage_error: UsageError, option: str, maximum: int, value: str
) -> None:
    line = usage_error(invoke("run", "counter", option, value))
    assert option in line
    assert repr(value) in line


@pytest.mark.parametrize("option", ["--threads", "--iterations", "--trials", "--seed", "--sync"])
def test_option_without_a_value(invoke: Invoke, usage_error: UsageError, option: str) -> None:
    line = usage_error(invoke("run", "counter", option))
    assert option in line


@pytest.mark.parametrize("value", ["-1", "abc", str(2**63)])
def test_bad_seed(invoke: Invoke, usage_error: UsageError, value: str) -> None:
    assert "--seed" in usage_error(invoke("run", "counter", "--seed", value))


@pytest.mark.parametrize("scenario", scenarios.all_scenarios(), ids=lambda s: s.name)
@pytest.mark.parametrize("flag", ["--sync", "-s"])
def test_unknown_sync_lists_the_valid_strategies(
    invoke: Invoke, usage_error: UsageError, scenario: Scenario[Any], flag: str
) -> None:
    line = usage_error(invoke("run", scenario.name, flag, "spinlock"))
    assert "--sync" in line
    assert "'spinlock'" in line
    listed = line.rsplit(":", 1)[-1]
    for name in scenario.strategy_names():
        assert name in listed


def test_sync_of_another_scenario_is_refused(invoke: Invoke, usage_error: UsageError) -> None:
    line = usage_error(invoke("run", "counter", "--sync", "barrier"))
    assert "'barrier'" in line
    assert "none" in line and "lock" in line


@pytest.mark.parametrize("fmt", ["xml", "JSONL", "tab"])
def test_unknown_format(invoke: Invoke, usage_error: UsageError, fmt: str) -> None:
    line = usage_error(invoke("run", "counter", "--format", fmt))
    assert "--format" in line
    for valid in ("table", "json", "csv"):
        assert valid in line


@pytest.mark.parametrize("command", ["run", "describe"])
@pytest.mark.parametrize(
    ("typo", "meant"),
    [("countr", "counter"), ("barier", "barrier"), ("producer_consumer", "producer-consumer")],
)
def test_unknown_scenario_suggests_the_closest(
    invoke: Invoke, usage_error: UsageError, command: str, typo: str, meant: str
) -> None:
    line = usage_error(invoke(command, typo))
    assert f"'{typo}'" in line
    assert "Did you mean" in line
    assert f"'{meant}'" in line


@pytest.mark.parametrize("command", ["run", "describe"])
def test_unknown_scenario_without_a_close_match(
    invoke: Invoke, usage_error: UsageError, command: str
) -> None:
    line = usage_error(invoke(command, "zzzzqqqq"))
    assert "'zzzzqqqq'" in line
    assert "Did you mean" not in line
    assert "syncdemo list" in line


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "outside"),
        ("-0.001", "outside"),
        ("2", "outside"),
        ("0.0000001", "outside"),
        ("nan", "outside"),
        ("inf", "outside"),
        ("abc", "not a number"),
        ("", "not a number"),
    ],
)
def test_bad_switch_interval(
    invoke: Invoke, usage_error: UsageError, value: str, says: str
) -> None:
    line = usage_error(invoke("run", "counter", "--switch-interval", value))
    assert "--switch-interval" in line
    assert says in line


def test_unknown_option(invoke: Invoke, usage_error: UsageError) -> None:
    assert "--thread" in usage_error(invoke("run", "counter", "--thread", "4"))


def test_unknown_command(invoke: Invoke, usage_error: UsageError) -> None:
    assert "'rnu'" in usage_error(invoke("rnu", "counter"))
