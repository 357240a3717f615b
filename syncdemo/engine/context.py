"""One worker thread's bookkeeping (ThreadContext), the stop signal, and the trace buffer.

Shared by the engine, which makes one context per thread, and the scenarios, whose workers
receive it: what a worker may count, record and look at while it runs.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from syncdemo.results import RunConfig

#: How many iterations a worker runs between two looks at the stop flag. Large enough
#: that the check costs nothing measurable, small enough that Ctrl-C is prompt.
CHUNK = 1024

#: With --trace, the events all threads together may record in one trial (memory bound:
#: about 100 bytes an event). Each thread gets an equal share; a thread whose share is
#: full stops recording at its next chunk and the report says the trace was capped.
TRACE_EVENTS_MAX = 400_000

#: One recorded event: (perf_counter_ns, what happened, value, second value or -1).
Event = tuple[int, str, int, int]


class Stopped(Exception):
    """Raised inside a worker (by :meth:`ThreadContext.check_stop`) when the run is cancelled."""


@dataclass(eq=False)
class ThreadContext:
    """One worker thread's own bookkeeping: only that thread writes it, so no lock is needed.

    The engine reads it after the join to build per-thread statistics; scenarios keep
    per-thread observations (items consumed, stale reads seen) in ``data``.
    """

    index: int
    role: str
    role_index: int
    config: RunConfig
    stop: threading.Event
    rng: random.Random
    ops: int = 0
    wait_ns: int = 0
    waits: list[int] = field(default_factory=list)
    """Each wait this thread finished or was stopped in, in ns (see :meth:`begin_wait`)."""
    waiting_since: int = 0
    """perf_counter_ns at the start of the wait this thread is in now; 0 when running."""
    start_ns: int = 0
    end_ns: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    trace: list[Event] | None = None
    """With --trace: this thread's own event buffer (no lock: only this thread appends)."""
    trace_cap: int = 0
    trace_capped: bool = False
    recorded: list[Event] = field(default_factory=list)
    """The events kept after the run (the buffer outlives ``trace`` being switched off)."""
    finished: threading.Event = field(default_factory=threading.Event)
    """Set by the engine when this thread's function has returned, whatever happened."""

    def chunks(self) -> Iterator[range]:
        """Hand out this thread's ``--iterations`` as consecutive ranges of iteration numbers,
        counting each as operations once it is done, and ending early when the run is
        cancelled (Ctrl-C, the watchdog).

        A chunk is done when the worker comes back for the next one (or the loop ends); a
        worker stopped in the middle of one (it raised :class:`Stopped`) never asks again,
        so that chunk is not counted: ``ops`` may fall short by part of a chunk, but never
        counts work that was not done.

        Looking at the stop flag once a chunk, not once an iteration, keeps the loop that
        races free of extra calls (each call is a place the interpreter may switch threads).
        """
        total = self.config.iterations
        done = 0
        while done < total and not self.stop.is_set():
            if self.trace is not None and len(self.trace) >= self.trace_cap:
                self.trace = None  # workers re-read ctx.trace at each chunk
                self.trace_capped = True
            n = min(CHUNK, total - done)
            yield range(done, done + n)
            self.ops += n  # the worker came back for more: that chunk is done
            done += n

    def begin_wait(self) -> int:
        """This thread starts waiting (for a lock, a fork, a seat); returns the time."""
        self.waiting_since = time.perf_counter_ns()
        return self.waiting_since

    def end_wait(self, now: int | None = None) -> int:
        """The wait begun by :meth:`begin_wait` is over: count it; returns its length.

        The engine calls it when the thread's function ends, so a thread stopped by the
        watchdog in the middle of a deadlocked wait counts the time it spent blocked.
        """
        if not self.waiting_since:
            return 0
        waited = (time.perf_counter_ns() if now is None else now) - self.waiting_since
        self.waiting_since = 0
        self.wait_ns += waited
        self.waits.append(waited)
        return waited

    def record(self, kind: str, value: int, other: int = -1) -> None:
        """With --trace: append one event to this thread's own buffer, up to its cap."""
        trace = self.trace
        if trace is None:
            return
        if len(trace) >= self.trace_cap:
            self.trace = None
            self.trace_capped = True
            return
        trace.append((time.perf_counter_ns(), kind, value, other))

    def check_stop(self) -> None:
        """Give up (raise :class:`Stopped`) if the run was cancelled; call it in wait loops."""
        if self.stop.is_set():
            raise Stopped


Worker = Callable[[Any, ThreadContext], None]


#: The context of the thread running now, for what the harness records from outside a
#: worker (``--trace``'s reads and writes, see :func:`running`; counter.py's traced value reads it).
_running = threading.local()


def running() -> ThreadContext | None:
    """The context of the worker thread that runs now (None in the main thread)."""
    ctx: ThreadContext | None = getattr(_running, "ctx", None)
    return ctx


def each_iteration(lesson: Callable[..., None], **bound: Any) -> Worker:
    """A worker that calls ``lesson(state, **bound)`` once an iteration, or
    ``lesson(state, thread, **bound)`` when it has a parameter named ``thread`` (the
    thread's number): the loop, the stop flag and the count of operations are the
    harness's, so the lesson holds only what a student reads (one read-modify-write, say).
    ``describe``, ``explore`` and ``play`` show ``lesson`` (the worker's ``lesson``
    attribute), never this loop."""
    import inspect

    call = functools.partial(lesson, **bound) if bound else lesson
    numbered = "thread" in inspect.signature(lesson).parameters

    def call_lesson(state: Any, ctx: ThreadContext) -> None:
        thread = ctx.index
        _running.ctx = ctx
        try:
            if numbered:
                for chunk in ctx.chunks():
                    for _ in chunk:
                        call(state, thread)
            else:
                for chunk in ctx.chunks():
                    for _ in chunk:
                        call(state)
        finally:
            _running.ctx = None

    call_lesson.lesson = lesson  # type: ignore[attr-defined]
    return call_lesson


def lesson_of(worker: Callable[..., Any]) -> Callable[..., Any]:
    """The function a reader is shown for ``worker``: its lesson (see :func:`each_iteration`),
    or the worker itself."""
    lesson: Callable[..., Any] = getattr(worker, "lesson", worker)
    return lesson
