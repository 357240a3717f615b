"""Issue 3: outcome histograms, evidence rebuilt from --trace, race windows."""

from __future__ import annotations

import json
from typing import Any

import helpers
import pytest
from click.testing import CliRunner

from syncdemo import scenarios
from syncdemo.cli import cli
from syncdemo.engine import context
from syncdemo.engine import runner as engine
from syncdemo.engine.outcomes import BUCKETS, histogram
from syncdemo.results import RunConfig, RunResult


def run(name: str, sync: str | None = None, **kw: Any) -> RunResult:
    """A run at ``name``'s defaults (its default strategy unless ``sync``), seed 1."""
    kw.setdefault("seed", 1)
    return helpers.run(name, sync or scenarios.get(name).default_sync, **kw)


def run_until_violated(name: str, sync: str | None = None, **kw: Any) -> RunResult:
    """Trials until one violates, within the tests' budget (tests/helpers.py)."""
    kw.setdefault("seed", 1)
    return helpers.run_until_violated(name, sync or scenarios.get(name).default_sync, **kw)


def test_counter_evidence_shows_two_threads_reading_the_same_value() -> None:
    result = run_until_violated("counter", trace=True, show=3)
    evidence = [ev for t in result.trials for ev in t.evidence]
    assert evidence, "a run with lost updates produced no evidence"
    for ev in evidence:
        assert ev.kind == "lost update"
        later, first = ev.threads
        assert later != first
        reads = [s for s in ev.steps if s.action.startswith("read")]
        assert len(reads) == 2
        assert {s.thread for s in reads} == {later, first}
        assert reads[0].action == reads[1].action  # the same value read by both
        last = ev.steps[-1]
        assert last.highlight and last.thread == later
        read_value = int(reads[0].action.split()[1].replace(",", ""))
        assert last.action == f"write {read_value + 1:,}"
        times = [s.t_ns for s in ev.steps]
        assert times == sorted(times)


def test_locked_counter_yields_no_evidence() -> None:
    result = run("locked-counter", iterations=2_000, trace=True)
    assert result.ok
    assert all(t.evidence == () for t in result.trials)
    assert all(t.trace is not None and t.trace.events == 2 * t.ops for t in result.trials)


def test_trace_overhead_is_measured_against_an_untraced_trial() -> None:
    result = run("counter", iterations=2_000, trials=1, trace=True)
    overhead = result.trace_overhead()
    assert overhead is not None
    assert overhead["untraced_ops_per_s"] > 0
    assert overhead["slowdown"] == pytest.approx(
        overhead["untraced_ops_per_s"] / overhead["traced_ops_per_s"]
    )
    assert run("counter", iterations=500, trials=1).trace_overhead() is None


def test_trace_memory_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "TRACE_EVENTS_MAX", 4_000)  # the runner reads its own name
    result = run("counter", threads=2, iterations=50_000, trials=1, trace=True)
    trace = result.trials[0].trace
    assert trace is not None and trace.capped
    # each thread stops at the first chunk boundary past its share (1000 minimum each)
    assert trace.events <= 2 * (2_000 + 2 * context.CHUNK)


def test_histogram_counts_add_up_and_grades_agree_with_ok() -> None:
    for name, sync in (("counter", "none"), ("counter", "lock"), ("barrier", "none")):
        result = run(name, sync, iterations=500, trials=6)
        assert sum(o.count for o in result.outcomes) == 6
        assert sum(o.frequency for o in result.outcomes) == pytest.approx(1.0)
        for trial in result.trials:
            assert (trial.grade == "ACCEPTABLE") == trial.ok


def test_histogram_buckets_many_distinct_values() -> None:
    samples = [(v, "FORBIDDEN") for v in range(100, 2100, 100)] + [(5000, "ACCEPTABLE")]
    bins = histogram(samples, {"FORBIDDEN": "bad"})
    forbidden = [b for b in bins if b.grade == "FORBIDDEN"]
    assert 1 < len(forbidden) <= BUCKETS
    assert sum(b.count for b in bins) == len(samples)
    assert bins[-1].outcome == "5,000" and bins[-1].grade == "ACCEPTABLE"
    assert forbidden[0].outcome.startswith("100 to ")


def test_counter_grades_interesting_below_one_threads_count() -> None:
    scenario = scenarios.get("counter")
    config = RunConfig("counter", "none", threads=4, iterations=100, trials=1, seed=0)
    from syncdemo.results import Outcome

    assert scenario.grade(Outcome(400, 400, 0), config) == "ACCEPTABLE"
    assert scenario.grade(Outcome(400, 150, 250), config) == "FORBIDDEN"
    assert scenario.grade(Outcome(400, 99, 301), config) == "INTERESTING"


def test_producer_consumer_evidence_names_the_item_and_threads() -> None:
    result = run_until_violated("producer-consumer", "none", trace=True, show=4)
    evidence = [ev for t in result.trials for ev in t.evidence]
    assert evidence
    consumers = {2, 3}  # 4 threads: 0 and 1 produce, 2 and 3 consume
    for ev in evidence:
        assert ev.kind in ("item taken twice", "item overwritten (lost)")
        if ev.kind == "item taken twice":
            assert len(set(ev.threads)) == 2
            assert set(ev.threads) == consumers
            item = ev.steps[0].action.split()[-1]
            assert all(s.action.endswith(f"item {item}") for s in ev.steps)


def test_barrier_evidence_shows_the_stale_slot() -> None:
    result = run_until_violated("barrier", "none", iterations=100, trace=True)
    evidence = result.trials[-1].evidence
    assert evidence
    for ev in evidence:
        reader, owner = ev.threads
        assert ev.kind in ("stale read", "early read")
        read = next(s for s in ev.steps if s.highlight)
        assert read.thread == reader and read.action == f"read slot {owner}"


def test_window_none_one_thread_never_violates() -> None:
    for sync in ("none", "lock"):
        result = run("counter", sync, threads=1, window="none", iterations=5_000)
        assert result.ok


def test_window_io_loses_updates() -> None:
    run_until_violated("counter", window="io", iterations=500)


def test_window_none_verdict_explains_the_gil_when_nothing_was_lost() -> None:
    scenario = scenarios.get("counter")
    config = RunConfig("counter", "none", 4, 100, 1, 0, window="none")
    with_gil = scenario.verdict(True, config, gil=True)
    free = scenario.verdict(True, config, gil=False)
    assert "still not atomic" in with_gil and "calls and backward jumps" in with_gil
    assert "3.13t" in with_gil
    assert "parallel" in free and free != with_gil


def test_cli_json_has_outcomes_and_evidence() -> None:
    res = CliRunner().invoke(
        cli, ["run", "counter", "-n", "3000", "--trials", "2", "--trace", "-f", "json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    outcomes = data["summary"]["outcomes"]
    assert outcomes and {"outcome", "count", "frequency", "grade"} <= set(outcomes[0])
    assert sum(o["count"] for o in outcomes) == 2
    assert data["params"]["trace"] is True
    for trial in data["trials"]:
        assert trial["trace"]["events"] > 0
        for ev in trial["evidence"]:
            assert {"kind", "threads", "events", "explanation"} <= set(ev)
    assert data["summary"]["trace_overhead"]["untraced_ops_per_s"] > 0


def test_cli_table_shows_histogram_and_trace_lines() -> None:
    res = CliRunner().invoke(
        cli, ["run", "counter", "-n", "3000", "--trials", "3", "--trace"], env={"COLUMNS": "120"}
    )
    assert res.exit_code == 0, res.output
    assert "outcomes over 3 trials" in res.stdout
    assert "Trace:" in res.stdout and "events recorded" in res.stdout


@pytest.mark.parametrize("bad", ["wide", "NONE", ""])
def test_unknown_window_is_a_usage_error(bad: str) -> None:
    res = CliRunner().invoke(cli, ["run", "counter", "--window", bad])
    assert res.exit_code == 2
    assert "call, io, none" in res.stderr
    assert "Traceback" not in res.output


def test_window_of_a_fixed_window_scenario_is_refused() -> None:
    res = CliRunner().invoke(cli, ["run", "barrier", "--window", "call"])
    assert res.exit_code == 2
    assert "no window 'call'" in res.stderr


def test_describe_explains_each_window() -> None:
    res = CliRunner().invoke(cli, ["describe", "counter"], env={"COLUMNS": "120"})
    assert res.exit_code == 0
    for window in ("call", "io", "none"):
        assert window in res.stdout
    assert "time.sleep(0)" in res.stdout


def test_trace_json_is_valid_when_no_failure() -> None:
    res = CliRunner().invoke(
        cli, ["run", "counter", "-t", "1", "-n", "100", "--trials", "1", "--trace", "-f", "json"]
    )
    data = json.loads(res.stdout)
    assert data["trials"][0]["evidence"] == []
    assert data["ok"] is True
