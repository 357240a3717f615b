"""Whatever ends syncdemo, nothing is left running or half-written (issue 23, items 4, 8).

- ``--runtime processes`` killed with SIGTERM, SIGHUP or SIGKILL: every worker process is
  gone within 2 s (they were left at 100% CPU, re-parented to init);
- a worker process killed from outside fails the trial with one line saying so;
- SIGTERM exits 143 (SIGHUP 129) after the same cleanup as Ctrl-C: ``-o``'s temporary
  file is removed, ``play`` gives the terminal back with echo on.

Process trees are read from ``/proc`` (Linux); elsewhere these tests are skipped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from helpers import ENDLESS, env

from syncdemo.cli import output

LINUX = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
#: One trial of these takes tens of seconds (each increment goes through shared memory).
SPINNING = ["run", "counter", "--runtime", "processes", "-t", "2", "-n", "10000000", "-q"]
Invoke = Callable[..., Result]


def parents() -> dict[int, int]:
    """pid -> parent pid of every live process (zombies are dead: they run nothing)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rpartition(")")[2].split()[:2]
        if state not in ("Z", "X"):
            found[int(entry.name)] = int(ppid)
    return found


def descendants(pid: int) -> set[int]:
    tree = parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in tree.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return pids & set(parents())


def start_spinning(stderr: Path, workers: int = 2) -> tuple[subprocess.Popen[bytes], set[int]]:
    """A processes run of many increments, and its worker processes once they all run.
    Its output goes to files: the workers inherit a pipe, so reading one to its end would
    wait for them too."""
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "syncdemo", *SPINNING],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env(),
            start_new_session=True,  # its own group: the signal goes to the parent alone
        )
    deadline = time.monotonic() + 30
    children: set[int] = set()
    while time.monotonic() < deadline and len(children) < workers:
        time.sleep(0.05)
        children = descendants(process.pid)
    assert len(children) >= workers, "the worker processes never started"
    time.sleep(0.3)  # past the start gate, spinning
    assert process.poll() is None, stderr.read_text()
    return process, descendants(process.pid)


def gone_within(children: set[int], seconds: float, since: float) -> set[int]:
    """The children still alive ``seconds`` after ``since`` (or as soon as none is)."""
    while alive(children) and time.monotonic() < since + seconds:
        time.sleep(0.02)
    return alive(children)


@LINUX
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["SIGTERM", "SIGHUP", "SIGKILL"],
)
def test_worker_processes_die_with_their_parent(signum: int, code: int, tmp_path: Path) -> None:
    process, children = start_spinning(tmp_path / "err")
    try:
        sent = time.monotonic()
        process.send_signal(signum)
        assert gone_within(children, 2.0, sent) == set(), "workers outlived syncdemo by 2 s"
        assert process.wait(timeout=30) == code
        err = (tmp_path / "err").read_text()
        assert "Traceback" not in err
    finally:
        for pid in alive(children):
            os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
            process.wait()


@LINUX
@pytest.mark.timeout(120)
def test_a_worker_process_killed_from_outside_is_one_line(tmp_path: Path) -> None:
    process, children = start_spinning(tmp_path / "err")
    try:
        os.kill(min(children), signal.SIGKILL)
        assert process.wait(timeout=60) == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    err = (tmp_path / "err").read_text()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "worker process" in lines[0] and "killed by SIGKILL" in lines[0], lines[0]
    assert gone_within(children, 2.0, time.monotonic()) == set()


# --- SIGTERM: the cleanup of Ctrl-C, exit 143 -------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.timeout(60)
@pytest.mark.parametrize("moment", ["while naming", "while writing"])
def test_sigterm_while_o_is_written_leaves_no_temporary_file(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    """The signal is sent (for real, to this process) at the moment the temporary file
    has just been created, or while it is being synced to disk."""
    real_mkstemp, real_fsync = tempfile.mkstemp, os.fsync

    def mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
        made = real_mkstemp(*args, **kwargs)  # type: ignore[call-overload]
        if moment == "while naming":
            os.kill(os.getpid(), signal.SIGTERM)
        return made  # type: ignore[no-any-return]

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if moment == "while writing":
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(os, "fsync", fsync)
    before = signal.getsignal(signal.SIGTERM)
    result = invoke(
        "run", "counter", "-n", "50", "--trials", "1", "-q", "-o", str(tmp_path / "r.json")
    )
    assert result.exit_code == 143, result.output
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is before, "the command's handler outlived it"
    assert output.atomic_write  # the module under test is the one the command used


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.timeout(60)
def test_sigterm_during_a_run_exits_143_with_one_line() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "syncdemo", "run", "locked-counter", "-n", "10000000", "-f", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    time.sleep(1.5)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 143, err
    assert "Traceback" not in err and out == ""
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err


def _controlling_terminal() -> None:
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
@pytest.mark.timeout(60)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_play_gives_the_terminal_back_on_sigterm(signum: int) -> None:
    import pty
    import select
    import termios

    master, slave = pty.openpty()
    echoing = termios.tcgetattr(slave)[3] & termios.ECHO
    assert echoing, "a fresh pseudo-terminal echoes"
    process = subprocess.Popen(
        [sys.executable, "-m", "syncdemo", "play", "counter"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env(), "TERM": "xterm", "LINES": "60"},
        close_fds=True,
        preexec_fn=_controlling_terminal,
    )
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while b"Keys:" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 65536)
        assert b"Keys:" in seen, seen.decode(errors="replace")
        assert not termios.tcgetattr(slave)[3] & termios.ECHO, "play turns echo off"
        process.send_signal(signum)
        code = process.wait(timeout=30)
        assert code == 128 + signum
        mode = termios.tcgetattr(slave)[3]
        assert mode & termios.ECHO and mode & termios.ICANON, "the terminal was left raw"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(slave)
        os.close(master)


@pytest.mark.parametrize("command", ["run", "compare"])
def test_ctrl_c_stops_a_user_worker_that_never_returns_at_once(
    command: str, tmp_path: Path
) -> None:
    """Its threads never come back between calls: they are stopped from outside after a
    moment (it took the 5 s grace meant for a watchdog's stop before)."""
    path = tmp_path / "endless.py"
    path.write_text(ENDLESS, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "syncdemo", command, str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(1.5)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    took = time.monotonic() - sent
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert took < 3, f"{took:.2f} s after Ctrl-C"  # about 0.25 s here; 5 s before


def test_ctrl_c_while_the_command_line_is_imported_is_interrupted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import builtins

    from syncdemo import _entry

    real_import = builtins.__import__

    def interrupted(name: str, *args: object, **kwargs: object) -> object:
        if name == "syncdemo.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", interrupted)
    with pytest.raises(SystemExit) as done:
        _entry.main()
    assert done.value.code == 130
    assert capsys.readouterr().err == "Interrupted.\n"
