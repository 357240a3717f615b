"""The explorer against an independent enumerator (tests/enumerator.py), the way model
checkers are tested: on a corpus of small programs (hand-written ones, the cases that
once fooled the explorer, and programs Hypothesis generates), at every granularity, the
set of outcomes the explorer reports must be the set the naive tree of interleavings
reaches, within the same preemption bound; and a failure found at ``gil`` must be found
at ``line`` and at ``opcode`` (gil ⊆ line ⊆ opcode)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest
from enumerator import Op, TooBig, enumerate_tree, render
from helpers import scenario_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncdemo.explore.explorer import explore

GRANULARITIES = ("gil", "line", "opcode")
_counter = itertools.count()


def explored(
    tmp_path: Path, threads: Sequence[Sequence[Op]], granularity: str, bound: int | None
) -> set[str]:
    from syncdemo.engine.config import resolve

    name = f"prog{next(_counter)}"
    scenario = scenario_file(tmp_path, name, render(name, threads))
    config = resolve(scenario, purpose="explore", sync="none")
    found = explore(
        scenario, config, granularity=granularity, max_preemptions=bound, classify=False
    )
    assert found.complete, "the search stopped at its limit"
    return {o.label for o in found.outcomes}


def agree(
    tmp_path: Path, threads: Sequence[Sequence[Op]], bound: int | None
) -> dict[str, set[str]]:
    """Explorer == enumerator at every granularity (at ``opcode``, every instruction of the
    program is a switch point: it is held to at most one preemption, where its tree stays
    small)."""
    seen = {}
    bounds = {}
    for granularity in GRANULARITIES:
        at = bound
        if granularity == "opcode" and (at is None or at > 1):
            at = 1
        try:
            want, _ = enumerate_tree(threads, granularity, at, UNBOUNDED_TREE if at is None else 0)
        except TooBig:  # every schedule: too many to run here
            at = 2
            want, _ = enumerate_tree(threads, granularity, at)
        got = explored(tmp_path, threads, granularity, at)
        assert got == want, f"{granularity}, bound {at}: explorer {got}, enumerator {want}"
        seen[granularity] = got
        bounds[granularity] = at
    # monotone: every outcome possible at gil is possible at line, and at opcode
    if bounds["gil"] == bounds["line"]:
        assert seen["gil"] <= seen["line"]
    if bounds["line"] == bounds["opcode"]:
        assert seen["line"] <= seen["opcode"]
    return seen


#: The most schedules an unbounded comparison runs (past it, the bound is 2).
UNBOUNDED_TREE = 150


RMW = [("read", "x", 0), ("write", "x", 0, 1)]  # two lines: read, then write
RMW_CALL = [("read", "x", 0), ("ccall", 0), ("write", "x", 0, 1)]
RMW_PYCALL = [("read", "x", 0), ("pycall", 0), ("write", "x", 0, 1)]
LOCKED = [("acquire",), ("read", "x", 0), ("ccall", 0), ("write", "x", 0, 1), ("release",)]

CORPUS: dict[str, list[list[Op]]] = {
    # lost updates: the read and the write are two lines; only a C or Python call between
    # them lets the GIL change hands
    "lost update, two lines": [RMW, RMW],
    "lost update, a C call between": [RMW_CALL, RMW_CALL],
    "lost update, a Python call between": [RMW_PYCALL, RMW_PYCALL],
    "x += 1 (one line)": [[("incr", "x", 1)], [("incr", "x", 1)]],
    "locked read-modify-write": [LOCKED, LOCKED],
    "three threads, locked": [LOCKED, LOCKED, LOCKED],
    "three threads, unlocked, a call between": [RMW_CALL, RMW_CALL, RMW_CALL],
    # state the tracker once could not see
    "a private attribute": [
        [("read", "_p", 0), ("ccall", 0), ("write", "_p", 0, 1)],
        [("read", "_p", 0), ("ccall", 0), ("write", "_p", 0, 1)],
    ],
    "a module global": [
        [("read", "G", 0), ("ccall", 0), ("write", "G", 0, 1)],
        [("read", "G", 0), ("ccall", 0), ("write", "G", 0, 1)],
    ],
    "d[k] = d.get(k, 0) + 1": [[("dincr", "a")], [("dincr", "a")]],
    "different keys of one dict": [[("dincr", "a")], [("dincr", "b")]],
    # ordering: one thread writes two variables, the other reads them in the other order
    "reorder (SCTBench)": [
        [("read", "y", 1), ("write", "x", 1, 1), ("write", "y", 1, 1)],
        [("read", "y", 0), ("read", "x", 1), ("assert", "x", 1)],
    ],
    "check then act (account, SCTBench)": [
        [("read", "x", 0), ("ccall", 0), ("write", "x", 0, 5)],
        [("read", "x", 0), ("ccall", 0), ("write", "x", 0, -3)],
    ],
    "two stages (twostage, SCTBench)": [
        [
            ("acquire",),
            ("write", "x", 9, 1),
            ("release",),
            ("acquire",),
            ("write", "y", 9, 2),
            ("release",),
        ],
        [
            ("acquire",),
            ("read", "x", 0),
            ("release",),
            ("acquire",),
            ("read", "y", 1),
            ("release",),
            ("write", "_p", 1, 0),
        ],
    ],
    "wrong lock use (wronglock, SCTBench)": [
        [("acquire",), ("read", "x", 0), ("ccall", 0), ("write", "x", 0, 1), ("release",)],
        [("read", "x", 0), ("ccall", 0), ("write", "x", 0, 1)],
    ],
    "an assertion that a race breaks": [
        [("read", "x", 0), ("ccall", 0), ("write", "x", 0, 1)],
        [("read", "x", 0), ("ccall", 0), ("assert", "x", 0)],
    ],
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_agrees_with_the_enumerator(tmp_path: Path, name: str) -> None:
    threads = CORPUS[name]
    for bound in (1, None) if len(threads) < 3 else (1,):  # three threads: a big tree
        agree(tmp_path, threads, bound)


def test_the_gil_hides_a_race_without_a_call_but_not_with_one(tmp_path: Path) -> None:
    # the expected sets are the enumerator's; here, what they mean, written out
    plain = agree(tmp_path, CORPUS["lost update, two lines"], None)
    assert "x=1 y=0 p=0 a=0 b=0 g=0" not in plain["gil"]
    assert "x=1 y=0 p=0 a=0 b=0 g=0" in plain["line"]
    called = agree(tmp_path, CORPUS["lost update, a C call between"], None)
    assert "x=1 y=0 p=0 a=0 b=0 g=0" in called["gil"]
    shared = agree(tmp_path, CORPUS["d[k] = d.get(k, 0) + 1"], None)
    assert "x=0 y=0 p=0 a=1 b=0 g=0" in shared["gil"]


def test_locks_keep_every_update(tmp_path: Path) -> None:
    seen = agree(tmp_path, CORPUS["locked read-modify-write"], None)
    assert seen["opcode"] == {"x=2 y=0 p=0 a=0 b=0 g=0"}


# --- programs Hypothesis writes --------------------------------------------------------

VARIABLES = st.sampled_from(["x", "_p", "d:a", "G"])
REGISTERS = st.integers(0, 1)
PLAIN_OPS = st.one_of(
    st.tuples(st.just("read"), VARIABLES, REGISTERS),
    st.tuples(st.just("write"), VARIABLES, REGISTERS, st.integers(1, 3)),
    st.tuples(st.just("incr"), st.sampled_from(["x", "_p", "d:a"]), st.just(1)),
    st.tuples(st.just("ccall"), REGISTERS),
    st.tuples(st.just("pycall"), REGISTERS),
    st.tuples(st.just("dincr"), st.just("a")),
)


@st.composite
def thread_ops(draw: st.DrawFn) -> list[Op]:
    ops: list[Op] = draw(st.lists(PLAIN_OPS, min_size=1, max_size=3))
    if draw(st.booleans()):  # a critical section around some of them
        start = draw(st.integers(0, len(ops) - 1))
        end = draw(st.integers(start + 1, len(ops)))
        ops = [*ops[:start], ("acquire",), *ops[start:end], ("release",), *ops[end:]]
    return ops


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(thread_ops(), min_size=2, max_size=2))
def test_random_programs_agree_with_the_enumerator(tmp_path: Path, threads: list[list[Op]]) -> None:
    agree(tmp_path, threads, 1)
