"""Scenario packages: entry points in group ``syncdemo.scenarios``, built-in and user-file
formats alike, clashes and broken plugins reported by ``list``; and a real distribution,
installed with pip into a fresh virtual environment, used by ``list``, ``run``, ``describe``."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import site
import subprocess
import sys
import venv
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

import syncdemo
from syncdemo import scenarios

Invoke = Callable[..., Result]

PLUGIN_CODE = '''\
"""Scenarios of the bankdemo package, in syncdemo's user-file format."""

import threading

import syncdemo


@syncdemo.scenario
class Overdraft:
    """Two clerks withdraw from one account: check, then act.

    The check and the withdrawal are two steps; a lock makes them one.
    """

    threads = 2
    iterations = 1
    invariant = "the balance never goes below zero"

    def setup(self):
        self.balance = 100
        self.lock = threading.Lock()

    def worker(self, thread):
        if self.balance >= 80:
            self.balance -= 80

    @syncdemo.strategy("lock", safe=True)
    def worker_locked(self, thread):
        """a lock around the check and the withdrawal"""
        with self.lock:
            if self.balance >= 80:
                self.balance -= 80

    def check(self):
        return self.balance >= 0
'''

ENTRY_POINTS = {
    "overdraft": "bankdemo.scenarios:Overdraft",
    "counter": "bankdemo.scenarios:Overdraft",  # a built-in's name: the built-in wins
    "broken": "bankdemo.missing:Nope",  # fails to import
}


# --- the registry, with entry points given by the test ---------------------------------------


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """bankdemo importable from a temporary folder, and its entry points declared."""
    package = tmp_path / "bankdemo"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "scenarios.py").write_text(PLUGIN_CODE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = [(name, target, "bankdemo") for name, target in ENTRY_POINTS.items()]
    monkeypatch.setattr("syncdemo.scenarios.plugins.entry_points", lambda group: found)
    monkeypatch.setattr(scenarios, "_entries", None)
    monkeypatch.setattr(scenarios, "_registry", {})
    monkeypatch.setattr(scenarios, "_described", {})
    monkeypatch.setattr(scenarios, "_failed", {})
    yield
    for name in [m for m in sys.modules if m.startswith("bankdemo")]:
        del sys.modules[name]


@pytest.mark.usefixtures("plugin")
def test_a_user_format_plugin_is_listed_with_its_package(invoke: Invoke) -> None:
    declared = next(e for e in scenarios.entries() if e.name == "overdraft")
    assert (declared.origin, declared.summary) == ("bankdemo", ""), "not imported to be named"
    assert "bankdemo.scenarios" not in sys.modules
    entry = next(e for e in scenarios.listing()[0] if e.name == "overdraft")
    assert entry.origin == "bankdemo"
    assert entry.strategies == ("none", "lock") and entry.safe == frozenset({"lock"})
    assert entry.summary == "Two clerks withdraw from one account: check, then act."
    result = invoke("list")
    assert result.exit_code == 0, result.output
    assert "(bankdemo)" in result.stdout


@pytest.mark.usefixtures("plugin")
def test_a_clash_keeps_the_builtin_and_list_says_so(invoke: Invoke) -> None:
    assert scenarios.get("counter").origin == "syncdemo"
    problems = {p.name: p.problem for p in scenarios.problems()}
    assert "clashes with a built-in" in problems["counter"]
    out = " ".join(invoke("list").stdout.split())
    assert "counter (bankdemo, bankdemo.scenarios:Overdraft): its name clashes" in out


@pytest.mark.usefixtures("plugin")
def test_a_broken_plugin_is_named_and_list_goes_on(invoke: Invoke) -> None:
    problems = {p.name: p.problem for p in scenarios.listing()[1]}
    assert "ModuleNotFoundError" in problems["broken"]
    result = invoke("list", "-f", "json")
    assert result.exit_code == 0, result.output
    rows = [(r["name"], r["origin"], r.get("problem", "")) for r in json.loads(result.stdout)]
    assert ("overdraft", "bankdemo", "") in rows
    assert ("counter", "syncdemo", "") in rows
    broken = next(r for r in rows if r[0] == "broken")
    assert broken[1] == "bankdemo" and "cannot be loaded" in broken[2]


@pytest.mark.usefixtures("plugin")
def test_a_plugin_works_with_every_command(invoke: Invoke) -> None:
    result = invoke("run", "overdraft", "--sync", "lock", "--trials", "2", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"]
    result = invoke("describe", "overdraft")
    assert "From: bankdemo" in result.stdout
    assert "The check and the withdrawal are two steps" in result.stdout
    result = invoke("compare", "overdraft", "--trials", "1", "-f", "json")
    assert [r["spec"] for r in json.loads(result.stdout)["rows"]] == [
        "overdraft:none",
        "overdraft:lock",
    ]
    assert syncdemo.run("overdraft", sync="lock", trials=1).ok
    assert syncdemo.run("bankdemo.scenarios:Overdraft", sync="lock", trials=1).ok


# --- a real distribution, installed into a fresh virtual environment --------------------------


def build_wheel(folder: Path) -> Path:
    """bankdemo 0.1 as a wheel: the package, METADATA and its entry points (by hand, so
    the test needs no build backend and no network)."""
    dist = "bankdemo-0.1.dist-info"
    entry_points = "[syncdemo.scenarios]\n" + "".join(
        f"{name} = {target}\n" for name, target in ENTRY_POINTS.items()
    )
    files = {
        "bankdemo/__init__.py": "",
        "bankdemo/scenarios.py": PLUGIN_CODE,
        f"{dist}/METADATA": "Metadata-Version: 2.1\nName: bankdemo\nVersion: 0.1\n",
        f"{dist}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: syncdemo-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
        f"{dist}/entry_points.txt": entry_points,
    }
    record = []
    for name, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / "bankdemo-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


def environment_with_syncdemo(folder: Path) -> Path:
    """A fresh venv (no pip of its own) that also sees this environment's packages: its
    site-packages gets a .pth that adds ours, .pth files included (an editable syncdemo)."""
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(folder)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = [*site.getsitepackages(), str(Path(syncdemo.__file__).resolve().parent.parent)]
    lines = "".join(f"import site; site.addsitedir({d!r})\n" for d in ours)
    Path(purelib, "_syncdemo_tests_parent.pth").write_text(lines, encoding="utf-8")
    return python


@pytest.mark.timeout(120)
def test_an_installed_distribution(tmp_path: Path) -> None:
    python = environment_with_syncdemo(tmp_path / "venv")
    wheel = build_wheel(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    env.update(COLUMNS="200", NO_COLOR="1", PIP_DISABLE_PIP_VERSION_CHECK="1")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
        )

    installed = run("-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel))
    if installed.returncode and "No module named pip" in installed.stderr:
        pytest.skip("pip is not installed in this environment")
    assert installed.returncode == 0, installed.stdout + installed.stderr

    listed = run("-m", "syncdemo", "list")
    assert listed.returncode == 0, listed.stderr
    out = " ".join(listed.stdout.split())
    row = next(line for line in listed.stdout.splitlines() if line.startswith("overdraft "))
    assert "Two clerks withdraw from one account" in row and "none*, lock" in row
    assert "(bankdemo)" in out
    assert "counter (bankdemo, bankdemo.scenarios:Overdraft): its name clashes" in out
    assert "broken (bankdemo, bankdemo.missing:Nope): cannot be loaded" in out
    assert "Traceback" not in listed.stderr

    ran = run("-m", "syncdemo", "run", "overdraft", "--sync", "lock", "--trials", "3", "-f", "json")
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    assert data["scenario"] == "overdraft" and data["ok"]

    described = run("-m", "syncdemo", "describe", "overdraft")
    assert described.returncode == 0, described.stderr
    assert "From: bankdemo" in described.stdout
    assert "with self.lock:" in described.stdout
