"""The scenario registry: one decorator registers, one function looks up (with "did you mean").

Adding a scenario = one new module below + its name in ``_MODULES``.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, TypeVar

from syncdemo.scenarios.base import Scenario

_MODULES = (
    "counter",
    "producer_consumer",
    "barrier",
    "deadlock",
    "dining_philosophers",
    "readers_writers",
    "bank_transfer",
    "lazy_init",
    "bounded_pool",
    "condition_wait",
)

_registry: dict[str, Scenario[Any]] = {}

T = TypeVar("T", bound=type[Scenario[Any]])


class UnknownScenario(LookupError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"No scenario named {name!r}.{hint} See 'syncdemo list'.")


def register(cls: T) -> T:
    """Class decorator: make a scenario available to list, describe and run."""
    instance = cls()
    if instance.name in _registry:
        raise ValueError(f"scenario {instance.name!r} registered twice")
    if instance.default_sync not in instance.strategy_names():
        raise ValueError(f"{instance.name}: default sync {instance.default_sync!r} is unknown")
    _registry[instance.name] = instance
    return cls


def _load() -> None:
    for module in _MODULES:
        importlib.import_module(f"syncdemo.scenarios.{module}")


def all_scenarios() -> list[Scenario[Any]]:
    _load()
    return list(_registry.values())


def names() -> list[str]:
    return [s.name for s in all_scenarios()]


def get(name: str) -> Scenario[Any]:
    _load()
    try:
        return _registry[name]
    except KeyError:
        close = difflib.get_close_matches(name.lower(), list(_registry), n=2, cutoff=0.5)
        raise UnknownScenario(name, close) from None
