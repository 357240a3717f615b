"""What the design guarantees about every scenario, and nothing more.

Unsafe strategies at the scenario's defaults violate the invariant; safe strategies never
do; one thread never does. How many violations an unsafe run shows is up to the machine.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from helpers import run, run_until_violated

from syncdemo import scenarios
from syncdemo.results import RunConfig
from syncdemo.scenarios.base import Scenario

ALL = scenarios.all_scenarios()
UNSAFE = [("counter", "none"), ("producer-consumer", "none"), ("barrier", "none")]
#: (scenario, strategy, iterations): small enough to keep the suite fast.
SAFE = [
    ("counter", "lock", 3000),
    ("locked-counter", "lock", 3000),
    ("producer-consumer", "condition", 400),
    ("producer-consumer", "queue", 400),
    ("barrier", "barrier", 200),
    # the catalogue (tests/test_catalogue.py checks their unsafe strategies and details)
    ("deadlock", "ordered", 100),
    ("deadlock", "trylock", 100),
    ("dining-philosophers", "ordered", 50),
    ("dining-philosophers", "waiter", 50),
    ("dining-philosophers", "trylock", 50),
    ("readers-writers", "reader-preference", 40),
    ("readers-writers", "writer-preference", 40),
    ("readers-writers", "fair", 40),
    ("bank-transfer", "global-lock", 100),
    ("bank-transfer", "account-locks", 100),
    ("lazy-init", "lock", 50),
    ("lazy-init", "double-checked", 50),
    ("bounded-pool", "semaphore", 100),
    ("condition-wait", "while-wait", 150),
    ("condition-wait", "wait-for", 150),
    # the course scenarios (tests/test_course_scenarios.py checks their broken strategies)
    ("counter", "sharded", 3000),
    ("locked-counter", "sharded", 3000),
    ("livelock", "backoff", 300),
    ("livelock", "ordered", 300),
    ("reentrant", "rlock", 200),
    ("reentrant", "split", 200),
    ("leaked-lock", "with", 100),
    ("leaked-lock", "try-finally", 100),
    ("semaphore", "with", 100),
    ("queue-shutdown", "sentinel", 300),
    ("queue-shutdown", "timeout", 300),
    *([("queue-shutdown", "shutdown", 300)] if sys.version_info >= (3, 13) else []),
    ("print-interleave", "lock", 500),
    ("print-interleave", "one-write", 500),
    ("shared-dict", "lock", 1000),
    ("shared-dict", "merge", 1000),
    ("shared-dict", "append", 1000),
]
#: Broken strategies that fail with one thread too: a thread that takes a Lock it holds.
FAIL_ALONE = {("reentrant", "lock")}
EVERY_STRATEGY = [(s.name, strategy.name) for s in ALL for strategy in s.strategies]


def by_name(scenario: Scenario[Any]) -> str:
    return scenario.name


# --- the registry ---------------------------------------------------------------------------


def test_the_documented_scenarios_are_registered() -> None:
    assert {"counter", "locked-counter", "producer-consumer", "barrier"} <= set(scenarios.names())
    assert len(scenarios.names()) == len(set(scenarios.names()))


@pytest.mark.parametrize("scenario", ALL, ids=by_name)
def test_scenario_declares_the_contract(scenario: Scenario[Any]) -> None:
    for attribute in (
        "name",
        "summary",
        "explanation",
        "invariant",
        "shared_state",
        "violation_noun",
        "iterations_meaning",
    ):
        value = getattr(scenario, attribute)
        assert isinstance(value, str) and value.strip(), attribute
    assert scenario.why.gil.strip() and scenario.why.free_threaded.strip()
    assert scenario.why.gil != scenario.why.free_threaded
    assert scenario.name == scenario.name.strip().lower()
    assert " " not in scenario.name
    assert any(s.safe for s in scenario.strategies), "needs a fix to show"
    assert any(not s.safe for s in scenario.strategies), "needs a race to show"
    assert scenario.default_sync in scenario.strategy_names()
    assert len(set(scenario.strategy_names())) == len(scenario.strategies)
    assert 1 <= scenario.default_threads <= 2048
    assert scenario.default_iterations >= 1
    for strategy in scenario.strategies:
        assert strategy.summary.strip() and strategy.cost.strip()
        assert scenario.strategy(strategy.name) is strategy
        for threads in (1, 2, scenario.default_threads):
            cfg = RunConfig(scenario.name, strategy.name, threads, 1, 1, 0)
            roles = scenario.roles(cfg)
            assert len(roles) == threads
            assert set(roles) <= set(strategy.workers), "every role needs a worker"
    assert scenarios.get(scenario.name) is scenario


def test_lookup_of_an_unknown_name_suggests() -> None:
    with pytest.raises(scenarios.UnknownScenario) as raised:
        scenarios.get("countr")
    assert "counter" in raised.value.suggestions
    assert "Did you mean 'counter'" in str(raised.value)
    assert isinstance(raised.value, LookupError)


def test_a_plugin_cannot_take_a_builtin_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from syncdemo.scenarios import plugins

    target = "syncdemo.scenarios.barrier:BarrierScenario"
    monkeypatch.setattr(
        plugins, "entry_points", lambda group: [("barrier", target, "someone-else")]
    )
    monkeypatch.setattr(scenarios, "_entries", None)
    before = [e.name for e in scenarios.entries()]
    assert before.count("barrier") == 1
    (clash,) = scenarios.problems()
    assert clash.name == "barrier" and "clashes with a built-in" in clash.problem


def test_loading_refuses_an_unknown_default_sync() -> None:
    entry = scenarios.Entry(name="broken-for-test", target="syncdemo.scenarios.barrier:Broken")

    class Broken(type(scenarios.get("barrier"))):  # type: ignore[misc]
        name = "broken-for-test"
        default_sync = "spinlock"

    import syncdemo.scenarios.barrier as module

    module.Broken = Broken  # type: ignore[attr-defined]
    try:
        with pytest.raises(ValueError, match="spinlock"):
            scenarios.load(entry)
    finally:
        del module.Broken  # type: ignore[attr-defined]
    assert "broken-for-test" not in scenarios.names()


@pytest.mark.parametrize("scenario", ALL, ids=by_name)
def test_scenario_reaches_every_command(invoke: Callable[..., Result], scenario: Any) -> None:
    """Registering is enough: list, describe and run (all formats) pick a scenario up."""
    listed = invoke("list")
    assert listed.exit_code == 0 and scenario.name in listed.stdout
    as_json = json.loads(invoke("list", "--format", "json").stdout)
    assert scenario.name in [entry["name"] for entry in as_json]

    described = invoke("describe", scenario.name)
    assert described.exit_code == 0, described.output
    assert scenario.name in described.stdout
    assert " ".join(scenario.invariant.split()) in " ".join(described.stdout.split())

    for sync in scenario.strategy_names():
        tiny = ("run", scenario.name, "-s", sync, "-n", "50", "--trials", "1", "--race-budget", "0")
        table = invoke(*tiny)
        assert table.exit_code == 0, table.output
        assert f"{scenario.name} · --sync {sync}" in table.stdout

        data = json.loads(invoke(*tiny, "--format", "json").stdout)
        assert (data["scenario"], data["sync"]) == (scenario.name, sync)
        assert data["invariant"] == scenario.invariant

        rows = list(csv.DictReader(io.StringIO(invoke(*tiny, "--format", "csv").stdout)))
        assert len(rows) == 1
        assert (rows[0]["scenario"], rows[0]["sync"]) == (scenario.name, sync)


@pytest.mark.parametrize("scenario", ALL, ids=by_name)
def test_describe_shows_every_worker(invoke: Callable[..., Result], scenario: Any) -> None:
    from syncdemo.engine.context import lesson_of

    result = invoke("describe", scenario.name)
    text = " ".join(result.stdout.split())
    cfg = RunConfig(scenario.name, scenario.default_sync, scenario.default_threads, 1, 1, 0)
    roles = set(scenario.roles(cfg))
    for strategy in scenario.strategies:
        assert f"--sync {strategy.name}" in text
        for role in roles:
            assert f"def {lesson_of(strategy.workers[role]).__name__}(" in result.stdout


# --- behaviour under threads ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "sync"), UNSAFE)
def test_unsafe_strategy_violates_at_the_defaults(name: str, sync: str) -> None:
    """Seen at least once within the budget (a busy machine can make single trials miss)."""
    assert not scenarios.get(name).strategy(sync).safe
    result = run_until_violated(name, sync)
    violated = [t for t in result.trials if not t.ok]
    assert all(t.outcome.violations > 0 for t in violated)
    assert "broke" in result.verdict


@pytest.mark.parametrize(("name", "sync", "iterations"), SAFE)
@pytest.mark.parametrize("threads", [None, 3, 8])
def test_safe_strategy_never_violates(
    name: str, sync: str, iterations: int, threads: int | None
) -> None:
    scenario = scenarios.get(name)
    assert scenario.strategy(sync).safe
    result = run(
        name,
        sync,
        threads=threads or scenario.default_threads,
        iterations=iterations,
        trials=4,
    )
    assert [t.outcome.violations for t in result.trials] == [0, 0, 0, 0]
    assert result.ok
    for t in result.trials:
        assert t.outcome.observed == t.outcome.expected > 0
    assert "held" in result.verdict


def test_safe_strategies_cover_every_safe_strategy() -> None:
    safe = {(s.name, st.name) for s in ALL for st in s.strategies if st.safe}
    assert safe == {(name, sync) for name, sync, _ in SAFE}
    unsafe = {(s.name, st.name) for s in ALL for st in s.strategies if not st.safe}
    assert {("counter", "none"), ("producer-consumer", "none"), ("barrier", "none")} <= unsafe


@pytest.mark.parametrize(("name", "sync"), [p for p in EVERY_STRATEGY if p not in FAIL_ALONE])
def test_one_thread_never_violates(name: str, sync: str) -> None:
    iterations = min(scenarios.get(name).default_iterations, 1000)
    result = run(name, sync, threads=1, iterations=iterations)
    assert result.ok, [t.outcome for t in result.trials]
    for t in result.trials:
        assert t.outcome.observed == t.outcome.expected > 0
        assert len(t.threads) == 1
    assert "cannot race with itself" in result.verdict


def test_counter_expected_is_threads_times_iterations() -> None:
    result = run("counter", "lock", threads=5, iterations=700)
    assert {t.outcome.expected for t in result.trials} == {3500}


def test_producer_consumer_details_explain_the_violations() -> None:
    result = run("producer-consumer", "none")
    for t in result.trials:
        d: dict[str, Any] = dict(t.outcome.details)
        assert d["lost"] + d["duplicated"] == t.outcome.violations
        assert d["capacity"] == 8
        assert d["high_water"] > 0


def test_producer_consumer_safe_strategies_respect_the_capacity() -> None:
    for sync in ("condition", "queue"):
        result = run("producer-consumer", sync, threads=6, iterations=300)
        for t in result.trials:
            d: dict[str, Any] = dict(t.outcome.details)
            assert d["high_water"] <= d["capacity"]
            assert d["lost"] == d["duplicated"] == 0


def test_barrier_details_count_stale_and_early_reads() -> None:
    result = run("barrier", "none")
    threads, phases = result.config.threads, result.config.iterations
    for t in result.trials:
        d: dict[str, Any] = dict(t.outcome.details)
        assert d["stale"] + d["early"] == t.outcome.violations
        assert d["reads"] == t.outcome.expected == threads * phases * threads
