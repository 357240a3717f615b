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

Code that must not be cut short at an arbitrary instruction (``explore``: its driver hands
a turn among worker threads, and an exception raised in it while a worker holds the turn
leaves them half-unwound) runs in a :func:`polled` block instead: there a signal is only
recorded, the code asks :func:`pending` at the points where it can stop cleanly, stops,
and takes it (:func:`take`); one nobody took raises when the block ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
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
#: One entry per polled() block active in the main thread.
_polling: list[bool] = []
#: The signals that came within the polled() blocks and were not taken: (signum, when).
_pending: list[tuple[int, float]] = []
#: A signal that comes when another has been pending this long raises at once, polled or
#: not: the code that should have stopped at its next safe point never got there (the
#: user's own setup code looping, say), and the user insists.
INSIST_S = 2.0


def _handler(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    if _polling:
        now = time.monotonic()
        if _pending and now - _pending[0][1] >= INSIST_S:
            _pending.clear()
            _raise(signum)
        _pending.append((signum, now))
        return
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


@contextlib.contextmanager
def polled() -> Iterator[None]:
    """Within the block, a signal that would raise (SIGINT, SIGTERM and SIGHUP under
    :func:`handled`; SIGINT anywhere, Python's default handler being replaced for the
    block) is only recorded, for :func:`pending`; one that no code took (:func:`take`)
    raises when the outermost block ends. A second signal, more than :data:`INSIST_S`
    after the first, raises at once. Outside the main thread, where no signal handler
    runs, the block changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: Any = None
    if not _polling:
        _pending.clear()
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            previous = signal.signal(signal.SIGINT, _handler)
    _polling.append(True)
    try:
        yield
    finally:
        _polling.pop()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if not _polling and _pending:
            signum = _pending[0][0]
            _pending.clear()
            _raise(signum)


def pending() -> int | None:
    """The signal that came within the :func:`polled` block and was not taken yet, or
    None. Cheap, and safe to ask from any thread."""
    return _pending[0][0] if _pending else None


def take() -> int | None:
    """:func:`pending`, which is then handled by the caller (it will not raise)."""
    signum = pending()
    _pending.clear()
    return signum
