"""The shape of the package: every module imports on its own, the catalogue matches the
scenario classes, and the layers hold (renderers never reach the registry or a scenario)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from syncdemo import scenarios
from syncdemo.scenarios.catalogue import BUILTINS

PACKAGE = Path(__file__).resolve().parent.parent / "syncdemo"
MODULES = sorted(
    ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
    if p.name != "__main__.py"
)


def test_every_module_imports_on_its_own() -> None:
    """Each in a fresh interpreter, so that no import cycle hides behind a lucky order."""
    code = (
        "import importlib, subprocess, sys\n"
        "bad = []\n"
        "for name in sys.argv[1:]:\n"
        "    r = subprocess.run([sys.executable, '-c', f'import {name}'], capture_output=True,"
        " text=True)\n"
        "    if r.returncode:\n"
        "        bad.append(f'{name}: {r.stderr.strip().splitlines()[-1]}')\n"
        "print('\\n'.join(bad))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *MODULES], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", done.stdout
    assert len(MODULES) > 30  # the walk found the package


@pytest.mark.parametrize("entry", BUILTINS, ids=lambda e: e.name)
def test_the_catalogue_row_matches_its_class(entry: scenarios.Entry) -> None:
    loaded = scenarios.describe_entry(scenarios.load(entry), entry.target, entry.origin)
    assert entry == loaded, f"update syncdemo/scenarios/catalogue.py: {loaded!r}"


def test_list_imports_no_scenario_module() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from syncdemo.cli import cli\n"
        "r = CliRunner().invoke(cli, ['list'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in sys.modules if m.startswith('syncdemo.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = ast.literal_eval(done.stdout.strip())
    for entry in BUILTINS:
        assert entry.target.partition(":")[0] not in loaded
    assert "syncdemo.engine.runner" not in loaded


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "render").glob("*.py")), ids=lambda p: p.name)
def test_renderers_read_data_only(path: Path) -> None:
    imported = imports_of(path) - {"syncdemo.scenarios.entry", "syncdemo.scenarios.entry.Entry"}
    assert not {i for i in imported if i.startswith(("syncdemo.scenarios", "syncdemo.engine."))}
    assert "syncdemo.cli" not in {i.rsplit(".", 1)[0] for i in imported}


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (PACKAGE / "cli").glob("*.py") if p.name != "__init__.py"),
    ids=lambda p: p.name,
)
def test_no_command_module_imports_another(path: Path) -> None:
    from syncdemo.cli import COMMANDS

    commands = {target.partition(":")[0] for target in COMMANDS.values()}
    own = ".".join(("syncdemo", "cli", path.stem))
    assert not (imports_of(path) & (commands - {own}))


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p))
def test_every_module_says_what_it_holds(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc and doc.strip(), f"{path} has no docstring"
