"""A concurrent history and the question it asks: is there one order of its calls, made
one at a time on a fresh object, that gives every call the result it had, and keeps each
call after every call that returned before it began (real time)?

The sequential side is computed before any thread runs (:func:`sequential`): a tree of
every interleaving of the threads' calls with each call's result, where two prefixes that
leave the object in the same state (read from its attributes) share one subtree. Checking
a history is then a walk of that tree by data alone, never running the class again, so it
can run inside the explorer's check of each schedule (Wing and Gong's search, memoized on
the node reached, as in Lowe's and porcupine's checkers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncdemo.linearize.calls import Call, Result, call

Plan = tuple[tuple[Call, ...], ...]


@dataclass(frozen=True)
class Op:
    """One call of a concurrent history: its thread (as the explorer numbers it: thread
    0 makes the first list of calls and starts the threads of the others), its place in
    that thread, and the clock when it began and returned (a shared count of call starts
    and returns)."""

    thread: int
    index: int
    call: Call
    result: Result
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "thread": self.thread,
            "call": self.call.text,
            "method": self.call.name,
            "args": [repr(a) for a in self.call.args],
            "result": self.result.text,
            "raised": self.result.kind == "raised",
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class History:
    ops: tuple[Op, ...]
    """In the order the calls began."""

    @property
    def text(self) -> str:
        """One line: each call with its result and interval, in the order they began."""
        return "; ".join(
            f"t{o.thread} {o.call.text} -> {o.result.shown} [{o.start}-{o.end}]" for o in self.ops
        )

    def precedes(self, a: Op, b: Op) -> bool:
        """Whether ``a`` returned before ``b`` began."""
        return a.end < b.start


@dataclass(eq=False)
class Node:
    """A point of the sequential tree: for each thread whose next call can be made here,
    that call's result and the node after it."""

    children: dict[int, tuple[Result, Node]] = field(default_factory=dict)


def sequential(make: Callable[[], Any], plan: Plan) -> Node:
    """The tree of every order of ``plan``'s calls that keeps each thread's own order, each
    made on a fresh object from ``make`` (single-threaded, real primitives)."""
    memo: dict[tuple[tuple[int, ...], str], Node] = {}

    def replay(prefix: tuple[int, ...]) -> Any:
        obj = make()
        seen = [0] * len(plan)
        for t in prefix:
            call(obj, plan[t][seen[t]])
            seen[t] += 1
        return obj

    def expand(prefix: tuple[int, ...], counts: tuple[int, ...], obj: Any) -> Node:
        mark = fingerprint(obj)
        key = (counts, mark) if mark is not None else None
        if key is not None and key in memo:
            return memo[key]
        node = Node()
        enabled = [t for t in range(len(plan)) if counts[t] < len(plan[t])]
        for n, t in enumerate(enabled):
            here = obj if n == len(enabled) - 1 else replay(prefix)
            result = call(here, plan[t][counts[t]])
            after = (*counts[:t], counts[t] + 1, *counts[t + 1 :])
            node.children[t] = (result, expand((*prefix, t), after, here))
        if key is not None:
            memo[key] = node
        return node

    return expand((), (0,) * len(plan), make())


_LOCKS = (type(threading.Lock()), type(threading.RLock()), threading.Condition)


def fingerprint(obj: Any) -> str | None:
    """The object's state as text, from its attributes and what they hold (dicts in their
    order, which an LRU's OrderedDict depends on); None when some part of it cannot be
    read as plain data (then no two prefixes are taken to be the same)."""
    parts: list[str] = []

    def walk(value: Any, depth: int) -> bool:
        if depth > 8:
            return False
        if value is None or isinstance(value, bool | int | float | str | bytes):
            parts.append(repr(value))
            return True
        if isinstance(value, _LOCKS):
            parts.append(type(value).__name__)
            return True
        if isinstance(value, list | tuple):
            parts.append(f"{type(value).__name__}[")
            ok = all(walk(v, depth + 1) for v in value)
            parts.append("]")
            return ok
        if isinstance(value, dict):
            parts.append(f"{type(value).__name__}{{")
            ok = all(walk(k, depth + 1) and walk(v, depth + 1) for k, v in value.items())
            parts.append("}")
            return ok
        if isinstance(value, set | frozenset):
            try:
                parts.append(repr(sorted(value)))
            except TypeError:
                return False
            return all(isinstance(v, int | str | bytes | float) for v in value)
        attributes = getattr(value, "__dict__", None)
        if isinstance(attributes, dict) and not hasattr(type(value), "__slots__"):
            parts.append(f"{type(value).__qualname__}(")
            ok = walk(attributes, depth + 1)
            parts.append(")")
            return ok
        return False

    return "".join(parts) if walk(obj, 0) else None


def _constraints(history: History) -> dict[tuple[int, int], tuple[tuple[int, int], ...]]:
    """Each call (thread, index) -> the calls that returned before it began."""
    return {
        (b.thread, b.index): tuple(
            (a.thread, a.index) for a in history.ops if history.precedes(a, b)
        )
        for b in history.ops
    }


def _walk_orders(
    history: History, root: Node, match: bool
) -> Iterator[tuple[tuple[Op, ...], tuple[Result, ...]]]:
    """Every order of the history's calls that respects real time (only those that give
    every call its result, with ``match``), with the result each call gets in it."""
    by_key = {(o.thread, o.index): o for o in history.ops}
    threads = sorted({o.thread for o in history.ops})
    before = _constraints(history)
    dead: set[int] = set()
    path: list[Op] = []
    results: list[Result] = []

    def go(
        node: Node, counts: dict[int, int]
    ) -> Iterator[tuple[tuple[Op, ...], tuple[Result, ...]]]:
        if len(path) == len(history.ops):
            yield tuple(path), tuple(results)
            return
        if match and id(node) in dead:
            return
        found = False
        for thread in threads:
            op = by_key.get((thread, counts[thread]))
            if op is None or thread not in node.children:
                continue
            done = all(counts[t] > i for t, i in before[(thread, op.index)])
            result, child = node.children[thread]
            if not done or (match and result != op.result):
                continue
            path.append(op)
            results.append(result)
            counts[thread] += 1
            for found_one in go(child, counts):
                found = True
                yield found_one
            counts[thread] -= 1
            path.pop()
            results.pop()
        if match and not found:
            dead.add(id(node))

    yield from go(root, dict.fromkeys(threads, 0))


def explain(history: History, root: Node) -> tuple[Op, ...] | None:
    """A sequential order that gives every call of ``history`` its result and respects
    real time, or None: the history is not linearizable. ``root`` is the tree of the
    plan the history ran."""
    for order, _ in _walk_orders(history, root, match=True):
        return order
    return None


def orders(
    history: History, root: Node, limit: int
) -> tuple[list[tuple[tuple[Op, ...], tuple[Result, ...]]], int]:
    """Up to ``limit`` of the orders that respect real time, each with the results the
    sequential run gives, and how many there are in all."""
    shown: list[tuple[tuple[Op, ...], tuple[Result, ...]]] = []
    total = 0
    for found in _walk_orders(history, root, match=False):
        total += 1
        if len(shown) < limit:
            shown.append(found)
    return shown, total


def from_records(plan: Plan, records: Sequence[Sequence[tuple[int, int, Result]]]) -> History:
    """The history of one run: ``records[t][i]`` is (start, end, result) of thread t's
    i-th call ."""
    ops = [
        Op(t, i, plan[t][i], result, start, end)
        for t, thread in enumerate(records)
        for i, (start, end, result) in enumerate(thread)
    ]
    return History(tuple(sorted(ops, key=lambda o: o.start)))
