"""Many repetitions of the race scenarios; deselected unless ``pytest -m stress``."""

from __future__ import annotations

import pytest
from helpers import run, run_until_violated

from syncdemo import scenarios

ALL = scenarios.all_scenarios()
SAFE = [(s.name, st.name) for s in ALL for st in s.strategies if st.safe]
UNSAFE = [(s.name, st.name) for s in ALL for st in s.strategies if not st.safe]


@pytest.mark.stress
@pytest.mark.timeout(600)
@pytest.mark.parametrize(("name", "sync"), SAFE)
@pytest.mark.parametrize("threads", [2, 16])
def test_safe_strategies_hold_at_full_size(name: str, sync: str, threads: int) -> None:
    result = run(name, sync, threads=threads, trials=5, seed=threads)
    assert [t.outcome.violations for t in result.trials] == [0] * 5


@pytest.mark.stress
@pytest.mark.timeout(600)
@pytest.mark.parametrize(("name", "sync"), UNSAFE)
@pytest.mark.parametrize("repeat", range(10))
def test_unsafe_strategies_violate_within_the_budget_at_the_defaults(
    name: str, sync: str, repeat: int
) -> None:
    """Every seed's run shows the race within the budget (tests/helpers.py)."""
    run_until_violated(name, sync, seed=repeat)


def test_stress_tests_stay_out_of_the_default_run(request: pytest.FixtureRequest) -> None:
    """pyproject.toml promises: deselected unless -m stress (tests/conftest.py does it)."""
    if "stress" in (request.config.getoption("markexpr") or ""):
        pytest.skip("stress tests were asked for")
    selected = request.session.items
    assert request.node in selected
    assert not [item for item in selected if item.get_closest_marker("stress")]
