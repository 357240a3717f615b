"""SIGTERM and SIGHUP end a command the way Ctrl-C does, with their own exit status.

Their default action kills the process on the spot: ``play`` left the terminal without
echo, ``-o`` left its temporary file, ``--runtime processes`` left its workers. Here, while
a command runs, each of them raises :class:`Terminated` in the main thread; it is a
``KeyboardInterrupt``, so every path that cleans up after Ctrl-C (workers stopped, no
``-o`` file, the terminal restored, the partial table) cleans up after them too. The
command still says "Interrupted" and exits 130; :func:`exit_code` turns that into
128 + the signal's number (143 for SIGTERM, 129 for SIGHUP), as a shell reports a process
the signal killed.

A signal the user's shell ignores (``nohup``, a background job's SIGINT) stays ignored.
The handlers remember which signal came, so that code catching a ``KeyboardInterrupt`` can
tell a real one from one that a plugin or a user's file raised itself
(:func:`received`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

#: The exit status of a command that Ctrl-C ended.
EXIT_INTERRUPTED = 130


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: stop as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


#: For each handled() block active (the CLI runs a command inside one): whether Ctrl-C
#: goes through our handler, so that received() would know of it.
_active: list[bool] = []
#: The signal that ended (or is ending) the current command, if one did.
_received: list[int] = []
#: Set while a few lines must not be cut short (a temporary file being named).
_deferred: list[int] = []
_deferring = threading.local()


def _handler(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    if getattr(_deferring, "depth", 0):
        _deferred.append(signum)
        return
    _raise(signum)


def _raise(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def _watched() -> list[signal.Signals]:
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    return [getattr(signal, n) for n in names if hasattr(signal, n)]


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise in the main thread (unless they
    were ignored when it began); the previous handlers are back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {}
    for signum in _watched():
        current = signal.getsignal(signum)
        if current in (signal.SIG_IGN, None):
            continue  # ignored by whoever started us (nohup, a background job), or not Python's
        if signum == signal.SIGINT and current is not signal.default_int_handler:
            continue  # someone installed their own Ctrl-C handler: theirs it stays
        previous[signum] = signal.signal(signum, _handler)
    _received.clear()
    _active.append(signal.SIGINT in previous)
    try:
        yield
    finally:
        _active.pop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def active() -> bool:
    """Whether a command's handlers are in place, Ctrl-C's included (so that
    :func:`received` would know of a real one)."""
    return bool(_active) and _active[-1]


def received() -> int | None:
    """The signal that arrived during the command, or None (a KeyboardInterrupt then came
    from code that raised it, not from the user)."""
    return _received[-1] if _received else None


def exit_code(code: int) -> int:
    """``code``, except that an "interrupted" exit caused by SIGTERM or SIGHUP becomes
    128 + that signal's number."""
    signum = received()
    if code == EXIT_INTERRUPTED and signum is not None and signum != signal.SIGINT:
        return 128 + signum
    return code


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold a signal that arrives inside the block until its end (a few lines that must
    finish: creating a temporary file and remembering its name)."""
    _deferring.depth = getattr(_deferring, "depth", 0) + 1
    try:
        yield
    finally:
        _deferring.depth -= 1
        if not _deferring.depth and _deferred:
            signum = _deferred.pop()
            _deferred.clear()
            _raise(signum)
