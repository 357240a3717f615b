"""Determinism and hygiene of the real-code explorer: replays are identical, no thread
outlives a search, schedules are cut at the step limit, bad schedules are refused, PCT is
seeded, and the pieces play mode needs (position, hint) agree with explore."""

from __future__ import annotations

import gc
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from syncdemo import scenarios
from syncdemo.explore.explorer import explore, format_schedule, hint, position, replay
from syncdemo.explore.search import BadSchedule
from syncdemo.results import RunConfig

pytestmark = pytest.mark.timeout(120)


def _config(
    name: str, sync: str, threads: int = 2, iterations: int = 2, seed: int = 0
) -> RunConfig:
    return RunConfig(name, sync, threads, iterations, trials=1, seed=seed)


def _explorer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("syncdemo-explore")]


def test_shortest_lost_update_for_one_increment_each() -> None:
    e = explore(scenarios.get("counter"), _config("counter", "none", iterations=1))
    ce = e.counterexample
    assert ce is not None
    assert ce.preemptions == 1
    assert ce.label == "1"
    # the story of a lost update: both threads read 0 before either writes, so the step
    # with no way back is the second read, and the step that breaks it is the last write
    reads = [s.index for s in ce.steps if any(str(v) == "read counter.value = 0" for v in s.values)]
    writes = [s.index for s in ce.steps if any(str(v) == "counter.value ← 1" for v in s.values)]
    assert len(reads) == 2 and len(writes) == 2
    assert {ce.steps[i - 1].thread for i in reads} == {0, 1}
    assert reads[1] < writes[0]
    assert ce.unreachable_step == reads[1]
    assert ce.broken_step == writes[1]
    first = ce.steps[reads[0] - 1]
    assert first.lines[-1].code.startswith("value = counter.value")
    assert first.lines[-1].file == "counter.py"
    assert f"--schedule {format_schedule(ce.schedule)}@" in ce.replay


def test_replay_is_identical_ten_times() -> None:
    config = _config("counter", "none")
    schedule = explore(scenarios.get("counter"), config, classify=False).counterexample
    assert schedule is not None
    runs = {
        json.dumps(
            replay(scenarios.get("counter"), config, schedule.schedule).to_dict(), sort_keys=True
        )
        for _ in range(10)
    }
    assert len(runs) == 1
    data = json.loads(runs.pop())
    assert data["ok"] is False and data["outcome"] == schedule.label


def test_replay_of_a_deadlock_is_identical_and_names_the_cycle() -> None:
    config = _config("dining-philosophers", "naive")
    found = explore(scenarios.get("dining-philosophers"), config, classify=False).counterexample
    assert found is not None and found.deadlocked
    runs = {
        json.dumps(replay(scenarios.get("dining-philosophers"), config, found.schedule).to_dict())
        for _ in range(10)
    }
    assert len(runs) == 1
    assert "thread 0 holds fork 0, waits for fork 1" in found.cycle
    assert not _explorer_threads()


def test_a_partial_schedule_runs_on_without_preemption() -> None:
    run = replay(scenarios.get("counter"), _config("counter", "none", iterations=1), (0, 1))
    assert run.schedule[:2] == (0, 1)
    assert run.how == "done"
    assert run.given == 2


def test_a_schedule_naming_a_thread_that_cannot_run_is_refused() -> None:
    with pytest.raises(BadSchedule, match=r"step 1 .* thread 7"):
        replay(scenarios.get("counter"), _config("counter", "none"), (7,))
    assert not _explorer_threads()


def test_no_thread_outlives_a_search_with_deadlocks() -> None:
    before = set(threading.enumerate())
    e = explore(scenarios.get("deadlock"), _config("deadlock", "none"))
    assert e.deadlocks > 0
    assert set(threading.enumerate()) == before


def test_long_schedules_are_cut_and_counted() -> None:
    e = explore(
        scenarios.get("locked-counter"),
        _config("locked-counter", "lock"),
        step_limit=5,
        classify=False,
    )
    # every schedule runs past 5 steps; run again fairly with room, each one finishes:
    # a step limit set low never turns a locked counter into a livelock
    assert e.cut > 0
    assert e.livelocks == 0 and e.ok
    assert not _explorer_threads()


def test_pct_is_seeded() -> None:
    config = _config("counter", "none")
    a = explore(scenarios.get("counter"), config, random=30, seed=7, classify=False)
    b = explore(scenarios.get("counter"), config, random=30, seed=7, classify=False)
    assert a.mode == "random" and a.schedules == 30
    assert [o.to_dict() for o in a.outcomes] == [o.to_dict() for o in b.outcomes]
    assert a.counterexample is not None and b.counterexample is not None
    assert a.counterexample.schedule == b.counterexample.schedule


def test_position_and_hint_for_play() -> None:
    counter = scenarios.get("counter")
    config = _config("counter", "none", iterations=1)
    start = position(counter, config, ())
    assert start.runnable == (0, 1) and not start.over
    moved = position(counter, config, (0,))
    assert moved.next[1] == "start"  # thread 1 has not started; thread 0 has
    serial = replay(counter, config, ()).schedule  # thread 0 to its end, then thread 1
    alone = serial.count(0)
    assert serial == (0,) * alone + (1,) * (len(serial) - alone)
    done = position(counter, config, serial)
    assert done.over and done.execution.ok
    assert hint(counter, config, serial[:alone]) is None  # thread 0 finished: no lost update
    way = hint(counter, config, (0,))
    assert way is not None and way[0] == 0
    assert replay(counter, config, way).ok is False
    # the locked counter: once thread 0 holds the lock, thread 1 waits for it
    locked = scenarios.get("locked-counter")
    lconfig = _config("locked-counter", "lock", iterations=1)
    first = replay(locked, lconfig, ())
    held = next(
        s.index for s in first.steps if any("acquired by thread 0" in str(v) for v in s.values)
    )
    moves = (0,) * held
    inside = position(locked, lconfig, moves)
    while 1 in inside.runnable and len(moves) < held + 60:  # thread 1 runs until it waits
        moves += (1,)
        inside = position(locked, lconfig, moves)
    assert 0 in inside.runnable and 1 not in inside.runnable
    assert inside.next[1] == "acquire counter.lock"


def test_explorations_do_not_nest() -> None:
    from syncdemo.explore.runner import Runner
    from syncdemo.explore.target import Target

    target = Target(scenarios.get("counter"), _config("counter", "none"))
    with Runner(target), pytest.raises(RuntimeError, match="another exploration"):
        Runner(target).__enter__()
    assert threading.Lock().__class__.__module__ == "_thread"  # patches undone


def test_a_schedule_remembers_the_code_it_was_found_on() -> None:
    from syncdemo.explore.explorer import SourceChanged, parse_schedule

    counter = scenarios.get("counter")
    config = _config("counter", "none", iterations=1)
    found = explore(counter, config, classify=False).counterexample
    assert found is not None
    text = found.replay.rsplit("--schedule ", 1)[1]
    schedule, fingerprint = parse_schedule(text)
    assert schedule == found.schedule and len(fingerprint) == 8
    assert replay(counter, config, schedule, fingerprint=fingerprint).label == found.label
    with pytest.raises(SourceChanged, match=r"counter\.py changed"):
        replay(counter, config, schedule, fingerprint="00000000")
    assert parse_schedule("0, 1,1") == ((0, 1, 1), "")
    with pytest.raises(ValueError, match="thread numbers"):
        parse_schedule("0,x")


MANY_CALLS = """
import syncdemo


def churn(n):
    # garbage and a reference cycle each call (no Python loop: C builds the lists), so
    # frames and objects are freed and their addresses given out again, and the cycle
    # collector has work to do
    junk = list(map(list, zip(range(40 * n))))
    junk.append(junk)
    return len(junk) - 1


@syncdemo.scenario(name="many-calls")
class ManyCalls:
    threads = 2
    iterations = 6

    def setup(self):
        self.total = 0

    def add(self, step):
        value = self.total
        value += churn(step)
        self.total = value

    def worker(self, me):
        self.add(1 + me)

    def check(self):
        return self.total == 6 * 40 * (1 + 2)
"""


@pytest.mark.parametrize("granularity", ["line", "gil", "opcode"])
def test_every_schedule_of_a_function_called_many_times_replays(
    tmp_path: Path, granularity: str, request: pytest.FixtureRequest
) -> None:
    """A worker calls the same small function again and again: each call's frame is new
    (and often at the address of the one before), so a schedule's steps must not depend on
    where frames were allocated, nor on when the cycle collector runs (and with it the
    Python code of ``gc.callbacks`` and of finalizers, in whichever thread allocates)."""
    from helpers import scenario_file

    from syncdemo.engine.config import resolve
    from syncdemo.explore import search
    from syncdemo.explore.runner import Runner
    from syncdemo.explore.target import Target

    def on_collect(phase: str, info: dict[str, int]) -> None:
        time.perf_counter()  # Python code, as hypothesis's own gc callback is

    gc.callbacks.append(on_collect)
    request.addfinalizer(lambda: gc.callbacks.remove(on_collect))
    scenario = scenario_file(tmp_path, "many_calls", MANY_CALLS)
    config = resolve(scenario, purpose="explore", sync="none")
    seen: list[tuple[tuple[int, ...], str]] = []

    def keep(run: Any) -> bool:
        seen.append((run.end.schedule, run.label))
        return False

    with Runner(Target(scenario, config), granularity) as runner:
        search.dfs(runner, 1, limit=150, stop=keep)
    assert len(seen) > 20
    assert len({label for _, label in seen}) > 1  # some schedules lose an update
    with Runner(Target(scenario, config), granularity) as runner:
        for schedule, label in seen[::3]:
            again = runner.run(search.Replay(schedule))
            assert (again.end.schedule, again.label) == (schedule, label)
