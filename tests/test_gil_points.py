"""Where ``--granularity gil`` lets a thread switch, per CPython version, on small
functions: the running interpreter's rule (explore/points.py says where each version
checks its eval breaker). Each case is a lost update whose read and write are separated
by one thing; whether ``gil`` finds it says whether that thing is a switch point."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from helpers import scenario_file

from syncdemo.engine.config import resolve
from syncdemo.explore.explorer import explore

HEADER = """
import threading
from fractions import Fraction

import syncdemo


def read_x(obj):
    return obj.x


def once():
    yield 1


@syncdemo.scenario(name="{name}")
class Case:
    threads = 2
    iterations = 1

    def setup(self):
        self.x = 0
        self.total = Fraction(0)
        self.step = Fraction(1, 3)

    @property
    def value(self):
        return self.x

    def check(self):
        return self.x == 2

    def worker(self, thread):
"""

#: name -> (the worker's body, whether the GIL can switch between its read and write)
CASES = {
    # nothing but two lines: no eval breaker check between them
    "two-lines": ("a = self.x\nself.x = a + 1", False),
    # a C function returns between them: CALL checks the eval breaker after it
    "c-call": ("a = self.x\na = int(a)\nself.x = a + 1", True),
    # Fraction.__add__ is Python: its RESUME at entry checks it
    "python-add": ("self.total = self.total + self.step", True),
    # a generator resumed by the for loop: RESUME after its yield checks it
    "generator": ("a = self.x\nfor _ in once():\n    pass\nself.x = a + 1", True),
    # a property's getter starts (a switch point) before the read, not between
    "property": ("a = self.value\nself.x = a + 1", False),
    # the read is inside a Python function; its return is a switch point only on 3.10
    # (3.11+ returns to the caller's next instruction without checking)
    "return": ("a = read_x(self)\nself.x = a + 1", sys.version_info < (3, 11)),
}


def case(tmp_path: Path, name: str) -> object:
    body, _ = CASES[name]
    source = HEADER.format(name=name) + textwrap.indent(body, " " * 8) + "\n"
    if name == "python-add":
        source = source.replace("self.x == 2", "self.total == 2 * self.step")
    return scenario_file(tmp_path, name.replace("-", "_"), source)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gil_switch_points_of_this_interpreter(tmp_path: Path, name: str) -> None:
    scenario = case(tmp_path, name)
    config = resolve(scenario, purpose="explore")  # type: ignore[arg-type]
    found = {  # one preemption: what a lost update needs
        g: explore(scenario, config, granularity=g, max_preemptions=bound, classify=False)  # type: ignore[arg-type]
        for g, bound in (("gil", 1), ("line", 1), ("opcode", 1))
    }
    _, switches = CASES[name]
    assert all(f.complete for f in found.values())
    assert (not found["gil"].ok) == switches, f"{name} at gil on {sys.version_info[:2]}"
    # gil ⊆ line ⊆ opcode: a failure found at gil is found at line and at opcode
    if not found["gil"].ok:
        assert not found["line"].ok and not found["opcode"].ok
    if not found["line"].ok:
        assert not found["opcode"].ok
    # each line of the worker is a switch point at line: every read-then-write races there
    assert not found["line"].ok
