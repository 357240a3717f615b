"""One configuration for one run, however it is asked for: ``syncdemo.run()`` and the CLI's
``run`` and ``compare`` build the same RunConfig for every scenario, window and runtime;
``sweep``, ``explore`` and ``play`` fill in theirs from the same defaults.

The engine is replaced by a stub that keeps the configuration it was handed and stops
there, so nothing runs: what is compared is what each entry point would have run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from click.testing import CliRunner

import syncdemo
from syncdemo import scenarios
from syncdemo.cli import cli
from syncdemo.results import RunConfig


class Handed(Exception):
    """Raised by the stubs with the configurations they were handed."""

    def __init__(self, configs: Sequence[RunConfig]) -> None:
        super().__init__(len(configs))
        self.configs = list(configs)


@pytest.fixture(autouse=True)
def stubs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The engine and the CLI's executor keep what they were handed instead of running it;
    the suite's SYNCDEMO_RACE_BUDGET=0 (tests/conftest.py) is taken away, so that the real
    default is what is compared."""
    from syncdemo.cli import execute
    from syncdemo.engine import runner

    def engine(scenario: Any, config: RunConfig, **_: Any) -> Any:
        raise Handed([config])

    def planned(plan: Sequence[Any], *_: Any) -> Any:
        raise Handed([p.config for p in plan])

    monkeypatch.setattr(runner, "run", engine)
    monkeypatch.setattr(execute, "execute", planned)
    monkeypatch.delenv("SYNCDEMO_RACE_BUDGET", raising=False)
    yield


def cli_configs(*args: str) -> list[RunConfig]:
    result = CliRunner().invoke(cli, list(args))
    assert isinstance(result.exception, Handed), result.output
    return result.exception.configs


def api_config(scenario: str, **asked: Any) -> RunConfig:
    with pytest.raises(Handed) as handed:
        syncdemo.run(scenario, **asked)
    (config,) = handed.value.configs
    return config


def unseeded(config: RunConfig) -> RunConfig:
    """A config without its seed, which is fresh on every call unless one is given."""
    assert isinstance(config.seed, int)
    return dataclasses.replace(config, seed=0)


def cases() -> Iterator[tuple[str, str | None, str]]:
    """Every built-in scenario with each of its windows (None: the default) and runtimes."""
    for name in scenarios.names():
        scenario = scenarios.get(name)
        for window in (None, *scenario.windows):
            yield name, window, "threads"
        for runtime in scenario.runtimes[1:]:
            yield name, None, runtime


CASES = list(cases())


@pytest.mark.parametrize(("name", "window", "runtime"), CASES, ids=str)
def test_the_api_and_run_build_the_same_config(name: str, window: str | None, runtime: str) -> None:
    args = ["run", name, "--runtime", runtime, *(["--window", window] if window else [])]
    (cli,) = cli_configs(*args)
    api = api_config(name, window=window, runtime=runtime)
    assert unseeded(api) == unseeded(cli)


@pytest.mark.parametrize(("name", "window", "runtime"), [c for c in CASES if not c[1]], ids=str)
def test_compare_builds_each_strategy_as_run_does(
    name: str, window: str | None, runtime: str
) -> None:
    rows = cli_configs("compare", name, "--runtime", runtime, "--seed", "7")
    strategies = scenarios.get(name).strategy_names()
    assert [r.sync for r in rows] == strategies
    for row in rows:
        (run,) = cli_configs("run", name, "--sync", row.sync, "--runtime", runtime, "--seed", "7")
        assert row == run


def test_the_defaults_the_issue_names() -> None:
    """counter --window io: 2,000 increments, on threads, with a race budget of a second,
    from the API as from the CLI (the API once ran 20,000 with no budget)."""
    for config in (api_config("counter", window="io"), *cli_configs("run", "counter", "-w", "io")):
        assert (config.iterations, config.runtime, config.race_budget) == (2_000, "threads", 1.0)
        assert config.trials == 3 and config.timeout == 2.0


def test_the_budget_from_the_environment_reaches_the_api_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNCDEMO_RACE_BUDGET", "0.25")
    assert api_config("counter").race_budget == 0.25
    assert cli_configs("run", "counter")[0].race_budget == 0.25
    monkeypatch.setenv("SYNCDEMO_RACE_BUDGET", "soon")
    with pytest.raises(ValueError, match="SYNCDEMO_RACE_BUDGET='soon'"):
        syncdemo.run("counter")


def test_sweep_points_differ_from_run_only_in_their_size() -> None:
    """A safe strategy's sweep does a quarter of the scenario's iterations (its cost grows
    with each thread), an unsafe one all of them; everything else is run's."""
    for sync, share in (("none", 1), ("lock", 4)):
        (run,) = cli_configs("run", "counter", "--sync", sync, "--seed", "3", "-t", "2")
        points = cli_configs("sweep", "counter", "--sync", sync, "--seed", "3", "-t", "2,4")
        assert [p.threads for p in points] == [2, 4]
        assert points[0] == dataclasses.replace(run, iterations=run.iterations // share)


def test_explore_and_play_take_the_small_sizes_and_the_scenario_seed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from syncdemo.explore import explorer
    from syncdemo.play import Game

    seen: list[RunConfig] = []

    def explore(scenario: Any, config: RunConfig, **_: Any) -> Any:
        raise Handed([config])

    def game(self: Any, scenario: Any, config: RunConfig, granularity: str) -> None:
        raise Handed([config])

    monkeypatch.setattr(explorer, "explore", explore)
    monkeypatch.setattr(Game, "__init__", game)
    for command in ("explore", "play"):
        seen += cli_configs(command, "condition-wait")
    explored, played = seen
    scenario = scenarios.get("condition-wait")
    assert (explored.threads, explored.iterations) == (3, 1)  # its explore_threads/_iterations
    assert (played.threads, played.iterations) == (2, 1)  # play's game, as --help says
    for config in seen:
        assert config.seed == scenario.explore_seed and config.trials == 1
        assert config.race_budget == 0.0 and config.runtime == "threads"
        assert config.window == scenario.default_window


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "counter", "--sync", "mutex"], "Invalid value for '--sync': counter has no"),
        (["run", "counter", "-w", "wide"], "Invalid value for '--window': counter has no window"),
        (["run", "barrier", "-r", "asyncio"], "barrier runs on threads, not asyncio."),
        (["run", "counter", "-r", "asyncio", "--trace"], "--trace and --export-trace record"),
        (["compare", "counter:mutex"], "Invalid value for 'counter:mutex': counter has no"),
        (["play", "counter", "--sync", "mutex"], "Invalid value for '--sync': counter has no"),
    ],
)
def test_a_value_the_resolver_refuses_is_one_usage_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
