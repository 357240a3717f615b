"""syncdemo check: a class's methods, called from threads under the explorer, checked
for linearizability. The verdicts on the example classes are argued from their code; the
sequential checker is held against a brute-force enumerator written here, on
Hypothesis-made histories of a register and a queue."""

from __future__ import annotations

import collections
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from syncdemo.cli import cli
from syncdemo.linearize.calls import Call, Result, call, returned
from syncdemo.linearize.history import History, Op, explain, sequential

EXAMPLES = Path(__file__).parent / "linearize_examples"
LRU = f"{EXAMPLES / 'lru.py'}:LRUCache"
LOCKED_LRU = f"{EXAMPLES / 'locked_lru.py'}:LRUCache"
COUNTER = f"{EXAMPLES / 'counter.py'}:Counter"
LOCKED_COUNTER = f"{EXAMPLES / 'counter.py'}:LockedCounter"


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, ["check", *args])


def load(name: str, cls: str) -> type:
    sys.path.insert(0, str(EXAMPLES))
    try:
        module = __import__(name)
    finally:
        sys.path.remove(str(EXAMPLES))
    found: type = getattr(module, cls)
    return found


# --- an independent brute-force check ------------------------------------------------------


def brute_force_linearizable(make: Any, ops: list[dict[str, Any]]) -> bool:
    """Every permutation of the calls; one that keeps each call after those that returned
    before it began, and gives each its result on a fresh object, explains the history."""
    for order in itertools.permutations(ops):
        if any(a["end"] < b["start"] for i, b in enumerate(order) for a in order[i + 1 :]):
            continue
        obj = make()
        if all(_result_text(obj, op["call"]) == (op["raised"], op["result"]) for op in order):
            return True
    return False


def _result_text(obj: Any, text: str) -> tuple[bool, str]:
    try:
        value = eval(f"obj.{text}", {"obj": obj})  # the call as the report wrote it
    except Exception as exc:
        return True, f"{type(exc).__name__}: {exc}"
    return False, repr(value)


# --- the command ----------------------------------------------------------------------------


def test_an_unlocked_lru_cache_is_not_linearizable() -> None:
    """get()'s `key not in self.data` and its `self.order.remove(key)` are two steps, and
    so are put()'s `self.data[key] = value` and `self.order.append(key)`: a thread that
    sees a key in the dict before the other thread has appended it to the order raises
    ValueError from remove(), which no one-at-a-time order does."""
    result = invoke(LRU, "-f", "json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    failure = document["failure"]
    assert not document["linearizable"]
    assert len(failure["history"]) <= 4
    assert failure["replay"].startswith(f"syncdemo check {LRU} --calls ")
    assert "--schedule" in failure["replay"]
    lru = load("lru", "LRUCache")
    assert not brute_force_linearizable(lru, failure["history"])


def test_the_table_shows_the_history_and_the_orders_at_80_columns() -> None:
    result = invoke(LRU)
    assert result.exit_code == 1
    text = result.stdout
    assert "Not linearizable" in text and "concurrent history" in text
    assert "every order that respects real time" in text and "Replay it:" in text
    assert "\x1b[" not in text  # a pipe: no colour
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "Traceback" not in result.output


def test_the_replay_command_replays_the_failure() -> None:
    document = json.loads(invoke(LRU, "-f", "json").stdout)
    replay = document["failure"]["replay"]
    calls = replay.split("--calls ")[1].split(" --schedule ")[0].strip("'")
    schedule = replay.split("--schedule ")[1]
    result = invoke(LRU, "--calls", calls, "--schedule", schedule, "-f", "json")
    assert result.exit_code == 1, result.output
    again = json.loads(result.stdout)
    assert again["history"] == document["failure"]["history"]


def test_the_locked_lru_cache_passes() -> None:
    result = invoke(LOCKED_LRU, "--scenarios", "3", "-f", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["linearizable"] and document["complete"]
    assert document["scenarios"] == 3 and document["schedules"] > 0


def test_what_a_pass_covered_is_said() -> None:
    result = invoke(LOCKED_LRU, "--ops", "put(1,1),put(2,2),get(1),put(3,3)", "--scenarios", "2")
    assert result.exit_code == 0, result.output
    assert "Covered: 2 scenarios (2 threads × 2 calls)" in result.stdout
    assert "at most 2 preemptions" in result.stdout
    assert "Not a proof" in result.stdout


@pytest.mark.parametrize(("target", "code"), [(COUNTER, 1), (LOCKED_COUNTER, 0)])
def test_a_counter_fails_and_its_locked_version_passes(target: str, code: int) -> None:
    """increment() reads the count and writes it back a line later: two increments that
    both read 0 both return 1, which no order of two increments does."""
    result = invoke(target, "--scenarios", "4", "-f", "json")
    assert result.exit_code == code, result.output
    document = json.loads(result.stdout)
    if code:
        history = document["failure"]["history"]
        assert [op["result"] for op in history] == ["1", "1"]
        assert not brute_force_linearizable(load("counter", "Counter"), history)


def test_ops_give_the_calls() -> None:
    result = invoke(LRU, "--ops", "put(1,1),put(2,2),get(1),get(2)", "-f", "json")
    assert result.exit_code == 1
    calls = {op["method"] for op in json.loads(result.stdout)["failure"]["history"]}
    assert calls <= {"put", "get"}


BAD_CLASSES = """
class NeedsAThing:
    def __init__(self, thing):
        self.thing = thing

    def get(self) -> int:
        return 1


class Unhinted:
    def put(self, key):
        pass

NOT_A_CLASS = 3
"""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nowhere.py:X"], "nowhere.py"),
        (["{file}:Missing"], "no 'Missing'"),
        (["{file}:NOT_A_CLASS"], "not a class"),
        (["{file}:NeedsAThing"], "needs 'thing'"),
        (["{file}:Unhinted"], "parameter 'key'"),
        ([LRU, "--ops", "put(1"], "not a call"),
        ([LRU, "--ops", "pop(1)"], "no public method pop()"),
        ([LRU, "--ops", "get(1, 2, 3)"], "does not fit"),
        ([LRU, "--calls", "get(1)"], "at least two threads"),
        ([LRU, "--schedule", "0,1"], "--calls"),
        (["no_such_module_here:X"], "No module"),
        (["justaname"], "FILE.py:Class"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    file = tmp_path / "bad_classes.py"
    file.write_text(BAD_CLASSES, encoding="utf-8")
    result = invoke(*(a.format(file=file) for a in args))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_help_teaches_with_an_example() -> None:
    result = CliRunner().invoke(cli, ["check", "--help"], terminal_width=80)
    assert result.exit_code == 0
    assert "syncdemo check cache.py:LRUCache --ops" in result.output
    assert all(len(line) <= 80 for line in result.output.splitlines())


def test_gil_granularity_is_refused_on_a_free_threaded_build() -> None:
    if getattr(sys, "_is_gil_enabled", lambda: True)():
        pytest.skip("this build has a GIL")
    result = invoke(COUNTER, "-g", "gil")
    assert result.exit_code == 2 and "free-threaded" in result.stderr


# --- the sequential checker against brute force ---------------------------------------------


class Register:
    def __init__(self) -> None:
        self.value = 0

    def write(self, v: int) -> None:
        self.value = v

    def read(self) -> int:
        return self.value


class Queue:
    def __init__(self) -> None:
        self.items: collections.deque[int] = collections.deque()

    def put(self, v: int) -> None:
        self.items.append(v)

    def get(self) -> int | None:
        return self.items.popleft() if self.items else None


def _brute(make: Any, history: History) -> bool:
    for order in itertools.permutations(history.ops):
        if any(b.end < a.start for i, a in enumerate(order) for b in order[i + 1 :]):
            continue
        obj = make()
        if all(call(obj, o.call) == o.result for o in order):
            return True
    return False


@st.composite
def histories(draw: Any, calls: list[Call], results: list[Any]) -> tuple[Any, History]:
    """2-3 threads of 1-2 calls, each with a drawn result and interval (each thread's
    calls in order; intervals of different threads overlap as drawn)."""
    threads = draw(st.integers(2, 3))
    plan = tuple(
        tuple(draw(st.sampled_from(calls)) for _ in range(draw(st.integers(1, 2))))
        for _ in range(threads)
    )
    ops = []
    for t, thread in enumerate(plan):
        clock = draw(st.integers(0, 3))
        for i, c in enumerate(thread):
            start = clock
            end = start + draw(st.integers(1, 4))
            clock = end + 1
            ops.append(Op(t, i, c, returned(draw(st.sampled_from(results))), start, end))
    return plan, History(tuple(sorted(ops, key=lambda o: o.start)))


@settings(max_examples=150, deadline=None)
@given(histories([Call("write", (1,)), Call("write", (2,)), Call("read")], [None, 0, 1, 2]))
def test_register_histories_agree_with_brute_force(case: tuple[Any, History]) -> None:
    plan, history = case
    assert (explain(history, sequential(Register, plan)) is not None) == _brute(Register, history)


@settings(max_examples=150, deadline=None)
@given(histories([Call("put", (1,)), Call("put", (2,)), Call("get")], [None, 1, 2]))
def test_queue_histories_agree_with_brute_force(case: tuple[Any, History]) -> None:
    plan, history = case
    assert (explain(history, sequential(Queue, plan)) is not None) == _brute(Queue, history)


def test_real_time_order_matters() -> None:
    """write(1) returned before read() began: read() -> 0 cannot be explained, though it
    could were the two concurrent."""
    plan = ((Call("write", (1,)),), (Call("read"),))
    tree = sequential(Register, plan)
    write = Op(0, 0, Call("write", (1,)), returned(None), 0, 1)
    before = Op(1, 0, Call("read"), returned(0), 2, 3)
    overlapping = Op(1, 0, Call("read"), returned(0), 1, 3)
    assert explain(History((write, before)), tree) is None
    assert explain(History((write, overlapping)), tree) is not None
    assert isinstance(write.result, Result)
