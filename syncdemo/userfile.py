"""Scenarios from the user's own code: ``FILE.py``, ``FILE.py:Class``, ``module:Class``.

Loading a file runs its top-level code, as importing it would (pytest says the same of a
``conftest.py``); nothing else in it runs until a command calls the class's methods. A
file is imported the way pytest's default mode imports a test file: inside a package (its
folder has an ``__init__.py``), under its dotted name with the package's parent folder on
``sys.path``, so its relative imports work; otherwise under its own name with its folder
on ``sys.path``, so it can import the files next to it. A file that changed on disk is
loaded again.

Every problem with the reference or the file (missing, a folder, a syntax error, no
scenario in it, a name that is not there) is a :class:`~syncdemo.scenarios.ScenarioError`:
one line for the user, exit 2, the original exception chained for ``--debug``.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import os
import re
import sys
import sysconfig
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

from syncdemo.decorators import SCENARIO_MARK
from syncdemo.scenarios import CannotRun, ScenarioError

if TYPE_CHECKING:
    from syncdemo.scenarios.base import Scenario

#: ``package.module:Class`` (the Class part may be dotted: ``module:Outer.Inner``).
MODULE_REFERENCE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")

#: Files loaded so far: resolved path -> ((mtime_ns, size), module).
_loaded: dict[Path, tuple[tuple[int, int], ModuleType]] = {}


def is_reference(name: str) -> bool:
    """Whether ``name`` points into the user's code rather than naming a registered scenario."""
    return (
        name.endswith(".py")
        or ".py:" in name
        or "/" in name
        or os.sep in name
        or os.path.exists(name)
        or MODULE_REFERENCE.fullmatch(name) is not None
    )


def load_reference(name: str) -> Scenario[Any]:
    """The scenario ``name`` points to (see :func:`is_reference`); a pytest node id
    (``tests/test_bank.py::test_transfer``, ``...::TestBank::test_transfer``) is the test
    function it names."""
    if ".py::" in name:
        path, _, test = name.partition(".py::")
        if "[" in test:
            raise ScenarioError(
                f"{name}: a parametrized test's id; explore calls a test function with no "
                "arguments (give one case its own function, or use the pytest plugin's "
                "syncdemo_explore fixture in the test)."
            )
        return load_file(path + ".py", test.replace("::", "."), node=True)
    if ".py:" in name:
        path, _, attr = name.rpartition(".py:")
        return load_file(path + ".py", attr)
    if MODULE_REFERENCE.fullmatch(name) and not name.endswith(".py"):
        module, _, attr = name.partition(":")
        return load_module(module, attr)
    return load_file(name, "")


# --- files ----------------------------------------------------------------------------------


def load_file(text: str, attr: str, node: bool = False) -> Scenario[Any]:
    """The scenario class ``attr`` (a class or scenario name) in file ``text``, or its only
    one when ``attr`` is empty; with ``node``, the test function ``attr`` (a pytest node
    id's)."""
    try:
        path = Path(text).expanduser()
        exists, folder = path.exists(), path.is_dir()
        hint = f" Did you mean {text}.py?" if Path(f"{text}.py").is_file() else ""
    except (OSError, ValueError, RuntimeError) as exc:  # a name too long, no such ~user
        raise ScenarioError(f"Cannot read {text!r}: {str(exc).rstrip('.')}.") from exc
    if not exists:
        raise ScenarioError(f"No such file: {text!r}.{hint}")
    if folder:
        raise ScenarioError(f"{text!r} is a folder; give a .py file in it (e.g. {text}/module.py).")
    module = import_file(path, text)
    if node:
        return pick(module, attr, text, f"{text}::", node=True)
    return pick(module, attr, text, f"{text}:")


def import_file(path: Path, shown: str) -> ModuleType:
    """Run the file's top-level code as a module (again only if the file changed)."""
    resolved = path.resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise ScenarioError(f"Cannot read {shown}: {exc.strerror or exc}.") from exc
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _loaded.get(resolved)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    root, dotted = _package_name(resolved)
    _on_path(root)
    if dotted.rpartition(".")[0]:  # inside a package: import it by its dotted name
        existing = sys.modules.get(dotted)
        if cached is not None or not _same_file(existing, resolved):
            sys.modules.pop(dotted, None)  # changed on disk, or another module of that name
        module = _guarded(shown, lambda: importlib.import_module(dotted))
    else:
        module = _exec_file(resolved, _free_name(dotted, resolved), shown)
    _loaded[resolved] = (stamp, module)
    return module


def _same_file(module: ModuleType | None, path: Path) -> bool:
    file = getattr(module, "__file__", None)
    return file is not None and Path(file).resolve() == path


def _package_name(path: Path) -> tuple[Path, str]:
    """(the folder to put on sys.path, the module's dotted name), as pytest finds them."""
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(parts)


def _free_name(stem: str, path: Path) -> str:
    """The file's stem as its module name, unless a different module has it (a user file
    called threading.py must not replace the real one)."""
    name = stem if stem.isidentifier() else "_syncdemo_" + re.sub(r"\W", "_", stem)
    existing = sys.modules.get(name)
    if existing is None or _same_file(existing, path):
        return name
    safe = re.sub(r"\W", "_", stem)
    return f"_syncdemo_file_{abs(hash(str(path))):x}_{safe}"


def _exec_file(path: Path, name: str, shown: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"Cannot load {shown} as Python.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickle look the module up while it runs
    loader = spec.loader

    def run() -> ModuleType:
        loader.exec_module(module)
        return module

    try:
        return _guarded(shown, run)
    except ScenarioError:
        sys.modules.pop(name, None)
        raise


def _guarded(shown: str, load: Any) -> ModuleType:
    """Run ``load()`` and turn whatever the user's code does into one line: a raise,
    ``exit()``, ``os._exit()``; replacing threading's classes (put back) is exit 1."""
    from syncdemo import guard

    try:
        module: ModuleType = guard.call(load)
    except SyntaxError as exc:
        where = _relative(exc.filename) if exc.filename else shown
        line = f", line {exc.lineno}" if exc.lineno else ""
        raise ScenarioError(f"Syntax error in {where}{line}: {exc.msg}.") from exc
    except guard.Replaced as exc:
        raise CannotRun(f"Loading {shown}: its top-level code {exc}.") from exc
    except BaseException as exc:  # its top-level code failed (an import, a raise, exit())
        if guard.real_interrupt(exc):
            raise
        raise ScenarioError(
            f"Loading {shown} failed: {guard.failure(exc)}{where_raised(exc)}"
        ) from exc
    return module


def _on_path(folder: Path) -> None:
    entry = str(folder)
    if entry not in sys.path:
        sys.path.insert(0, entry)


# --- modules --------------------------------------------------------------------------------


def load_module(module_name: str, attr: str) -> Scenario[Any]:
    """``module:Class``: import the module (the current folder is searched first, as
    ``python -m`` does) and adapt the class."""
    _on_path(Path.cwd())
    try:
        module = _guarded(module_name, lambda: importlib.import_module(module_name))
    except ScenarioError as exc:
        missing = exc.__cause__
        if isinstance(missing, ModuleNotFoundError) and missing.name == module_name:
            from syncdemo.scenarios import names, suggest

            close = suggest(module_name, names())
            hint = f" Did you mean {' or '.join(repr(s) for s in close)}?" if close else ""
            raise ScenarioError(
                f"No scenario named {module_name!r}, and no module {module_name!r} to import "
                f"{module_name}:{attr} from.{hint} See 'syncdemo list'."
            ) from missing
        raise
    return pick(module, attr, module_name, f"{module_name}:")


# --- the class in a module ------------------------------------------------------------------


def scenario_classes(module: ModuleType) -> list[type]:
    """The scenario classes that ``module`` defines: those decorated with
    ``@syncdemo.scenario``, and subclasses of syncdemo's own ``Scenario``."""
    from syncdemo.scenarios.base import Scenario

    return [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and obj.__module__ == module.__name__
        and (
            obj.__dict__.get(SCENARIO_MARK)
            or (issubclass(obj, Scenario) and not inspect.isabstract(obj))
        )
    ]


def pick(
    module: ModuleType, attr: str, shown: str, prefix: str, node: bool = False
) -> Scenario[Any]:
    """The scenario ``attr`` names in ``module`` (its class name or its scenario name, or
    a function that starts threads: ``Class.method`` is a test class's method), or the
    module's only one; with ``node`` (a pytest node id), only a function."""
    found = scenario_classes(module)
    if not attr:
        if not found:
            raise ScenarioError(
                f"{shown} has no scenario: decorate its class with @syncdemo.scenario "
                "(see 'Your own code' in the README)."
            )
        if len(found) > 1:
            names = ", ".join(c.__name__ for c in found)
            raise ScenarioError(
                f"{shown} has {len(found)} scenarios ({names}); pick one: "
                f"{prefix}{found[0].__name__}."
            )
        return adapt(found[0], shown)
    obj: Any = module
    owner: Any = None
    for part in attr.split("."):
        owner, obj = obj, getattr(obj, part, None)
    if obj is None and not node:
        obj = next((c for c in found if adapt_name(c) == attr), None)
    if inspect.isfunction(obj):  # a plain function: the threads it starts
        from syncdemo.scenarios.user import function_class

        test = test_alone(obj, owner, f"{prefix}{attr.replace('.', prefix[-2:])}")
        return adapt(function_class(test, shown), shown, name=f"{prefix}{attr}".rstrip(":"))
    if node:
        tests = [k for k, v in vars(module).items() if k.startswith("test") and callable(v)]
        close = difflib.get_close_matches(attr, tests, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(prefix + c for c in close)}?" if close else ""
        raise ScenarioError(f"{shown} has no test function {attr!r}.{hint}")
    if not isinstance(obj, type):
        known = [c.__name__ for c in found] or [
            k for k, v in vars(module).items() if isinstance(v, type) and not k.startswith("_")
        ]
        close = difflib.get_close_matches(attr, known, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(prefix + c for c in close)}?" if close else ""
        if not close and len(found) == 1 and _is_strategy(found[0], attr):
            hint = f" For its strategy {attr!r}, add --sync {attr}."
        there = f" (it has: {', '.join(known)})" if known and not close else ""
        raise ScenarioError(f"{shown} has no scenario {attr!r}{there}.{hint}")
    return adapt(obj, shown)


def test_alone(
    function: Any, owner: Any, shown: str, given: dict[str, Any] | None = None
) -> Callable[[], Any]:
    """``function`` as a call with no arguments: a test class's method is called on a new
    instance of the class (its ``setup_method`` first, as pytest does); the arguments it
    needs are ``given`` (pytest's fixture values), else it is refused."""
    bound = isinstance(owner, type) and not isinstance(
        inspect.getattr_static(owner, function.__name__, None), staticmethod
    )
    params = list(inspect.signature(function).parameters.values())[1 if bound else 0 :]
    needed = [
        p.name
        for p in params
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    given = given or {}
    needed = [name for name in needed if name not in given]
    if needed:
        raise ScenarioError(
            f"{shown} takes {', '.join(needed)}: explore calls it with no arguments "
            "(pytest fixtures are pytest's; in the test, the syncdemo_explore fixture of "
            "syncdemo's pytest plugin explores a function that does)."
        )
    if not bound and not given:
        return function  # type: ignore[no-any-return]

    def method_test() -> Any:
        if not bound:
            return function(**given)
        instance = owner()
        setup = getattr(instance, "setup_method", None)
        if callable(setup):
            setup(function)
        return function(instance, **given)

    method_test.__name__ = function.__name__
    method_test.__qualname__ = function.__qualname__
    method_test.__module__ = function.__module__
    method_test.__doc__ = function.__doc__
    return method_test


def _is_strategy(cls: type, name: str) -> bool:
    try:
        return name in adapt(cls, "").strategy_names()
    except ScenarioError:
        return False


def adapt_name(cls: type) -> str:
    from syncdemo.scenarios.user_class import kebab

    own = getattr(cls, "name", None)
    return own if isinstance(own, str) and own else kebab(cls.__name__)


def adapt(obj: Any, origin: str, name: str | None = None) -> Scenario[Any]:
    """A Scenario subclass or instance as it is; any other class through the adapter."""
    from syncdemo.scenarios.base import Scenario
    from syncdemo.scenarios.user import UserScenario

    if isinstance(obj, Scenario):
        return obj
    if isinstance(obj, type) and issubclass(obj, Scenario):
        if inspect.isabstract(obj):
            raise ScenarioError(f"{obj.__name__} ({origin}) is abstract: not a scenario to run.")
        scenario: Scenario[Any] = obj()
        if origin:
            scenario.origin = origin
        return scenario
    if not isinstance(obj, type):
        where = f"{origin}: " if origin else ""
        raise ScenarioError(f"{where}{obj!r} is not a scenario class.")
    return UserScenario(obj, origin, name)


# --- where the user's code failed -----------------------------------------------------------

_PACKAGE = str(Path(__file__).resolve().parent) + os.sep
_LIBRARY = tuple(
    str(Path(p).resolve()) + os.sep
    for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def where_raised(exc: BaseException) -> str:
    """' (at overdraft.py:17, in worker)': the innermost frame of the traceback in the
    user's own code (outside syncdemo, the standard library and installed packages), or of
    anything outside syncdemo; "" when there is none."""
    frames = traceback.extract_tb(_traceback(exc))
    outside = [f for f in frames if not f.filename.startswith(_PACKAGE)]
    own = [f for f in outside if not f.filename.startswith(_LIBRARY)]
    chosen = (own or outside)[-1:] if frames else []
    if not chosen:
        return ""
    frame = chosen[0]
    return f" (at {_relative(frame.filename)}:{frame.lineno}, in {frame.name})"


def _traceback(exc: BaseException) -> TracebackType | None:
    return exc.__traceback__


def _relative(filename: str) -> str:
    try:
        return os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
