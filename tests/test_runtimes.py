"""--runtime asyncio and processes: the same counter, the same contract, other switch points."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and /proc")
RunJson = Callable[..., dict[str, Any]]
Invoke = Callable[..., Result]

#: A race is nondeterministic: try this many runs before calling it missing.
ATTEMPTS = 5


def violations(data: dict[str, Any]) -> list[int]:
    return [t["violations"] for t in data["trials"]]


def lost_within_budget(run_json: RunJson, *args: str) -> dict[str, Any]:
    """Runs until a run loses updates, ATTEMPTS at most; returns that run's data."""
    for _ in range(ATTEMPTS):
        data = run_json("counter", *args)
        if not data["ok"]:
            return data
    raise AssertionError(f"no update lost in {ATTEMPTS} runs of counter {' '.join(args)}")


@pytest.mark.parametrize("runtime", ["asyncio", "processes"])
def test_the_unsafe_counter_loses_updates(run_json: RunJson, runtime: str) -> None:
    data = lost_within_budget(run_json, "--runtime", runtime, "-t", "2")
    assert data["params"]["runtime"] == runtime
    for t in data["trials"]:
        assert t["expected"] == t["observed"] + t["violations"]


@pytest.mark.parametrize("runtime", ["asyncio", "processes"])
def test_the_locked_counter_never_loses_one(run_json: RunJson, runtime: str) -> None:
    data = run_json("counter", "--runtime", runtime, "--sync", "lock", "-t", "3", "-n", "1000")
    assert data["ok"] and violations(data) == [0, 0, 0]
    assert all(t["observed"] == 3000 for t in data["trials"])


def test_asyncio_without_an_await_never_loses_and_says_why(run_json: RunJson) -> None:
    for window in ("none", "call"):
        data = run_json("counter", "--runtime", "asyncio", "--window", window)
        assert data["ok"], window
        assert "only at an await" in data["verdict"]


def test_asyncio_defaults_to_the_await_window(run_json: RunJson) -> None:
    data = run_json("counter", "--runtime", "asyncio", "--trials", "1")
    assert data["params"]["window"] == "io"
    assert data["params"]["iterations"] == 2000


def test_processes_report_the_start_method_and_startup_apart(run_json: RunJson) -> None:
    import multiprocessing

    data = run_json("counter", "--runtime", "processes", "-t", "2", "-n", "2000", "--trials", "1")
    assert data["start_method"] == multiprocessing.get_start_method()
    (trial,) = data["trials"]
    assert trial["startup_s"] > 0
    assert all(t["ops"] == 2000 for t in trial["threads"])


def test_threads_report_no_start_method(run_json: RunJson) -> None:
    data = run_json("counter", "-n", "100", "--trials", "1")
    assert data["start_method"] is None and data["trials"][0]["startup_s"] == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "deadlock", "--runtime", "asyncio"], "deadlock runs on threads, not asyncio"),
        (["run", "counter", "--runtime", "fibers"], "'fibers' is not one of"),
        (["run", "counter", "--runtime", "asyncio", "--trace"], "--trace"),
        (["compare", "counter:lock@fibers"], "counter runs on threads, asyncio, processes"),
        (["compare", "counter:"], "names no strategy after the colon"),
        (["compare", "counter@"], "names no runtime after the @"),
        (["compare", "counter", "--runtime", "threads,fibers"], "'fibers' is not one of"),
    ],
)
def test_bad_runtimes_are_usage_errors(
    invoke: Invoke, usage_error: Callable[[Result], str], args: list[str], words: str
) -> None:
    assert words in usage_error(invoke(*args))


def test_compare_across_runtimes(invoke: Invoke) -> None:
    result = invoke(
        "compare", "counter:lock", "counter:lock@asyncio", "counter:none@processes",
        "-t", "2", "-n", "500", "--trials", "1", "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["runs"]
    assert [(r["sync"], r["params"]["runtime"]) for r in rows] == [
        ("lock", "threads"),
        ("lock", "asyncio"),
        ("none", "processes"),
    ]


def children_of(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@POSIX
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.timeout(90)
def test_ctrl_c_stops_every_process() -> None:
    args = ["run", "counter", "--runtime", "processes", "--iterations", "10000000"]
    process = subprocess.Popen(
        [sys.executable, "-m", "syncdemo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        env={**os.environ, "COLUMNS": "120"},
    )
    try:
        deadline = time.monotonic() + 30
        children: set[int] = set()
        while time.monotonic() < deadline and len(children) < 4:
            children = {c for c in children_of(process.pid) if alive(c)} | children
            time.sleep(0.05)
        assert len(children) >= 4, "the worker processes should be running"
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        began = time.monotonic()
        _, err = process.communicate(timeout=20)
        took = time.monotonic() - began
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert took < 10, "Ctrl-C must be prompt (the benchmark measures it)"
    assert not [c for c in children if alive(c)], "a worker process outlived the run"
