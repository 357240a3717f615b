"""Scenarios in the user's own files: the README's overdraft.py verbatim, every command on a
file, a window that opens, and every bad input as one line with the right exit status."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from syncdemo.engine.runtime import gil_enabled

ROOT = Path(__file__).resolve().parent.parent
Invoke = Callable[..., Result]
UsageError = Callable[[Result], str]


def readme_overdraft() -> str:
    """The first Python block of the README's "Your own code" section: overdraft.py."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Your own code\n", 1)[1]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    assert code.startswith("# overdraft.py\n")
    return code


OVERDRAFT = readme_overdraft()

#: The counter as a user would write it: a call between the read and the write.
COUNTER = '''
import threading

import syncdemo


def next_value(value):
    return value + 1


@syncdemo.scenario
class SharedCounter:
    """Threads increment one shared integer, with a call between the read and the write."""

    threads = 4
    iterations = 20_000
    invariant = "value == threads x iterations"

    def setup(self):
        self.value = 0
        self.lock = threading.Lock()

    def worker(self, thread):
        value = self.value
        value = next_value(value)  # a call: another thread may run here
        self.value = value

    @syncdemo.strategy("lock", safe=True)
    def locked(self, thread):
        """a threading.Lock around the read, the call and the write"""
        with self.lock:
            self.value = next_value(self.value)

    def check(self):
        expected = self.threads * self.iterations
        assert self.value == expected, f"{expected - self.value:,} increments were lost"
'''


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder as the current one, with the README's overdraft.py in it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "overdraft.py").write_text(OVERDRAFT, encoding="utf-8")
    return tmp_path


def write(folder: Path, name: str, code: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return name


# --- the README example, verbatim ------------------------------------------------------------


def test_readme_overdraft_runs(here: Path, invoke: Invoke) -> None:
    result = invoke("run", "overdraft.py", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["scenario"] == "overdraft"
    assert data["sync"] == "none"
    assert data["params"]["threads"] == 2 and data["params"]["iterations"] == 1
    assert data["invariant"] == "the balance never goes below zero"
    assert len(data["trials"]) == 3
    for trial in data["trials"]:
        assert trial["details"]["balance"] in (20, -60)
        assert trial["ok"] == (trial["details"]["balance"] == 20)


def test_readme_overdraft_table_is_honest_when_nothing_broke(here: Path, invoke: Invoke) -> None:
    """Under the GIL the overdraft seldom shows, and the report says why rather than
    calling the worker safe; that sentence is asked for directly (whether a run shows the
    race is up to the interpreter), then the run must end with the one that fits it."""
    from syncdemo import scenarios
    from syncdemo.engine.config import resolve

    scenario = scenarios.get("overdraft.py")
    config = resolve(scenario, trials=5, race_budget=0)
    quiet = " ".join(scenario.verdict(True, config, gil=True).split())
    assert "not safe" in quiet and "window is closed" in quiet
    assert "log()" in quiet and "I/O" in quiet, "it says how a window opens"
    result = invoke("run", "overdraft.py", "--trials", "5")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "overdraft · --sync none · 2 threads" in text
    held = "0 of 5 trials violated" in text
    assert " ".join(scenario.verdict(held, config, gil=gil_enabled()).split()) in text


def test_readme_overdraft_lock_never_overdraws(here: Path, invoke: Invoke) -> None:
    result = invoke("run", "overdraft.py", "--sync", "lock", "--trials", "20", "--check")
    assert result.exit_code == 0, result.output
    assert "20 trials" in result.stdout
    assert "as it must with --sync lock" in " ".join(result.stdout.split())


def test_readme_overdraft_describe(here: Path, invoke: Invoke) -> None:
    result = invoke("describe", "overdraft.py")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "overdraft — Two clerks withdraw from one account" in out
    assert "From: overdraft.py" in out
    assert "if self.balance >= 80:" in out, "the user's worker source"
    assert "def worker_locked(self, thread):" in out
    assert "def check(self):" in out
    data = json.loads(invoke("describe", "overdraft.py", "-f", "json").stdout)
    assert [s["name"] for s in data["strategies"]] == ["none", "lock"]
    assert [s["safe"] for s in data["strategies"]] == [False, True]
    assert data["origin"] == "overdraft.py"


def test_readme_overdraft_compare(here: Path, invoke: Invoke) -> None:
    result = invoke("compare", "overdraft.py", "--trials", "5", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["spec"] for r in data["rows"]] == ["overdraft:none", "overdraft:lock"]
    lock = data["rows"][1]
    assert lock["safe"] and lock["violated"] == 0


# --- every command and every way to name it ---------------------------------------------------


def test_several_classes_and_specs(here: Path, invoke: Invoke) -> None:
    write(here, "two.py", OVERDRAFT + COUNTER.replace("import threading\n\nimport syncdemo\n", ""))
    result = invoke("run", "two.py:SharedCounter", "-n", "100", "--sync", "lock", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scenario"] == "shared-counter"
    specs = ["two.py:Overdraft:lock", "two.py:shared-counter:lock", "overdraft.py:lock"]
    result = invoke("compare", *specs, "-n", "50", "--trials", "1", "-f", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert [r["spec"] for r in rows] == ["overdraft:lock", "shared-counter:lock"]


def test_sweep_and_every_run_option(here: Path, invoke: Invoke) -> None:
    write(here, "counter_file.py", COUNTER)
    result = invoke(
        "sweep", "counter_file.py", "--threads", "1,2", "-n", "200", "--trials", "1", "-f", "csv"
    )
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 3
    result = invoke(
        "run",
        "counter_file.py",
        *("--threads", "3", "--iterations", "500", "--sync", "lock", "--trials", "2"),
        *("--seed", "7", "--switch-interval", "keep", "--timeout", "5", "-q", "--check"),
        *("-o", str(here / "out.json")),
    )
    assert result.exit_code == 0, result.output
    data = json.loads((here / "out.json").read_text())
    assert data["params"]["threads"] == 3 and data["params"]["seed"] == 7
    assert all(t["ops"] == 1500 for t in data["trials"]), "every call counted, once"


def test_a_module_in_a_package_and_module_colon_class(here: Path, invoke: Invoke) -> None:
    write(here, "bank/__init__.py", "")
    write(here, "bank/rules.py", "LIMIT = 80\n")
    code = OVERDRAFT.replace("import syncdemo\n", "import syncdemo\n\nfrom .rules import LIMIT\n")
    write(here, "bank/accounts.py", code.replace(">= 80", ">= LIMIT"))
    for name in ("bank/accounts.py", "bank.accounts:Overdraft"):
        result = invoke("run", name, "--sync", "lock", "--trials", "1", "-f", "json")
        assert result.exit_code == 0, (name, result.output)
        assert json.loads(result.stdout)["scenario"] == "overdraft"


def test_check_messages_and_outcome(here: Path, invoke: Invoke) -> None:
    write(
        here,
        "broken.py",
        '''
        import syncdemo

        @syncdemo.scenario
        class AlwaysBroken:
            """Its check always fails, with a message."""
            threads = 2
            iterations = 3
            def setup(self):
                self.calls = []
            def worker(self, thread):
                self.calls.append(thread)
            def outcome(self):
                return len(self.calls)
            def check(self):
                return f"{len(self.calls)} calls, and that is wrong"
        ''',
    )
    result = invoke("run", "broken.py", "--trials", "2")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "trials 1, 2 check: 6 calls, and that is wrong" in text  # one line for both
    assert "2 of 2 trials violated" in text
    data = json.loads(invoke("run", "broken.py", "--trials", "2", "-f", "json").stdout)
    assert [o["outcome"] for o in data["summary"]["outcomes"]] == ["6"]


# --- the race window --------------------------------------------------------------------------


def test_a_call_between_read_and_write_loses_updates(here: Path, invoke: Invoke) -> None:
    """Like counter: seen at least once within a budget (never a fixed count)."""
    write(here, "counter_file.py", COUNTER)
    deadline = time.monotonic() + 30
    attempts = 0
    while True:
        attempts += 1
        result = invoke("run", "counter_file.py", "--trials", "5", "-f", "json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        if data["summary"]["violated"]:
            lost = [t["details"]["check"] for t in data["trials"] if not t["ok"]]
            assert all(m.endswith("increments were lost") for m in lost), lost
            break
        assert time.monotonic() < deadline, f"no update lost in {attempts * 5} trials"


def test_the_safe_strategy_never_loses_one(here: Path, invoke: Invoke) -> None:
    write(here, "counter_file.py", COUNTER)
    result = invoke("run", "counter_file.py", "--sync", "lock", "--trials", "5", "--check")
    assert result.exit_code == 0, result.output


# --- bad input: one line, the right exit status, no traceback ---------------------------------

BAD_FILES = {
    "syntax.py": "import syncdemo\n\n@syncdemo.scenario\nclass A:\n    def worker(self, t)\n",
    "plain.py": "x = 1\n\nclass A:\n    pass\n",
    "two.py": (
        "import syncdemo\n\n"
        "@syncdemo.scenario\nclass A:\n    def worker(self, t): pass\n    def check(self): pass\n"
        "@syncdemo.scenario\nclass B:\n    def worker(self, t): pass\n    def check(self): pass\n"
    ),
    "noworker.py": "import syncdemo\n\n@syncdemo.scenario\nclass A:\n    def check(self): pass\n",
    "nocheck.py": (
        "import syncdemo\n\n@syncdemo.scenario\nclass A:\n    def worker(self, t): pass\n"
    ),
    "twice.py": (
        "import syncdemo\n\n@syncdemo.scenario\nclass A:\n    def worker(self, t): pass\n"
        "    @syncdemo.strategy('lock')\n    def a(self, t): pass\n"
        "    @syncdemo.strategy('lock', safe=True)\n    def b(self, t): pass\n"
        "    def check(self): pass\n"
    ),
    "raises.py": "import syncdemo\n\nraise RuntimeError('the file itself fails')\n",
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing.py", "No such file: 'missing.py'"),
        ("folder", "'folder' is a folder; give a .py file in it"),
        ("syntax.py", "Syntax error in syntax.py, line 5"),
        ("plain.py", "plain.py has no scenario: decorate its class with @syncdemo.scenario"),
        ("overdraft.py:Overdraf", "no scenario 'Overdraf'. Did you mean overdraft.py:Overdraft?"),
        ("two.py", "two.py has 2 scenarios (A, B); pick one: two.py:A"),
        ("noworker.py", "A (noworker.py) has no worker(self, thread) method"),
        ("nocheck.py", "A (nocheck.py) has no check(self) method"),
        ("twice.py", "strategy 'lock' is declared twice, by a() and b()"),
        ("raises.py", "Loading raises.py failed: RuntimeError: the file itself fails"),
        ("no_such_module:Thing", "and no module 'no_such_module' to import"),
    ],
)
def test_bad_input_is_one_line(
    here: Path, invoke: Invoke, usage_error: UsageError, name: str, expected: str
) -> None:
    (here / "folder").mkdir()
    for file, code in BAD_FILES.items():
        write(here, file, code)
    line = usage_error(invoke("run", name))
    assert expected in line, line
    if name == "raises.py":
        assert "raises.py:3" in line


@pytest.mark.parametrize("command", ["describe", "compare", "sweep"])
def test_bad_input_is_one_line_in_every_command(
    here: Path, invoke: Invoke, usage_error: UsageError, command: str
) -> None:
    line = usage_error(invoke(command, "missing.py"))
    assert "No such file: 'missing.py'" in line


def test_explore_runs_the_users_own_code(here: Path, invoke: Invoke) -> None:
    result = invoke("explore", "overdraft.py", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["file"] == "overdraft.py" and not data["ok"]
    replay = data["explored"]["counterexample"]["replay"]
    assert replay.startswith("syncdemo explore overdraft.py --sync none")


RAISES = """
import syncdemo


@syncdemo.scenario
class Raises:
    threads = 2
    iterations = 100

    def setup(self):
        self.calls = 0

    def worker(self, thread):
        self.calls += 1
        if self.calls > 10:
            raise ValueError("the tenth call is too many")

    def check(self):
        return True
"""


def test_a_worker_that_raises(here: Path, invoke: Invoke) -> None:
    write(here, "raises.py", RAISES)
    result = invoke("run", "raises.py")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: raises worker thread ")
    assert "ValueError: the tenth call is too many (at raises.py:16, in worker)" in line


@pytest.mark.parametrize("flag", ["--debug", "-v"])
def test_debug_shows_the_traceback(here: Path, invoke: Invoke, flag: str) -> None:
    write(here, "raises.py", RAISES)
    result = invoke("run", "raises.py", flag)
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert 'raise ValueError("the tenth call is too many")' in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: raises worker thread")


def test_setup_or_check_that_raises(here: Path, invoke: Invoke) -> None:
    write(here, "setup.py", RAISES.replace("self.calls = 0", "self.calls = 1 / 0"))
    result = invoke("run", "setup.py")
    assert result.exit_code == 1
    assert "raises: setup() raised ZeroDivisionError: division by zero" in result.stderr
    assert "(at setup.py:11, in setup)" in result.stderr
    write(here, "check.py", RAISES.replace("return True", "return self.missing"))
    result = invoke("run", "check.py", "-n", "5")
    assert result.exit_code == 1
    assert "check() raised AttributeError" in result.stderr
    assert "Traceback" not in result.output


SPINS = """
import syncdemo


@syncdemo.scenario
class Spins:
    threads = 2
    iterations = 3

    def worker(self, thread):
        while thread == 1:
            pass

    def check(self):
        return True
"""


def test_an_endless_worker_is_stopped_by_the_watchdog(here: Path, invoke: Invoke) -> None:
    write(here, "spins.py", SPINS)
    began = time.monotonic()
    result = invoke("run", "spins.py", "--timeout", "0.3", "--trials", "1", "-f", "json")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - began < 10, "the loop was interrupted: no 5 s grace, no exit 3"
    data = json.loads(result.stdout)
    (trial,) = data["trials"]
    assert not trial["ok"]
    assert trial["details"]["stuck"] is True
    assert trial["details"]["detected_by"] == "no progress"
    assert "got stuck" in data["verdict"]
    result = invoke("run", "spins.py", "--timeout", "0.3", "--trials", "1", "--check", "-q")
    assert result.exit_code == 1


def test_a_worker_that_cannot_be_stopped_exits_3(here: Path) -> None:
    """In a child process: the abandoned threads stay blocked until it exits."""
    write(
        here,
        "blocked.py",
        """
        import threading
        import syncdemo

        @syncdemo.scenario
        class Blocked:
            threads = 2
            iterations = 2
            def setup(self):
                self.lock = threading.Lock()
            def worker(self, thread):
                self.lock.acquire()  # and never released
            def check(self):
                return True
        """,
    )
    done = subprocess.run(
        [sys.executable, "-m", "syncdemo", "run", "blocked.py", "--timeout", "0.2"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=here,
    )
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "did not give up" in line


@pytest.mark.parametrize("command", ["run", "describe", "compare", "sweep"])
def test_help_says_what_name_may_be_and_that_loading_runs_code(
    invoke: Invoke, command: str
) -> None:
    text = " ".join(invoke(command, "--help").stdout.split())
    assert "FILE.py, FILE.py:Class, path/to/pkg/module.py or package.module:Class" in text
    assert "Loading a file runs its top-level code" in text
    assert "--debug" in text


def test_a_strategy_after_the_colon_gets_a_hint(
    here: Path, invoke: Invoke, usage_error: UsageError
) -> None:
    line = usage_error(invoke("run", "overdraft.py:lock"))
    assert "For its strategy 'lock', add --sync lock." in line


def test_a_changed_file_is_loaded_again(here: Path) -> None:
    from syncdemo import scenarios

    assert scenarios.get("overdraft.py").default_threads == 2
    text = OVERDRAFT.replace("threads = 2", "threads = 3")
    (here / "overdraft.py").write_text(text + "\n# changed\n", encoding="utf-8")
    assert scenarios.get("overdraft.py").default_threads == 3


def test_a_file_with_a_subclass_of_syncdemos_scenario(here: Path, invoke: Invoke) -> None:
    write(
        here,
        "mine.py",
        """
        from syncdemo.scenarios.counter import CounterScenario

        class MyCounter(CounterScenario):
            name = "my-counter"
            default_iterations = 300
        """,
    )
    result = invoke("run", "mine.py", "--sync", "lock", "--trials", "1", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["scenario"] == "my-counter" and data["params"]["iterations"] == 300
    assert "From: mine.py" in invoke("describe", "mine.py").stdout


def test_optional_class_attributes(here: Path, invoke: Invoke) -> None:
    write(
        here,
        "attrs.py",
        '''
        import syncdemo

        @syncdemo.scenario
        class HTTPCacheFill:
            """Fills a cache.

            Threads put what they computed; the check counts the entries."""
            default_sync = "careful"
            def setup(self):
                self.entries = {}
            def worker(self, thread):
                self.entries[thread] = thread
            @syncdemo.strategy("careful", safe=True, summary="the same, said to be safe")
            def careful(self, thread):
                self.entries[thread] = thread
            def check(self):
                return len(self.entries) == self.threads or None

        @syncdemo.scenario(name="renamed")
        class Other:
            name = "ignored-by-the-decorator"
            def worker(self, thread):
                pass
            def check(self):
                return None
        ''',
    )
    data = json.loads(invoke("describe", "attrs.py:HTTPCacheFill", "-f", "json").stdout)
    assert data["name"] == "http-cache-fill"
    assert data["summary"] == "Fills a cache."
    assert data["explanation"].startswith("Threads put what they computed")
    assert data["default_sync"] == "careful"
    assert data["defaults"]["threads"] == 4 and data["defaults"]["iterations"] == 1000
    assert data["strategies"][1]["summary"] == "the same, said to be safe"
    assert data["invariant"] == "check() returns True"
    result = invoke("run", "attrs.py:renamed", "--trials", "1", "-f", "json")
    assert json.loads(result.stdout)["scenario"] == "renamed"


def test_bad_class_attributes(here: Path, invoke: Invoke, usage_error: UsageError) -> None:
    code = OVERDRAFT.replace("threads = 2", "threads = 0")
    write(here, "zero.py", code)
    assert "threads = 0; it must be a whole number 1 to 2,048" in usage_error(
        invoke("run", "zero.py")
    )
    write(here, "sync.py", OVERDRAFT.replace("iterations = 1\n", "default_sync = 'mutex'\n"))
    assert "default_sync = 'mutex' is not one of its strategies: none, lock" in usage_error(
        invoke("describe", "sync.py")
    )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_a_user_worker_between_calls(here: Path) -> None:
    import signal

    write(
        here,
        "slow.py",
        """
        import time
        import syncdemo

        @syncdemo.scenario
        class Slow:
            threads = 2
            iterations = 100_000
            def setup(self):
                open("started", "w").close()
            def worker(self, thread):
                time.sleep(0.01)
            def check(self):
                return True
        """,
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "syncdemo", "run", "slow.py"],
        cwd=here,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    while not (here / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the threads are in their calls by now
    child.send_signal(signal.SIGINT)
    began = time.monotonic()
    _, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert time.monotonic() - began < 5, "it stops between two calls (a chunk is 10 s here)"
    assert "Traceback" not in err
