"""Runs one schedule of real worker threads, one thread at a time.

Every worker is a real ``threading.Thread``, but only the thread holding the turn runs:
at a switch point it parks on its own raw lock and hands the turn back to the driver (the
thread that called :meth:`Controller.run`), which asks a *chooser* (the search, a replay,
PCT) which parked thread runs next. Nothing here reads a clock to decide anything: the
same choices give the same steps, values and outcome every time.

A step is everything one thread does between two parks. A thread parks at a switch point
(see points.py) only once it did something visible since its last park (a read or write
of the shared state, an operation on a primitive): steps that touch nothing shared commute
with every other thread's steps, so cutting the run there would only add schedules that
end the same way. A thread also parks before a primitive operation that cannot go on now
(it is then not runnable), and at ``time.sleep`` (a yield: it gives the turn away).

Timed waits use virtual time: ``now`` moves only when no thread can run, to the earliest
deadline of a timed wait, which then times out. So a timeout happens only when nothing
else can, and never depends on how fast the machine is.
"""

from __future__ import annotations

import _thread
import contextlib
import functools
from collections.abc import Callable
from typing import Any

from syncdemo.explore.pool import Slot
from syncdemo.explore.steps import (
    FREE,
    HANG_S,
    MAX_INVISIBLE,
    RUNNING,
    STUCK_TIMEOUTS_PER_THREAD,
    YIELDED,
    Aborted,
    AccessRecord,
    Chooser,
    Hung,
    Pending,
    RunEnd,
    StepRecord,
    ThreadState,
    cost,
)


def _touches(watch: frozenset[tuple[int, str]], number: int, key: str) -> bool:
    """Whether a write of (object ``number``, ``key``) changes something in ``watch``."""
    if (number, key) in watch or (number, "*") in watch:
        return True
    return key == "*" and any(n == number for n, _ in watch)


def _woken(ts: ThreadState) -> Callable[[Pending], bool]:
    return lambda pending: ts.woken


_active: Controller | None = None


def active() -> Controller | None:
    """The controller of the exploration in progress (one at a time per process)."""
    return _active


def set_active(controller: Controller | None) -> None:
    global _active
    _active = controller


class Controller:
    """One schedule at a time; reused for every run of one exploration."""

    def __init__(
        self, threads: int, granularity: str, step_limit: int, every_point: bool = False
    ) -> None:
        self.threads = threads
        self.granularity = granularity
        self.step_limit = step_limit
        self.every_point = every_point
        """Park at every switch point, not only after something visible: for code whose
        shared state the tracker cannot see (module globals), at the cost of far more
        schedules."""
        self._by_ident: dict[int, ThreadState] = {}
        self.states: list[ThreadState] = []
        self.now = 0.0
        self.aborting = False
        self.building = False
        """True while the driver builds the shared state: primitives made then are controlled."""
        self._serial = 0
        self._numbers: dict[int, int] = {}
        self._keep: list[Any] = []
        self._driver = _thread.get_ident()
        self.abandoned: list[str] = []
        self._slots: list[Slot | None] = []
        """Threads that did not unwind within HANG_S (they run code it cannot control)."""

    # --- called from worker threads (and the tracer) ------------------------------------

    def current(self) -> ThreadState | None:
        return self._by_ident.get(_thread.get_ident())

    def controls_creation(self) -> bool:
        """Whether a primitive made now, on this thread, should be a controlled one."""
        return (self.building and _thread.get_ident() == self._driver) or self.current() is not None

    def number(self, obj: object) -> int:
        """A number for ``obj`` that is the same in every run with the same prefix."""
        n = self._numbers.get(id(obj))
        if n is None:
            self._serial += 1
            n = self._numbers[id(obj)] = self._serial
            self._keep.append(obj)  # ids stay unique while the run lives
        return n

    def access(self, write: bool, obj: object, key: str, path: str, value: str) -> None:
        ts = self.current()
        if ts is None or self.aborting:
            return
        ts.visible = True
        number = self.number(obj)
        ts.accesses.append(AccessRecord(write, number, key, path, value))
        if not write:
            ts.reads.add((number, key))
            return
        ts.wrote = True
        for other in self.states:
            if other.watch and other is not ts and not other.woken:
                other.woken = _touches(other.watch, number, key)

    def line(self, filename: str, lineno: int) -> None:
        ts = self.current()
        if ts is None or self.aborting:
            return
        ts.cur_line = (filename, lineno)
        if self.granularity == "line":
            self._maybe_park(ts)
        self._note_line(ts)

    def point(self) -> None:
        """An opcode or gil switch point."""
        ts = self.current()
        if ts is None or self.aborting:
            return
        self._maybe_park(ts)
        self._note_line(ts)

    def yield_now(self) -> None:
        """``time.sleep`` in a controlled thread: give the turn away.

        A thread that yields where it yielded last, having only read since, is polling (a
        spin loop): running it again before anyone changes what it read would read the same
        and yield again, so it is not runnable until another thread writes something it
        read."""
        ts = self.current()
        if ts is None or self.aborting:
            return
        again = ts.yielded_at == ts.cur_line
        ts.yielded_at = ts.cur_line
        if ts.reads and not ts.wrote and again:
            ts.watch, ts.woken = frozenset(ts.reads), False
            pending = Pending("yield", "poll (spin) until what it read changes", ready=_woken(ts))
        else:
            pending = Pending("yield", "sleep")
        ts.reads, ts.wrote = set(), False
        try:
            self._park(ts, pending)
        finally:
            ts.watch = frozenset()
        self._note_line(ts)

    def op(
        self,
        ts: ThreadState,
        what: str,
        target: Any,
        ready: Callable[[Pending], bool] | None = None,
        timeout: float | None = None,
        force: bool = False,
    ) -> Pending:
        """Before a primitive operation: park if something visible happened since the
        last park, if it cannot go on now, or if ``force``; come back when it can."""
        if self.aborting:
            raise Aborted
        pending = Pending("op", what, target, ready)
        if timeout is not None:
            pending.deadline = self.now + max(0.0, timeout)
        if force or ts.visible or not pending.can_run():
            self._park(ts, pending)
        return pending

    def _note_line(self, ts: ThreadState) -> None:
        cur = ts.cur_line
        if cur is not None and (not ts.lines or ts.lines[-1] != cur):
            ts.lines.append(cur)

    def _maybe_park(self, ts: ThreadState) -> None:
        if self.aborting:
            return  # unwinding: let it run out (tracer callbacks never raise)
        if ts.visible or self.every_point or ts.invisible >= MAX_INVISIBLE:
            self._park(ts, Pending("point"))
        else:
            ts.invisible += 1

    def _park(self, ts: ThreadState, pending: Pending) -> None:
        if self.aborting:
            raise Aborted
        ts.pending = pending
        ts.back.release()
        ts.go.acquire()
        if self.aborting:
            raise Aborted
        ts.visible = False
        ts.invisible = 0

    def _body(self, ts: ThreadState, work: Callable[[], None], tracer: Any) -> None:
        ts.ident = _thread.get_ident()
        self._by_ident[ts.ident] = ts
        try:
            tracer.enter_thread()
            try:
                self._park(ts, Pending("start", "start"))
                work()
            except Aborted:
                pass
            except BaseException as exc:  # reported with the run
                if not self.aborting:  # else: a finally block failed while unwinding
                    ts.error = exc
            finally:
                tracer.leave_thread()
        finally:
            self._by_ident.pop(ts.ident, None)
            ts.done = True
            ts.pending = None
            with contextlib.suppress(RuntimeError):  # the driver gave up on it (hung)
                ts.back.release()

    # --- the driver ---------------------------------------------------------------------

    def run(
        self,
        works: list[Callable[[], None]],
        chooser: Chooser,
        tracer: Any,
        on_step: Callable[[StepRecord], None] | None = None,
    ) -> RunEnd:
        """Start one thread per work function, parked, and run them to the end one step
        at a time as ``chooser`` says."""
        self._driver = _thread.get_ident()
        self.states = [ThreadState(i, f"thread {i}") for i in range(len(works))]
        for ts in self.states:
            ts.go.acquire()
            ts.back.acquire()
        self.aborting = False
        self.now = 0.0
        steps: list[StepRecord] = []
        schedule: list[int] = []
        preemptions = 0
        how = "done"
        last: int | None = None
        fired = 0
        try:
            for ts, work in zip(self.states, works, strict=True):
                self._slot(ts.index).give(functools.partial(self._body, ts, work, tracer))
                self._wait_park(ts)
            while True:
                live = [ts for ts in self.states if not ts.done]
                if not live:
                    break
                enabled = tuple(ts.index for ts in live if self._runnable(ts))
                timed_out = False
                if not enabled:
                    fired += 1
                    waker = self._fire_timeout(live)
                    if waker is None or fired > STUCK_TIMEOUTS_PER_THREAD * len(works) + 1:
                        how = "deadlock"
                        break
                    enabled = (waker,)
                    timed_out = True
                if len(steps) >= self.step_limit:
                    how = "cut"
                    break
                mode = FREE
                if last is not None and last in enabled:
                    pending = self.states[last].pending
                    mode = YIELDED if pending is not None and pending.kind == "yield" else RUNNING
                choice = chooser.choose(len(schedule), enabled, last, mode)
                if choice is None:
                    how = "pruned"
                    break
                if choice not in enabled:
                    raise ValueError(f"thread {choice} cannot run now (runnable: {enabled})")
                if not timed_out:
                    fired = 0
                preempted = bool(cost(mode, last, choice, enabled))
                preemptions += preempted
                ts = self.states[choice]
                ts.lines = [ts.cur_line] if ts.cur_line is not None else []
                ts.accesses = []
                ts.go.release()
                self._wait_park(ts)
                record = StepRecord(
                    thread=choice,
                    lines=tuple(ts.lines),
                    accesses=tuple(ts.accesses),
                    timed_out=timed_out,
                    preemption=preempted,
                    wrote=any(a.write for a in ts.accesses),
                )
                steps.append(record)
                schedule.append(choice)
                chooser.stepped(len(schedule) - 1, choice, record.accesses)
                if on_step is not None:
                    on_step(record)
                last = choice
        except Hung:
            how = "hung"
        finally:
            waits = {ts.index: ts.pending for ts in self.states if not ts.done and ts.pending}
            at = {
                ts.index: ts.cur_line
                for ts in self.states
                if not ts.done and ts.cur_line is not None
            }
            owners = {}
            for index, pending in waits.items():
                owner = getattr(pending.target, "owner", None)
                if isinstance(owner, int) and owner >= 0:
                    owners[index] = owner
            self._unwind()
        errors = {ts.index: ts.error for ts in self.states if ts.error is not None}
        return RunEnd(how, steps, tuple(schedule), preemptions, waits, errors, owners, at)

    def _runnable(self, ts: ThreadState) -> bool:
        return ts.pending is not None and ts.pending.can_run()

    def _fire_timeout(self, live: list[ThreadState]) -> int | None:
        """Nothing can run: the earliest timed wait times out (virtual time moves on)."""
        timed = [
            (ts.pending.deadline, ts.index)
            for ts in live
            if ts.pending is not None
            and ts.pending.deadline is not None
            and not ts.pending.timed_out
        ]
        for deadline, index in sorted(timed):
            pending = self.states[index].pending
            assert pending is not None
            pending.timed_out = True
            self.now = max(self.now, deadline)
            if pending.can_run():
                return index
        return None

    def _wait_park(self, ts: ThreadState) -> None:
        if not ts.back.acquire(timeout=HANG_S):
            ts.hung = True
            raise Hung(ts.name)

    def _slot(self, index: int) -> Slot:
        """The pooled thread that runs thread ``index`` of each schedule (threads are reused
        from run to run: starting one costs more than a short schedule on some builds)."""
        while len(self._slots) <= index:
            self._slots.append(None)
        slot = self._slots[index]
        if slot is None or not slot.usable():
            slot = self._slots[index] = Slot(f"syncdemo-explore-{index}")
        return slot

    def close(self) -> None:
        """End the pooled threads (waiting for each at most HANG_S)."""
        for slot in self._slots:
            if slot is not None:
                slot.close()
        self._slots.clear()

    def _unwind(self) -> None:
        """Make every parked thread raise :class:`Aborted` and wait until each has ended
        its work (its pooled thread is then free for the next run)."""
        self.aborting = True
        for ts in self.states:
            if not ts.done and not ts.hung:
                ts.go.release()
                if not ts.back.acquire(timeout=HANG_S):
                    ts.hung = True
            if ts.hung:
                self.abandoned.append(ts.name)
                slot = self._slots[ts.index] if ts.index < len(self._slots) else None
                if slot is not None:
                    slot.abandon()
        self._numbers.clear()
        self._keep.clear()
        self._serial = 0
