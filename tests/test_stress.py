"""Many repetitions of the race scenarios; deselected unless ``pytest -m stress``."""

from __future__ import annotations

import pytest

from syncdemo import scenarios
from syncdemo.engine import runner as engine
from syncdemo.results import RunConfig, RunResult

ALL = scenarios.all_scenarios()
SAFE = [(s.name, st.name) for s in ALL for st in s.strategies if st.safe]
UNSAFE = [(s.name, st.name) for s in ALL for st in s.strategies if not st.safe]


def run(name: str, sync: str, threads: int, trials: int, seed: int) -> RunResult:
    scenario = scenarios.get(name)
    config = RunConfig(
        scenario=name,
        sync=sync,
        threads=threads,
        iterations=scenario.default_iterations,
        trials=trials,
        seed=seed,
        switch_interval=0.0001,
    )
    return engine.run(scenario, config)


@pytest.mark.stress
@pytest.mark.timeout(600)
@pytest.mark.parametrize(("name", "sync"), SAFE)
@pytest.mark.parametrize("threads", [2, 16])
def test_safe_strategies_hold_at_full_size(name: str, sync: str, threads: int) -> None:
    result = run(name, sync, threads, trials=5, seed=threads)
    assert [t.outcome.violations for t in result.trials] == [0] * 5


@pytest.mark.stress
@pytest.mark.timeout(600)
@pytest.mark.parametrize(("name", "sync"), UNSAFE)
@pytest.mark.parametrize("repeat", range(10))
def test_unsafe_strategies_violate_every_time_at_the_defaults(
    name: str, sync: str, repeat: int
) -> None:
    threads = scenarios.get(name).default_threads
    assert run(name, sync, threads, trials=3, seed=repeat).violated >= 1


def test_stress_tests_stay_out_of_the_default_run(request: pytest.FixtureRequest) -> None:
    """pyproject.toml promises: deselected unless -m stress (tests/conftest.py does it)."""
    if "stress" in (request.config.getoption("markexpr") or ""):
        pytest.skip("stress tests were asked for")
    selected = request.session.items
    assert request.node in selected
    assert not [item for item in selected if item.get_closest_marker("stress")]
