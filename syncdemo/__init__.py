"""syncdemo: see race conditions happen on real threads.

The public API, imported on first use so that ``import syncdemo`` (which every user
scenario file does) and ``syncdemo --help`` stay fast:

- ``@syncdemo.scenario`` and ``@syncdemo.strategy(NAME, safe=...)`` mark a user's class;
- ``syncdemo.run(scenario, ...)`` runs one and returns the :class:`RunResult` the CLI shows;
- ``syncdemo.explore(scenario, ...)`` explores one (or a function that starts threads) and
  returns the report ``syncdemo explore`` shows;
- the result types: ``RunResult``, ``TrialResult``, ``Outcome``, ``RunConfig``...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module it lives in.
_EXPORTS = {
    "scenario": "syncdemo.decorators",
    "strategy": "syncdemo.decorators",
    "run": "syncdemo.api",
    "explore": "syncdemo.api",
    "RunResult": "syncdemo.results",
    "TrialResult": "syncdemo.results",
    "Outcome": "syncdemo.results",
    "OutcomeBin": "syncdemo.results",
    "RunConfig": "syncdemo.results",
    "RuntimeInfo": "syncdemo.results",
    "ThreadStats": "syncdemo.results",
}

__all__ = [
    "Outcome",
    "OutcomeBin",
    "RunConfig",
    "RunResult",
    "RuntimeInfo",
    "ThreadStats",
    "TrialResult",
    "__version__",
    "explore",
    "run",
    "scenario",
    "strategy",
]

if TYPE_CHECKING:
    from syncdemo.api import explore, run
    from syncdemo.decorators import scenario, strategy
    from syncdemo.results import (
        Outcome,
        OutcomeBin,
        RunConfig,
        RunResult,
        RuntimeInfo,
        ThreadStats,
        TrialResult,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'syncdemo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
