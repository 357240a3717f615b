"""The two primitives CPython implements in C, as the scheduler sees them: ``Lock`` (what
``threading.Lock()`` and ``_thread.allocate_lock()`` make) and ``RLock``.

Only these are replaced (patching.py makes ``threading`` hand them out while an
exploration runs). ``Condition``, ``Event``, ``Semaphore``, ``BoundedSemaphore``,
``Barrier`` and ``queue.Queue`` are the standard library's own Python classes, running on
top of these locks, so their semantics are CPython's by construction (an ``Event.wait()``
woken by ``set()`` returns True even if the event was cleared before the waiter ran, as
in CPython).

Each acquire is a switch point (a blocking one that cannot go on parks its thread as not
runnable until a release makes it possible, so a deadlock is "nobody can run", seen at
once and for certain); the return from a call of one of their methods is one too, as the
return from any C call is (points.py). Timed acquires time out in virtual time: only when
no thread can run.

Outside the controlled threads (setup and check on the driver thread) the same objects
work as plain, uncontended locks.
"""

from __future__ import annotations

from types import TracebackType

from syncdemo.explore.scheduler import Controller, active
from syncdemo.explore.steps import Aborted, ThreadState

NOBODY = -1
DRIVER = -2


class Lock:
    """``_thread.lock`` under the scheduler: any thread may release it."""

    kind = "lock"

    def __init__(self) -> None:
        ctrl = active()
        assert ctrl is not None
        self._ctrl: Controller = ctrl
        self.label = ""
        self.owner = NOBODY

    def __repr__(self) -> str:
        state = "unlocked" if self.owner == NOBODY else "locked"
        return f"<controlled {state} {self.kind} {self.label}>".replace(" >", ">")

    def _name(self) -> str:
        return self.label or f"{self.kind} #{self._ctrl.number(self)}"

    def _touch(self, what: str) -> None:
        if self._ctrl.recording:
            self._ctrl.access(True, self, "*", self._name(), what)
        else:
            self._ctrl.wrote(True)

    def _free(self, ts: ThreadState | None) -> bool:
        return self.owner == NOBODY

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        ctrl = self._ctrl
        ts = ctrl.current()
        if ts is None:
            if ctrl.aborting and not self._free(None):
                raise Aborted  # a thread unwinding its schedule: never block
            if self._free(None):
                self._take(None)
                return True
            if not blocking:
                return False
            raise RuntimeError(f"{self._name()} would block outside the explored threads")
        if not blocking:
            ctrl.op(ts, f"try to acquire {self._name()}", self)
        else:
            wait = None if timeout is None or timeout < 0 else float(timeout)
            ctrl.op(
                ts,
                f"acquire {self._name()}",
                self,
                lambda p: self._free(ts) or p.timed_out,
                wait,
            )
        if not self._free(ts):
            if ctrl.recording:
                ctrl.access(False, self, "*", self._name(), "busy")
            return False
        self._take(ts)
        self._touch(f"acquired by {ts.name}")
        return True

    def _take(self, ts: ThreadState | None) -> None:
        self.owner = DRIVER if ts is None else ts.index

    def release(self) -> None:
        if self.owner == NOBODY:
            if self._ctrl.aborting:
                return  # unwinding: a release the schedule never reached
            raise RuntimeError("release unlocked lock")
        self._give()
        self._touch("released")

    def _give(self) -> None:
        self.owner = NOBODY

    def locked(self) -> bool:
        if self._ctrl.recording:
            self._ctrl.access(False, self, "*", self._name(), "locked?")
        return self.owner != NOBODY

    def holder(self) -> int:
        return self.owner

    def _at_fork_reinit(self) -> None:
        self.owner = NOBODY

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class RLock(Lock):
    """``_thread.RLock`` under the scheduler, with the three methods ``Condition`` uses."""

    kind = "rlock"

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _owned_by(self, ts: ThreadState | None) -> bool:
        return self.owner == (DRIVER if ts is None else ts.index)

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
        if not self._owned_by(self._ctrl.current()):
            if self._ctrl.aborting:
                return
            raise RuntimeError("cannot release un-acquired lock")
        super().release()

    def _is_owned(self) -> bool:
        return self._owned_by(self._ctrl.current())

    def _release_save(self) -> tuple[int, int]:
        if self.count == 0:
            raise RuntimeError("cannot release un-acquired lock")
        saved = (self.count, self.owner)
        self.count, self.owner = 0, NOBODY
        self._touch("released (to wait)")
        return saved

    def _acquire_restore(self, saved: tuple[int, int]) -> None:
        ctrl = self._ctrl
        ts = ctrl.current()
        if ts is not None:
            ctrl.op(ts, f"acquire {self._name()}", self, lambda p: self.owner == NOBODY)
        elif self.owner != NOBODY:
            raise RuntimeError(f"{self._name()} would block outside the explored threads")
        self.count, self.owner = saved[0], DRIVER if ts is None else ts.index
        self._touch("acquired again")

    def _recursion_count(self) -> int:
        return self.count if self._owned_by(self._ctrl.current()) else 0
