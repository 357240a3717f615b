"""Lock, RLock, Condition, Semaphore, BoundedSemaphore, Event and Barrier the scheduler can
see (patching.py makes ``threading`` hand them out while an exploration runs).

Each operation is a switch point; one that cannot go on now (a held lock, an unset event)
parks its thread as not runnable until another step makes it possible, so a deadlock is
"nobody can run", seen at once and for certain. ``queue.Queue`` needs nothing of its own:
it is built from ``threading.Lock`` and ``threading.Condition``, so it gets these, and its
timeouts read the scheduler's virtual clock (``queue.time`` is patched too).

Timed waits (``acquire(timeout=...)``, ``wait(timeout)``, ``Queue.get(timeout=...)``) time
out in virtual time: only when no thread can run at all. A timed wait that cannot succeed
is therefore not a choice point; it times out deterministically when everything else waits.

Outside the controlled threads (setup and check on the driver thread) the same objects work
as plain, uncontended primitives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from syncdemo.explore.scheduler import Controller, active
from syncdemo.explore.steps import Pending, ThreadState

NOBODY = -1
DRIVER = -2


class _Primitive:
    kind = "primitive"

    def __init__(self) -> None:
        ctrl = active()
        assert ctrl is not None
        self._ctrl: Controller = ctrl
        self.label = ""

    def __repr__(self) -> str:
        return f"<controlled {self.kind} {self.label}>"

    def _name(self) -> str:
        return self.label or f"{self.kind} #{self._ctrl.number(self)}"

    def _me(self) -> ThreadState | None:
        return self._ctrl.current()

    def _touch(self, what: str, value: str = "") -> None:
        self._ctrl.access(True, self, "*", self._name(), f"{what}{value}")

    def _op(
        self,
        ts: ThreadState,
        what: str,
        ready: Callable[[Pending], bool] | None = None,
        timeout: float | None = None,
        force: bool = False,
    ) -> Pending:
        return self._ctrl.op(ts, f"{what} {self._name()}", self, ready, timeout, force)


def _timeout(blocking: bool, timeout: float | None) -> float | None:
    if timeout is None or timeout < 0:
        return None
    return float(timeout)


class Lock(_Primitive):
    kind = "lock"

    def __init__(self) -> None:
        super().__init__()
        self.owner = NOBODY

    def _free(self, ts: ThreadState | None) -> bool:
        return self.owner == NOBODY

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        ts = self._me()
        if ts is None:
            if self._free(None):
                self._take(None)
                return True
            if not blocking:
                return False
            raise RuntimeError(f"{self._name()} would block outside the explored threads")
        if not blocking:
            self._op(ts, "try to acquire")
        else:
            self._op(
                ts, "acquire", lambda p: self._free(ts) or p.timed_out, _timeout(blocking, timeout)
            )
        if not self._free(ts):
            self._ctrl.access(False, self, "*", self._name(), "busy")
            return False
        self._take(ts)
        self._touch("acquired by ", ts.name)
        return True

    def _take(self, ts: ThreadState | None) -> None:
        self.owner = DRIVER if ts is None else ts.index

    def release(self) -> None:
        # Operations that only let others go on (release, notify, set) do not park: a step
        # that ends with one is equivalent to the same step cut just before it, for every
        # other thread's step but ``locked()``, which nothing here needs.
        if self.owner == NOBODY:
            raise RuntimeError("release unlocked lock")
        self._give()
        self._touch("released")

    def _give(self) -> None:
        self.owner = NOBODY

    def locked(self) -> bool:
        self._ctrl.access(False, self, "*", self._name(), "locked?")
        return self.owner != NOBODY

    def holder(self) -> int:
        return self.owner

    def _owned_by(self, ts: ThreadState | None) -> bool:
        return self.owner == (DRIVER if ts is None else ts.index)

    def _release_all(self, ts: ThreadState | None) -> int:
        self.owner = NOBODY
        return 1

    def _restore(self, ts: ThreadState | None, saved: int) -> None:
        self._take(ts)

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class RLock(Lock):
    kind = "rlock"

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _free(self, ts: ThreadState | None) -> bool:
        return self.owner == NOBODY or self._owned_by(ts)

    def _take(self, ts: ThreadState | None) -> None:
        super()._take(ts)
        self.count += 1

    def _give(self) -> None:
        self.count -= 1
        if self.count == 0:
            self.owner = NOBODY

    def release(self) -> None:
        if not self._owned_by(self._me()):
            raise RuntimeError("cannot release un-acquired lock")
        super().release()

    def _release_all(self, ts: ThreadState | None) -> int:
        saved, self.count, self.owner = self.count, 0, NOBODY
        return saved

    def _restore(self, ts: ThreadState | None, saved: int) -> None:
        self.owner = DRIVER if ts is None else ts.index
        self.count = saved


class Condition(_Primitive):
    kind = "condition"

    def __init__(self, lock: Lock | None = None) -> None:
        super().__init__()
        self.lock: Lock = RLock() if lock is None else lock
        self._waiters: list[list[bool]] = []

    def _name(self) -> str:
        return self.label or self.lock.label or super()._name()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self.lock.acquire(blocking, timeout)

    def release(self) -> None:
        self.lock.release()

    def __enter__(self) -> bool:
        return self.lock.acquire()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        ts = self._me()
        if not self.lock._owned_by(ts):
            raise RuntimeError("cannot wait on un-acquired lock")
        if ts is None:
            raise RuntimeError(f"{self._name()}.wait() would block outside the explored threads")
        woken = [False]
        self._waiters.append(woken)
        saved = self.lock._release_all(ts)
        self._touch("wait")
        lock = self.lock
        pending = self._op(
            ts,
            "wait on",
            lambda p: (woken[0] or p.timed_out) and lock._free(ts),
            timeout,
            force=True,
        )
        if not woken[0]:
            self._waiters.remove(woken)
        lock._restore(ts, saved)
        self._touch("woken" if woken[0] else "timed out")
        del pending
        return woken[0]

    def wait_for(self, predicate: Callable[[], Any], timeout: float | None = None) -> Any:
        endtime = None
        waittime = timeout
        result = predicate()
        while not result:
            if waittime is not None:
                if endtime is None:
                    endtime = self._ctrl.now + waittime
                else:
                    waittime = endtime - self._ctrl.now
                    if waittime <= 0:
                        break
            self.wait(waittime)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        ts = self._me()
        if not self.lock._owned_by(ts):
            raise RuntimeError("cannot notify on un-acquired lock")
        woken = self._waiters[:n]
        del self._waiters[:n]
        for w in woken:
            w[0] = True
        self._touch("notify", f" ({len(woken)} woken)")

    def notify_all(self) -> None:
        self.notify(len(self._waiters))

    notifyAll = notify_all


class Semaphore(_Primitive):
    kind = "semaphore"

    def __init__(self, value: int = 1) -> None:
        super().__init__()
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self.value = value

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        ts = self._me()
        if ts is None:
            if self.value > 0:
                self.value -= 1
                return True
            if not blocking:
                return False
            raise RuntimeError(f"{self._name()} would block outside the explored threads")
        if blocking:
            self._op(
                ts, "acquire", lambda p: self.value > 0 or p.timed_out, _timeout(True, timeout)
            )
        else:
            self._op(ts, "try to acquire")
        if self.value <= 0:
            self._ctrl.access(False, self, "*", self._name(), "none free")
            return False
        self.value -= 1
        self._touch("acquired, left ", str(self.value))
        return True

    def release(self, n: int = 1) -> None:
        self._check_release(n)
        self.value += n
        self._touch("released, left ", str(self.value))

    def _check_release(self, n: int) -> None:
        pass

    __enter__ = acquire

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class BoundedSemaphore(Semaphore):
    kind = "bounded semaphore"

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self.initial = value

    def _check_release(self, n: int) -> None:
        if self.value + n > self.initial:
            raise ValueError("Semaphore released too many times")


class Event(_Primitive):
    kind = "event"

    def __init__(self) -> None:
        super().__init__()
        self.flag = False

    def is_set(self) -> bool:
        ts = self._me()
        if ts is not None:
            self._op(ts, "look at")
        self._ctrl.access(False, self, "*", self._name(), str(self.flag))
        return self.flag

    isSet = is_set

    def set(self) -> None:
        self._change(True)

    def clear(self) -> None:
        self._change(False)

    def _change(self, flag: bool) -> None:
        ts = self._me()
        if ts is not None and not flag:
            self._op(ts, "clear")
        self.flag = flag
        self._touch("set" if flag else "clear")

    def wait(self, timeout: float | None = None) -> bool:
        ts = self._me()
        if ts is None:
            if self.flag:
                return True
            raise RuntimeError(f"{self._name()}.wait() would block outside the explored threads")
        self._op(ts, "wait for", lambda p: self.flag or p.timed_out, timeout)
        self._ctrl.access(False, self, "*", self._name(), str(self.flag))
        return self.flag


class Barrier(_Primitive):
    kind = "barrier"

    def __init__(
        self, parties: int, action: Callable[[], Any] | None = None, timeout: float | None = None
    ) -> None:
        super().__init__()
        if parties < 1:
            raise ValueError("parties must be >= 1")
        self._parties = parties
        self._action = action
        self._timeout = timeout
        self._count = 0
        self._generation = 0
        self._broken = False

    def wait(self, timeout: float | None = None) -> int:
        ts = self._me()
        if timeout is None:
            timeout = self._timeout
        if ts is not None:
            self._op(ts, "arrive at")
        if self._broken:
            raise threading.BrokenBarrierError
        index = self._count
        self._count += 1
        generation = self._generation
        if self._count == self._parties:
            try:
                if self._action is not None:
                    self._action()
            except BaseException:
                self._break()
                raise
            self._count = 0
            self._generation += 1
            self._touch("opened by ", ts.name if ts else "the driver")
            return index
        if ts is None:
            raise RuntimeError(f"{self._name()}.wait() would block outside the explored threads")
        self._touch("arrived: ", f"{self._count} of {self._parties}")
        self._op(
            ts,
            "wait at",
            lambda p: self._generation != generation or self._broken or p.timed_out,
            timeout,
            force=True,
        )
        if self._generation == generation:
            if not self._broken:
                self._break()
            raise threading.BrokenBarrierError
        self._ctrl.access(False, self, "*", self._name(), "passed")
        return index

    def _break(self) -> None:
        self._broken = True
        self._count = 0
        self._touch("broken")

    def abort(self) -> None:
        self._break()

    def reset(self) -> None:
        if self._count:
            self._break()
        self._broken = False
        self._count = 0
        self._generation += 1
        self._touch("reset")

    @property
    def parties(self) -> int:
        return self._parties

    @property
    def n_waiting(self) -> int:
        return self._count

    @property
    def broken(self) -> bool:
        return self._broken
