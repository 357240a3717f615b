"""The user's code cannot end or break syncdemo, and no failure is silent or misleading
(issue 23, items 6, 7, 9): each case of the reliability sweep, run again, ends with one
line and the documented exit status, and leaves the interpreter as it found it."""

from __future__ import annotations

import errno
import multiprocessing.process
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from helpers import env

Invoke = Callable[..., Result]

HEAD = """\
import os
import sys
import threading

import syncdemo


@syncdemo.scenario
class Hostile:
    threads = 2
    iterations = 1

    def setup(self):
        self.count = 0

    def worker(self, thread):
        self.count += 1
"""
LIAR = "class Liar:\n    def __bool__(self):\n        raise RuntimeError('no truth')\n\n\n"
CHECK = "\n    def check(self):\n        return self.count >= 0\n"

FILES = {
    # check() returns an object whose truth cannot be read
    "bad_bool.py": LIAR + HEAD + "\n    def check(self):\n        return Liar()\n",
    # replaces threading.Lock at import
    "swaps_lock.py": HEAD + CHECK + "\nthreading.Lock = None\n",
    # a worker sets threading.Event = None
    "swaps_event.py": HEAD.replace(
        "        self.count += 1", "        threading.Event = None\n        self.count += 1"
    )
    + CHECK,
    # a worker ends the process
    "hard_exit.py": HEAD.replace("        self.count += 1", "        os._exit(5)") + CHECK,
    # os._exit(3) at import: 3 is the watchdog's status
    "exit_at_import.py": "import os\n\nos._exit(3)\n",
    # check() calls sys.exit
    "exits_in_check.py": HEAD + "\n    def check(self):\n        sys.exit(4)\n",
    # check() returns an object whose __bool__ raises an error other than RuntimeError
    "value_bool.py": LIAR.replace("RuntimeError", "ValueError")
    + HEAD
    + "\n    def check(self):\n        return Liar()\n",
    # a worker sets what syncdemo's own driver and pool use
    "swaps_thread.py": HEAD.replace(
        "        self.count += 1", "        threading.Thread = None\n        self.count += 1"
    )
    + CHECK,
    "swaps_clock.py": HEAD.replace(
        "        self.count += 1",
        "        import time\n        time.monotonic = None\n        self.count += 1",
    )
    + CHECK,
    # a worker ends the process through posix, where os._exit comes from
    "posix_exit.py": HEAD.replace(
        "        self.count += 1", "        import posix\n        posix._exit(5)"
    )
    + CHECK,
}


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, code in FILES.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_line(result: Result) -> str:
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


#: (command, file, exit status, what the line must say)
CASES = [
    (["run"], "bad_bool.py", 1, "bool() of it raised RuntimeError: no truth"),
    (["compare"], "bad_bool.py", 1, "bool() of it raised RuntimeError: no truth"),
    (["explore"], "bad_bool.py", 1, "no truth"),
    (["run"], "swaps_lock.py", 1, "replaced threading.Lock"),
    (["explore"], "swaps_lock.py", 1, "replaced threading.Lock"),
    (["describe"], "swaps_lock.py", 1, "replaced threading.Lock"),
    (["run"], "swaps_event.py", 1, "replaced threading.Event"),
    (["compare"], "swaps_event.py", 1, "replaced threading.Event"),
    (["run"], "hard_exit.py", 1, "os._exit(5)"),
    (["run"], "exit_at_import.py", 2, "os._exit(3)"),
    (["explore"], "exit_at_import.py", 2, "os._exit(3)"),
    (["run"], "exits_in_check.py", 1, "sys.exit(4)"),
    (["explore"], "exits_in_check.py", 1, "sys.exit(4)"),
    (["explore"], "value_bool.py", 1, "bool() of it raised ValueError: no truth"),
    (["run"], "value_bool.py", 1, "raised ValueError: no truth"),
    # explore said "Verified" with threading.Event replaced, and a traceback for these
    (["explore"], "swaps_event.py", 1, "replaced threading.Event"),
    (["explore"], "swaps_thread.py", 1, "replaced threading.Thread"),
    (["explore"], "swaps_clock.py", 1, "replaced time.monotonic"),
    (["run"], "swaps_clock.py", 1, "replaced time.monotonic"),
    # explore called os._exit "an exception (HardExit)" with the guard's lines as steps
    (["explore"], "hard_exit.py", 1, "thread 0 failed: it called os._exit(5)"),
    (["explore"], "posix_exit.py", 1, "it called os._exit(5)"),
    (["run"], "posix_exit.py", 1, "it called os._exit(5)"),
]


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("here")
@pytest.mark.parametrize(
    ("command", "name", "code", "said"), CASES, ids=[f"{c[0][0]}-{c[1]}" for c in CASES]
)
def test_hostile_user_code_is_one_line(
    invoke: Invoke, command: list[str], name: str, code: int, said: str
) -> None:
    import posix
    import time

    def now() -> tuple[object, ...]:
        watched = (threading.Lock, threading.Event, threading.Thread, time.monotonic)
        return (*watched, os._exit, posix._exit)

    originals = now()
    extra = ["--trials", "1"] if command[0] in ("run", "compare") else []
    result = invoke(command[0], name, *command[1:], *extra)
    assert result.exit_code == code, result.output
    line = one_line(result)
    assert line.startswith("Error:") and said in line, line
    assert now() == originals, "left replaced"


@pytest.mark.timeout(60)
def test_os_exit_at_import_does_not_end_the_process_with_3(here: Path) -> None:
    """In a real process: the exit status is the usage error's, never the watchdog's 3."""
    done = subprocess.run(
        [sys.executable, "-m", "syncdemo", "run", "exit_at_import.py"],
        capture_output=True,
        text=True,
        env=env(),
        cwd=here,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "os._exit(3)" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.timeout(60)
def test_a_worker_calling_os_exit_in_a_real_process(here: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncdemo", "run", "hard_exit.py", "--trials", "1"],
        capture_output=True,
        text=True,
        env=env(),
        cwd=here,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "worker thread" in done.stderr and "os._exit(5)" in done.stderr


# --- output that is not all written -----------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file size limits")
@pytest.mark.timeout(60)
@pytest.mark.parametrize("unbuffered", ["1", None], ids=["PYTHONUNBUFFERED", "buffered"])
def test_stdout_onto_a_filling_disk_is_an_error(tmp_path: Path, unbuffered: str | None) -> None:
    """A file that cannot grow past 4 KiB (RLIMIT_FSIZE, as a disk filling up): the first
    writes are taken in part, then refused. Unbuffered stdout used to drop the rest and
    exit 0 with the JSON cut short."""
    import resource

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    out = tmp_path / "out.json"
    with out.open("w") as handle:
        done = subprocess.run(
            [sys.executable, "-m", "syncdemo", "run", "counter", "-n", "100", "-f", "json"],
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            env=env(PYTHONUNBUFFERED=unbuffered),
            preexec_fn=small_files,
            timeout=60,
            check=False,
        )
    assert out.stat().st_size <= 4096
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == ["Error: cannot write the output: File too large"], done.stderr


# --- messages that said the wrong thing -------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_refused_fork_is_not_a_write_error(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: object) -> None:
        raise OSError(errno.EAGAIN, os.strerror(errno.EAGAIN))

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)
    result = invoke("run", "counter", "--runtime", "processes", "-n", "10", "--trials", "1")
    assert result.exit_code == 1, result.output
    line = one_line(result)
    assert "cannot write" not in line
    assert "could only start 0 of 4 worker processes" in line, line
    assert os.strerror(errno.EAGAIN) in line


@pytest.mark.timeout(120)
def test_explore_that_cannot_repeat_a_schedule_says_why(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the search raises when the workers do not repeat themselves (a clock read, a
    cache filled: the search's exception is raised here directly)."""
    from syncdemo.explore import explorer, search

    def differs(*args: object, **kwargs: object) -> None:
        raise search.NotDeterministic("step 7: runnable threads (0, 1), before (1,)")

    monkeypatch.setattr(explorer, "explore", differs)
    result = invoke("explore", "counter", "-t", "2", "-n", "1")
    assert result.exit_code == 1, result.output
    line = one_line(result)
    assert "the clock" in line and "did not repeat" in line, line
    assert not line.startswith("Error: step"), line


@pytest.mark.parametrize(
    "args",
    [
        ["run", "counter", "--threads", "0"],
        ["run", "nosuchthing"],
        ["run"],
        ["--no-such-option"],
        ["no-such-command"],
        ["run", "counter", "--sync", "spinlock"],
        ["list", "-o", "\x00"],  # found by test_fuzz: os.stat's ValueError escaped
        ["run", "counter", "--export-trace", "a\x00b.json"],
    ],
    ids=lambda args: " ".join(args).replace("\x00", "NUL"),
)
def test_a_usage_error_is_its_one_line_without_the_banner(invoke: Invoke, args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    line = one_line(result)
    assert line.startswith("Error: "), line
    assert "Usage:" not in result.stderr and "for help" not in result.stderr
