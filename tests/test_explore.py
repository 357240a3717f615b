"""syncdemo explore: exact interleaving counts, minimal counterexamples, replay, quiz, and
models that agree with the real workers they stand for."""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

from syncdemo import scenarios
from syncdemo.engine import runner as engine
from syncdemo.explore.model import Model, ModelError, ProgramBuilder
from syncdemo.explore.models_search import BadSchedule, Explorer
from syncdemo.explore.report import Exploration
from syncdemo.results import Outcome, RunConfig


def config(name: str, sync: str, threads: int = 2, iterations: int = 2) -> RunConfig:
    scenario = scenarios.get(name)
    return RunConfig(
        scenario=name,
        sync=sync,
        threads=threads,
        iterations=iterations,
        trials=1,
        seed=0,
        window=scenario.default_window,
    )


def explorer(name: str, sync: str, threads: int = 2, iterations: int = 2) -> Explorer:
    scenario = scenarios.get(name)
    cfg = config(name, sync, threads, iterations)
    model = scenario.model(cfg)
    assert model is not None
    return Explorer(model, lambda o: scenario.grade(o, cfg), scenario.grade_meanings)


def counts(found: Exploration) -> dict[str, int]:
    return {o.label: o.count for o in found.outcomes}


def multinomial(*sizes: int) -> int:
    """Interleavings of threads with these step counts: (sum)! / product of size!."""
    return math.factorial(sum(sizes)) // math.prod(math.factorial(n) for n in sizes)


# --- a model built by hand: plain steps, no blocking -------------------------------------


def plain_model(*steps_per_thread: int) -> Model:
    programs = []
    for t, n in enumerate(steps_per_thread):
        p = ProgramBuilder(t, "worker")
        for i in range(n):

            def do(s: dict[str, Any], loc: dict[str, Any], t: int = t, i: int = i) -> str:
                s["log"] = (*s["log"], (t, i))
                return f"step {i}"

            p.step("write", "log", do, f"step {i}")
        programs.append(p.build())
    return Model(
        scenario="plain",
        sync="none",
        programs=tuple(programs),
        initial={"log": ()},
        shown=("log",),
        outcome=lambda s: Outcome(expected=0, observed=0, violations=0),
        label=lambda s: "done",
    )


def plain(*steps: int) -> Explorer:
    return Explorer(plain_model(*steps), lambda o: "ACCEPTABLE", {})


@pytest.mark.parametrize(
    ("steps", "expected"),
    [((2, 2), 6), ((1, 1), 2), ((3, 1), 4), ((2, 2, 2), 90), ((3, 3), 20), ((1, 1, 1, 1), 24)],
)
def test_interleavings_of_plain_threads_are_the_multinomial(
    steps: tuple[int, ...], expected: int
) -> None:
    assert multinomial(*steps) == expected  # the hand count: C(4, 2) = 6 for two 2-step threads
    found = plain(*steps).exhaustive()
    assert found.complete and found.schedules == expected
    # the log makes every schedule a distinct state: nothing merges, so states = prefixes
    assert found.mode == "exhaustive"


def test_preemption_bound_counts_on_two_threads_of_two_steps() -> None:
    """0011 and 1100 switch only when a thread is done (0 preemptions); 0110 and 1001 once;
    0101 and 1010 twice (a switch away from a thread that could go on is a preemption)."""
    ex = plain(2, 2)
    assert ex.exhaustive(max_preemptions=0).schedules == 2
    assert ex.exhaustive(max_preemptions=1).schedules == 4
    assert ex.exhaustive(max_preemptions=2).schedules == 6
    assert ex.exhaustive(max_preemptions=9).schedules == 6


# --- counter: counts, outcomes, the counterexample ---------------------------------------


def test_counter_two_threads_one_increment() -> None:
    """(r0 w0) and (r1 w1): 6 interleavings; the 2 serial ones end at 2, the 4 that put
    both reads before a write end at 1 (a lost update)."""
    found = explorer("counter", "none", 2, 1).exhaustive()
    assert found.schedules == 6
    assert counts(found) == {"1": 4, "2": 2}
    grades = {o.label: o.grade for o in found.outcomes}
    assert grades == {"1": "FORBIDDEN", "2": "ACCEPTABLE"}
    assert found.violating == 4 and not found.ok


@pytest.mark.parametrize(
    ("threads", "iterations", "expected"),
    [(2, 2, multinomial(4, 4)), (2, 3, multinomial(6, 6)), (3, 2, 34_650)],
)
def test_counter_counts_every_interleaving(threads: int, iterations: int, expected: int) -> None:
    found = explorer("counter", "none", threads, iterations).exhaustive()
    assert found.complete
    assert found.schedules == expected == multinomial(*[2 * iterations] * threads)
    assert found.states < expected  # state caching: far fewer states than schedules
    values = {int(o.label) for o in found.outcomes}
    assert max(values) == threads * iterations
    assert min(values) == 2  # the classic: two threads can leave the counter at 2


def test_counter_outcomes_match_a_brute_force_enumeration() -> None:
    """Every distinct schedule of 2 threads x 2 increments, simulated independently."""
    ex = explorer("counter", "none", 2, 2)
    found = ex.exhaustive()
    brute: Counter[int] = Counter()
    for order in set(itertools.permutations([0] * 4 + [1] * 4)):
        value, read, pc = 0, [0, 0], [0, 0]
        for t in order:
            if pc[t] % 2 == 0:
                read[t] = value
            else:
                value = read[t] + 1
            pc[t] += 1
        brute[value] += 1
        assert ex.execute(order).label == str(value)  # replay agrees, schedule by schedule
    assert counts(found) == {str(v): n for v, n in brute.items()}


def test_counterexample_is_a_real_minimal_lost_update() -> None:
    ex = explorer("counter", "none", 2, 1)
    bad = ex.exhaustive().counterexample
    assert bad is not None
    assert len(bad.schedule) == 4 and bad.preemptions == 1  # nothing shorter can lose one
    actions = [m.action for m in bad.moves]
    assert actions[:2] == ["read value = 0", "read value = 0"]  # both read 0 ...
    assert actions[2:] == ["write 1", "write 1"]  # ... and both write 1
    assert bad.label == "1" and bad.grade == "FORBIDDEN"
    assert bad.moves[-1].highlight and sum(m.highlight for m in bad.moves) == 1
    assert "overwrote 1" in bad.why
    assert [m.doomed for m in bad.moves] == [False, True, False, False]  # the second read


def test_counterexample_for_larger_counter_is_shortest_with_fewest_preemptions() -> None:
    bad = explorer("counter", "none", 2, 3).exhaustive().counterexample
    assert bad is not None
    assert len(bad.schedule) == 12 and bad.preemptions == 1


def test_replay_reproduces_the_final_state() -> None:
    ex = explorer("counter", "none", 2, 2)
    bad = ex.exhaustive().counterexample
    assert bad is not None
    again = ex.execute(bad.schedule)
    assert again.moves == bad.moves and again.label == bad.label


def test_locked_counter_has_no_violating_schedule() -> None:
    """With the lock the 4 critical sections of 2 threads x 2 can only be ordered: C(4,2)."""
    found = explorer("locked-counter", "lock", 2, 2).exhaustive()
    assert found.ok and found.violating == 0 and found.counterexample is None
    assert counts(found) == {"4": 6}
    found3 = explorer("locked-counter", "lock", 3, 2).exhaustive()
    assert counts(found3) == {"6": multinomial(2, 2, 2)}


def test_pct_is_reproducible_and_finds_the_lost_update() -> None:
    a = explorer("counter", "none", 2, 2).pct(200, seed=7)
    b = explorer("counter", "none", 2, 2).pct(200, seed=7)
    assert a.to_dict() | {"elapsed_s": 0, "schedules_per_s": 0} == b.to_dict() | {
        "elapsed_s": 0,
        "schedules_per_s": 0,
    }
    assert a.schedules == 200 and 1 < a.distinct <= 70
    assert a.counterexample is not None and not a.ok


def test_limit_stops_the_search_and_says_so() -> None:
    found = explorer("counter", "none", 3, 2).exhaustive(limit=50)
    assert not found.complete and found.counted == "final states"
    assert found.states <= 50


def test_a_model_that_loops_is_refused_not_explored_for_ever() -> None:
    p = ProgramBuilder(0, "worker")
    p.label("top")
    p.step("read", "x", lambda s, loc: "spin", "spin", branch=lambda loc: "top")
    model = Model("loop", "none", (p.build(),), {"x": 0}, ("x",), lambda s: Outcome(0, 0, 0), str)
    with pytest.raises(ModelError, match="return to a state"):
        Explorer(model, lambda o: "ACCEPTABLE", {}).exhaustive()


def test_bad_schedules_raise() -> None:
    ex = explorer("counter", "none", 2, 1)
    with pytest.raises(BadSchedule, match="only 2 threads"):
        ex.execute([0, 2])
    with pytest.raises(BadSchedule, match="already finished"):
        ex.execute([0, 0, 0])
    with pytest.raises(BadSchedule, match="run is over after 4"):
        ex.execute([0, 0, 1, 1, 1])
    locked = explorer("counter", "lock", 2, 1)
    with pytest.raises(BadSchedule, match=r"blocked .*held by thread 0"):
        locked.execute([0, 1])


def test_a_short_schedule_is_completed_without_preemption() -> None:
    run = explorer("counter", "none", 2, 2).execute([1])
    assert run.schedule == (1, 1, 1, 1, 0, 0, 0, 0) and run.completed_from == 1


# --- producer-consumer and barrier ----------------------------------------------------


def test_producer_consumer_none_loses_and_duplicates() -> None:
    # 2 producers, 2 consumers, 1 item each: two consumers take the same item
    found = explorer("producer-consumer", "none", 4, 1).exhaustive()
    labels = set(counts(found))
    assert "duplicated 1" in labels and "every item once" in labels
    dup = next(o for o in found.outcomes if o.label == "duplicated 1")
    assert dup.grade == "FORBIDDEN"


def test_producer_consumer_none_consumer_can_leave_too_early() -> None:
    """consume_unsafe reads the count (0), then the done flags: if the producer puts every
    item and finishes in between, the consumer leaves with items still in the ring. One
    producer and one consumer are enough; the shortest such schedule has no preemption."""
    found = explorer("producer-consumer", "none", 2, 2).exhaustive()
    bad = found.counterexample
    assert bad is not None and bad.label == "lost 2" and bad.preemptions == 0
    assert bad.moves[0].action == "read count = 0"
    assert bad.moves[-1].action == "read done: every producer finished"
    assert "the run ends with lost 2" in bad.why


@pytest.mark.parametrize("sync", ["condition", "queue"])
@pytest.mark.parametrize(("threads", "iterations"), [(2, 2), (4, 1), (3, 2)])
def test_producer_consumer_safe_strategies_are_verified(
    sync: str, threads: int, iterations: int
) -> None:
    found = explorer("producer-consumer", sync, threads, iterations).exhaustive()
    assert found.complete and found.ok, counts(found)
    assert found.deadlocks == 0
    assert counts(found) == {"every item once": found.schedules}


def test_barrier_none_reads_stale_and_barrier_never_does() -> None:
    unsafe = explorer("barrier", "none", 2, 2).exhaustive()
    assert unsafe.schedules == multinomial(6, 6)  # write + 2 reads a phase, 2 phases
    assert {"stale 1", "early 1", "every read current"} <= set(counts(unsafe))
    safe = explorer("barrier", "barrier", 3, 2).exhaustive()
    assert safe.ok and safe.deadlocks == 0


# --- the model and the real worker agree ------------------------------------------------

#: (scenario, sync) pairs whose model must agree with the real worker.
MODELLED = [
    ("counter", "none"),
    ("counter", "lock"),
    ("locked-counter", "lock"),
    ("producer-consumer", "none"),
    ("producer-consumer", "condition"),
    ("producer-consumer", "queue"),
    ("barrier", "none"),
    ("barrier", "barrier"),
    ("deadlock", "none"),
    ("deadlock", "ordered"),
    ("dining-philosophers", "naive"),
    ("dining-philosophers", "ordered"),
    ("dining-philosophers", "waiter"),
    ("bank-transfer", "none"),
    ("bank-transfer", "global-lock"),
    ("bank-transfer", "account-locks"),
    ("bank-transfer", "account-locks-unordered"),
    ("lazy-init", "none"),
    ("lazy-init", "lock"),
    ("lazy-init", "double-checked"),
]
#: Strategies explore has no model of, and why (the README says so too).
NOT_MODELLED = [("deadlock", "trylock"), ("dining-philosophers", "trylock")]


def real_final_state(name: str, sync: str, iterations: int) -> Any:
    """One thread, run by the real worker in this thread on fresh state, as the engine
    would with --threads 1 (the engine's threads do nothing else)."""
    scenario = scenarios.get(name)
    cfg = config(name, sync, 1, iterations)
    state = scenario.setup(cfg)
    (ctx,) = engine.make_contexts(scenario.roles(cfg), cfg, 1, threading.Event())
    scenario.worker(scenario.strategy(sync), ctx.role, cfg)(state, ctx)
    return state, ctx


def model_explorer(name: str, sync: str, iterations: int) -> Explorer:
    """The model of one thread, with the real run's sizes where the model shrinks them."""
    cfg = config(name, sync, 1, iterations)
    if name == "producer-consumer":  # the real ring size
        from syncdemo.explore.models.producer_consumer import producer_consumer_model
        from syncdemo.scenarios.producer_consumer import CAPACITY

        model = producer_consumer_model(cfg, (1, 0), capacity=CAPACITY)
    elif name == "bank-transfer":  # the real accounts and the transfers the real run picks
        from syncdemo.scenarios.bank_transfer import ACCOUNTS, bank_model, pick_transfer

        scenario = scenarios.get(name)
        (ctx,) = engine.make_contexts(scenario.roles(cfg), cfg, 1, threading.Event())
        transfers = [[pick_transfer(ctx) for _ in range(iterations)]]
        model = bank_model(cfg, transfers, accounts=ACCOUNTS)
    else:
        return explorer(name, sync, 1, iterations)
    scenario = scenarios.get(name)
    return Explorer(model, lambda o: scenario.grade(o, cfg), scenario.grade_meanings)


def final_state(ex: Explorer) -> dict[str, Any]:
    """One thread has one schedule: run it to the end and return the shared variables."""
    assert ex.exhaustive().schedules == 1
    state = ex.root
    for t in ex.execute([]).schedule:
        moved = ex.step(state, t)
        assert moved is not None
        state = moved[0]
    return ex.shared(state)


SHARED: dict[str, Callable[[Any], dict[str, Any]]] = {
    "counter": lambda s: {"value": s.value},
    "locked-counter": lambda s: {"value": s.value},
    "producer-consumer": lambda s: {
        "slots": tuple(s.slots),
        "head": s.head,
        "tail": s.tail,
        "count": s.count,
        "done": tuple(s.done),
    },
    "barrier": lambda s: {"slots": tuple(s.slots)},
    "deadlock": lambda s: {"values": tuple(s.values)},
    "dining-philosophers": lambda s: {"plates": tuple(s.plates)},
    "bank-transfer": lambda s: {"balances": tuple(s.balances)},
    "lazy-init": lambda s: {"slots": tuple(o.built_by for o in s.slots)},
}


@pytest.mark.parametrize(("name", "sync"), MODELLED)
def test_model_and_real_worker_reach_the_same_final_state(name: str, sync: str) -> None:
    iterations = 3
    state, _ = real_final_state(name, sync, iterations)
    modelled = final_state(model_explorer(name, sync, iterations))
    real = SHARED[name](state)
    if name == "producer-consumer" and sync == "queue":  # the queue strategy leaves the ring
        real = {"done": real["done"]}
    assert {k: modelled[k] for k in real} == real


@pytest.mark.parametrize(("name", "sync"), MODELLED)
def test_model_and_engine_run_report_the_same_outcome(name: str, sync: str) -> None:
    scenario = scenarios.get(name)
    cfg = config(name, sync, 1, 3)
    result = engine.run(scenario, RunConfig(**{**cfg.__dict__, "trials": 1}))
    real = result.trials[0].outcome
    ex = model_explorer(name, sync, 3)
    modelled = ex.model.outcome(final_state(ex))
    assert (modelled.expected, modelled.observed, modelled.violations) == (
        real.expected,
        real.observed,
        real.violations,
    )
    assert {k: real.details[k] for k in modelled.details} == dict(modelled.details)
    assert real.ok and modelled.ok


def test_real_counter_outcomes_are_among_the_explored_ones() -> None:
    """Two real threads x 3 increments end at a value the explorer says is possible."""
    explored = set(counts(explorer("counter", "none", 2, 3).exhaustive()))
    scenario = scenarios.get("counter")
    cfg = RunConfig("counter", "none", 2, 3, trials=5, seed=1, window="call")
    for t in engine.run(scenario, cfg).trials:
        assert str(t.outcome.observed) in explored


# --- deadlocks: the explorer finds them where the real runs do ---------------------------

#: The strategies whose real runs deadlock (test_catalogue.py checks that they do).
DEADLOCKING = {
    ("deadlock", "none"),
    ("dining-philosophers", "naive"),
    ("bank-transfer", "account-locks-unordered"),
}


@pytest.mark.parametrize(("name", "sync"), MODELLED)
def test_explored_verdicts_match_the_strategies(name: str, sync: str) -> None:
    """Every unsafe strategy has a violating schedule, every safe one none; a deadlock is
    found exactly for the strategies whose real runs deadlock."""
    threads = 3 if name == "dining-philosophers" else 4 if name == "producer-consumer" else 2
    iterations = 1 if name == "producer-consumer" else 2
    found = explorer(name, sync, threads, iterations).exhaustive()
    assert found.complete
    assert found.ok == scenarios.get(name).strategy(sync).safe, counts(found)
    assert (found.deadlocks > 0) == ((name, sync) in DEADLOCKING)


def test_dining_philosophers_deadlock_is_everyone_holding_the_left_fork() -> None:
    found = explorer("dining-philosophers", "naive", 3, 2).exhaustive()
    bad = found.counterexample
    assert bad is not None and bad.deadlocked
    assert len(bad.schedule) == 3 and sorted(bad.schedule) == [0, 1, 2]
    # each takes its left fork; 0, 2, 1 needs one preemption (thread 2 then blocks), 0, 1, 2 two
    assert [(m.thread, m.action) for m in bad.moves] == [
        (0, "acquire fork 0"),
        (2, "acquire fork 2"),
        (1, "acquire fork 1"),
    ]
    assert bad.preemptions == 1
    assert bad.waits == (
        "thread 0 waits for fork 1 (held by thread 1)",
        "thread 1 waits for fork 2 (held by thread 2)",
        "thread 2 waits for fork 0 (held by thread 0)",
    )


def test_the_real_deadlock_is_the_one_the_explorer_finds() -> None:
    """A real run of deadlock --sync none deadlocks (the watchdog names the cycle); the
    explorer's deadlock is the same cycle: each thread holds one lock, waits for the other."""
    scenario = scenarios.get("deadlock")
    cfg = RunConfig(
        "deadlock",
        "none",
        threads=2,
        iterations=2000,
        trials=1,
        seed=1,
        timeout=0.5,
        switch_interval=0.0001,
    )
    cycle = str(engine.run(scenario, cfg).trials[0].outcome.details["cycle"])
    bad = explorer("deadlock", "none", 2, 2).exhaustive().counterexample
    assert bad is not None and bad.deadlocked
    for wait in bad.waits:  # "thread 0 waits for lock B (held by thread 1)"
        thread, lock = wait.split(" waits for ")[0], wait.split(" waits for ")[1].split(" (")[0]
        assert f"{thread} holds" in cycle and f"waits for {lock}" in cycle


# --- the command --------------------------------------------------------------------------


@pytest.fixture
def explore(invoke: Callable[..., Result]) -> Callable[..., Result]:
    def _explore(*args: str) -> Result:
        return invoke("explore", *args)

    return _explore


def test_explore_table(explore: Callable[..., Result]) -> None:
    result = explore("counter", "--iterations", "1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "outcomes over 6 schedules" in out
    assert "shortest violating schedule: 4 steps, 1 preemption" in out
    assert "← invariant broken" in out and "← no way back" in out
    assert (
        "Replay it: syncdemo explore counter --threads 2 --iterations 1 --sync none "
        "--schedule 0,1,1,0" in out
    )
    assert "4 of 6 schedules (66.7%) break the invariant" in out


def test_explore_locked_counter_is_verified_with_its_bound(explore: Callable[..., Result]) -> None:
    result = explore("locked-counter", "--check")
    assert result.exit_code == 0, result.output
    assert "Verified for this bound: all 6 schedules keep the invariant" in result.stdout
    assert "2 threads × 2 increments per thread, every interleaving" in result.stdout


def test_explore_check_exits_1_on_a_violation(explore: Callable[..., Result]) -> None:
    assert explore("counter", "--check").exit_code == 1
    assert explore("counter", "--sync", "lock", "--check").exit_code == 0


def test_explore_json_and_its_replay_command(explore: Callable[..., Result]) -> None:
    result = explore("counter", "-t", "3", "-n", "2", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["explored"]["schedules"] == 34_650
    assert data["explored"]["complete"] is True
    assert data["ok"] is False
    bad = data["explored"]["counterexample"]
    assert bad["length"] == len(bad["steps"]) == 12
    assert sum(s["highlight"] for s in bad["steps"]) == 1
    args = bad["replay"].split()[2:]  # drop "syncdemo explore"
    again = json.loads(explore(*args, "-f", "json").stdout)
    assert again["replay"]["steps"] == bad["steps"]
    assert again["replay"]["outcome"] == bad["outcome"]
    assert again["ok"] is False


def test_explore_bounded_and_random_modes(explore: Callable[..., Result]) -> None:
    bounded = json.loads(
        explore("counter", "-n", "1", "--max-preemptions", "1", "-f", "json").stdout
    )
    assert bounded["explored"]["schedules"] == 4
    assert bounded["explored"]["mode"] == "bounded"
    result = explore("counter", "--random", "50", "--seed", "3")
    assert result.exit_code == 0
    assert "50 random schedules" in result.stdout and "seed 3" in result.stdout
    assert "evidence, not proof" not in result.stdout  # it found a violation


def test_explore_limit_hit_is_reported(explore: Callable[..., Result]) -> None:
    result = explore("counter", "-t", "3", "--limit", "100")
    assert result.exit_code == 0
    assert "Stopped at the --limit of 100 states" in result.stderr
    assert "stopped at the --limit of 100 states" in result.stdout
    data = json.loads(explore("counter", "-t", "3", "--limit", "100", "-f", "json").stdout)
    assert data["explored"]["complete"] is False and data["explored"]["limit"] == 100


def test_replay_table(explore: Callable[..., Result]) -> None:
    result = explore("counter", "-n", "1", "--schedule", "0,0,1,1")
    assert result.exit_code == 0
    assert "This schedule keeps the invariant: it ends with final value 2." in result.stdout
    result = explore("counter", "-n", "1", "--schedule", "0 1 1 0", "--check")
    assert result.exit_code == 1
    assert "This schedule breaks the invariant" in result.stdout


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0,1,x", "entry 3, 'x', is not a thread number"),
        ("0,-1", "entry 2, '-1', is not a thread number"),
        ("0,2", "step 2 names thread 2, but there are only 2 threads"),
        ("0,0,1,1,0", "the schedule has 5 steps, but the run is over after 4"),
        ("0,0,0", "step 3 picks thread 0, which has already finished"),
        (",", "is empty"),
    ],
)
def test_bad_schedule_exits_2(
    explore: Callable[..., Result],
    usage_error: Callable[[Result], str],
    schedule: str,
    message: str,
) -> None:
    line = usage_error(explore("counter", "-n", "1", "--schedule", schedule))
    assert "--schedule" in line and message in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--answer", "3"), "--answer goes with --quiz"),
        (("--random", "5", "--max-preemptions", "1"), "choose one of"),
        (("--seed", "3"), "--seed goes with --random or --quiz"),
        (("--schedule", "0", "--random", "3"), "takes no search options"),
        (("--quiz",), "--quiz needs --answer VALUE"),
        (("--sync", "barrier"), "counter has no strategy 'barrier'"),
        (("--threads", "9"), "9 is not in the range"),
    ],
)
def test_bad_combinations_exit_2(
    explore: Callable[..., Result],
    usage_error: Callable[[Result], str],
    args: tuple[str, ...],
    message: str,
) -> None:
    assert message in usage_error(explore("counter", *args))


def test_a_scenario_without_a_model_is_a_usage_error(
    explore: Callable[..., Result],
    usage_error: Callable[[Result], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from syncdemo.scenarios.barrier import BarrierScenario

    monkeypatch.setattr(BarrierScenario, "model", lambda self, config: None)
    line = usage_error(explore("barrier"))
    assert "explore has no model of barrier yet" in line and "counter" in line


def test_quiz_right_and_wrong(explore: Callable[..., Result]) -> None:
    first = explore("counter", "--quiz", "--seed", "5", "--answer", "0")
    assert first.exit_code == 0
    assert "the values hidden" in first.stdout and "What is counter.value" in first.stdout
    data = json.loads(
        explore("counter", "--quiz", "--seed", "5", "--answer", "0", "-f", "json").stdout
    )
    right_answer = data["quiz"]["correct_answer"]
    assert data["quiz"]["right"] is (right_answer == "0")
    right = explore("counter", "--quiz", "--seed", "5", "--answer", f" {right_answer} ")
    assert f"Right: {right_answer}." in right.stdout
    wrong = explore("counter", "--quiz", "--seed", "5", "--answer", "99")
    assert f"Not quite: you said '99', the answer is {right_answer}." in wrong.stdout
    assert "Replay it: syncdemo explore counter" in wrong.stdout


def test_quiz_asks_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from syncdemo.cli import cli
    from syncdemo.cli import explore as cli_explore

    monkeypatch.setattr(cli_explore, "interactive", lambda: True)
    runner = CliRunner(env={"COLUMNS": "200"})
    args = ["explore", "counter", "-n", "1", "--quiz", "--schedule", "0,1,1,0"]
    result = runner.invoke(cli, args, input="1\n")
    assert result.exit_code == 0, result.output
    question, reveal = result.stdout.split("Your answer")
    assert "What is counter.value at the end?" in question and "write 1" not in question
    assert "Right: 1." in reveal and "write 1" in reveal


def test_quiz_on_a_given_schedule_hides_the_values(explore: Callable[..., Result]) -> None:
    result = explore("counter", "-n", "1", "--schedule", "0,1,1,0", "--quiz", "--answer", "1")
    out = result.stdout
    hidden, revealed = out.split("Right: 1.")
    assert "read value = 0" not in hidden and "read value" in hidden
    assert "read value = 0" in revealed


def test_quiz_yes_no_for_scenarios_without_a_number(explore: Callable[..., Result]) -> None:
    data = json.loads(
        explore(
            "barrier",
            "--sync",
            "none",
            "-n",
            "1",
            "--schedule",
            "0,0,0,1,1,1",
            "--quiz",
            "--answer",
            "no",
            "-f",
            "json",
        ).stdout
    )
    assert data["quiz"]["correct_answer"] == "no" and data["quiz"]["right"] is True


def test_help_lists_explore(invoke: Callable[..., Result]) -> None:
    assert "explore" in invoke("--help").stdout
    result = invoke("explore", "--help")
    assert result.exit_code == 0 and "--max-preemptions" in result.stdout


def test_explore_deadlock_table(explore: Callable[..., Result]) -> None:
    out = explore("deadlock").stdout
    assert (
        "Deadlock: thread 0 waits for lock B (held by thread 1); thread 1 waits for lock A" in out
    )
    assert "shortest violating schedule: 2 steps" in out
    assert "Deadlocks: 20 schedules end with every unfinished thread blocked" in out


def test_a_strategy_without_a_model_is_a_usage_error(
    explore: Callable[..., Result], usage_error: Callable[[Result], str]
) -> None:
    for name, sync in NOT_MODELLED:
        line = usage_error(explore(name, "--sync", sync))
        assert f"explore has no model of {name} --sync {sync}" in line


def test_the_command_and_the_explorer_agree_on_the_default_limit() -> None:
    from syncdemo.cli import explore as cli_explore
    from syncdemo.explore import models_search as explore

    assert cli_explore.DEFAULT_LIMIT == explore.DEFAULT_LIMIT
