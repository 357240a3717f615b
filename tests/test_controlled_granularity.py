"""The real-code explorer's granularities on the counter and on user-style scenarios: a
bare ``+= 1`` loses updates only at ``opcode``; read, call, write loses them at ``gil``
too; two locks taken in opposite orders deadlock, and the cycle is reported."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from syncdemo import scenarios
from syncdemo.engine.context import ThreadContext
from syncdemo.explore.explorer import explore, replay
from syncdemo.explore.results import GIL, PARALLEL
from syncdemo.results import Outcome, RunConfig
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks

pytestmark = pytest.mark.timeout(120)

GRANULARITIES = ("line", "gil", "opcode")


def _config(name: str, sync: str, threads: int = 2, iterations: int = 2, **kw: object) -> RunConfig:
    return RunConfig(
        scenario=name, sync=sync, threads=threads, iterations=iterations, trials=1, seed=0, **kw
    )  # type: ignore[arg-type]


def _finals(name: str, sync: str, granularity: str, **kw: object) -> set[str]:
    e = explore(scenarios.get(name), _config(name, sync, **kw), granularity=granularity)
    assert e.complete
    return {o.label for o in e.outcomes}


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_counter_read_call_write_loses_updates_at_every_granularity(granularity: str) -> None:
    # the same final values the hand-written model found for 2 threads x 2
    assert _finals("counter", "none", granularity) == {"2", "3", "4"}


@pytest.mark.parametrize(
    ("granularity", "finals"), [("line", {"4"}), ("gil", {"4"}), ("opcode", {"2", "3", "4"})]
)
def test_bare_increment_is_atomic_at_line_and_gil_not_at_opcode(
    granularity: str, finals: set[str]
) -> None:
    assert _finals("counter", "none", granularity, window="none") == finals


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_locked_counter_never_loses(granularity: str) -> None:
    assert _finals("locked-counter", "lock", granularity) == {"4"}


# --- a user-style scenario: a class with a counter attribute, in this file -------------


@dataclass(eq=False)
class Box:
    n: int = 0
    a: threading.Lock = field(default_factory=lambda: threading.Lock())
    b: threading.Lock = field(default_factory=lambda: threading.Lock())


def bump(box: Box, ctx: ThreadContext) -> None:
    for _ in range(ctx.config.iterations):
        box.n += 1


def bump_with_call(box: Box, ctx: ThreadContext) -> None:
    for _ in range(ctx.config.iterations):
        n = box.n
        n = int(n) + 1  # a call between read and write: the GIL can change hands here
        box.n = n


def both_locks(box: Box, ctx: ThreadContext) -> None:
    first, second = (box.a, box.b) if ctx.index % 2 == 0 else (box.b, box.a)
    for _ in range(ctx.config.iterations):
        with first, second:
            box.n += 1


class UserStyle(Scenario[Box]):
    name = "user-style"
    summary = "a user's class"
    explanation = ""
    shared_state = "box.n"
    invariant = "n == threads x iterations"
    violation_noun = "lost updates"
    why = WhyItBreaks("", "")
    strategies = (
        Strategy("bare", "", "", False, {"worker": bump}),
        Strategy("call", "", "", False, {"worker": bump_with_call}),
        Strategy("two-locks", "", "", False, {"worker": both_locks}),
    )
    default_sync = "bare"

    def setup(self, config: RunConfig) -> Box:
        return Box()

    def check(self, state: Box, contexts: Sequence[ThreadContext]) -> Outcome:
        expected = sum(c.config.iterations for c in contexts)
        return Outcome(expected, state.n, max(0, expected - state.n))


def _user(sync: str, granularity: str, iterations: int = 1) -> object:
    return explore(
        UserStyle(), _config("user-style", sync, iterations=iterations), granularity=granularity
    )


def test_user_bare_increment_no_failure_at_line_or_gil() -> None:
    for granularity in ("line", "gil"):
        e = _user("bare", granularity)
        assert e.ok and e.complete, granularity  # type: ignore[attr-defined]


def test_user_bare_increment_loses_at_opcode_and_needs_parallel_threads() -> None:
    e = _user("bare", "opcode")
    ce = e.counterexample  # type: ignore[attr-defined]
    assert ce is not None and ce.label == "1"
    assert ce.needs == PARALLEL
    assert "parallel" in ce.to_dict()["needs_text"]
    assert e.gil_found is False  # type: ignore[attr-defined]


def test_user_read_call_write_is_possible_with_the_gil() -> None:
    e = _user("call", "line")
    ce = e.counterexample  # type: ignore[attr-defined]
    assert ce is not None and ce.needs == GIL
    assert ce.preemptions == 1


def test_user_opposite_lock_order_deadlocks_with_its_cycle() -> None:
    e = _user("two-locks", "line", iterations=2)
    ce = e.counterexample  # type: ignore[attr-defined]
    assert ce is not None and ce.deadlocked
    assert ce.cycle == (
        "thread 0 holds box.a, waits for box.b -> thread 1 holds box.b, waits for box.a -> thread 0"
    )
    assert e.deadlocks >= 1  # type: ignore[attr-defined]
    assert threading.active_count() == 1 or all(
        not t.name.startswith("syncdemo-explore") for t in threading.enumerate()
    )


def check_then_act(box: Box, ctx: ThreadContext) -> None:
    if box.n == 0:
        n = int(box.n)  # a call: another thread may run here
        if n != 0:
            raise RuntimeError("someone else got here first")
        box.n = n + 1


def test_a_worker_that_raises_in_some_schedule_is_a_failing_outcome() -> None:
    scenario = UserStyle()
    scenario.strategies = (Strategy("raise", "", "", False, {"worker": check_then_act}),)
    e = explore(scenario, _config("user-style", "raise", iterations=1), classify=False)
    labels = {o.label for o in e.outcomes}
    assert labels == {"1", "exception (RuntimeError)"}
    assert e.counterexample is not None
    run = replay(scenario, _config("user-style", "raise", iterations=1), e.counterexample.schedule)
    assert run.label == e.counterexample.label and not run.ok
    raised = [o for o in e.outcomes if o.label == "exception (RuntimeError)"]
    assert raised and not raised[0].ok
    assert not [t for t in threading.enumerate() if t.name.startswith("syncdemo-explore")]


TOTAL = [0]  # module state the tracker cannot see (deliberately)


def bump_global(box: Box, ctx: ThreadContext) -> None:
    for _ in range(ctx.config.iterations):
        n = TOTAL[0]
        TOTAL[0] = int(n) + 1


class GlobalStyle(UserStyle):
    strategies = (Strategy("global", "", "", False, {"worker": bump_global}),)
    default_sync = "global"

    def setup(self, config: RunConfig) -> Box:
        TOTAL[0] = 0
        return Box()

    def check(self, state: Box, contexts: Sequence[ThreadContext]) -> Outcome:
        expected = sum(c.config.iterations for c in contexts)
        return Outcome(expected, TOTAL[0], max(0, expected - TOTAL[0]))


def test_races_on_state_the_tracker_cannot_see_are_found() -> None:
    # switch points come from the granularity, not from what the tracker saw: a module
    # global read, then written after a call, loses an update at line and at gil
    config = _config("user-style", "global", iterations=1)
    for granularity in ("line", "gil", "opcode"):
        found = explore(GlobalStyle(), config, granularity=granularity, classify=False)
        assert not found.ok and found.counterexample is not None, granularity
        assert found.counterexample.outcome is not None
        assert found.counterexample.outcome.observed == 1
