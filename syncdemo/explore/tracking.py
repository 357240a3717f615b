"""Sees the reads and writes the workers make on the shared state, with their values.

After ``setup`` the state object (and the objects of the scenario's own classes it holds)
gets a subclass of its class that reports attribute reads and writes, and its lists, dicts
and sets are swapped for subclasses that report item reads and writes. Only controlled
threads report (the scheduler ignores the driver's own setup and check). What the
scheduler learns serves twice: a step that touched nothing shared need not be cut from
its neighbours, and the report can show the values each step read and wrote.

Accesses the tracker cannot see (module globals, objects reached only through locals or
other modules) are not reported. Switch points never depend on it; spin detection does
(a loop round that wrote nothing seen is a spin), so the driver's own reads in the
scenario's check are noted too (:func:`noted_reads`), and a check that reads nothing the
workers were seen to write is reported (``Runner.check_unseen``).
"""

from __future__ import annotations

import _thread
import contextlib
import queue
import threading
import types
from collections.abc import Iterable, Iterator
from typing import Any

from syncdemo.explore import scheduler

#: How many characters of a value the report keeps.
VALUE_CHARS = 40


def show(value: Any) -> str:
    """A value as the report shows it: short, and never a live object's repr with an id.

    Containers show their first few items (each shown so), then how many more there are;
    a long string its start and how many characters more: cut where it says so, never with
    an ellipsis that hides how much is missing."""
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, str):
        if len(value) <= VALUE_CHARS:
            return repr(value)
        return f"{value[:VALUE_CHARS]!r} (+{len(value) - VALUE_CHARS:,} characters)"
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        try:
            plain: Any = _BASES[type(value)](value) if _tracked(value) else value
            if isinstance(plain, dict):
                items = [f"{show(k)}: {show(v)}" for k, v in list(plain.items())[:ITEMS]]
            else:
                items = [show(v) for v in list(plain)[:ITEMS]]
        except Exception:  # a container of odd things
            return type(value).__name__
        more = f", +{len(plain) - ITEMS:,} more" if len(plain) > ITEMS else ""
        left, right = _BRACKETS.get(type(plain), ("(", ")"))
        return f"{left}{', '.join(items)}{more}{right}"
    label = getattr(value, "label", "")
    return label if isinstance(label, str) and label else type(value).__name__


#: How many items of a container a value shows.
ITEMS = 6
_BRACKETS: dict[type, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("{", "}"),
    dict: ("{", "}"),
}


def _tracked(value: Any) -> bool:
    return isinstance(value, (TrackedList, TrackedDict, TrackedSet))


_busy = False
"""True while a report is being made (showing a tracked container reads it again)."""


_noted: set[str] | None = None
"""While :func:`noted_reads` runs: the shared state the driver's own code reads."""


def _report(write: bool, obj: Any, key: str, value: Any) -> None:
    global _busy
    if _busy:
        return
    ctrl = scheduler.active()
    if ctrl is None:
        return
    if _noted is not None and ctrl.current() is None:  # the driver, in noted_reads
        if not write:
            _noted.add(_where(obj, key))
        return
    if not ctrl.wrote(write):
        return
    _busy = True
    try:
        ctrl.access(write, obj, key, _where(obj, key), show(value))
    finally:
        _busy = False


def _where(obj: Any, key: str) -> str:
    path = _PATHS.get(id(obj), type(obj).__name__)
    return path if key == "*" else f"{path}{key}" if key[:1] == "[" else f"{path}.{key}"


@contextlib.contextmanager
def noted_reads() -> Iterator[set[str]]:
    """Within the block, the shared state the driver reads (the scenario's check) is noted
    in the set it gives, by path (``state.balance``), as a step's accesses are."""
    global _noted
    seen: set[str] = set()
    _noted = seen
    try:
        yield seen
    finally:
        _noted = None


_PATHS: dict[int, str] = {}
_QUIET: tuple[type, ...] = (types.MethodType,)
"""Values whose reads are not reported: bound methods, and primitives (their operations are
reported instead); set by :func:`track`."""
_CLASSES: dict[type, type] = {}


def _recording(cls: type) -> type:
    sub = _CLASSES.get(cls)
    if sub is not None:
        return sub
    get: Any = cls.__getattribute__
    put: Any = cls.__setattr__

    def __getattribute__(self: Any, name: str) -> Any:
        value = get(self, name)
        if name[:2] != "__" and not isinstance(value, _QUIET):
            _report(False, self, name, value)
        return value

    def __setattr__(self: Any, name: str, value: Any) -> None:
        put(self, name, value)
        if name[:2] != "__":
            _report(True, self, name, value)

    sub = type(
        cls.__name__,
        (cls,),
        {
            "__slots__": (),
            "__getattribute__": __getattribute__,
            "__setattr__": __setattr__,
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
        },
    )
    _CLASSES[cls] = sub
    return sub


class TrackedList(list[Any]):
    def __getitem__(self, i: Any) -> Any:
        value = super().__getitem__(i)
        _report(False, self, f"[{i}]" if isinstance(i, int) else "*", value)
        return value

    def __setitem__(self, i: Any, value: Any) -> None:
        super().__setitem__(i, value)
        _report(True, self, f"[{i}]" if isinstance(i, int) else "*", value)

    def __delitem__(self, i: Any) -> None:
        super().__delitem__(i)
        _report(True, self, "*", self)

    def __len__(self) -> int:
        _report(False, self, "*", self)
        return super().__len__()

    def __iter__(self) -> Iterator[Any]:
        # item by item, as the list iterator does, so each read is seen when it happens
        i = 0
        while i < list.__len__(self):
            value = list.__getitem__(self, i)
            _report(False, self, f"[{i}]", value)
            yield value
            i += 1
        _report(False, self, "*", self)  # it saw the end: a read of the length

    def __contains__(self, item: object) -> bool:
        _report(False, self, "*", self)
        return super().__contains__(item)

    def append(self, item: Any) -> None:
        super().append(item)
        _report(True, self, "*", self)

    def extend(self, items: Iterable[Any]) -> None:
        super().extend(items)
        _report(True, self, "*", self)

    def insert(self, i: Any, item: Any) -> None:
        super().insert(i, item)
        _report(True, self, "*", self)

    def pop(self, i: Any = -1) -> Any:
        value = super().pop(i)
        _report(True, self, "*", self)
        return value

    def remove(self, item: Any) -> None:
        super().remove(item)
        _report(True, self, "*", self)

    def clear(self) -> None:
        super().clear()
        _report(True, self, "*", self)


class TrackedDict(dict[Any, Any]):
    def __getitem__(self, k: Any) -> Any:
        value = super().__getitem__(k)
        _report(False, self, f"[{k!r}]", value)
        return value

    def __setitem__(self, k: Any, value: Any) -> None:
        super().__setitem__(k, value)
        _report(True, self, f"[{k!r}]", value)

    def __delitem__(self, k: Any) -> None:
        super().__delitem__(k)
        _report(True, self, "*", self)

    def get(self, k: Any, default: Any = None) -> Any:
        value = super().get(k, default)
        _report(False, self, f"[{k!r}]", value)
        return value

    def __contains__(self, k: object) -> bool:
        _report(False, self, "*", self)
        return super().__contains__(k)

    def __len__(self) -> int:
        _report(False, self, "*", self)
        return super().__len__()

    def __iter__(self) -> Iterator[Any]:
        _report(False, self, "*", self)
        return super().__iter__()

    def pop(self, k: Any, *default: Any) -> Any:
        value = super().pop(k, *default)
        _report(True, self, "*", self)
        return value

    def setdefault(self, k: Any, default: Any = None) -> Any:
        value = super().setdefault(k, default)
        _report(True, self, "*", self)
        return value


class TrackedSet(set[Any]):
    def add(self, item: Any) -> None:
        super().add(item)
        _report(True, self, "*", self)

    def discard(self, item: Any) -> None:
        super().discard(item)
        _report(True, self, "*", self)

    def remove(self, item: Any) -> None:
        super().remove(item)
        _report(True, self, "*", self)

    def __len__(self) -> int:
        _report(False, self, "*", self)
        return super().__len__()

    def __iter__(self) -> Iterator[Any]:
        _report(False, self, "*", self)
        return super().__iter__()

    def __contains__(self, item: object) -> bool:
        _report(False, self, "*", self)
        return super().__contains__(item)


_REAL = (type(_thread.allocate_lock()), type(_thread.RLock()))
"""The C locks: one made before the explorer could control it would block for real."""

_STDLIB = (threading.Condition, threading.Event, threading.Semaphore, threading.Barrier)
"""The standard library's primitives: Python code on top of a lock (labelled by path)."""

_BASES: dict[type, type] = {}  # filled below: tracked container type -> its plain type

_CONTAINERS: dict[type, type] = {list: TrackedList, dict: TrackedDict, set: TrackedSet}
_BASES.update({v: k for k, v in _CONTAINERS.items()})


def track(root: Any, name: str, files: frozenset[str]) -> Any:
    """Make ``root`` and what it holds report their accesses; returns ``root`` (or, for a
    bare container, its tracked copy). Objects are tracked if their class is defined in
    one of ``files`` (the scenario's own classes); primitives get a label from their path."""
    global _QUIET
    from syncdemo.engine.locks import TracedLock
    from syncdemo.explore import primitives

    _QUIET = (types.MethodType, primitives.Lock, TracedLock, *_STDLIB, queue.Queue)
    _PATHS.clear()
    seen: set[int] = set()
    return _walk(root, name, files, seen, 0)


def _walk(obj: Any, path: str, files: frozenset[str], seen: set[int], depth: int) -> Any:
    if id(obj) in seen or depth > 4:
        return obj
    container = _CONTAINERS.get(type(obj))
    if container is not None:
        copy = container(obj)
        seen.add(id(copy))
        _PATHS[id(copy)] = path
        items = copy.items() if isinstance(copy, dict) else enumerate(copy)
        if not isinstance(copy, set):
            for key, value in list(items):
                new = _walk(value, f"{path}[{key!r}]", files, seen, depth + 1)
                if new is not value and isinstance(copy, dict):
                    dict.__setitem__(copy, key, new)
                elif new is not value:
                    list.__setitem__(copy, key, new)
        return copy
    seen.add(id(obj))
    if isinstance(obj, _REAL):
        raise TypeError(
            f"{path} is a {type(obj).__name__} made before the explorer could control it "
            "(field(default_factory=threading.Lock) keeps the class it saw at import: write "
            "default_factory=lambda: threading.Lock() instead)"
        )
    lock = _inner_lock(obj)
    if lock is not None:
        _walk(lock, path, files, seen, depth + 1)
        return obj
    if hasattr(obj, "label") and type(obj).__module__ == "syncdemo.explore.primitives":
        _label(obj, path)
        return obj
    inner = getattr(obj, "_lock", None)
    name = getattr(obj, "name", None)
    if inner is not None and isinstance(name, str) and hasattr(inner, "label"):
        inner.label = name  # a TracedLock: its lock is called by its name ("fork 0")
        return obj
    module = getattr(type(obj), "__module__", "")
    source = getattr(__import__("sys").modules.get(module), "__file__", None)
    if source not in files or not hasattr(obj, "__dict__"):
        return obj
    _PATHS[id(obj)] = path
    for key, value in list(vars(obj).items()):
        new = _walk(value, f"{path}.{key}", files, seen, depth + 1)
        if new is not value:
            object.__setattr__(obj, key, new)
    with contextlib.suppress(TypeError):  # a layout that cannot take a subclass: untracked
        obj.__class__ = _recording(type(obj))
    return obj


def _inner_lock(obj: Any) -> Any:
    """The lock a standard-library primitive is built on (None for anything else)."""
    if isinstance(obj, threading.Condition):
        return getattr(obj, "_lock", None)
    if isinstance(obj, _STDLIB):
        cond = getattr(obj, "_cond", None)
        return getattr(cond, "_lock", None)
    if isinstance(obj, queue.Queue):
        return obj.mutex
    return None


def _label(lock: Any, path: str) -> None:
    from syncdemo.explore import primitives

    if isinstance(lock, primitives.Lock) and not lock.label:
        lock.label = path


def describe(root: Any) -> str:
    """The shared state in one line: each public attribute of the state object, locks by
    who holds them ("lock: thread 0"), containers by their items."""
    fields = vars(root) if hasattr(root, "__dict__") else {}
    parts = []
    for key, value in fields.items():
        if key.startswith("__"):
            continue
        text = _brief(value)
        if text:
            parts.append(f"{key}: {text}")
    if not parts and hasattr(root, "__dict__"):
        return ""  # an object with nothing to show
    return ", ".join(parts) if parts else show(root)


def _brief(value: Any) -> str:
    if isinstance(value, threading.Event):
        return "set" if value.is_set() else "not set"
    if isinstance(value, threading.Semaphore):
        return f"{getattr(value, '_value', '?')} left"
    if isinstance(value, threading.Barrier):
        return f"{value.n_waiting} of {value.parties} waiting"
    if isinstance(value, queue.Queue):
        return show(list(value.queue))
    if isinstance(value, threading.Condition):
        value = _inner_lock(value)
    owner = getattr(value, "owner", None)
    if type(value).__module__ == "syncdemo.explore.primitives":
        if isinstance(owner, int):
            return "free" if owner == -1 else f"thread {owner}" if owner >= 0 else "held"
        for attr in ("value", "flag"):
            if hasattr(value, attr):
                return str(getattr(value, attr))
        return ""
    if isinstance(value, (list, tuple)) and value and all(hasattr(v, "_lock") for v in value):
        return "[" + ", ".join(_brief(v._lock) for v in value) + "]"
    if hasattr(value, "_lock") and hasattr(value, "name"):
        return _brief(value._lock)
    if isinstance(value, (list, tuple, set, frozenset, dict)) or value is None:
        return show(value)
    if isinstance(value, (bool, int, float, str)):
        return show(value)
    return ""
