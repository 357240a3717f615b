"""An engineer's own tests as they are (issue 22): a pytest node id given to explore, the
pytest plugin's marker and fixture, and ``syncdemo.explore()`` / ``syncdemo.run()`` on code
defined where there is no file (``python -c``). Each verdict is argued from the program:
two threads each read a balance, return from a C call (where the GIL can change hands)
and write it back; one preemption between one's read and its write loses a deposit, and a
lock around the deposit makes every schedule end with 20."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from syncdemo.cli import cli

BANK = """
import threading


class Account:
    def __init__(self):
        self.balance = 0

    def deposit(self, n):
        seen = self.balance
        print(end="")
        self.balance = seen + n


def two(deposit):
    threads = [threading.Thread(target=deposit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
"""

TESTS = """
import threading

import pytest

from {bank} import Account, two


def test_transfer():
    account = Account()
    two(lambda: account.deposit(10))
    assert account.balance == 20, f"balance is {{account.balance}}"


def test_locked():
    account, lock = Account(), threading.Lock()

    def deposit():
        with lock:
            account.deposit(10)

    two(deposit)
    assert account.balance == 20


class TestBank:
    def setup_method(self, method):
        self.account = Account()

    def test_unlocked(self):
        two(lambda: self.account.deposit(10))
        assert self.account.balance == 20, f"balance is {{self.account.balance}}"


def test_needs_a_fixture(tmp_path):
    pass


@pytest.mark.parametrize("n", [1, 2])
def test_cases(n):
    pass
"""

MARKED = """
import threading

import pytest

from {bank} import Account, two


@pytest.mark.syncdemo_explore
def test_marked():
    account = Account()
    two(lambda: account.deposit(10))
    assert account.balance == 20, f"balance is {{account.balance}}"


@pytest.mark.syncdemo_explore(max_preemptions=1)
def test_marked_locked():
    account, lock = Account(), threading.Lock()

    def deposit():
        with lock:
            account.deposit(10)

    two(deposit)
    assert account.balance == 20


def test_with_the_fixture(syncdemo_explore):
    def deposits():
        account = Account()
        two(lambda: account.deposit(10))
        assert account.balance == 20, f"balance is {{account.balance}}"

    syncdemo_explore(deposits)


class TestMarked:
    def setup_method(self, method):
        self.account = Account()

    @pytest.mark.syncdemo_explore
    def test_method(self):
        two(lambda: self.account.deposit(10))
        assert self.account.balance == 20, f"balance is {{self.account.balance}}"
"""


_tags = iter(range(10_000))


def project(tmp_path: Path) -> Path:
    """The files, with a helper module's name of its own (each test imports afresh)."""
    bank = f"bank_{next(_tags)}_{os.getpid()}"
    (tmp_path / f"{bank}.py").write_text(textwrap.dedent(BANK), encoding="utf-8")
    for name, text in (("test_bank.py", TESTS), ("test_marked.py", MARKED)):
        (tmp_path / name).write_text(textwrap.dedent(text).format(bank=bank), encoding="utf-8")
    (tmp_path / "conftest.py").write_text("", encoding="utf-8")
    return tmp_path


def explore_cli(tmp_path: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    return CliRunner().invoke(cli, ["explore", *args])


# --- node ids -------------------------------------------------------------------------------


def test_a_node_id_finds_the_lost_deposit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project(tmp_path)
    result = explore_cli(
        tmp_path, "test_bank.py::test_transfer", "--check", monkeypatch=monkeypatch
    )
    assert result.exit_code == 1, result.output
    assert "test_transfer() raised AssertionError: balance is 10" in result.stdout
    assert "syncdemo explore test_bank.py::test_transfer " in result.stdout  # the replay


def test_a_node_id_of_a_locked_test_is_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path)
    result = explore_cli(
        tmp_path,
        "test_bank.py::test_locked",
        "--check",
        "--max-preemptions",
        "1",
        monkeypatch=monkeypatch,
    )
    assert result.exit_code == 0, result.output
    assert "Verified for this bound" in result.stdout


def test_a_test_class_method_runs_on_a_fresh_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """setup_method makes each schedule's account: with one shared instance the second
    schedule would start from 20 and every schedule would then fail."""
    project(tmp_path)
    result = explore_cli(
        tmp_path, "test_bank.py::TestBank::test_unlocked", "-f", "json", monkeypatch=monkeypatch
    )
    assert result.exit_code == 0, result.output
    import json

    explored = json.loads(result.stdout)["explored"]
    ok = [o for o in explored["outcomes"] if o["ok"]]
    assert ok and ok[0]["count"] > 0  # the serial order keeps 20: state is fresh each time
    assert "balance is 10" in explored["counterexample"]["check"]


@pytest.mark.parametrize(
    ("node", "says"),
    [
        ("test_bank.py::test_needs_a_fixture", "takes tmp_path"),
        ("test_bank.py::test_cases[1]", "parametrized"),
        ("test_bank.py::test_transfr", "Did you mean test_bank.py::test_transfer"),
        ("nowhere.py::test_x", "No such file"),
    ],
)
def test_a_node_id_that_cannot_be_explored_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, node: str, says: str
) -> None:
    project(tmp_path)
    result = explore_cli(tmp_path, node, monkeypatch=monkeypatch)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert "Traceback" not in result.output


# --- the pytest plugin ----------------------------------------------------------------------


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=110,
    )


@pytest.mark.timeout(120)
def test_the_plugin_fails_a_test_with_its_schedule_and_replay(tmp_path: Path) -> None:
    project(tmp_path)
    done = run_pytest(tmp_path, "test_marked.py", "--junitxml", "report.xml")
    assert done.returncode == 1, done.stdout + done.stderr
    failed = set(re.findall(r"FAILED test_marked.py::(\S+)", done.stdout))
    assert failed == {"test_marked", "test_with_the_fixture", "TestMarked::test_method"}, (
        done.stdout
    )
    assert "1 passed" in done.stdout  # the locked one: every schedule keeps 20
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "report.xml").iter("testcase")}
    text = cases["test_marked"].findtext("failure") or ""
    assert "test_marked() raised AssertionError: balance is 10" in text
    assert "<- preempted" in text
    replay = re.search(r"Replay it: (syncdemo explore test_marked\.py::test_marked .*)", text)
    assert replay is not None, text
    # the command the failure gives replays the same failure outside pytest
    # (in a process of its own: the threads print to its stdout, a file, as in a shell)
    command = [sys.executable, "-m", "syncdemo", *replay.group(1).split()[1:]]
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "This schedule breaks the invariant" in again.stdout
    assert "balance is 10" in again.stdout
    fixture_text = cases["test_with_the_fixture"].findtext("failure") or ""
    assert "syncdemo.explore(deposits, " in fixture_text and "schedule=" in fixture_text


# --- syncdemo.explore() and code with no file ------------------------------------------------

NO_FILE = """
import threading
import syncdemo

@syncdemo.scenario
class Acc:
    threads = 2
    iterations = 1
    def setup(self):
        self.balance = 100
    def worker(self, thread):
        seen = self.balance
        print(end="")
        self.balance = seen - 1
    def check(self):
        return self.balance == 98 or f"balance went to {self.balance}"

def two():
    box = [0]
    def add():
        seen = box[0]
        print(end="")
        box[0] = seen + 1
    threads = [threading.Thread(target=add) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box[0] == 2, box

found = syncdemo.explore(Acc)
print("class", found.violated, found.exploration.counterexample.check)
again = eval(found.exploration.counterexample.replay)
print("replay", again.violated, again.replay is not None)
print("locked", syncdemo.explore(two, max_preemptions=0).proved)
print("function", syncdemo.explore(two).violated)
print("run", len(syncdemo.run(Acc, trials=2, race_budget=0).trials))
"""


@pytest.mark.timeout(120)
def test_explore_and_run_take_code_defined_in_python_c() -> None:
    """No file: the class's source cannot be read (``run`` raised OSError there before);
    the replay is this call again with ``schedule=``."""
    done = subprocess.run(
        [sys.executable, "-c", NO_FILE], capture_output=True, text=True, timeout=110
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "class True balance went to 99" in lines
    assert "replay True True" in lines
    assert "locked True" in lines  # no preemption: each add runs whole
    assert "function True" in lines
    assert "run 2" in lines


def test_explore_is_the_package_and_the_function() -> None:
    """``syncdemo.explore`` names a package too: once it is imported, calling it still
    explores."""
    import syncdemo.explore.explorer

    report = syncdemo.explore("counter", threads=2, iterations=1)
    assert report.violated
    with pytest.raises(ValueError, match="granularity"):
        syncdemo.explore("counter", granularity="byte")
