"""Shared fixtures: a CliRunner that keeps stdout and stderr apart, hand-built results."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from syncdemo.cli import cli
from syncdemo.results import (
    Outcome,
    RunConfig,
    RunResult,
    RuntimeInfo,
    ThreadStats,
    TrialResult,
)

#: Wide enough that Rich never wraps a scenario name, an invariant or a worker's signature.
COLUMNS = "200"

#: Every ``syncdemo run`` in the tests, in process or in a child, runs exactly its --trials
#: unless it asks for a race budget (tests/helpers.py UNTIL_SEEN): a tiny run that cannot
#: race would otherwise spend the default second looking for a race, in hundreds of tests.
os.environ["SYNCDEMO_RACE_BUDGET"] = "0"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep ``@pytest.mark.stress`` tests out of the default run, as pyproject.toml promises."""
    if "stress" in (config.getoption("markexpr", "") or ""):
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        (drop if item.get_closest_marker("stress") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def _restore_switch_interval() -> Iterator[None]:
    """A failing test must not leave the whole session on a 0.1 ms switch interval."""
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """For tests that press Ctrl-C with ``_thread.interrupt_main()``: it does nothing while
    SIGINT is ignored, as it is in a shell's background job (a CI job run with ``&``)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def invoke() -> Callable[..., Result]:
    """Run the CLI in-process. Exceptions other than SystemExit propagate (fail loudly).

    Click 8.2+ always keeps ``result.stderr`` apart from ``result.stdout``; ``result.output``
    is both, interleaved, as a terminal would show them.
    """
    runner = CliRunner(env={"COLUMNS": COLUMNS, "NO_COLOR": None, "FORCE_COLOR": None})

    def _invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return _invoke


@pytest.fixture
def run_json(invoke: Callable[..., Result]) -> Callable[..., dict[str, Any]]:
    """``syncdemo run ... --format json``, asserting it exited 0; returns the parsed document."""

    def _run_json(*args: str) -> dict[str, Any]:
        result = invoke("run", *args, "--format", "json")
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    return _run_json


def runtime(**changes: Any) -> RuntimeInfo:
    """Interpreter facts chosen by the test, not read from this interpreter."""
    facts: dict[str, Any] = {
        "python": "3.13.1",
        "implementation": "CPython",
        "gil": True,
        "free_threaded_build": False,
        "switch_interval": 0.0001,
        "switch_interval_default": 0.005,
        "cpus": 8,
        "platform": "Linux x86_64",
    }
    facts.update(changes)
    return RuntimeInfo(**facts)


def trial(number: int, expected: int, observed: int, threads: int = 2) -> TrialResult:
    violations = expected - observed
    per_thread = expected // threads
    return TrialResult(
        trial=number,
        outcome=Outcome(expected=expected, observed=observed, violations=violations),
        elapsed_s=0.002 * number,
        ops=expected,
        kept_ops=observed,  # every increment done, the lost ones not kept
        threads=tuple(
            ThreadStats(index=i, role="worker", ops=per_thread, elapsed_s=0.001, wait_s=0.0)
            for i in range(threads)
        ),
    )


@pytest.fixture
def make_result() -> Callable[..., RunResult]:
    """A counter RunResult built by hand: (expected, observed) per trial, chosen runtime."""
    from syncdemo import scenarios

    def _make(
        observed: tuple[int, ...] = (2000, 1500),
        *,
        gil: bool = True,
        free_threaded_build: bool = False,
        sync: str = "none",
        threads: int = 2,
        interrupted: bool = False,
    ) -> RunResult:
        scenario = scenarios.get("counter")
        config = RunConfig(
            scenario="counter",
            sync=sync,
            threads=threads,
            iterations=1000,
            trials=len(observed),
            seed=7,
            switch_interval=0.0001,
        )
        trials = tuple(
            trial(i, threads * 1000, seen, threads) for i, seen in enumerate(observed, start=1)
        )
        ok = all(t.ok for t in trials)
        return RunResult(
            config=config,
            runtime=runtime(gil=gil, free_threaded_build=free_threaded_build),
            invariant=scenario.invariant,
            violation_noun=scenario.violation_noun,
            trials=trials,
            verdict=scenario.verdict(ok, config, gil),
            interrupted=interrupted,
        )

    return _make


@pytest.fixture
def make_runtime() -> Callable[..., RuntimeInfo]:
    return runtime


@pytest.fixture
def usage_error() -> Callable[[Result], str]:
    """Check a usage error as a user sees it; return its one ``Error:`` line."""

    def _check(result: Result) -> str:
        assert result.exit_code == 2, result.output
        assert isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output
        assert result.stdout == "", "errors go to stderr, never mixed into data on stdout"
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
        assert len(errors) == 1, result.stderr
        return errors[0]

    return _check
