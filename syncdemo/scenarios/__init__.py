"""The scenario registry: built-ins and plugins as entries, loaded only when one is used.

Every scenario is an :class:`Entry`: a name, where its class lives (``"module:Class"``) and
what ``list`` shows of it. Built-ins are listed in :mod:`syncdemo.scenarios.catalogue`, a
static table (a test holds it equal to the classes), so ``syncdemo list`` imports no
scenario module. Third-party packages add entries through the entry-point group
``syncdemo.scenarios``; both kinds are loaded by the same :func:`load`. A plugin's name
comes from its entry point, so its code runs only when it is asked for by name, or listed
(``list`` gives each plugin a few seconds to import): a plugin that raises, exits or loops
at import cannot affect a command that does not use it, and one that fails is named as
failed. A plugin whose name clashes with a built-in is kept out (the built-in wins) and
reported. A name that is none of these but points into the user's own code (``FILE.py``,
``FILE.py:Class``, ``package.module:Class``) is loaded by :mod:`syncdemo.userfile`; a
plain class, from there or from a plugin, goes through the same adapter
(:mod:`syncdemo.scenarios.user`).
"""

from __future__ import annotations

import contextlib
import importlib
from typing import TYPE_CHECKING, Any

from syncdemo.scenarios.entry import BUILTIN, Entry

if TYPE_CHECKING:
    from syncdemo.scenarios.base import Scenario

GROUP = "syncdemo.scenarios"
__all__ = [
    "BUILTIN",
    "GROUP",
    "CannotRun",
    "Entry",
    "PluginFailed",
    "ScenarioError",
    "UnknownScenario",
    "entries",
    "get",
    "is_reference",
    "listing",
]


class ScenarioError(LookupError):
    """A scenario that cannot be found or loaded; the message is one line for the user."""


class CannotRun(ScenarioError):
    """The scenario's code was found, but syncdemo cannot run it here (a plugin that fails
    to import, code that replaced what syncdemo needs): exit 1, not a usage error."""


class PluginFailed(CannotRun):
    """An installed plugin that cannot be loaded."""


class UnknownScenario(ScenarioError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"No scenario named {name!r}.{hint} See 'syncdemo list'.")


#: Seconds ``list`` lets each plugin take to import: one that loops at import is named as
#: failed instead of hanging the command. (A plugin asked for by name has no such limit:
#: Ctrl-C stops it.)
LIST_IMPORT_LIMIT_S = 5.0

#: Loaded scenarios by name (tests may put their own here).
_registry: dict[str, Scenario[Any]] = {}
#: Built-ins, then the plugins' entry points as declared (nothing of a plugin imported).
_entries: list[Entry] | None = None
#: Plugins loaded so far: their entries as ``list`` shows them; and those that failed.
_described: dict[str, Entry] = {}
_failed: dict[str, Entry] = {}


def entries() -> list[Entry]:
    """Every scenario known by name: the built-ins, then the plugins. A plugin not loaded
    yet is only what its entry point declares (name, target, distribution); its code runs
    when it is asked for (:func:`get`) or listed (:func:`listing`). Names taken by a
    built-in, and plugins that failed to load, are in :func:`problems`."""
    return [
        _described.get(e.name, e) for e in _all_entries() if not e.problem and e.name not in _failed
    ]


def problems() -> list[Entry]:
    """Plugin entries that cannot be used, with why: name clashes, and the plugins that
    failed to load so far (:func:`listing` loads them all)."""
    return [_failed.get(e.name, e) for e in _all_entries() if e.problem or e.name in _failed]


def listing(limit_s: float = LIST_IMPORT_LIMIT_S) -> tuple[list[Entry], list[Entry]]:
    """(:func:`entries`, :func:`problems`) after loading every plugin, each within
    ``limit_s`` seconds, for ``list``: a plugin that fails, exits or loops at import is a
    problem named as such, and the others are listed all the same."""
    for entry in entries():
        if entry.origin != BUILTIN and entry.name not in _registry:
            with contextlib.suppress(PluginFailed):
                _load_plugin(entry, limit_s)
    return entries(), problems()


def _all_entries() -> list[Entry]:
    global _entries
    if _entries is None:
        from syncdemo.scenarios.catalogue import BUILTINS
        from syncdemo.scenarios.plugins import entry_points

        found = list(BUILTINS)
        taken = {e.name: e.origin for e in found}
        for name, target, origin in entry_points(GROUP):
            entry = Entry(name=name, target=target, origin=origin)
            if name in taken:
                owner = "a built-in" if taken[name] == BUILTIN else f"one from {taken[name]}"
                entry = _problem(entry, f"its name clashes with {owner}, which is used instead")
            else:
                taken[name] = origin
            found.append(entry)
        _entries = found
    return _entries


def _load_plugin(entry: Entry, limit_s: float | None = None) -> Scenario[Any]:
    """Import a plugin's scenario; whatever its code does (raise, exit, loop past
    ``limit_s``, replace threading's classes) becomes :class:`PluginFailed`, remembered."""
    from syncdemo import guard

    failed = _failed.get(entry.name)
    if failed is not None:
        raise PluginFailed(_plugin_line(failed))
    try:
        scenario = guard.call(lambda: load(entry), limit_s)
    except BaseException as exc:
        if guard.real_interrupt(exc):
            raise
        why = f"cannot be loaded: {guard.failure(exc)}"
        from syncdemo.userfile import where_raised

        failed = _problem(entry, f"{why}{where_raised(exc)}")
        _failed[entry.name] = failed
        raise PluginFailed(_plugin_line(failed)) from exc
    own = scenario.name
    if own != entry.name and any(e.name == own for e in _all_entries() if not e.problem):
        failed = _problem(entry, f"it calls itself {own!r}, a name already taken")
        _failed[entry.name] = failed
        raise PluginFailed(_plugin_line(failed))
    _registry[entry.name] = scenario
    _described[entry.name] = describe_entry(scenario, entry.target, entry.origin, entry.name)
    return scenario


def _plugin_line(entry: Entry) -> str:
    return (
        f"The plugin scenario {entry.name!r} (from {entry.origin}, {entry.target}) {entry.problem}."
    )


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
    """Every usable scenario, loaded (``list -f json``, tests); plugins that fail are left
    out (see :func:`problems`)."""
    usable, _ = listing()
    return [get(e.name) for e in usable]


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
            if entry.origin != BUILTIN:
                return _load_plugin(entry)
            scenario = load(entry)
            _registry[name] = scenario
            return scenario
    failed = _failed.get(name)
    if failed is not None:  # a plugin by that name, named as failed
        raise PluginFailed(_plugin_line(failed))
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
