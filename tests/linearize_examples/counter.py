"""A counter, and the same counter behind a lock."""

from __future__ import annotations

import threading


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def increment(self) -> int:
        seen = self.count
        self.count = seen + 1
        return seen + 1

    def value(self) -> int:
        return self.count


class LockedCounter:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def increment(self) -> int:
        with self.lock:
            seen = self.count
            self.count = seen + 1
            return seen + 1

    def value(self) -> int:
        with self.lock:
            return self.count
