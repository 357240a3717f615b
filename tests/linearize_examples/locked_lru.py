"""The same LRU cache with one lock around each method: each call is one step."""

from __future__ import annotations

import threading


class LRUCache:
    def __init__(self, capacity: int = 2) -> None:
        self.capacity = capacity
        self.data: dict[int, int] = {}
        self.order: list[int] = []
        self.lock = threading.Lock()

    def get(self, key: int) -> int | None:
        with self.lock:
            if key not in self.data:
                return None
            self.order.remove(key)
            self.order.append(key)
            return self.data[key]

    def put(self, key: int, value: int) -> None:
        with self.lock:
            if key in self.data:
                self.order.remove(key)
            elif len(self.data) >= self.capacity:
                oldest = self.order.pop(0)
                del self.data[oldest]
            self.data[key] = value
            self.order.append(key)
