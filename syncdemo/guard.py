"""Running code that is not syncdemo's (a plugin, a user's file, its workers) without letting
it end or break syncdemo.

Three things such code did that no ``except Exception`` sees:

- ``os._exit(n)`` ends the process at once, with no word and an exit status that can
  collide with syncdemo's own (3 is the watchdog's). While :func:`no_hard_exit` is active
  it raises :class:`HardExit` instead, in the process that installed it (a process forked
  meanwhile gets the real one);
- replacing what syncdemo and the standard library need (``threading.Lock = None`` at
  import, ``threading.Event = None`` in a worker) breaks the next thing that uses it, deep
  inside syncdemo. :func:`snapshot` and :func:`restore` notice it and put the originals
  back, so the command can say which names were replaced;
- a plugin that loops at import: :func:`time_limit` raises :class:`TimeLimit` in it after
  a while (on POSIX, in the main thread), for the commands that import plugins nobody
  asked for by name (``list``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType, ModuleType
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")

#: The modules whose functions and classes syncdemo itself relies on while it runs code.
WATCHED = ("threading", "_thread", "queue", "time")
#: Names a program may set to its own on purpose, that syncdemo does not use.
MAY_CHANGE = frozenset({"threading.excepthook"})


class HardExit(BaseException):
    """Raised where the code called ``os._exit(code)``."""

    def __init__(self, code: int) -> None:
        super().__init__(f"it called os._exit({code}), which would end syncdemo at once")
        self.code = code


class Replaced(Exception):
    """The code replaced names of :data:`WATCHED` (now restored)."""

    def __init__(self, changed: list[str]) -> None:
        super().__init__(replaced_line(changed))
        self.changed = changed


class TimeLimit(BaseException):
    """Raised in code that ran longer than :func:`time_limit` allows."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"it did not finish within {seconds:g} s")
        self.seconds = seconds


_lock = threading.Lock()
_depth = 0
_real_exit = os._exit
_owner_pid = 0
#: Where ``_exit`` is reachable: ``os``, and the module it comes from (``posix``, ``nt``).
_HOMES = tuple(m for m in (os, sys.modules.get("posix"), sys.modules.get("nt")) if m is not None)


def _set_exit(function: Callable[[int], Any]) -> None:
    for module in _HOMES:
        module._exit = function  # type: ignore[attr-defined]


def _forget() -> None:
    """In a forked child: the real ``os._exit`` (multiprocessing ends its children with
    it), and no count inherited from the parent, nor its lock, perhaps held."""
    global _lock, _depth
    _lock = threading.Lock()
    _depth = 0
    _set_exit(_real_exit)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)


def _refuse_exit(code: int) -> NoReturn:
    if os.getpid() != _owner_pid:  # a process forked while we watched: its exit is real
        _real_exit(code)
    raise HardExit(code)


@contextlib.contextmanager
def no_hard_exit() -> Iterator[None]:
    """Within the block (nested or from several threads), ``os._exit`` (and
    ``posix._exit``, the same function) raises."""
    global _depth, _owner_pid
    with _lock:
        if _depth == 0:
            _owner_pid = os.getpid()
            _set_exit(_refuse_exit)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _set_exit(_real_exit)


Snapshot = dict[str, Any]


def snapshot() -> Snapshot:
    """The functions and classes of :data:`WATCHED` as they are now."""
    found: Snapshot = {}
    for name in WATCHED:
        module = sys.modules.get(name)
        if module is not None:
            found.update(_public(module))
    return found


def _public(module: ModuleType) -> Snapshot:
    return {
        f"{module.__name__}.{attr}": value
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and callable(value)
        and f"{module.__name__}.{attr}" not in MAY_CHANGE
    }


def restore(before: Snapshot) -> list[str]:
    """Put back every name of ``before`` that was replaced or deleted since; return them
    (``["threading.Lock"]``), [] when nothing changed."""
    changed = []
    for dotted, value in before.items():
        module_name, _, attr = dotted.partition(".")
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, attr, _MISSING) is not value:
            setattr(module, attr, value)
            changed.append(dotted)
    return changed


_MISSING = object()


def replaced_line(changed: list[str]) -> str:
    """'replaced threading.Lock' (and others) for a message."""
    shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    return f"replaced {shown}, which syncdemo needs (it has put the original back)"


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeLimit` in the block after ``seconds`` of wall time. Only where a
    timer signal can interrupt it: on POSIX, in the main thread, when no other timer is
    set; elsewhere the block runs unbounded."""
    import signal

    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getitimer(signal.ITIMER_REAL)[0] > 0
    ):
        yield
        return

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeLimit(seconds)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call(run: Callable[[], T], limit_s: float | None = None) -> T:
    """``run()`` with ``os._exit`` refused and, if given, a time limit; if it replaced
    names syncdemo needs, they are put back and :class:`Replaced` is raised, even when it
    also failed (the failure is often a consequence; it is chained), unless the user
    pressed Ctrl-C."""
    before = snapshot()
    limit = time_limit(limit_s) if limit_s is not None else contextlib.nullcontext()
    try:
        with no_hard_exit(), limit:
            result = run()
    except BaseException as exc:
        changed = restore(before)
        if changed and not real_interrupt(exc):
            raise Replaced(changed) from exc
        raise
    changed = restore(before)
    if changed:
        raise Replaced(changed)
    return result


def real_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is the user's Ctrl-C (or SIGTERM), not a KeyboardInterrupt that the
    code raised itself; outside a command (the Python API) every one counts as real."""
    from syncdemo import signals

    if not isinstance(exc, KeyboardInterrupt):
        return False
    return not signals.active() or signals.received() is not None


def failure(exc: BaseException) -> str:
    """What went wrong, for a message: 'RuntimeError: boom', 'it called os._exit(3) ...'."""
    if isinstance(exc, HardExit | TimeLimit | Replaced):
        return str(exc)
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
