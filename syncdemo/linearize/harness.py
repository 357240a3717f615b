"""One plan of calls (each thread's calls, in order) as a scenario the explorer runs: a
class in the user-class format whose one worker starts a thread per list of calls on one
shared instance, joins them, and whose ``check()`` asks :func:`history.explain` whether
the history the threads recorded has a sequential order.

The threads' own code here is kept to what cannot add a point where the GIL changes
hands (no calls of C code between reading the clock and calling the method), so the
interval a call is given is the call's and the switch points are those of the user's
code. The clock is a shared count that each call start and return takes a number from:
under the explorer one thread runs at a time, so it is exact; any slack only widens an
interval, which admits more orders, never fewer: a history found not linearizable is not.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Callable, Sequence
from typing import Any

from syncdemo.engine.context import Stopped
from syncdemo.explore.patching import Unexplorable
from syncdemo.linearize.calls import Result, plan_text, raised, returned
from syncdemo.linearize.history import History, Node, Plan, explain, from_records
from syncdemo.scenarios.user import UserScenario

LINEARIZABLE = "linearizable"
NOT_LINEARIZABLE = "not linearizable"
_OURS = (Stopped, Unexplorable)


class CheckScenario(UserScenario):
    """The plan's scenario: the user's class's file is the code explored (its lines are
    the switch points at ``line``), and nothing is tracked (the check reads the threads'
    records, not the object; with nothing tracked, no loop is taken for a spin)."""

    def __init__(self, harness: type, target: type, name: str, found: dict[str, History]):
        super().__init__(harness, name, name)
        self.target_class = target
        self.found = found
        self.latest: list[History] = []
        """The history the last check judged (a replay's)."""
        """Each failing check's message -> the history it judged (the explorer keeps the
        message of the schedule it shows)."""

    def code_files(self, workers: Sequence[Callable[..., Any]]) -> frozenset[str]:
        with contextlib.suppress(TypeError, OSError):
            found = inspect.getsourcefile(self.target_class)
            if found:
                return frozenset({found})
        own = {
            f.__code__.co_filename
            for f in vars(self.target_class).values()
            if inspect.isfunction(f)
        }
        return frozenset(own)

    def code_roots(self) -> tuple[Any, ...]:
        return (self.target_class,)

    def explored_state(self, state: Any, root: str, track: Callable[[Any, str], Any]) -> Any:
        return state


def _thread(
    bound: Sequence[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]],
    clock: list[int],
    out: list[Any],
) -> None:
    """One thread's calls: the clock before and after each, the value or the exception."""
    i = 0
    for method, args, kwargs in bound:
        start = clock[0]
        clock[0] = start + 1
        try:
            value = method(*args, **kwargs)
        except Exception as exc:
            if isinstance(exc, _OURS):
                raise
            end = clock[0]
            clock[0] = end + 1
            out[i] = (start, end, False, exc)
        else:
            end = clock[0]
            clock[0] = end + 1
            out[i] = (start, end, True, value)
        i += 1  # noqa: SIM113 (enumerate() would add a C call: one more switch point)


def scenario(
    target: type, make: Callable[[], Any], plan: Plan, tree: Node, name: str
) -> CheckScenario:
    """The explorable scenario of ``plan`` on a fresh ``make()`` each run; ``tree`` is the
    plan's sequential tree (:func:`history.sequential`)."""
    found: dict[str, History] = {}
    latest: list[History] = []
    calls = [[(c.name, c.args, dict(c.kwargs)) for c in t] for t in plan]

    def setup(self: Any) -> None:
        # made here, before the run: the explorer takes no step in setup, so the threads'
        # making (the standard library's Python code) is no part of any schedule
        obj = make()
        records: list[list[Any]] = [[None] * len(t) for t in plan]
        clock = [0]
        vars(self)["__records"] = records
        vars(self)["__verdict"] = ""
        bound = [[(getattr(obj, n), a, k) for n, a, k in t] for t in calls]
        vars(self)["__own"] = (bound[0], clock, records[0])
        vars(self)["__threads"] = [
            threading.Thread(target=_thread, args=(bound[t], clock, records[t]))
            for t in range(1, len(plan))
        ]

    def worker(self: Any, thread: int) -> None:
        # thread 0 makes the first list of calls itself, after starting the others: every
        # interleaving of the calls is still reachable, with one thread fewer to schedule
        threads = vars(self)["__threads"]
        for t in threads:
            t.start()
        _thread(*vars(self)["__own"])
        for t in threads:
            t.join()

    def check(self: Any) -> Any:
        records: list[list[Any]] = vars(self)["__records"]
        if any(r is None for thread in records for r in thread):
            vars(self)["__verdict"] = "unfinished"
            return "a call did not return"
        history = from_records(plan, [[_result(r) for r in thread] for thread in records])
        latest[:] = [history]
        if explain(history, tree) is not None:
            vars(self)["__verdict"] = LINEARIZABLE
            return True
        vars(self)["__verdict"] = NOT_LINEARIZABLE
        message = f"{NOT_LINEARIZABLE}: {history.text}"
        found[message] = history
        return message

    def outcome(self: Any) -> str:
        return str(vars(self)["__verdict"])

    harness = type(
        target.__name__,
        (),
        {
            "__module__": target.__module__,
            "__doc__": f"{target.__name__}: {plan_text(plan)}",
            "threads": 1,
            "iterations": 1,
            "setup": setup,
            "worker": worker,
            "check": check,
            "outcome": outcome,
            "function": worker,  # it starts threads of its own
            "invariant": "every history has a sequential order that gives each call its result",
        },
    )
    made = CheckScenario(harness, target, name, found)
    made.latest = latest
    return made


def _result(record: tuple[int, int, bool, Any]) -> tuple[int, int, Result]:
    start, end, ok, value = record
    return start, end, returned(value) if ok else raised(value)
