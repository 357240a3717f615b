"""One call of a method and what came of it: parsed from ``--ops`` text, or generated from
the method's type hints over small value sets (small, so that two threads often touch the
same key: a race needs them to)."""

from __future__ import annotations

import ast
import enum
import inspect
import itertools
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: The values a parameter of each type takes when calls are generated.
VALUES: dict[type, tuple[Any, ...]] = {
    bool: (False, True),
    int: (1, 2, 3),
    float: (1.0, 2.0),
    str: ("a", "b"),
    bytes: (b"a", b"b"),
}
#: At most this many generated calls of one method (a product of many parameters).
MAX_PER_METHOD = 12


class BadCalls(ValueError):
    """Calls that cannot be made: one line for the user (exit 2)."""


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    @property
    def text(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"{self.name}({', '.join(parts)})"


RETURNED, RAISED = "returned", "raised"


@dataclass(frozen=True)
class Result:
    """What a call gave back, compared as text (a value's repr with memory addresses left
    out, an exception's type and message): data, for the report and JSON alike."""

    kind: str
    text: str

    @property
    def shown(self) -> str:
        return self.text if self.kind == RETURNED else f"raised {self.text}"


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def returned(value: Any) -> Result:
    try:
        text = repr(value)
    except Exception as exc:  # its own __repr__ failed
        text = f"<{type(value).__name__}: repr raised {type(exc).__name__}>"
    return Result(RETURNED, _ADDRESS.sub("", text))


def raised(exc: BaseException) -> Result:
    return Result(RAISED, _ADDRESS.sub("", f"{type(exc).__name__}: {exc}".rstrip(": ")))


def call(obj: Any, c: Call) -> Result:
    """Make the call on ``obj`` (single-threaded: the sequential reference)."""
    try:
        return returned(getattr(obj, c.name)(*c.args, **dict(c.kwargs)))
    except Exception as exc:
        return raised(exc)


# --- which methods, and --ops ------------------------------------------------------------


def methods(cls: type) -> dict[str, Callable[..., Any]]:
    """The public methods the class defines (or inherits from a base of its own), in the
    order they are written."""
    found: dict[str, Callable[..., Any]] = {}
    for base in reversed(cls.__mro__[:-1]):
        for name, value in vars(base).items():
            if not name.startswith("_") and inspect.isfunction(value):
                found[name] = value
    return found


def split_top(text: str, sep: str) -> list[str]:
    """``text`` split at each ``sep`` outside brackets and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_call(text: str, cls: type) -> Call:
    """``put(1, 'a')`` (literal arguments only) as a call of one of ``cls``'s methods."""
    shown = text.strip()
    try:
        node = ast.parse(shown if shown.endswith(")") else shown + "()", mode="eval").body
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            raise ValueError
        args = tuple(ast.literal_eval(a) for a in node.args)
        kwargs = tuple((k.arg or "", ast.literal_eval(k.value)) for k in node.keywords)
        if any(not k for k, _ in kwargs):
            raise ValueError
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        raise BadCalls(
            f"{shown!r} is not a call such as get(1) or put(1, 'a') (a method name and "
            "literal arguments)"
        ) from None
    c = Call(node.func.id, args, kwargs)
    own = methods(cls)
    if c.name not in own:
        names = ", ".join(own) or "none"
        raise BadCalls(f"{cls.__name__} has no public method {c.name}() (it has: {names})")
    try:
        inspect.signature(own[c.name]).bind(None, *c.args, **dict(c.kwargs))
    except TypeError as exc:
        raise BadCalls(f"{c.text} does not fit {c.name}{_signature(own[c.name])}: {exc}") from None
    return c


def parse_ops(text: str, cls: type) -> tuple[Call, ...]:
    """``--ops 'put(1,1),put(2,2),get(1)'``."""
    entries = [e for e in split_top(text, ",") if e]
    if not entries:
        raise BadCalls("--ops needs at least one call, e.g. --ops 'put(1,1),get(1)'")
    return tuple(dict.fromkeys(parse_call(e, cls) for e in entries))


def parse_plan(text: str, cls: type) -> tuple[tuple[Call, ...], ...]:
    """``--calls 'put(1,1); get(1) | put(2,2)'``: each thread's calls, in order."""
    threads = split_top(text, "|")
    plan = tuple(tuple(parse_call(c, cls) for c in split_top(t, ";") if c) for t in threads)
    if len(plan) < 2 or any(not t for t in plan):
        raise BadCalls(
            "--calls gives each thread's calls: at least two threads separated by '|', each "
            "with calls separated by ';', e.g. 'put(1, 1); get(1) | put(2, 2)'"
        )
    return plan


def plan_text(plan: Sequence[Sequence[Call]]) -> str:
    return " | ".join("; ".join(c.text for c in t) for t in plan)


# --- generated from type hints -------------------------------------------------------------


def _signature(function: Callable[..., Any]) -> str:
    try:
        return str(inspect.signature(function)).replace("(self, ", "(").replace("(self)", "()")
    except (TypeError, ValueError):
        return "(...)"


def values_of(hint: Any) -> tuple[Any, ...] | None:
    """The small value set of a type hint; None when there is none to make."""
    if hint is None or hint is type(None):
        return (None,)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return tuple(hint)[:3]
    for kind, values in VALUES.items():
        if hint is kind:
            return values
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return tuple(typing.get_args(hint))
    if origin is typing.Union or isinstance(hint, types.UnionType):
        found: list[Any] = []
        for member in typing.get_args(hint):
            some = values_of(member)
            if some is None:
                return None
            found += [v for v in some if v not in found]
        return tuple(found)
    return None


def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function)
    except Exception:  # a hint that names something not importable: read none
        return {}


def arguments(function: Callable[..., Any], where: str) -> list[tuple[str, tuple[Any, ...]]]:
    """Each parameter (past self) with the values it takes; a parameter with a default
    and no hint keeps its default."""
    hints = _hints(function)
    found: list[tuple[str, tuple[Any, ...]]] = []
    parameters = list(inspect.signature(function).parameters.values())[1:]
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        values = values_of(hints[p.name]) if p.name in hints else None
        if values is None and p.default is not p.empty:
            values = (p.default,)
        if values is None:  # nothing to make
            what = f"its type hint {_hint_text(hints[p.name])}" if p.name in hints else "no hint"
            raise BadCalls(
                f"{where}: cannot make a value for parameter {p.name!r} ({what}; values are "
                "made for int, str, bool, float, bytes, an Enum, a Literal and Optional of "
                "those); give the calls with --ops, e.g. --ops 'put(1, 1),get(1)'"
            )
        found.append((p.name, values))
    return found


def _hint_text(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def generated(cls: type) -> tuple[Call, ...]:
    """Calls of every public method with arguments from its type hints."""
    own = methods(cls)
    if not own:
        raise BadCalls(f"{cls.__name__} has no public methods to call")
    found: list[Call] = []
    for name, function in own.items():
        params = arguments(function, f"{cls.__name__}.{name}{_signature(function)}")
        names = [n for n, _ in params]
        combos = itertools.islice(itertools.product(*(v for _, v in params)), MAX_PER_METHOD)
        found += [Call(name, tuple(values)) for values in combos if len(values) == len(names)]
    return tuple(found)


def constructor(cls: type) -> Callable[[], Any]:
    """How to make a fresh instance: with no arguments, or with the first value of each
    required parameter's type hint (``capacity: int`` gets 1)."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return cls
    hints = _hints(cls.__init__)  # type: ignore[misc]
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for p in signature.parameters.values():
        if p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        values = values_of(hints[p.name]) if p.name in hints else None
        if not values:
            raise BadCalls(
                f"cannot make a {cls.__name__}: {cls.__name__}{signature} needs {p.name!r}, "
                "and it has no default and no type hint a value can be made for"
            )
        if p.kind is p.POSITIONAL_ONLY:
            args.append(values[0])
        else:
            kwargs[p.name] = values[0]
    if not args and not kwargs:
        return cls
    return lambda: cls(*args, **kwargs)
