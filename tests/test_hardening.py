"""Faults from outside: output that cannot be written, thread counts near the ceiling, the
OS refusing threads, Ctrl-C, many trials. Whatever happens, the command ends with one
clear line and a proper exit status, and the library leaves no thread running and the
interpreter's switch interval as it found it.

(An unwritable path given by shell redirection fails in the shell, before syncdemo runs,
so it is not tested here.)
"""

from __future__ import annotations

import _thread
import contextlib
import gc
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from helpers import commands, env

import syncdemo
from syncdemo import scenarios
from syncdemo.cli import cli
from syncdemo.engine import runner as engine
from syncdemo.engine.runtime import switch_interval
from syncdemo.results import RunConfig, RunResult

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes and devices")
SYNCDEMO = [sys.executable, "-m", "syncdemo"]
PACKAGE = os.path.dirname(syncdemo.__file__)
#: Not CPython's 5 ms nor syncdemo's 0.1 ms: restoring "a default" would not pass for this.
#: (4000 µs survives CPython's float round trip; see test_switch_interval_restored_exactly.)
ODD_INTERVAL = 0.004


def syncdemo_threads() -> list[str]:
    """syncdemo's threads that still run syncdemo's code. (One whose work is done can stay
    in threading.enumerate() for some microseconds while threading's bootstrap ends.)"""
    frames = sys._current_frames()
    running = []
    for t in threading.enumerate():
        frame = frames.get(t.ident or -1) if t.name.startswith("syncdemo-") else None
        while frame is not None:
            if frame.f_code.co_filename.startswith(PACKAGE):
                running.append(t.name)
                break
            frame = frame.f_back
    return running


def in_worker(function: str) -> bool:
    """Whether a syncdemo thread is running ``function`` (the scenario's worker) now."""
    frames = sys._current_frames()
    for t in threading.enumerate():
        frame = frames.get(t.ident or -1) if t.name.startswith("syncdemo-") else None
        while frame is not None:
            if frame.f_code.co_name == function:
                return True
            frame = frame.f_back
    return False


@pytest.fixture
def odd_interval() -> Iterator[float]:
    """Set an unusual switch interval; the autouse fixture in conftest puts it back after."""
    sys.setswitchinterval(ODD_INTERVAL)
    yield sys.getswitchinterval()


@pytest.fixture
def invoke() -> Callable[..., Result]:
    runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "FORCE_COLOR": None})

    def _invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=True)

    return _invoke


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def tiny_config(name: str, **changes: Any) -> tuple[Any, RunConfig]:
    scenario = scenarios.get(name)
    values: dict[str, Any] = {
        "scenario": name,
        "sync": scenario.default_sync,
        "threads": 4,
        "iterations": 100,
        "trials": 1,
        "seed": 7,
        "switch_interval": 0.0001,
    }
    values.update(changes)
    return scenario, RunConfig(**values)


# --- output that cannot be written ------------------------------------------------------------

WRITERS = [
    ["run", "counter", "-n", "100", "-f", "json"],
    ["run", "counter", "-n", "100", "-f", "csv"],
    ["run", "counter", "-n", "100"],
    ["list"],
    ["list", "-f", "json"],
    ["describe", "counter"],
    ["compare", "counter", "-n", "100", "--trials", "1"],
    ["sweep", "counter", "--threads", "1,2", "-n", "100", "--trials", "1", "-f", "jsonl"],
    ["--help"],
    ["--version"],
]


def ids(args: list[str]) -> str:
    return " ".join(args)


@POSIX
@pytest.mark.timeout(120)
@pytest.mark.parametrize("args", WRITERS, ids=ids)
def test_output_into_a_closed_pipe(args: list[str]) -> None:
    """The reader is gone before the first byte: EPIPE on the first write."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [*SYNCDEMO, *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 0, "the reader had enough: every command ends quietly, 0"
    assert done.stderr == ""


@POSIX
@pytest.mark.timeout(120)
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", WRITERS, ids=ids)
def test_output_onto_a_full_disk(args: list[str]) -> None:
    """``syncdemo run counter -n 100 -f json > /dev/full``: every write fails with ENOSPC."""
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [*SYNCDEMO, *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
            timeout=60,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr
    line = one_error_line(done.stderr)
    assert "space" in line.lower(), line


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "args",
    [
        ["run", "counter", "-n", "100", "--trials", "1"],
        ["describe", "counter"],
        ["list"],
        ["run", "counter", "-n", "100", "--trials", "1", "-f", "json"],
    ],
    ids=ids,
)
def test_ascii_only_stdout(args: list[str]) -> None:
    """An old terminal or PYTHONIOENCODING=ascii: print what can be printed, or say why not
    in one line; never a UnicodeEncodeError traceback."""
    done = subprocess.run(
        [*SYNCDEMO, *args],
        capture_output=True,
        text=True,
        encoding="ascii",
        errors="replace",
        env=env(PYTHONIOENCODING="ascii"),
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 0 or len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_nan_is_refused(invoke: Callable[..., Result]) -> None:
    """No option takes NaN: no comparison with it is ever true, and JSON cannot hold it."""
    timeout = [o for p in commands()["run"].params for o in p.opts if o == "--timeout"]
    if not timeout:
        pytest.skip("run has no --timeout")
    result = invoke("run", "counter", "-n", "5", "--trials", "1", "--timeout", "nan", "-f", "json")
    assert result.exit_code == 2, result.stdout


# --- no threads left behind, the switch interval restored -------------------------------------

EVERY_STRATEGY = [(s.name, st.name) for s in scenarios.all_scenarios() for st in s.strategies]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("name", "sync"), EVERY_STRATEGY)
def test_engine_leaves_nothing_behind(name: str, sync: str, odd_interval: float) -> None:
    scenario, config = tiny_config(name, sync=sync, trials=2, timeout=0.5)
    with contextlib.suppress(engine.EngineError):  # a deadlock may end so; clean up all the same
        engine.run(scenario, config)
    assert syncdemo_threads() == []
    assert sys.getswitchinterval() == odd_interval


@pytest.mark.parametrize(
    "interval",
    [
        0.0001,
        0.0037,
        pytest.param(0.0002495),  # CPython holds 249 µs
        pytest.param(0.0010015),  # 1001 µs
    ],
)
def test_switch_interval_restored_exactly(interval: float) -> None:
    """A program that set its own interval gets exactly that back, however many runs."""
    sys.setswitchinterval(interval)
    before = sys.getswitchinterval()
    scenario, config = tiny_config("counter", iterations=10, switch_interval=0.001)
    for _ in range(3):
        engine.run(scenario, config)
    assert sys.getswitchinterval() == before


def test_switch_interval_restored_for_every_microsecond() -> None:
    """CPython holds whole microseconds; whichever it holds comes back, 1 µs to 5 ms."""
    changed = []
    for micros in range(1, 5001):
        sys.setswitchinterval((micros + 0.5) / 1e6)  # holds exactly `micros`
        before = sys.getswitchinterval()
        with switch_interval(0.001):
            pass
        if sys.getswitchinterval() != before:
            changed.append(micros)
    assert changed == [], f"{len(changed)} values changed, e.g. {changed[:5]} µs"


COMMANDS = [
    ["list"],
    ["list", "-f", "json"],
    *[["describe", name] for name in scenarios.names()],
    ["run", "counter", "-n", "50", "--trials", "2"],
    ["run", "counter", "-n", "50", "--trials", "2", "-f", "json"],
    ["run", "counter", "-n", "50", "--trials", "2", "-f", "csv"],
    ["run", "counter", "-n", "2000", "--check"],  # exit 1 when updates were lost
    ["run", "producer-consumer", "-n", "50", "--trials", "1", "--switch-interval", "keep"],
    ["run", "barrier", "-s", "none", "-n", "20", "--trials", "1"],
    ["run", "counter", "--threads", "0"],  # usage errors, before anything starts
    ["run", "counter", "--sync", "spinlock"],
    ["run", "nope"],
    ["--version"],
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("args", COMMANDS, ids=ids)
def test_commands_leave_nothing_behind(
    args: list[str], invoke: Callable[..., Result], odd_interval: float
) -> None:
    result = invoke(*args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1, 2)
    assert syncdemo_threads() == []
    assert sys.getswitchinterval() == odd_interval


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_in_process_leaves_nothing_behind(
    invoke: Callable[..., Result], odd_interval: float
) -> None:
    """Ctrl-C lands while the workers run (the real-process version is in test_process.py):
    when run returns, every worker has stopped, not merely been told to."""

    def press_ctrl_c_once_workers_run() -> None:
        # past the start gate, inside the worker: the main thread is joining them by then
        deadline = time.monotonic() + 60
        while not in_worker("increment_locked") and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        _thread.interrupt_main()

    for _ in range(3):
        presser = threading.Thread(target=press_ctrl_c_once_workers_run, name="test-ctrl-c")
        presser.start()
        result = invoke("run", "locked-counter", "-t", "4", "-n", "10000000", "-f", "json")
        presser.join()
        assert result.exit_code == 130, result.output
        assert "Traceback" not in result.stderr
        assert syncdemo_threads() == [], "still running after the command returned"
        assert sys.getswitchinterval() == odd_interval


@pytest.mark.timeout(120)
def test_os_refusing_threads_is_one_line_and_exit_1(
    invoke: Callable[..., Result], odd_interval: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the OS cannot create more threads (ulimit -u, memory), Thread.start raises
    RuntimeError("can't start new thread"); here it does so after 3 workers."""
    real_start = threading.Thread.start
    started: list[str] = []

    def start(self: threading.Thread) -> None:
        if self.name.startswith("syncdemo-"):
            if len(started) >= 3:
                raise RuntimeError("can't start new thread")
            started.append(self.name)
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    result = invoke("run", "counter", "-t", "8", "-n", "100", "--trials", "2")
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    line = one_error_line(result.stderr)
    assert line.startswith("Error:") and "3 of 8" in line, line
    assert syncdemo_threads() == []
    assert sys.getswitchinterval() == odd_interval


# --- resource limits --------------------------------------------------------------------------


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sync", ["none", "lock"])
def test_the_most_threads_allowed_start_and_finish(
    sync: str, invoke: Callable[..., Result]
) -> None:
    result = invoke("run", "counter", "--threads", "2048", "-s", sync, "-n", "10", "--trials", "1",
                    "-f", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (trial,) = data["trials"]
    assert len(trial["threads"]) == 2048
    assert [t["ops"] for t in trial["threads"]] == [10] * 2048
    assert trial["expected"] == 20480
    assert syncdemo_threads() == []


def peak_memory(run: Callable[[], object]) -> tuple[int, int]:
    """(bytes still held with the result alive, peak bytes) of Python allocations."""
    gc.collect()
    tracemalloc.start()
    try:
        result = run()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return current, peak


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("name", "few"), [("counter", 50), ("producer-consumer", 20)])
def test_memory_does_not_grow_with_trials(name: str, few: int) -> None:
    """A result keeps a small summary per trial (about a kilobyte); everything else a trial
    built (threads, shared state, the items consumers took) is gone before the next. Four
    times the trials must cost well under four times the memory."""

    def run(trials: int) -> Callable[[], RunResult]:
        scenario, config = tiny_config(name, trials=trials)
        return lambda: engine.run(scenario, config)

    run(5)()  # imports and caches out of the way
    held_few, peak_few = peak_memory(run(few))
    held_many, peak_many = peak_memory(run(4 * few))
    per_trial = (held_many - held_few) / (3 * few)
    assert per_trial < 8 * 1024, f"{per_trial:.0f} bytes kept per trial"
    assert peak_many < 3.5 * peak_few, (peak_few, peak_many)


@pytest.mark.timeout(300)
def test_memory_of_a_command_with_many_trials(invoke: Callable[..., Result]) -> None:
    """The same through the CLI: --trials 200 -n 100 against 50, the table format (whose
    size does not depend on the trial count)."""
    args = ["run", "counter", "-n", "100", "--seed", "1"]
    invoke(*args, "--trials", "5")  # Rich and the renderers imported
    _, peak_50 = peak_memory(lambda: invoke(*args, "--trials", "50"))
    _, peak_200 = peak_memory(lambda: invoke(*args, "--trials", "200"))
    assert peak_200 < 3.5 * peak_50, (peak_50, peak_200)
