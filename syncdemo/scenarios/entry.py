"""A scenario as the registry knows it before importing it: the rows ``list`` shows.

Kept apart from the registry and its bigger data classes so that ``syncdemo list`` builds
its table from these alone, quickly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The origin of the scenarios syncdemo ships.
BUILTIN = "syncdemo"


@dataclass(frozen=True)
class Entry:
    """One scenario as the registry knows it before (or without) importing it."""

    name: str
    target: str
    """``"package.module:Class"``."""
    summary: str = ""
    invariant: str = ""
    strategies: tuple[str, ...] = ()
    safe: frozenset[str] = field(default_factory=frozenset)
    """The strategies that keep the invariant."""
    default_sync: str = ""
    runtimes: tuple[str, ...] = ("threads",)
    """What can run its workers (--runtime)."""
    origin: str = BUILTIN
    """"syncdemo" for built-ins, else the distribution that declared the entry point."""
    problem: str = ""
    """Why this entry cannot be used (it failed to load, or its name is taken), or ""."""
