"""Reading a user's scenario class: its strategies (``worker`` and the methods marked
``@syncdemo.strategy``), its name and its counts, each mistake a :class:`BadUserClass`;
and its code: the source shown, the helpers the workers call, where the GIL can switch.

The adapter in :mod:`syncdemo.scenarios.user` turns what is read here into a scenario.
"""

from __future__ import annotations

import dis
import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncdemo.decorators import STRATEGY_MARK, StrategyMark
from syncdemo.scenarios import ScenarioError

#: Defaults of a class that does not set ``threads`` / ``iterations``.
DEFAULT_THREADS = 4
DEFAULT_ITERATIONS = 1_000
MAX_THREADS = 2048
MAX_ITERATIONS = 10_000_000


class BadUserClass(ScenarioError):
    """The class cannot be a scenario (no worker, no check, a strategy named twice...)."""


@dataclass(frozen=True)
class UserStrategy:
    name: str
    method: str
    safe: bool
    summary: str
    function: Callable[..., Any] = field(repr=False)


def kebab(name: str) -> str:
    """'BankAccount' -> 'bank-account', 'HTTPCache' -> 'http-cache', 'my_case' -> 'my-case'."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name)
    return spaced.replace("_", "-").strip("-").lower()


def read_strategies(cls: type, label: str) -> list[UserStrategy]:
    """``worker`` as strategy none (or as its own mark says), then every marked method."""
    found: list[UserStrategy] = []
    for attr in dir(cls):
        function = inspect.getattr_static(cls, attr, None)
        mark = getattr(function, STRATEGY_MARK, None)
        if attr == "worker" and mark is None:
            mark = StrategyMark("none", False, "")
        if not isinstance(mark, StrategyMark):
            continue
        if not callable(function):
            raise BadUserClass(f"{label}: {attr} is marked as a strategy but is not a method.")
        doc = inspect.getdoc(function) or ""
        summary = mark.summary or doc.split("\n", 1)[0] or f"{attr}() as written"
        found.append(UserStrategy(mark.name, attr, mark.safe, summary, function))
    found.sort(key=lambda s: (s.method != "worker", _line(s.function)))
    seen: dict[str, str] = {}
    for s in found:
        if s.name in seen:
            raise BadUserClass(
                f"{label}: strategy {s.name!r} is declared twice, by {seen[s.name]}() and "
                f"{s.method}(); give each @syncdemo.strategy its own name."
            )
        seen[s.name] = s.method
    return found


def _line(function: Callable[..., Any]) -> int:
    code = getattr(function, "__code__", None)
    return code.co_firstlineno if code is not None else 0


def read_count(cls: type, attr: str, default: int, high: int, label: str) -> int:
    value = getattr(cls, attr, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise BadUserClass(f"{label}: {attr} = {value!r}; it must be a whole number 1 to {high:,}.")
    return value


def source_of(function: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(function).rstrip()
    except (OSError, TypeError):
        return f"# the source of {getattr(function, '__name__', function)} is not available"


def called_functions(strategies: Sequence[UserStrategy]) -> list[Callable[..., Any]]:
    """Plain functions of the user's module that the workers call (a log(), a helper)."""
    found: dict[str, Callable[..., Any]] = {}
    for s in strategies:
        code = getattr(s.function, "__code__", None)
        module_globals = getattr(s.function, "__globals__", {})
        for name in code.co_names if code is not None else ():
            value = module_globals.get(name)
            if inspect.isfunction(value) and value.__module__ == s.function.__module__:
                found.setdefault(name, value)
    return list(found.values())


def has_switch_points(function: Callable[..., Any]) -> bool:
    """Whether the function's own bytecode calls anything or loops: the places where the
    GIL may change hands (3.10+), besides I/O inside a call."""
    code = getattr(function, "__code__", None)
    if code is None:
        return True
    for ins in dis.get_instructions(code):
        name = ins.opname
        if name.startswith("CALL") or name in ("FOR_ITER", "JUMP_BACKWARD", "BEFORE_WITH"):
            return True
        if name == "SETUP_WITH" or (name == "JUMP_ABSOLUTE" and (ins.argval or 0) < ins.offset):
            return True
    return False
