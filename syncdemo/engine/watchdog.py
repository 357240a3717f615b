"""Stuck detection for one trial: a deadlocked strategy must end in a report, never a hang.

The engine polls a :class:`Watchdog` from its join loop (no extra thread). The watchdog
declares a trial stuck in one of two ways:

* **a wait-for cycle**: the scenario's instrumented locks show threads that each hold a
  lock the next one waits for, waiting without a time limit. Nobody in such a cycle can
  ever let go, so it is certain; the watchdog only asks to see the same cycle on two polls
  in a row, so that a bug in the bookkeeping cannot cry wolf.
* **no progress**: the scenario's progress number (operations done, time spent waiting)
  has not changed for ``timeout`` seconds while workers are still alive. This catches
  what the locks cannot see (a condition nobody notifies, a livelock of polling threads).

A scenario's ``deadlock`` hook may also name a stall of another kind by returning a
:class:`Diagnosis` (a ``str`` that carries its reason): a lock still held by a thread that
has finished (:data:`LEAKED`), or a livelock (:data:`LIVELOCK`: threads running, attempts
climbing, no work completed), measured by a :class:`LivelockMeter`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: The two ways a trial is declared stuck; ``Stuck.reason`` holds one of them.
CYCLE = "wait-for cycle"
NO_PROGRESS = "no progress"
LEAKED = "lock held by a finished thread"
LIVELOCK = "livelock"


class Diagnosis(str):
    """A stall a scenario's ``deadlock`` hook found, in words, with its kind (``reason``).

    A plain ``str`` from the hook is a wait-for cycle. ``confirm=False`` fires at the first
    poll: a livelock's text changes from poll to poll (its attempts climb), and the meter
    that found it has already watched it for a while.
    """

    reason: str
    confirm: bool

    def __new__(cls, text: str, reason: str, *, confirm: bool = True) -> Diagnosis:
        made = super().__new__(cls, text)
        made.reason = reason
        made.confirm = confirm
        return made


@dataclass
class LivelockMeter:
    """Tells a livelock from slow work: no work completed for ``window_s`` seconds while the
    workers' attempts climbed by at least ``min_attempts`` (so they are running, not blocked).

    A scenario keeps one in its state, feeds it its attempt and completion counts from its
    ``deadlock`` hook, and returns what :meth:`look` returns.
    """

    window_s: float
    min_attempts: int = 100
    clock: Callable[[], float] = time.monotonic
    _done: int | None = field(default=None, repr=False)
    _since: float = field(default=0.0, repr=False)
    _attempts_then: int = field(default=0, repr=False)

    def look(self, attempts: int, done: int) -> Diagnosis | None:
        now = self.clock()
        if done != self._done:
            self._done, self._since, self._attempts_then = done, now, attempts
            return None
        climbed = attempts - self._attempts_then
        idle = now - self._since
        if idle < self.window_s or climbed < self.min_attempts:
            return None
        return Diagnosis(
            f"livelock: {climbed:,} attempts in {idle:.2f} s and no work completed "
            f"({done:,} done so far); the threads are running, none is blocked",
            LIVELOCK,
            confirm=False,
        )


@dataclass(frozen=True)
class Stuck:
    """Why the watchdog gave up on a trial, for the scenario to put in its report."""

    reason: str
    """:data:`CYCLE` or :data:`NO_PROGRESS`."""
    detail: str
    """The cycle in words, or how long nothing moved."""
    stalled_s: float
    """Seconds since the progress number last changed, when the watchdog fired."""


@dataclass
class Watchdog:
    """Call :meth:`poll` every few tens of milliseconds while the workers run."""

    timeout: float
    progress: Callable[[], int]
    """A number that changes whenever any worker gets anywhere."""
    deadlock: Callable[[], str | None] = lambda: None
    """A certain deadlock seen right now, in words, or None."""
    clock: Callable[[], float] = time.monotonic
    confirmations: int = 2
    """How many polls in a row must show the same cycle."""
    fired: Stuck | None = None
    _last_progress: int | None = field(default=None, repr=False)
    _last_change: float = field(default=0.0, repr=False)
    _cycle: str | None = field(default=None, repr=False)
    _cycle_seen: int = field(default=0, repr=False)

    def poll(self) -> Stuck | None:
        """Look once; return a :class:`Stuck` the first time the trial is stuck (then None)."""
        if self.fired is not None:
            return None
        now = self.clock()
        value = self.progress()
        if value != self._last_progress:
            self._last_progress = value
            self._last_change = now
        stalled = now - self._last_change

        cycle = self.deadlock()
        if cycle is not None and cycle == self._cycle:
            self._cycle_seen += 1
        else:
            self._cycle, self._cycle_seen = cycle, (1 if cycle is not None else 0)
        confirm = getattr(cycle, "confirm", True)
        if cycle is not None and (self._cycle_seen >= self.confirmations or not confirm):
            self.fired = Stuck(getattr(cycle, "reason", CYCLE), str(cycle), stalled)
        elif stalled >= self.timeout:
            self.fired = Stuck(NO_PROGRESS, f"no worker made progress for {stalled:.1f} s", stalled)
        return self.fired
