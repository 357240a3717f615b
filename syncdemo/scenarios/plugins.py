"""Entry points declared by installed distributions, read without ``importlib.metadata``.

``importlib.metadata`` costs about 18 ms to import (it pulls in email, zipfile, csv), more
than ``syncdemo list`` may spend on start-up. A scenario plugin needs only the
``entry_points.txt`` of each distribution on ``sys.path``; this reads those, first
distribution of a name wins, as ``importlib.metadata`` does.
"""

from __future__ import annotations

import os
import sys


def entry_points(group: str) -> list[tuple[str, str, str]]:
    """``(name, "module:attr", distribution)`` for each entry point in ``group``."""
    found: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for folder in sys.path:
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            continue
        for meta in names:
            if not meta.endswith((".dist-info", ".egg-info")):
                continue
            dist = _distribution(meta)
            if dist in seen:
                continue
            seen.add(dist)
            path = os.path.join(folder or ".", meta, "entry_points.txt")
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError:
                continue
            found += [(name, target, dist) for name, target in parse(text, group)]
    return found


def _distribution(folder: str) -> str:
    """'my_pkg-1.0.dist-info' -> 'my-pkg' (normalised as PEP 503 does)."""
    stem = folder.rsplit(".", 1)[0]
    name = stem.split("-", 1)[0]
    return name.lower().replace("_", "-").replace(".", "-")


def parse(text: str, group: str) -> list[tuple[str, str]]:
    """The ``name = target`` lines of ``[group]`` in an entry_points.txt (an INI file)."""
    found: list[tuple[str, str]] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if current == group and "=" in line:
            name, _, target = line.partition("=")
            target = target.split("[", 1)[0].strip()  # drop "[extras]"
            if name.strip() and target:
                found.append((name.strip(), target))
    return found
