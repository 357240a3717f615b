"""A small LRU cache as it is often written: a dict and a list of keys, least recently
used first. Not thread-safe: each method reads, decides and writes in several steps."""

from __future__ import annotations


class LRUCache:
    def __init__(self, capacity: int = 2) -> None:
        self.capacity = capacity
        self.data: dict[int, int] = {}
        self.order: list[int] = []

    def get(self, key: int) -> int | None:
        if key not in self.data:
            return None
        self.order.remove(key)
        self.order.append(key)
        return self.data[key]

    def put(self, key: int, value: int) -> None:
        if key in self.data:
            self.order.remove(key)
        elif len(self.data) >= self.capacity:
            oldest = self.order.pop(0)
            del self.data[oldest]
        self.data[key] = value
        self.order.append(key)
