"""Programs the explorer once got wrong, written as a user writes them: spin guards
(Peterson's algorithm, correct and broken), CPython's own Event semantics, a Condition
waited on with ``if`` instead of ``while``, the README's overdraft with a private
attribute. Each expected verdict is argued in its comment from the program itself."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import scenario_file

from syncdemo.engine.config import resolve
from syncdemo.explore.explorer import explore

PETERSON = """
import syncdemo


@syncdemo.scenario(name="peterson")
class Peterson:
    threads = 2
    iterations = 1

    def setup(self):
        self.flag = [False, False]
        self.turn = 0
        self.inside = 0
        self.both = 0

    def worker(self, me):
        other = 1 - me
        {entry}
        while self.flag[other] and self.turn == other:
            pass
        self.inside += 1
        if self.inside > 1:
            self.both += 1
        self.inside -= 1
        self.flag[me] = False

    def check(self):
        return self.both == 0
"""
#: Peterson's entry: raise my flag, then give the turn away (correct under sequential
#: consistency, which the explorer's one-thread-at-a-time runs are); the broken one gives
#: the turn away first, so both can see the other's flag down and enter together.
CORRECT = "self.flag[me] = True\n        self.turn = other"
BROKEN = "self.turn = other\n        self.flag[me] = True"


def load(tmp_path: Path, name: str, source: str) -> Any:
    return scenario_file(tmp_path, name, textwrap.dedent(source))


def run_explore(scenario: Any, **kw: Any) -> Any:
    config = resolve(scenario, purpose="explore")
    return explore(scenario, config, classify=False, **kw)


@pytest.mark.parametrize(("entry", "safe"), [(CORRECT, True), (BROKEN, False)])
def test_peterson_spin_guard(tmp_path: Path, entry: str, safe: bool) -> None:
    scenario = load(tmp_path, "peterson", PETERSON.replace("{entry}", entry))
    began = time.perf_counter()
    found = run_explore(scenario)
    took = time.perf_counter() - began
    assert found.complete
    assert found.ok == safe
    assert found.livelocks == 0 and found.deadlocks == 0  # a spinning thread is never stuck
    assert took < 60  # a spin loop gives the turn away: no schedule spins to the step limit


EVENT = """
import threading

import syncdemo


@syncdemo.scenario(name="woken-then-cleared")
class WokenThenCleared:
    threads = 2
    iterations = 1

    def setup(self):
        self.ready = threading.Event()
        self.saw = "not yet"

    def worker(self, thread):
        if thread == 0:
            self.saw = str(self.ready.wait(timeout=5))
        else:
            self.ready.set()
            self.ready.clear()

    def outcome(self):
        return self.saw

    def check(self):
        return True
"""


def test_event_wait_has_cpythons_semantics(tmp_path: Path) -> None:
    # CPython: a waiter woken by set() returns True even when clear() ran before it did;
    # a waiter that starts after the clear waits out its timeout (in virtual time) and
    # returns False. Both happen without a preemption (a wait blocks: switching is free),
    # and nothing else happens with one.
    scenario = load(tmp_path, "woken_then_cleared", EVENT)
    found = run_explore(scenario, max_preemptions=1)
    assert found.complete
    assert {o.label for o in found.outcomes} == {"True", "False"}


CONDITION = """
import threading

import syncdemo


@syncdemo.scenario(name="if-not-while")
class IfNotWhile:
    threads = 3
    iterations = 1

    def setup(self):
        self.items = []
        self.ready = threading.Condition()
        self.errors = 0

    def worker(self, thread):
        if thread == 0:
            with self.ready:
                self.items.append(1)
                self.ready.notify_all()
        else:
            with self.ready:
                if not self.items:  # should be: while
                    self.ready.wait(timeout=5)
                if self.items:
                    self.items.pop()
                else:
                    self.errors += 1

    def check(self):
        return self.errors == 0
"""


def test_a_condition_waited_on_with_if_fails_with_two_consumers(tmp_path: Path) -> None:
    # two consumers wait, one item comes, notify_all wakes both: the second finds the list
    # empty (or a consumer times out with nothing). With ``while`` it would wait again.
    # No preemption is needed (each wait blocks), so a bound of 1 is plenty.
    scenario = load(tmp_path, "if_not_while", CONDITION)
    found = run_explore(scenario, max_preemptions=1)
    assert found.complete and not found.ok
    assert found.deadlocks == 0


OVERDRAFT = """
import syncdemo


def log(message):
    pass


@syncdemo.scenario(name="private-overdraft")
class Overdraft:
    threads = 2
    iterations = 1

    def setup(self):
        self._balance = 100

    def worker(self, thread):
        if self._balance >= 80:
            {between}
            self._balance -= 80

    def check(self):
        return self._balance >= 0
"""


@pytest.mark.parametrize(("between", "gil"), [("pass", False), ("log('withdraw')", True)])
def test_the_readme_overdraft_with_a_private_balance(
    tmp_path: Path, between: str, gil: bool
) -> None:
    # a private attribute is shared state like any other: the check and the withdrawal are
    # two lines, so ``line`` finds the overdraft; under the GIL only a call between them
    # (log) is a place to switch
    scenario = load(tmp_path, "private_overdraft", OVERDRAFT.replace("{between}", between))
    assert not run_explore(scenario, granularity="line").ok
    assert run_explore(scenario, granularity="gil").ok != gil


FIRST_TIME = """
import abc

import syncdemo


class Countable(abc.ABC):
    @classmethod
    def __subclasshook__(cls, other):
        # Python code that runs only the first time: abc caches the answer per class
        found = any("count" in vars(k) for k in other.__mro__)
        return True if found else NotImplemented


@syncdemo.scenario(name="first-time")
class FirstTime:
    threads = 2
    iterations = 1

    def setup(self):
        self.items = []
        self.counted = 0

    def worker(self, me):
        seen = self.counted
        if isinstance(self.items, Countable):  # a C call: the GIL can change hands after it
            self.counted = seen + 1

    def check(self):
        return self.counted == 2
"""


def test_code_that_runs_differently_the_first_time_is_explored(tmp_path: Path) -> None:
    """abc's ``isinstance`` runs ``__subclasshook__`` (Python code, with switch points)
    the first time only, then answers from its cache: a search that compared its second
    run with the first would call the workers nondeterministic. Both threads count (a
    list has ``count``), and a switch after the call, between a thread's read and its
    write, loses one update: the search runs to the end and finds it."""
    scenario = load(tmp_path, "first_time", FIRST_TIME)
    found = run_explore(scenario, max_preemptions=1)
    assert found.complete
    assert not found.ok
