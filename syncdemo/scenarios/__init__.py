"""The scenario registry: built-ins and plugins as entries, loaded only when one is used.

Every scenario is an :class:`Entry`: a name, where its class lives (``"module:Class"``) and
what ``list`` shows of it. Built-ins are listed in :mod:`syncdemo.scenarios.catalogue`, a
static table (a test holds it equal to the classes), so ``syncdemo list`` imports no
scenario module. Third-party packages add entries through the entry-point group
``syncdemo.scenarios``; both kinds are loaded by the same :func:`load`. A plugin whose name
clashes with a built-in is kept out (the built-in wins) and reported, as is one that fails
to import. A name that is none of these but points into the user's own code (``FILE.py``,
``FILE.py:Class``, ``package.module:Class``) is loaded by :mod:`syncdemo.userfile`; a
plain class, from there or from a plugin, goes through the same adapter
(:mod:`syncdemo.scenarios.user`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from syncdemo.scenarios.entry import BUILTIN, Entry

if TYPE_CHECKING:
    from syncdemo.scenarios.base import Scenario

GROUP = "syncdemo.scenarios"
__all__ = [
    "BUILTIN",
    "GROUP",
    "Entry",
    "ScenarioError",
    "UnknownScenario",
    "entries",
    "get",
    "is_reference",
]


class ScenarioError(LookupError):
    """A scenario that cannot be found or loaded; the message is one line for the user."""


class UnknownScenario(ScenarioError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"No scenario named {name!r}.{hint} See 'syncdemo list'.")


#: Loaded scenarios by name (tests may put their own here).
_registry: dict[str, Scenario[Any]] = {}
_entries: list[Entry] | None = None


def entries() -> list[Entry]:
    """Every usable scenario: the built-ins, then the plugins (loaded to learn their names,
    summaries and strategies). Broken and clashing plugins are in :func:`problems`."""
    return [e for e in _all_entries() if not e.problem]


def problems() -> list[Entry]:
    """Plugin entries that could not be used, with why."""
    return [e for e in _all_entries() if e.problem]


def _all_entries() -> list[Entry]:
    global _entries
    if _entries is None:
        from syncdemo.scenarios.catalogue import BUILTINS
        from syncdemo.scenarios.plugins import entry_points

        found = list(BUILTINS)
        taken = {e.name: e.origin for e in found}
        for name, target, origin in entry_points(GROUP):
            entry = _plugin_entry(name, target, origin, taken)
            if not entry.problem:
                taken[entry.name] = origin
            found.append(entry)
        _entries = found
    return _entries


def _plugin_entry(name: str, target: str, origin: str, taken: dict[str, str]) -> Entry:
    stub = Entry(name=name, target=target, origin=origin)
    if name in taken:
        owner = "a built-in" if taken[name] == BUILTIN else f"one from {taken[name]}"
        return _problem(stub, f"its name clashes with {owner}, which is used instead")
    try:
        scenario = load(stub)
    except Exception as exc:  # a plugin is input: any failure is reported, never raised
        return _problem(stub, f"cannot be loaded: {type(exc).__name__}: {exc}")
    if scenario.name in taken and scenario.name != name:
        return _problem(stub, f"it calls itself {scenario.name!r}, a name already taken")
    _registry.setdefault(name, scenario)
    return describe_entry(scenario, target, origin, name=name)


def _problem(entry: Entry, why: str) -> Entry:
    from dataclasses import replace

    return replace(entry, problem=why)


def describe_entry(scenario: Scenario[Any], target: str, origin: str, name: str = "") -> Entry:
    """The entry that ``list`` shows for a loaded scenario."""
    return Entry(
        name=name or scenario.name,
        target=target,
        summary=scenario.summary,
        invariant=scenario.invariant,
        strategies=tuple(scenario.strategy_names()),
        safe=frozenset(s.name for s in scenario.strategies if s.safe),
        default_sync=scenario.default_sync,
        runtimes=tuple(scenario.runtimes),
        origin=origin,
    )


def load(entry: Entry) -> Scenario[Any]:
    """Import ``entry.target`` and make its scenario object."""
    from syncdemo.scenarios.base import Scenario

    module_name, _, attr = entry.target.partition(":")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    if isinstance(obj, type) and issubclass(obj, Scenario):
        scenario: Scenario[Any] = obj()
    elif isinstance(obj, Scenario):
        scenario = obj
    elif isinstance(obj, type):  # a plain class in the user-file format
        from syncdemo.userfile import adapt

        scenario = adapt(obj, entry.origin, entry.name or None)
    else:
        raise TypeError(f"{entry.target} is not a syncdemo scenario")
    if scenario.default_sync not in scenario.strategy_names():
        raise ValueError(f"{scenario.name}: default sync {scenario.default_sync!r} is unknown")
    if entry.origin != BUILTIN:
        scenario.origin = entry.origin
    return scenario


def all_scenarios() -> list[Scenario[Any]]:
    """Every usable scenario, loaded (``list -f json``, ``describe``, tests)."""
    return [get(e.name) for e in entries()]


def names() -> list[str]:
    return [e.name for e in entries()]


def get(name: str) -> Scenario[Any]:
    """The scenario called ``name``: a built-in or plugin by its name, or the user's own
    code by reference (``FILE.py``, ``FILE.py:Class``, ``package.module:Class``; see
    :mod:`syncdemo.userfile`). :class:`UnknownScenario` with suggestions otherwise."""
    found = _registry.get(name)
    if found is not None:
        return found
    for entry in entries():
        if entry.name == name:
            scenario = load(entry)
            _registry[name] = scenario
            return scenario
    from syncdemo import userfile

    if userfile.is_reference(name) and name.partition(":")[0] not in names():
        return userfile.load_reference(name)  # not kept: the file may change
    raise UnknownScenario(name, suggest(name.partition(":")[0], names()))


def is_reference(name: str) -> bool:
    """Whether ``name`` points into the user's code rather than naming a scenario."""
    from syncdemo import userfile

    return name not in names() and userfile.is_reference(name)


def suggest(name: str, known: list[str]) -> list[str]:
    """Names the user may have meant: those it starts, or is a dash-separated part of, then
    close spellings ('bank' -> bank-transfer, 'conter' -> counter)."""
    import difflib

    wanted = name.lower().strip()
    if not wanted:
        return []
    starts = [k for k in known if k.startswith(wanted) or wanted in k.split("-")]
    close = difflib.get_close_matches(wanted, known, n=3, cutoff=0.5)
    return list(dict.fromkeys(starts + close))[:3]
