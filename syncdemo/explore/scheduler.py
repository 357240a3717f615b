"""Runs one schedule of real worker threads, one thread at a time.

Every worker is a real ``threading.Thread``, but only the thread holding the turn runs.
At each switch point of the granularity (points.py reports them; primitives.py reports
each operation on a lock) the running thread asks the *chooser* (the search, a replay,
PCT) which thread runs next. If the chooser keeps it, it goes straight on; otherwise it
hands the turn to the chosen thread (releasing that thread's own lock) and parks on its
own. Where a thread may stop depends only on the granularity and the code it runs, never
on what the tracker saw: tracking serves the report (values) and spin detection only.

A step is everything one thread does between two switch points; the schedule is the
thread chosen at each. Nothing here reads a clock to decide anything: the same choices
give the same steps, values and outcome every time.

Timed waits use virtual time: ``now`` moves only when no thread can run, to the earliest
deadline of a timed wait, which then times out. So a timeout happens only when nothing
else can, and never depends on how fast the machine is.

The driver (the thread that called :meth:`Controller.run`) starts the threads, hands the
first turn, and waits until the run is over (or until no switch point came for
:data:`~syncdemo.explore.steps.HANG_S`: a thread blocked on something uncontrolled).

A signal (Ctrl-C, SIGTERM) never raises in the driver while the workers run: the caller
runs the exploration in a :func:`syncdemo.signals.polled` block, and the thread holding the
turn ends the run at its next switch point (``interrupted``), so that it unwinds the way
every run does. The caller stops between runs.
"""

from __future__ import annotations

import _thread
import contextlib
import functools
import time
import types
from collections.abc import Callable
from typing import Any, TypeAlias

from syncdemo import signals
from syncdemo.explore import bytecode
from syncdemo.explore.pool import Slot
from syncdemo.explore.steps import (
    FREE,
    HANG_S,
    INTERRUPT_GRACE_S,
    INTERRUPTED,
    POLL_S,
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

#: The clock the driver waits by, bound at import: a worker that replaces ``time.monotonic``
#: must not break the driver (the runner notices the replacement and says so).
_monotonic = time.monotonic

#: Where a thread stands at a switch point: (id of its frame, code object, offset), or None.
Here: TypeAlias = "tuple[int, types.CodeType, int] | None"

START = (0, None, 0)
"""Where a thread stands at its start (only the harness runs before its first point)."""

_active: Controller | None = None


def _parked(index: int, name: str) -> ThreadState:
    """A thread of a run before it starts: parked, runnable, started when first chosen."""
    ts = ThreadState(index, name)
    ts.go.acquire()
    ts.back.acquire()
    ts.pending = Pending("start", "start")
    ts.at = START
    return ts


def active() -> Controller | None:
    """The controller of the exploration in progress (one at a time per process)."""
    return _active


def set_active(controller: Controller | None) -> None:
    global _active
    _active = controller


class Controller:
    """One schedule at a time; reused for every run of one exploration."""

    def __init__(self, threads: int, granularity: str, step_limit: int) -> None:
        self.threads = threads
        self.granularity = granularity
        self.step_limit = step_limit
        self.files: frozenset[str] = frozenset()
        """The scenario's own files (where granularity ``line`` stops at each line)."""
        self.reduction = True
        """Whether a point reached through only local instructions since the last one is
        merged with it (bytecode.py); off (``--no-reduction``), every point is a choice."""
        self.spins = True
        """Whether a loop gone round without a write the tracker saw is a spin (the turn
        is given away): off where the tracker sees none of the workers' writes (their
        shared state is out of its sight), as a spin is then only a guess."""
        self._by_ident: dict[int, ThreadState] = {}
        self.states: list[ThreadState] = []
        self.now = 0.0
        self.aborting = False
        self.recording = False
        """Whether steps keep what they read and wrote, with values (for a report): a
        search only needs to know that a thread wrote something (spin detection)."""
        self.quiet = False
        """True while the report reads the shared state between steps (not the workers)."""
        self.building = False
        """True while the driver builds the shared state: primitives made then are controlled."""
        self._serial = 0
        self._numbers: dict[int, int] = {}
        self._keep: list[Any] = []
        self._driver = _thread.get_ident()
        self.abandoned: list[str] = []
        self._slots: list[Slot | None] = []
        self._reset_run()

    def _reset_run(self) -> None:
        self._works: list[Callable[[], None]] = []
        self._tracer: Any = None
        self._chooser: Chooser | None = None
        self._on_step: Callable[[StepRecord], None] | None = None
        self._steps: list[StepRecord] = []
        self._schedule: list[int] = []
        self._preemptions = 0
        self._how = ""
        self._last: int | None = None
        self._fired = 0
        self._turn: ThreadState | None = None
        self._step_meta: tuple[bool, bool] = (False, False)
        self._failure: BaseException | None = None
        self._over = _thread.allocate_lock()
        self._over.acquire()
        self._progress = 0

    # --- called from worker threads (and the tracer) ------------------------------------

    def current(self) -> ThreadState | None:
        if self.quiet:
            return None
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
        """A read or write the tracker saw (for the report, and for spin detection)."""
        ts = self.current()
        if ts is None or self.aborting:
            return
        if write:
            ts.writes += 1
        if self.recording:
            ts.accesses.append(AccessRecord(write, self.number(obj), key, path, value))

    def wrote(self, write: bool) -> bool:
        """For the tracker, before it makes a report's words: whether it needs them (a
        write is counted here when it does not)."""
        ts = self.current()
        if ts is None or self.aborting:
            return False
        if not self.recording:
            if write:
                ts.writes += 1
            return False
        return True

    def line(self, filename: str, lineno: int, here: Here = None) -> None:
        """A new line of the scenario's own code begins: a switch point at ``line``."""
        ts = self.current()
        if ts is None or self.aborting:
            return
        ts.cur_line = (filename, lineno)
        if self.granularity == "line" and not self._same_point(ts, here):
            self._switch(ts, Pending("point"))
        self._note_line(ts)

    def point(self, where: tuple[str, int] | None = None, here: Here = None) -> None:
        """A switch point of the granularity (an instruction, or where the GIL can change
        hands); ``where`` is the file and line, for code outside the scenario's files;
        ``here`` the frame, code and offset it stands at (see :meth:`_same_point`)."""
        ts = self.current()
        if ts is None or self.aborting:
            return
        if where is not None:
            ts.cur_line = where
        if not self._same_point(ts, here):
            self._switch(ts, Pending("point"))
        self._note_line(ts)

    def entered(self) -> None:
        """A frame of traced code starts or resumes on the running thread: the point it
        stood at is no longer one to compare with. (A frame is known by its ``id``, and a
        frame that has ended frees it for the next: without this, the first point of the
        next call of the same function could pass for the old frame going straight on,
        depending on where the allocator put it, so a replay could take other steps.)"""
        ts = self.current()
        if ts is not None and ts.at is not START:
            ts.at = None

    def _same_point(self, ts: ThreadState, here: Here) -> bool:
        """Whether the thread ran only local instructions (bytecode.LOCAL) since its last
        switch point, straight on in the same frame: this point is then the same as that
        one for every other thread, and offering it again would only repeat schedules."""
        at, ts.at = ts.at, here
        if not self.reduction:
            return False
        if at is START:  # only the harness ran since the thread started
            return here is not None and here[2] == 0
        if here is None or at is None or at[0] != here[0] or at[1] is not here[1]:
            return False
        code = here[1]
        lines = self.granularity != "gil" and code.co_filename in self.files
        return bytecode.quiet(code, at[2], here[2], lines)

    def loop(self, key: Any, where: tuple[str, int] | None = None, here: Here = None) -> None:
        """A backward jump (a switch point at every granularity). A thread that comes back
        to the same jump having written nothing the tracker saw since it last took it is
        spinning: it gives the turn away, as ``time.sleep`` does (switching to another
        thread costs no preemption). It stays runnable: its reads may not all be known, so
        it is never treated as blocked."""
        ts = self.current()
        if ts is None or self.aborting:
            return
        if where is not None:
            ts.cur_line = where
        ts.at = here
        before = ts.loops.get(key)
        ts.loops[key] = ts.writes
        spinning = self.spins and before is not None and before == ts.writes
        self._switch(ts, Pending("yield", "spin") if spinning else Pending("point"))
        self._note_line(ts)

    def yield_now(self) -> None:
        """``time.sleep`` in a controlled thread: give the turn away."""
        ts = self.current()
        if ts is None or self.aborting:
            return
        ts.at = None
        self._switch(ts, Pending("yield", "sleep"))
        self._note_line(ts)

    def op(
        self,
        ts: ThreadState,
        what: str,
        target: Any,
        ready: Callable[[Pending], bool] | None = None,
        timeout: float | None = None,
    ) -> Pending:
        """Before a primitive operation: a switch point; the thread comes back when the
        operation can go on (``ready``) or its virtual timeout fired."""
        if self.aborting:
            raise Aborted
        ts.at = None
        pending = Pending("op", what, target, ready)
        if timeout is not None:
            pending.deadline = self.now + max(0.0, timeout)
        self._switch(ts, pending)
        return pending

    def spawn(self, work: Callable[[], None], name: str) -> ThreadState:
        """A thread that a controlled thread starts (``threading.Thread.start`` under
        control, patching.py): a new thread of this run, numbered after the others,
        runnable at once, which runs ``work`` when it is first chosen."""
        index = len(self.states)
        ts = _parked(index, name)
        self.quiet = True  # the pooled thread is the machinery's: real locks, untraced
        try:
            self._slot(index)
        finally:
            self.quiet = False
        self._works.append(work)
        self.states.append(ts)
        return ts

    def join(self, ts: ThreadState, child: ThreadState, timeout: float | None) -> bool:
        """``Thread.join`` of a spawned thread: a switch point; ``ts`` waits (not runnable)
        until ``child`` has ended or, with a timeout, until it times out in virtual time.
        Whether the child has ended."""
        self.op(
            ts, f"join thread {child.index}", None, lambda p: child.done or p.timed_out, timeout
        )
        return child.done

    def _note_line(self, ts: ThreadState) -> None:
        cur = ts.cur_line
        if cur is not None and (not ts.lines or ts.lines[-1] != cur):
            ts.lines.append(cur)

    # --- handing the turn on ------------------------------------------------------------

    def _switch(self, ts: ThreadState, pending: Pending) -> None:
        """``ts`` (holding the turn) stops at a switch point: end its step, choose the next
        thread, and go on, or hand the turn over and park until it comes back."""
        if self.aborting:
            raise Aborted
        ts.pending = pending
        self._end_step(ts)
        chosen = self._choose()
        if chosen is ts:
            return
        self._hand(chosen)
        ts.go.acquire()
        if self.aborting:
            raise Aborted

    def _ended(self, ts: ThreadState) -> None:
        """``ts`` finished its work while holding the turn: hand it on (or end the run)."""
        self._end_step(ts)
        self._hand(self._choose())

    def _hand(self, chosen: ThreadState | None) -> None:
        """Give the turn to ``chosen`` (starting it if it has not started), or tell the
        driver that the run is over."""
        if chosen is None:
            self._over.release()
        elif chosen.started:
            chosen.go.release()
        else:
            chosen.started = True
            work, tracer = self._works[chosen.index], self._tracer
            self._slot(chosen.index).give(functools.partial(self._body, chosen, work, tracer))

    def _end_step(self, ts: ThreadState) -> None:
        if self._turn is not ts:
            return
        timed_out, preempted = self._step_meta
        accesses = tuple(ts.accesses)
        record = StepRecord(
            thread=ts.index,
            lines=tuple(ts.lines),
            accesses=accesses,
            timed_out=timed_out,
            preemption=preempted,
            wrote=any(a.write for a in accesses),
        )
        self._steps.append(record)
        assert self._chooser is not None
        self._chooser.stepped(len(self._schedule) - 1, ts.index, accesses)
        if self._on_step is not None:
            self.quiet = True
            try:
                self._on_step(record)
            finally:
                self.quiet = False
        self._turn = None

    def _choose(self) -> ThreadState | None:
        """The thread that takes the next step (its step has begun), or None when the run
        is over (``_how`` says why)."""
        self._progress += 1
        try:
            return self._choose_or_raise()
        except (
            BaseException
        ) as exc:  # a bad replay, a nondeterministic prefix: the driver raises it
            self._failure = exc
            self._how = "failed"
            return None

    def _choose_or_raise(self) -> ThreadState | None:
        live = [ts for ts in self.states if not ts.done]
        if not live:
            self._how = "done"
            return None
        if signals.pending() is not None:  # Ctrl-C: stop here, unwind as any run does
            self._how = INTERRUPTED
            return None
        enabled = tuple(ts.index for ts in live if self._runnable(ts))
        timed_out = False
        if not enabled:
            self._fired += 1
            waker = self._fire_timeout(live)
            if waker is None or self._fired > STUCK_TIMEOUTS_PER_THREAD * len(self.states) + 1:
                self._how = "deadlock"
                return None
            enabled = (waker,)
            timed_out = True
        if len(self._steps) >= self.step_limit:
            self._how = "cut"
            return None
        last = self._last
        mode = FREE
        if last is not None and last in enabled:
            pending = self.states[last].pending
            mode = YIELDED if pending is not None and pending.kind == "yield" else RUNNING
        assert self._chooser is not None
        choice = self._chooser.choose(len(self._schedule), enabled, last, mode)
        if choice is None:
            self._how = "pruned"
            return None
        if choice not in enabled:
            raise ValueError(f"thread {choice} cannot run now (runnable: {enabled})")
        if not timed_out:
            self._fired = 0
        preempted = bool(cost(mode, last, choice, enabled))
        self._preemptions += preempted
        ts = self.states[choice]
        ts.lines = [ts.cur_line] if ts.cur_line is not None else []
        ts.accesses = []
        ts.pending = None
        self._schedule.append(choice)
        self._step_meta = (timed_out, preempted)
        self._turn = ts
        self._last = choice
        return ts

    def _body(self, ts: ThreadState, work: Callable[[], None], tracer: Any) -> None:
        ts.ident = _thread.get_ident()
        self._by_ident[ts.ident] = ts
        try:
            tracer.enter_thread()
            try:
                if self.aborting:
                    raise Aborted
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
            if not self.aborting:
                self._ended(ts)
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
        self._reset_run()
        self._chooser = chooser
        self._on_step = on_step
        self._works = list(works)  # threads the workers start are added to it
        self._tracer = tracer
        for i in range(len(works)):  # made here: a Thread made on an explored thread would
            self._slot(i)  # run threading's own code (an Event) there, under control
        self.states = [_parked(i, f"thread {i}") for i in range(len(works))]
        self.aborting = False
        self.now = 0.0
        how = "done"
        try:
            first = self._choose()
            if first is not None:
                self._hand(first)
                self._wait_over()
            how = self._how
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
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        errors = {ts.index: ts.error for ts in self.states if ts.error is not None}
        return RunEnd(
            how,
            self._steps,
            tuple(self._schedule),
            self._preemptions,
            waits,
            errors,
            owners,
            at,
        )

    def _wait_over(self) -> None:
        """Wait for the run to end; a thread that reaches no switch point for HANG_S runs
        code the scheduler does not control (it blocks on something else): hung. After a
        signal the thread holding the turn ends the run at its next switch point; one that
        reaches none within INTERRUPT_GRACE_S is given up on as a hung one is, and the run
        ends interrupted. (The wait wakes every POLL_S to look: the signal's handler runs
        in this thread, and only between waits when the signal went to another thread.)"""
        seen = -1
        check = _monotonic() + HANG_S
        since: float | None = None
        while not self._over.acquire(timeout=POLL_S):
            now = _monotonic()
            if signals.pending() is not None:
                since = now if since is None else since
                if now - since >= INTERRUPT_GRACE_S:
                    self._give_up()
                    self._how = INTERRUPTED
                    return
            elif now >= check:
                if self._progress == seen:
                    turn = self._give_up()
                    raise Hung(turn.name if turn is not None else "a thread")
                seen = self._progress
                check = now + HANG_S

    def _give_up(self) -> ThreadState | None:
        """The thread holding the turn will not be waited for (its slot is abandoned)."""
        turn = self._turn
        if turn is not None:
            turn.hung = True
        return turn

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
        """Make every parked thread raise :class:`Aborted`, one at a time, and wait until
        each has ended its work (its pooled thread is then free for the next run). After
        a signal, each is waited for only INTERRUPT_GRACE_S."""
        self.aborting = True
        patience = HANG_S if signals.pending() is None else INTERRUPT_GRACE_S
        for ts in self.states:
            if ts.hung or not ts.started:
                pass
            elif not ts.done:
                with contextlib.suppress(RuntimeError):  # a hand-off woke it already
                    ts.go.release()
                if not ts.back.acquire(timeout=patience):
                    ts.hung = True
            elif not ts.back.acquire(timeout=patience):  # it ended: wait until it is out
                ts.hung = True
            if ts.hung:
                self.abandoned.append(ts.name)
                slot = self._slots[ts.index] if ts.index < len(self._slots) else None
                if slot is not None:
                    slot.abandon()
        self._numbers.clear()
        self._keep.clear()
        self._serial = 0
