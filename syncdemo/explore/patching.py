"""Hands out the controlled locks while an exploration runs: ``threading.Lock``,
``threading.RLock`` (through ``threading._CRLock``) and the ``_allocate_lock`` that
``Condition.wait`` makes its waiter with become factories that make a controlled lock for
the driver while it builds the state and for the controlled threads (anyone else still
gets the real one). Everything built on them in ``threading`` and ``queue`` (Condition,
Event, Semaphore, BoundedSemaphore, Barrier, Queue) is the standard library's own code.

``time.sleep`` becomes a yield in controlled threads, and the clocks ``threading`` and
``queue`` time their waits with read the scheduler's virtual time there; the engine's
``TracedLock`` takes its lock the plain way (the scheduler keeps the wait-for graph).
:func:`patched` undoes it all on exit.
"""

from __future__ import annotations

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
        yield
    finally:
        for name, value in saved.items():
            setattr(threading, name, value)
        time.sleep = real_sleep
        queue.time = real_clock  # type: ignore[attr-defined]
        threading._time = real_threading_clock  # type: ignore[attr-defined]
        setattr(traced.TracedLock, "acquire", saved_traced[0])  # noqa: B010
        setattr(traced.TracedLock, "release", saved_traced[1])  # noqa: B010
