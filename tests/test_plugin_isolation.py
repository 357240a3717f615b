"""Hostile plugins (issue 23, item 2): installed packages whose scenario module exits,
loops, calls ``os._exit``, raises ``KeyboardInterrupt`` or replaces ``threading.Lock`` at
import. A command that does not ask for them runs as if they were not there (their names
come from the entry points, nothing of them is imported); ``list`` names each as failed,
in a bounded time; asking for one by name is one line naming it, exit 1.

The plugins are a real distribution (a ``.dist-info`` with ``entry_points.txt``) in a
temporary folder on ``PYTHONPATH``, used by a real ``python -m syncdemo`` process: a
plugin that loops would hang it, one that exits would end it with nothing printed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import env

from syncdemo import scenarios

#: Entry point name -> the top-level code of its module.
HOSTILE = {
    "exits": "import sys\nsys.exit(0)\n",
    "loops": "while True:\n    pass\n",
    "hard-exit": "import os\nos._exit(3)\n",
    "interrupts": "raise KeyboardInterrupt\n",
    "swaps-lock": "import threading\nthreading.Lock = None\n",
}
#: What ``list`` must say of each (the plugin's problem, as list -f json gives it).
SAID = {
    "exits": "sys.exit(0)",
    "loops": f"did not finish within {scenarios.LIST_IMPORT_LIMIT_S:g} s",
    "hard-exit": "os._exit(3)",
    "interrupts": "KeyboardInterrupt",
    "swaps-lock": "replaced threading.Lock",
}


def module(name: str) -> str:
    return name.replace("-", "_")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder holding the package 'hostile' and its distribution's metadata."""
    package = tmp_path / "hostile"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    for name, code in HOSTILE.items():
        (package / f"{module(name)}.py").write_text(code, encoding="utf-8")
    meta = tmp_path / "hostile-0.1.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: hostile\nVersion: 0.1\n")
    lines = "".join(f"{n} = hostile.{module(n)}:Scenario\n" for n in HOSTILE)
    (meta / "entry_points.txt").write_text(f"[syncdemo.scenarios]\n{lines}", encoding="utf-8")
    return tmp_path


def syncdemo(site: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncdemo", *args],
        capture_output=True,
        text=True,
        env=env(PYTHONPATH=str(site)),
        cwd=site,
        timeout=timeout,
        check=False,
    )


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.timeout(120)
def test_the_plugins_are_seen(site: Path) -> None:
    """The fixture is what the other tests take it for: the entry points are found."""
    found = syncdemo(site, "run", "exits", timeout=30)
    assert "exits" in found.stderr and "hostile" in found.stderr, found.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["run", "counter", "-n", "100", "--trials", "1", "-f", "json"], 0),
        (
            ["run", "counter", "-n", "100", "--trials", "1", "-s", "lock", "--check", "-f", "json"],
            0,
        ),
        (["describe", "counter", "-f", "json"], 0),
        (["explore", "counter", "-t", "2", "-n", "1", "-f", "json"], 0),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_commands_that_do_not_ask_for_a_plugin_are_not_affected(
    site: Path, args: list[str], code: int
) -> None:
    began = time.monotonic()
    done = syncdemo(site, *args)
    assert done.returncode == code, done.stderr
    assert json.loads(done.stdout)["name" if args[0] == "describe" else "scenario"] == "counter"
    assert "hostile" not in done.stderr
    assert time.monotonic() - began < 30


@pytest.mark.timeout(120)
def test_an_unknown_name_is_still_unknown(site: Path) -> None:
    done = syncdemo(site, "run", "nosuchthing")
    assert done.returncode == 2
    assert "No scenario named 'nosuchthing'" in one_line(done.stderr)


@pytest.mark.timeout(120)
def test_list_names_every_hostile_plugin_as_failed_in_bounded_time(site: Path) -> None:
    began = time.monotonic()
    done = syncdemo(site, "list", "-f", "json")
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["counter"]["origin"] == "syncdemo" and "problem" not in rows["counter"]
    for name, said in SAID.items():
        assert rows[name]["origin"] == "hostile"
        assert "cannot be loaded" in rows[name]["problem"], rows[name]
        assert said in rows[name]["problem"], rows[name]
    # only the looping plugin costs its time limit; the rest of the command is quick
    assert took < scenarios.LIST_IMPORT_LIMIT_S + 20, took


@pytest.mark.timeout(120)
def test_list_as_a_table_names_them_too(site: Path) -> None:
    done = syncdemo(site, "list")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "counter" in text
    for name in HOSTILE:
        assert f"{name} (hostile, hostile.{module(name)}:Scenario): cannot be loaded" in text


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", [n for n in HOSTILE if n != "loops"])
def test_asking_for_a_failing_plugin_is_one_line_naming_it(site: Path, name: str) -> None:
    done = syncdemo(site, "run", name, "--trials", "1")
    assert done.returncode == 1, done.stderr
    line = one_line(done.stderr)
    assert f"plugin scenario {name!r} (from hostile" in line, line
    assert "cannot be loaded" in line and SAID[name] in line, line
    assert "No scenario named" not in line
    assert done.stdout == ""
