"""Hands out the controlled locks while an exploration runs: ``threading.Lock``,
``threading.RLock`` (through ``threading._CRLock``) and the ``_allocate_lock`` that
``Condition.wait`` makes its waiter with become factories that make a controlled lock for
the driver while it builds the state and for the controlled threads (anyone else still
gets the real one). Everything built on them in ``threading`` and ``queue`` (Condition,
Event, Semaphore, BoundedSemaphore, Barrier, Queue) is the standard library's own code.

A ``threading.Thread`` started by a controlled thread is one too (``Thread.start``,
``join`` and ``is_alive`` are the scheduler's for it; ``Timer`` and the other subclasses
with it), and ``queue.SimpleQueue``, which CPython implements in C, is its Python twin
there, so that ``concurrent.futures.ThreadPoolExecutor`` runs under control too.

``time.sleep`` becomes a yield in controlled threads, and the clocks ``threading`` and
``queue`` time their waits with read the scheduler's virtual time there; the engine's
``TracedLock`` takes its lock the plain way (the scheduler keeps the wait-for graph).
:func:`patched` undoes it all on exit.
"""

from __future__ import annotations

import _thread
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from syncdemo.engine import locks as traced
from syncdemo.explore.primitives import Lock, RLock
from syncdemo.explore.scheduler import active


def _factory(controlled: type[Any], real: Any) -> Callable[..., Any]:
    def make(*args: Any, **kwargs: Any) -> Any:
        ctrl = active()
        if ctrl is not None and ctrl.controls_creation():
            return controlled(*args, **kwargs)
        return real(*args, **kwargs)

    make.__name__ = controlled.__name__
    return make


def _start(real: Callable[..., Any]) -> Callable[..., Any]:
    def start(self: threading.Thread) -> None:
        ctrl = active()
        if ctrl is None or ctrl.current() is None:
            return real(self)  # type: ignore[no-any-return]
        if self._started.is_set():  # type: ignore[attr-defined]
            raise RuntimeError("threads can only be started once")
        self._syncdemo_thread = ctrl.spawn(_run(self), self.name)  # type: ignore[attr-defined]
        self._started._flag = True  # type: ignore[attr-defined]  # set, without its lock
        return None

    return start


def _run(thread: threading.Thread) -> Callable[[], None]:
    """The body of a spawned thread: ``run()``, with ``current_thread()`` and ``ident``
    naming the user's Thread object while it runs on the pooled thread."""

    def body() -> None:
        ident = _thread.get_ident()
        active_threads = threading._active  # type: ignore[attr-defined]
        pooled = active_threads.get(ident)
        thread._ident = ident  # type: ignore[attr-defined]
        active_threads[ident] = thread
        try:
            thread.run()
        finally:
            if pooled is not None:
                active_threads[ident] = pooled

    return body


def _join(real: Callable[..., Any]) -> Callable[..., Any]:
    def join(self: threading.Thread, timeout: float | None = None) -> None:
        child = getattr(self, "_syncdemo_thread", None)
        ctrl = active()
        if child is None or ctrl is None:
            return real(self, timeout)  # type: ignore[no-any-return]
        ts = ctrl.current()
        if ts is None:
            if not child.done:
                raise RuntimeError(f"thread {child.index} of the exploration is still running")
            return None
        if ts is child:
            raise RuntimeError("cannot join current thread")
        ctrl.join(ts, child, None if timeout is None else max(0.0, float(timeout)))
        return None

    return join


def _is_alive(real: Callable[..., Any]) -> Callable[..., Any]:
    def is_alive(self: threading.Thread) -> bool:
        child = getattr(self, "_syncdemo_thread", None)
        if child is None or active() is None:
            return bool(real(self))
        return not child.done

    return is_alive


class Unexplorable(RuntimeError):
    """The workers use something the scheduler cannot control yet: the exploration stops
    with this message (it is not an outcome of the code)."""


def _refused(real: Callable[..., Any]) -> Callable[..., Any]:
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        ctrl = active()
        if ctrl is not None and ctrl.current() is not None:
            raise Unexplorable(
                "a worker makes a concurrent.futures.ThreadPoolExecutor, which explore "
                "does not control yet (its threads would run outside the scheduler); start "
                "threading.Thread objects instead, or use 'syncdemo run'"
            )
        real(self, *args, **kwargs)

    return init


def _traced_acquire(self: traced.TracedLock, who: traced.Who, timeout: float | None = None) -> bool:
    if timeout is None:
        return bool(self._lock.acquire())
    if timeout <= 0:
        return bool(self._lock.acquire(blocking=False))
    return bool(self._lock.acquire(timeout=timeout))


def _traced_release(self: traced.TracedLock, who: traced.Who) -> None:
    self._lock.release()


#: What is replaced in ``threading`` (its name there -> the controlled class).
_LOCKS = {"Lock": Lock, "_allocate_lock": Lock, "_CRLock": RLock}

#: ``threading.Thread``'s methods that are the scheduler's for a spawned thread.
_THREAD = {"start": _start, "join": _join, "is_alive": _is_alive}


@contextmanager
def patched() -> Iterator[None]:
    """Hand out controlled locks (to the driver while it builds state, and to the
    controlled threads), make ``time.sleep`` a yield and the waits' clocks virtual there,
    and let :class:`TracedLock` take its lock the plain way. Everything is put back
    afterwards."""
    saved = {name: getattr(threading, name) for name in _LOCKS}
    real_sleep = time.sleep
    real_clock = queue.time  # type: ignore[attr-defined]
    real_threading_clock = threading._time  # type: ignore[attr-defined]
    saved_traced = (traced.TracedLock.acquire, traced.TracedLock.release)
    thread_class = threading.Thread  # a worker may replace the name: put back on this
    thread_methods = {name: getattr(thread_class, name) for name in _THREAD}
    simple_queue = queue.SimpleQueue
    from concurrent.futures import thread as futures_thread

    executor_init = futures_thread.ThreadPoolExecutor.__init__

    def sleep(seconds: Any) -> None:
        ctrl = active()
        if ctrl is not None and ctrl.current() is not None:
            ctrl.yield_now()
        else:
            real_sleep(seconds)

    def clock() -> float:
        ctrl = active()
        if ctrl is not None and ctrl.current() is not None:
            return ctrl.now
        return float(real_clock())

    try:
        for name, cls in _LOCKS.items():
            real = saved[name] or threading._PyRLock  # type: ignore[attr-defined]
            setattr(threading, name, _factory(cls, real))
        time.sleep = sleep
        queue.time = clock  # type: ignore[attr-defined]
        threading._time = clock  # type: ignore[attr-defined]
        setattr(traced.TracedLock, "acquire", _traced_acquire)  # noqa: B010
        setattr(traced.TracedLock, "release", _traced_release)  # noqa: B010
        for name, wrap in _THREAD.items():
            setattr(threading.Thread, name, wrap(thread_methods[name]))
        queue.SimpleQueue = _factory(queue._PySimpleQueue, simple_queue)  # type: ignore[misc, assignment, attr-defined]
        futures_thread.ThreadPoolExecutor.__init__ = _refused(executor_init)  # type: ignore[method-assign]
        yield
    finally:
        for name, value in saved.items():
            setattr(threading, name, value)
        time.sleep = real_sleep
        queue.time = real_clock  # type: ignore[attr-defined]
        threading._time = real_threading_clock  # type: ignore[attr-defined]
        setattr(traced.TracedLock, "acquire", saved_traced[0])  # noqa: B010
        setattr(traced.TracedLock, "release", saved_traced[1])  # noqa: B010
        for name, method in thread_methods.items():
            setattr(thread_class, name, method)
        queue.SimpleQueue = simple_queue  # type: ignore[misc]
        futures_thread.ThreadPoolExecutor.__init__ = executor_init  # type: ignore[method-assign]
