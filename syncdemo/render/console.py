"""The one way syncdemo makes a Rich console, so colour rules are the same everywhere."""

from __future__ import annotations

from rich.console import Console


def make_console(stderr: bool = False) -> Console:
    """A console that colours only terminals and honours NO_COLOR and TERM=dumb (Rich does)."""
    return Console(stderr=stderr, highlight=False, soft_wrap=False)
