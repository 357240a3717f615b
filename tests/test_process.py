"""The CLI as a real process: Ctrl-C, broken pipes, colour on pipes and terminals."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import UNTIL_SEEN, env, wait_for_threads_started

import syncdemo

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals, pipes and ptys")
SYNCDEMO = [sys.executable, "-m", "syncdemo"]
#: Any SGR sequence; its parameters tell colour (30-38, 40-48, 90-97, 100-107) from bold.
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def syncdemo_run(*args: str, **changes: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SYNCDEMO, *args],
        capture_output=True,
        text=True,
        env=env(**changes),
        timeout=60,
        check=False,
    )


def colour_codes(text: str) -> list[str]:
    found = []
    for params in SGR.findall(text):
        for p in params.split(";"):
            if p and (30 <= int(p) <= 48 or 90 <= int(p) <= 107):
                found.append(params)
    return found


# --- basics -------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_python_m_syncdemo_version() -> None:
    done = syncdemo_run("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"syncdemo, version {syncdemo.__version__}"


@pytest.mark.timeout(60)
def test_bad_option_in_a_real_process() -> None:
    done = syncdemo_run("run", "counter", "--threads", "0")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1
    assert "2048" in errors[0]


@pytest.mark.timeout(60)
def test_check_exit_code_in_a_real_process() -> None:
    assert syncdemo_run("run", "counter", *UNTIL_SEEN, "--check").returncode == 1
    assert syncdemo_run("run", "counter", "-t", "1", "--check").returncode == 0


# --- Ctrl-C ---------------------------------------------------------------------------------


def wait_for_threads(pid: int, count: int, timeout: float) -> None:
    """Wait until the process runs ``count`` threads (Linux), or just ``timeout`` seconds."""
    tasks = Path(f"/proc/{pid}/task")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tasks.is_dir():
            try:
                if len(list(tasks.iterdir())) >= count:
                    return
            except OSError:
                return  # the process ended
        time.sleep(0.05)


def default_sigint() -> None:
    """In the child: a shell's background job starts with SIGINT ignored, and Python then
    never installs its KeyboardInterrupt handler; undo that so Ctrl-C can be tested."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(args: Sequence[str], threads: int) -> tuple[int, str, str]:
    process = subprocess.Popen(
        [*SYNCDEMO, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        preexec_fn=default_sigint,
    )
    try:
        if Path("/proc/self/task").is_dir():
            wait_for_threads(process.pid, threads + 1, timeout=20)  # main + workers
            time.sleep(0.3)
        else:
            time.sleep(1.5)
        assert process.poll() is None, "the run should still be going"
        process.send_signal(signal.SIGINT)
        began = time.monotonic()
        out, err = process.communicate(timeout=60)
        assert time.monotonic() - began < 30, "a hang guard: Ctrl-C must end it"
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, out, err


@POSIX
@pytest.mark.timeout(60)
def test_ctrl_c_exits_130_without_a_traceback() -> None:
    code, out, err = interrupt(
        ["run", "locked-counter", "--threads", "4", "--iterations", "2000000"], threads=4
    )
    assert code == 130, err
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
    assert "Interrupted" in err
    assert out == "", "the first trial of 2,000,000 increments per thread had not finished"


@POSIX
@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "args",
    [
        ["run", "producer-consumer", "--sync", "condition"],
        ["run", "producer-consumer", "--sync", "queue"],
        ["run", "producer-consumer", "--sync", "none"],
        ["run", "barrier", "--sync", "barrier"],
    ],
    ids=lambda a: "-".join(a[1:]),
)
def test_ctrl_c_frees_blocked_workers(args: list[str]) -> None:
    code, out, err = interrupt([*args, "-t", "4", "-n", "10000000", "-f", "json"], threads=4)
    assert code == 130, err
    assert "Traceback" not in err
    assert out == "", "no trial finished, so there is no data to print"
    assert "Interrupted after 0 of 3 trials." in err


@POSIX
@pytest.mark.timeout(60)
def test_ctrl_c_after_some_trials_prints_what_finished() -> None:
    """Trials of ~0.1 s each, thousands of them: Ctrl-C lands after some finished."""
    process = subprocess.Popen(
        [*SYNCDEMO, "run", "counter", "-t", "1", "-n", "200000", "--trials", "5000", "-f", "csv"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        preexec_fn=default_sigint,
    )
    wait_for_threads_started(process.pid, 2)  # trial 1 ended: trial 2 has its own thread
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    found = re.search(r"Interrupted after (\d+) of 5000 trials\.", err)
    assert found, err
    finished = int(found.group(1))
    assert finished >= 1
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [int(row["trial"]) for row in rows] == list(range(1, finished + 1))
    assert all(row["ok"] == "true" for row in rows)


# --- pipes ----------------------------------------------------------------------------------


@POSIX
@pytest.mark.timeout(60)
def test_head_closing_the_pipe_early() -> None:
    done = subprocess.run(
        f"'{sys.executable}' -m syncdemo run counter -n 1000 | head -1",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        env=env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert "counter" in done.stdout
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr


@POSIX
@pytest.mark.timeout(60)
@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_reader_goes_away_mid_output(fmt: str) -> None:
    """Enough output to fill the pipe, so the writer really gets EPIPE."""
    writer = subprocess.Popen(
        [*SYNCDEMO, "run", "counter", "-n", "10", "--trials", "400", "-f", fmt],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(),
    )
    assert writer.stdout is not None and writer.stderr is not None
    first = writer.stdout.readline()
    writer.stdout.close()
    err = writer.stderr.read().decode()
    writer.wait(timeout=30)
    assert first
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
    assert "Exception ignored" not in err
    assert writer.returncode >= 0, "killed by a signal"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "args",
    [
        ["run", "counter", "-n", "2000", "--trials", "2"],
        ["run", "counter", "-s", "lock", "-n", "200", "--trials", "1"],
        ["describe", "counter"],
        ["list"],
    ],
    ids=lambda a: "-".join(a[:2]),
)
@pytest.mark.parametrize("no_color", [None, "1"])
def test_piped_output_is_plain(args: list[str], no_color: str | None) -> None:
    done = syncdemo_run(*args, NO_COLOR=no_color, TERM="xterm-256color")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "\x1b[" not in done.stdout
    assert "\x1b[" not in done.stderr


# --- a real terminal ------------------------------------------------------------------------


def run_in_pty(args: Sequence[str], **changes: str | None) -> str:
    import pty

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*SYNCDEMO, *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.DEVNULL,
        env=env(**changes),
    )
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        process.wait(timeout=30)
    assert process.returncode == 0
    return b"".join(chunks).decode(errors="replace")


TERMINAL_RUN = ["run", "counter", "-s", "lock", "-n", "100", "--trials", "1"]


@POSIX
@pytest.mark.timeout(60)
def test_terminal_gets_colour() -> None:
    """The control case: without it the two tests below could not fail."""
    out = run_in_pty(TERMINAL_RUN, TERM="xterm-256color")
    assert colour_codes(out)


@POSIX
@pytest.mark.timeout(60)
def test_terminal_honours_no_color() -> None:
    out = run_in_pty(TERMINAL_RUN, TERM="xterm-256color", NO_COLOR="1")
    assert "trials violated the invariant" in out
    assert colour_codes(out) == []


@POSIX
@pytest.mark.timeout(60)
def test_terminal_honours_term_dumb() -> None:
    out = run_in_pty(TERMINAL_RUN, TERM="dumb")
    assert "trials violated the invariant" in out
    assert colour_codes(out) == []
