"""Reusable worker threads: starting a thread costs more than a short schedule on some
builds (about 1.3 ms on the free-threaded 3.13 here), so each thread index of a schedule
runs on the same pooled thread from run to run."""

from __future__ import annotations

import _thread
import threading
from collections.abc import Callable

from syncdemo.explore.steps import HANG_S

#: Bound at import: a worker that replaces ``threading.Thread`` must not break the pool
#: (the runner notices the replacement and says so).
_Thread = threading.Thread


class Slot:
    """A reusable thread: runs one job at a time, given by :meth:`give`."""

    def __init__(self, name: str) -> None:
        self._start = _thread.allocate_lock()
        self._start.acquire()
        self._job: Callable[[], None] | None = None
        self._abandoned = False
        self._ended = False
        self.thread = _Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    def usable(self) -> bool:
        # no Thread.is_alive(): this runs on explored threads too, where Python code of the
        # standard library would be traced (a flag set by the thread itself is enough)
        return not self._abandoned and not self._ended

    def give(self, job: Callable[[], None]) -> None:
        self._job = job
        self._start.release()

    def abandon(self) -> None:
        """Its job never came back (hung): never give it another one."""
        self._abandoned = True

    def close(self) -> None:
        if self._abandoned:
            return
        self._job = None
        self._start.release()
        self.thread.join(HANG_S)

    def _main(self) -> None:
        try:
            while True:
                self._start.acquire()
                job = self._job
                if job is None:
                    return
                self._job = None
                job()
        finally:
            self._ended = True
