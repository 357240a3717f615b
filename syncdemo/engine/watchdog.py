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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: The two ways a trial is declared stuck; ``Stuck.reason`` holds one of them.
CYCLE = "wait-for cycle"
NO_PROGRESS = "no progress"


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
        if cycle is not None and self._cycle_seen >= self.confirmations:
            self.fired = Stuck(CYCLE, cycle, stalled)
        elif stalled >= self.timeout:
            self.fired = Stuck(NO_PROGRESS, f"no worker made progress for {stalled:.1f} s", stalled)
        return self.fired
