"""The data the scheduler and its choosers share: what a parked thread waits for, what a
step touched, what a run ended with, and what a choice costs in preemptions.

Kept apart from scheduler.py so that the search and the report can read it without the
machinery that parks threads.
"""

from __future__ import annotations

import _thread
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Wall-clock seconds the driver waits for a thread to park before calling it hung (a
#: guard against code blocking on something the scheduler does not control; it never
#: decides anything in a schedule that completes).
HANG_S = float(os.environ.get("SYNCDEMO_HANG_S", "10"))
#: Wall-clock seconds the driver gives the thread holding the turn, after a signal
#: (Ctrl-C), to reach its next switch point and end the run there; one that does not runs
#: uncontrolled code and is given up on, as a hung one is.
INTERRUPT_GRACE_S = min(HANG_S, 0.3)
#: How often the driver, waiting for a run to end, looks whether it should give up.
POLL_S = min(HANG_S, 0.05)
#: How a run ends when a signal came (it stops at the next switch point, unfinished).
INTERRUPTED = "interrupted"
#: Timeouts fired in a row (no thread could run between them) before the run counts as
#: stuck: every thread keeps timing out and waiting again, a deadlock with timeouts.
STUCK_TIMEOUTS_PER_THREAD = 3


class Aborted(BaseException):
    """Raised in a parked worker to unwind it when its schedule is over (not an error)."""


class Hung(RuntimeError):
    """A worker did not come back to a switch point within :data:`HANG_S`."""


@dataclass(eq=False)
class Pending:
    """What a parked thread waits to do next."""

    kind: str
    """"start", "point" (a switch point), "yield" (time.sleep, or a loop gone round
    without a write: a spin) or "op" (a primitive)."""
    what: str = ""
    target: Any = None
    """The primitive waited on (for the wait-for graph)."""
    ready: Callable[[Pending], bool] | None = None
    """None: it can always go on."""
    deadline: float | None = None
    timed_out: bool = False

    def can_run(self) -> bool:
        return self.ready is None or self.ready(self)


@dataclass(frozen=True)
class AccessRecord:
    """One read or write of the shared state, or one operation on a primitive."""

    write: bool
    obj: int
    """The object's number in this run (stable: the same prefix numbers objects alike)."""
    key: str
    """An attribute name, an item, or "*" for the whole object."""
    path: str
    value: str


@dataclass(eq=False)
class ThreadState:
    index: int
    name: str
    go: Any = field(default_factory=_thread.allocate_lock)
    back: Any = field(default_factory=_thread.allocate_lock)
    """Released by the thread when it has ended."""
    pending: Pending | None = None
    started: bool = False
    done: bool = False
    lines: list[tuple[str, int]] = field(default_factory=list)
    accesses: list[AccessRecord] = field(default_factory=list)
    cur_line: tuple[str, int] | None = None
    error: BaseException | None = None
    hung: bool = False
    wrote: bool = False
    """Whether it wrote anything the tracker saw since it last went round a loop."""
    loops: dict[Any, int] = field(default_factory=dict)
    """Spin detection: for each loop jump it took, how many writes it had made then."""
    writes: int = 0
    at: Any = None
    """Where it stood at its last switch point (see Controller._same_point)."""
    ident: int = 0


@dataclass(frozen=True)
class StepRecord:
    thread: int
    lines: tuple[tuple[str, int], ...]
    accesses: tuple[AccessRecord, ...]
    timed_out: bool
    """This step began with a timed wait timing out."""
    preemption: bool
    wrote: bool


#: What the thread that ran last can do, which sets what a choice costs (see :func:`cost`).
FREE = 0
"""It cannot go on (finished or blocked): any choice is free."""
RUNNING = 1
"""It can go on: switching away from it is a preemption."""
YIELDED = 2
"""It called time.sleep, or went round a loop having written nothing the tracker saw (it
spins, waiting for another thread): it gave the turn away, to the next thread in turn
(:func:`in_turn`), which is free; any other choice there (itself included) is a
preemption. Were every choice free, threads that poll would hand the turn among themselves
in every order without end, and a bound would bound nothing."""


def in_turn(enabled: tuple[int, ...], last: int) -> tuple[int, ...]:
    """The runnable threads in turn after ``last``: those after it in number order, then
    those before it, then ``last`` itself (round robin)."""
    return (
        *(t for t in enabled if t > last),
        *(t for t in enabled if t < last),
        *(t for t in enabled if t == last),
    )


def default_order(enabled: tuple[int, ...], last: int | None, mode: int) -> list[int]:
    """Without preemption first: the thread that ran last while it can go on (after a
    yield: the next in turn), then the others in ascending order (after a yield: in turn)."""
    if mode == RUNNING:
        return [last, *(t for t in enabled if t != last)]  # type: ignore[list-item]
    if mode == YIELDED and last is not None:
        return list(in_turn(enabled, last))
    return list(enabled)


class Serial:
    """Each thread runs on while it can, then the next in turn: no preemption (the serial
    schedule, when it starts from nothing)."""

    def choose(
        self, depth: int, enabled: tuple[int, ...], last: int | None, mode: int
    ) -> int | None:
        return default_order(enabled, last, mode)[0]

    def stepped(self, depth: int, thread: int, accesses: tuple[AccessRecord, ...]) -> None:
        pass


def cost(mode: int, last: int | None, choice: int, enabled: tuple[int, ...]) -> int:
    """1 if running ``choice`` next is a preemption, else 0."""
    if mode == RUNNING:
        return int(choice != last)
    if mode == YIELDED and last is not None:
        return int(choice != in_turn(enabled, last)[0])
    return 0


class Chooser(Protocol):
    def choose(
        self, depth: int, enabled: tuple[int, ...], last: int | None, mode: int
    ) -> int | None:
        """The thread to run next, or None to abandon this run (pruned)."""

    def stepped(self, depth: int, thread: int, accesses: tuple[AccessRecord, ...]) -> None:
        """What the step just chosen at ``depth`` touched."""


@dataclass
class RunEnd:
    """How a run ended: done, deadlock, cut (step limit), pruned, hung, interrupted."""

    how: str
    steps: list[StepRecord]
    schedule: tuple[int, ...]
    preemptions: int
    waits: dict[int, Pending]
    """For a deadlock: what each unfinished thread waits for."""
    errors: dict[int, BaseException]
    owners: dict[int, int]
    """For a deadlock: thread -> the thread holding what it waits for (before unwinding)."""
    at: dict[int, tuple[str, int]]
    """Each unfinished thread's current line (file, line) when the run ended."""
