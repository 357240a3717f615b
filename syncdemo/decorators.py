"""``@syncdemo.scenario`` and ``@syncdemo.strategy``: the marks a user's scenario file uses.

A user file imports ``syncdemo`` and decorates a plain class, so this module is what
loading such a file costs: no engine, no Rich, no Click. The decorators only mark; the
adapter in :mod:`syncdemo.userfile` reads the marks and checks the class when it is run,
listed or described, so that every mistake is reported the same way, as one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

T = TypeVar("T", bound=type)
F = TypeVar("F", bound=Callable[..., Any])

#: The attribute the marks are kept in (on the class, and on each strategy's function).
SCENARIO_MARK = "__syncdemo_scenario__"
STRATEGY_MARK = "__syncdemo_strategy__"


@dataclass(frozen=True)
class StrategyMark:
    """What ``@syncdemo.strategy(NAME, safe=...)`` said about one worker method."""

    name: str
    safe: bool
    summary: str


@overload
def scenario(cls: T, /) -> T: ...
@overload
def scenario(*, name: str | None = None) -> Callable[[T], T]: ...
def scenario(cls: T | None = None, /, *, name: str | None = None) -> T | Callable[[T], T]:
    """Mark a class as a syncdemo scenario: ``@syncdemo.scenario`` or
    ``@syncdemo.scenario(name="overdraft")``. The class is returned unchanged."""

    def mark(target: T) -> T:
        if not isinstance(target, type):
            raise TypeError(f"@syncdemo.scenario decorates a class, not {target!r}")
        setattr(target, SCENARIO_MARK, True)
        if name is not None:
            target.name = name  # type: ignore[attr-defined]
        return target

    return mark if cls is None else mark(cls)


def strategy(name: str, *, safe: bool = False, summary: str = "") -> Callable[[F], F]:
    """Declare a method as the worker of sync strategy ``name`` (``--sync NAME``).

    ``safe=True`` says it keeps the invariant whatever the interleaving; reports hold it to
    that. ``summary`` defaults to the first line of the method's docstring.
    """
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"@syncdemo.strategy needs a name, e.g. 'lock'; got {name!r}")

    def mark(func: F) -> F:
        setattr(func, STRATEGY_MARK, StrategyMark(name.strip(), bool(safe), summary))
        return func

    return mark
