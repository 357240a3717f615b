"""Hands out the controlled primitives while an exploration runs: ``threading.Lock`` and
its siblings become factories that make a controlled one for the driver while it builds
the state and for the controlled threads (anyone else still gets the real one),
``time.sleep`` becomes a yield in controlled threads, ``queue``'s clock reads the
scheduler's virtual time there, and the engine's ``TracedLock`` takes its lock the plain
way (the scheduler keeps the wait-for graph). :func:`patched` undoes it all on exit.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from syncdemo.engine import locks as traced
from syncdemo.explore.primitives import (
    Barrier,
    BoundedSemaphore,
    Condition,
    Event,
    Lock,
    RLock,
    Semaphore,
)
from syncdemo.explore.scheduler import active


def _factory(controlled: type[Any], real: Any) -> Callable[..., Any]:
    def make(*args: Any, **kwargs: Any) -> Any:
        ctrl = active()
        if ctrl is not None and ctrl.controls_creation():
            return controlled(*args, **kwargs)
        return real(*args, **kwargs)

    make.__name__ = controlled.__name__
    return make


_REPLACED = {
    "Lock": Lock,
    "RLock": RLock,
    "Condition": Condition,
    "Semaphore": Semaphore,
    "BoundedSemaphore": BoundedSemaphore,
    "Event": Event,
    "Barrier": Barrier,
}


def _traced_acquire(self: traced.TracedLock, who: traced.Who, timeout: float | None = None) -> bool:
    if timeout is None:
        return bool(self._lock.acquire())
    if timeout <= 0:
        return bool(self._lock.acquire(blocking=False))
    return bool(self._lock.acquire(timeout=timeout))


def _traced_release(self: traced.TracedLock, who: traced.Who) -> None:
    self._lock.release()


@contextmanager
def patched() -> Iterator[None]:
    """Hand out controlled primitives (to the driver while it builds state, and to the
    controlled threads), make ``time.sleep`` a yield and ``queue``'s clock virtual there,
    and let :class:`TracedLock` take its lock the plain way (the scheduler keeps the
    wait-for graph). Everything is put back afterwards."""
    saved_threading = {name: getattr(threading, name) for name in _REPLACED}
    real_sleep = time.sleep
    real_clock = queue.time  # type: ignore[attr-defined]
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
        for name, cls in _REPLACED.items():
            setattr(threading, name, _factory(cls, saved_threading[name]))
        time.sleep = sleep
        queue.time = clock  # type: ignore[attr-defined]
        setattr(traced.TracedLock, "acquire", _traced_acquire)  # noqa: B010
        setattr(traced.TracedLock, "release", _traced_release)  # noqa: B010
        yield
    finally:
        for name, value in saved_threading.items():
            setattr(threading, name, value)
        time.sleep = real_sleep
        queue.time = real_clock  # type: ignore[attr-defined]
        setattr(traced.TracedLock, "acquire", saved_traced[0])  # noqa: B010
        setattr(traced.TracedLock, "release", saved_traced[1])  # noqa: B010
