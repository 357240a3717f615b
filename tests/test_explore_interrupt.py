"""Ctrl-C (and SIGTERM) during ``explore`` ends it at once, exit 130 (143), with what was
explored so far, marked partial; a search that runs long shows its progress on a terminal.

The signal never raises in the explorer's driver while a worker holds the turn (that left
threads half-unwound: "Error: release unlocked lock", or 10-20 s waiting for them): the run
in progress stops at its next switch point, and the search after it.

The child processes are told the signal once the search is under way, which is when the
explorer's pooled worker threads exist (read from ``/proc``); the in-process tests send it
from a search's own progress callback, at a known schedule, so what they assert does not
depend on timing.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from helpers import env

from syncdemo import scenarios, signals
from syncdemo.engine.config import resolve
from syncdemo.explore import detail, explorer
from syncdemo.explore.explorer import AT_GIL, NO_WAY_BACK, SEARCH, ExploreInterrupted
from syncdemo.explore.report import Report
from syncdemo.explore.results import RealExploration
from syncdemo.explore.target import Target
from syncdemo.render.explore import progress_line

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
LINUX = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")

#: Exhaustive at three threads: tens of thousands of schedules, far longer than a test.
LONG = ["explore", "counter", "-t", "3", "--max-preemptions", "unbounded"]
TRIES = 20
#: The signal-to-exit time asked for is under 1 s (about 0.05 s here); a machine running
#: other suites meanwhile is allowed more.
BUDGET_S = 5.0
PARTIAL = "Interrupted: this is what was explored before the signal; partial, not a proof."


def _sigint_as_python_sets_it() -> None:
    """A child of a shell's background job inherits SIGINT ignored: Python would keep it so."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(args: list[str], **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "syncdemo", *args],
        stdout=kwargs.pop("stdout", subprocess.PIPE),
        stderr=kwargs.pop("stderr", subprocess.PIPE),
        text=True,
        env=kwargs.pop("env", env()),
        preexec_fn=kwargs.pop("preexec_fn", _sigint_as_python_sets_it),
        **kwargs,
    )


def wait_for_search(process: subprocess.Popen[str], threads: int) -> None:
    """Until the explorer's worker threads run beside the main thread (30 s at most)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if len(os.listdir(f"/proc/{process.pid}/task")) > threads:
                return
        except FileNotFoundError:
            break
        time.sleep(0.01)
    process.kill()
    out, err = process.communicate()
    pytest.fail(f"the search never started: {err}{out}")


def interrupt(process: subprocess.Popen[str], signum: int) -> tuple[float, str, str]:
    """Send ``signum``; seconds until the process ended, and what it wrote."""
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"still running 60 s after the signal: {err}")
    return time.monotonic() - sent, out, err


def assert_partial(out: str, err: str) -> None:
    """The partial report on stdout, one line on stderr, no failure anywhere."""
    assert "Traceback" not in err + out and "Error:" not in err + out, err
    assert "Verified" not in out
    assert PARTIAL in out.replace("\n", " "), out
    explored = re.search(r"Explored: ([\d,]+) schedules", out)
    assert explored is not None, out
    n = explored.group(1)
    assert err == f"Interrupted after {n} schedules: the report is partial.\n"


# --- in a child process, as a user would ---------------------------------------------------


@POSIX
@LINUX
@pytest.mark.timeout(120)
def test_ctrl_c_ends_explore_at_once_every_time() -> None:
    """Each try's child starts while the one before is searching, so that its start-up
    (about 0.3 s of imports) is not waited for: at most two children at a time."""
    took = []
    following: subprocess.Popen[str] | None = start(LONG)
    try:
        for i in range(TRIES):
            assert following is not None
            process, following = following, start(LONG) if i + 1 < TRIES else None
            wait_for_search(process, 3)
            time.sleep(0.03 * (i % 5))  # at different moments of the schedules
            seconds, out, err = interrupt(process, signal.SIGINT)
            took.append(seconds)
            assert process.returncode == 130, (i, err)
            assert_partial(out, err)
    finally:
        if following is not None and following.poll() is None:
            following.kill()
            following.communicate()
    line = f"min {min(took):.3f} s, median {statistics.median(took):.3f} s, max {max(took):.3f} s"
    sys.stderr.write(f"Ctrl-C to exit, {TRIES} tries: {line}\n")  # shown with -s
    assert max(took) < BUDGET_S, line


@POSIX
@LINUX
@pytest.mark.timeout(60)
def test_sigterm_ends_explore_with_143_and_partial_json() -> None:
    """As ``timeout 5 syncdemo explore ...`` does; the json says it is partial."""
    process = start([*LONG, "-f", "json"])
    wait_for_search(process, 3)
    seconds, out, err = interrupt(process, signal.SIGTERM)
    assert process.returncode == 143, err
    assert seconds < BUDGET_S
    assert err.startswith("Interrupted after ") and "Error:" not in err, err
    data = json.loads(out)  # one document: nothing else on stdout
    explored = data["explored"]
    assert explored["interrupted"] is True and explored["complete"] is False
    assert data["verdict"].startswith("Interrupted: ")


STUCK = '''
import os

import syncdemo

READ, WRITE = os.pipe()  # nothing is ever written: the read blocks, in C


@syncdemo.scenario
class Stuck:
    """Thread 1 blocks where the scheduler has no say."""

    threads = 2
    iterations = 1
    invariant = "both threads finish"

    def setup(self):
        self.done = 0

    def worker(self, thread):
        if thread == 1:
            os.read(READ, 1)
        self.done += 1

    def check(self):
        assert self.done == 2
'''


@POSIX
@LINUX
@pytest.mark.timeout(60)
def test_ctrl_c_while_a_worker_is_stuck_in_uncontrolled_code(tmp_path: Path) -> None:
    """The explorer waits 10 s (SYNCDEMO_HANG_S) before it calls such a thread hung; after
    Ctrl-C it gives up on it at once."""
    (tmp_path / "stuck.py").write_text(STUCK)
    process = start(["explore", str(tmp_path / "stuck.py")], env=env(SYNCDEMO_HANG_S="30"))
    wait_for_search(process, 2)
    time.sleep(0.2)  # thread 1 is in os.read by now
    seconds, out, err = interrupt(process, signal.SIGINT)
    assert process.returncode == 130, err
    assert seconds < BUDGET_S
    assert_partial(out, err)


def _controlling_terminal() -> None:
    import fcntl
    import termios

    _sigint_as_python_sets_it()
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def read_until(master: int, wanted: bytes, seconds: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        if select.select([master], [], [], 0.1)[0]:
            try:
                seen += os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
@pytest.mark.timeout(60)
def test_on_a_terminal_progress_shows_then_ctrl_c_shows_the_partial_report() -> None:
    import pty

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "syncdemo", *LONG],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env(COLUMNS="100", LINES="40"), "TERM": "xterm"},
        close_fds=True,
        preexec_fn=_controlling_terminal,
    )
    try:
        seen = read_until(master, b"/s \xc2\xb7", 30)  # a line with its rate
        assert b"every schedule: " in seen and b"(--limit 20,000)" in seen, seen
        sent = time.monotonic()
        os.write(master, b"\x03")  # Ctrl-C, typed: the terminal sends SIGINT
        seen += read_until(master, b"the report is partial.", 30)
        code = process.wait(timeout=30)
        seconds = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(slave)
    seen += read_until(master, b"\0", 0.2)
    os.close(master)
    text = seen.decode(errors="replace")
    assert code == 130 and seconds < BUDGET_S, text
    last = text.rindex("every schedule: ")
    assert "\x1b[2K" in text[last:], "the progress line was not taken off"
    assert "Interrupted: " in text[last:] and "Traceback" not in text and "Error:" not in text


@pytest.mark.timeout(60)
def test_no_progress_on_a_pipe(invoke: Callable[..., Result]) -> None:
    """A search of over a second, its stderr not a terminal: only the --limit line there."""
    result = invoke(*LONG, "--limit", "1500", "-f", "json")
    assert result.exit_code == 0
    assert result.stderr == "Stopped at the --limit of 1,500 schedules: the search is incomplete.\n"
    assert json.loads(result.stdout)["explored"]["schedules"] == 1500


def test_the_progress_line_says_what_runs_how_fast_and_the_bound() -> None:
    def line(*args: Any) -> str:
        return progress_line("counter", *args).plain

    assert line(SEARCH, 12345, 1234.4, None, 20000) == (
        "explore counter · every schedule: 12,345 schedules (--limit 20,000) · 1,234/s · "
        "Ctrl-C: stop and report"
    )
    assert "at most 1 preemption: 7 schedules (--limit 9) · " in line(SEARCH, 7, 1.0, 1, 9)
    assert "checking at --granularity gil, at most 2 preemptions: 5 schedules" in line(
        AT_GIL, 5, None, 2, 9
    )
    assert "no way back, at most 2 preemptions: 5 schedules · " in line(NO_WAY_BACK, 5, 3, 2, 9)
    assert "PCT: 5 of 100 random schedules · " in line(SEARCH, 5, 3, None, 9, 100)
    # the serial schedule's length, told before the search: what a schedule costs
    assert ": 7 schedules of ~5,608 steps (--limit 9) · " in line(SEARCH, 7, 1.0, 2, 9, None, 5608)


# --- in process: the signal at a known schedule of each stage -------------------------------


@pytest.fixture
def small() -> tuple[Any, Any]:
    """counter, 2 threads × 1 increment, within 1 preemption: a dozen schedules, a failure, the
    step with no way back and the check at gil granularity, all in a fraction of a second."""
    scenario = scenarios.get("counter")
    return scenario, resolve(scenario, purpose="explore", threads=2, iterations=1)


def signal_at(stage: str, made: int, signum: int = signal.SIGINT) -> explorer.OnProgress:
    """A progress callback that sends ``signum`` to this process at that schedule."""

    def on_progress(at: str, n: int) -> None:
        if (at, n) == (stage, made):
            signal.raise_signal(signum)

    return on_progress


def interrupted(scenario: Any, config: Any, **kwargs: Any) -> RealExploration:
    with pytest.raises(ExploreInterrupted) as stopped:
        explorer.explore(scenario, config, max_preemptions=1, **kwargs)
    assert not [t for t in threading.enumerate() if t.name.startswith("syncdemo-explore")]
    assert signals.pending() is None
    return stopped.value.partial


def verdict(scenario: Any, config: Any, e: RealExploration) -> str:
    report = Report("", scenario.name, config.sync, 2, 1, "", "", "", "", "", "line", e)
    return report.verdict()


@pytest.mark.usefixtures("sigint_raises")
def test_interrupted_in_the_search_it_returns_what_it_ran(small: tuple[Any, Any]) -> None:
    scenario, config = small
    e = interrupted(scenario, config, on_progress=signal_at(SEARCH, 5))
    assert e.interrupted and not e.complete
    assert e.schedules == 5 == sum(o.count for o in e.outcomes)
    assert e.gil_found is None
    said = verdict(scenario, config, e)
    assert said.startswith("Interrupted: ") and "in the 5 schedules run before it" in said
    assert "partial" in said and "Verified" not in said


@pytest.mark.usefixtures("sigint_raises")
def test_a_failure_found_before_the_signal_is_shown_without_its_values(
    small: tuple[Any, Any],
) -> None:
    scenario, config = small
    whole = explorer.explore(scenario, config, max_preemptions=1, classify=False).schedules
    e = interrupted(scenario, config, on_progress=signal_at(SEARCH, whole - 2))
    assert e.schedules == whole - 2 and e.violating > 0
    ex = e.counterexample
    assert ex is not None and not ex.recorded and ex.how == "done" and not ex.ok
    assert not any(s.values for s in ex.steps) and ex.broken_step is None
    assert "--schedule" in ex.replay
    assert "a failing schedule was found" in verdict(scenario, config, e)


@pytest.mark.usefixtures("sigint_raises")
def test_interrupted_after_the_search_the_counts_are_whole(small: tuple[Any, Any]) -> None:
    scenario, config = small
    whole = explorer.explore(scenario, config, max_preemptions=1, classify=False).schedules
    e = interrupted(scenario, config, on_progress=signal_at(NO_WAY_BACK, 1))
    assert e.interrupted and e.complete and e.schedules == whole
    assert e.counterexample is not None and not e.counterexample.recorded
    assert e.gil_found is None  # not checked
    said = verdict(scenario, config, e)
    assert said.startswith(f"Interrupted after the search: {e.violating} of {whole} schedules")
    assert "before the values of the failing schedule and whether the GIL allows it" in said

    e = interrupted(scenario, config, on_progress=signal_at(AT_GIL, 1))
    assert e.complete and e.counterexample is not None and e.counterexample.recorded
    assert e.counterexample.unreachable_step is not None
    assert e.gil_found is None
    assert "before whether the GIL allows it could be found out" in verdict(scenario, config, e)


@pytest.mark.usefixtures("sigint_raises")
def test_interrupted_in_the_detailed_replay(
    small: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay stops at its first switch point; the search's own run is shown."""
    scenario, config = small
    real = detail.detail

    def detail_then_ctrl_c(*args: Any, **kwargs: Any) -> Any:
        signal.raise_signal(signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(detail, "detail", detail_then_ctrl_c)
    e = interrupted(scenario, config)
    assert e.complete and e.counterexample is not None and not e.counterexample.recorded
    assert len(e.counterexample.steps) == len(e.counterexample.schedule) > 0


@pytest.mark.usefixtures("sigint_raises")
def test_sigterm_in_the_search_is_an_interruption_too(small: tuple[Any, Any]) -> None:
    scenario, config = small
    previous = signal.signal(signal.SIGTERM, signals._handler)  # as the CLI has it
    try:
        e = interrupted(scenario, config, on_progress=signal_at(SEARCH, 3, signal.SIGTERM))
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert e.schedules == 3 and e.interrupted


@pytest.fixture
def ctrl_c_in_setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Ctrl-C while the driver builds a run's state (the first run of the command)."""
    real = Target.build
    sent: list[bool] = []

    def build(self: Target) -> Any:
        if not sent:
            sent.append(True)
            signal.raise_signal(signal.SIGINT)
        return real(self)

    monkeypatch.setattr(Target, "build", build)
    yield
    assert sent


@pytest.mark.usefixtures("sigint_raises", "ctrl_c_in_setup")
def test_cli_explore_interrupted_prints_the_partial_table(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    out = tmp_path / "out.json"
    result = invoke("explore", "counter", "-o", str(out))
    assert result.exit_code == 130
    assert_partial(result.stdout, result.stderr)
    assert "Explored: 0 schedules" in result.stdout
    assert not out.exists(), "-o is written only for a complete command"


@pytest.mark.usefixtures("sigint_raises", "ctrl_c_in_setup")
@pytest.mark.parametrize(
    "args",
    [["--schedule", "0,1,1,0", "-n", "1"], ["--quiz", "--answer", "2"]],
    ids=["replay", "quiz"],
)
def test_cli_replay_interrupted_exits_130(invoke: Callable[..., Result], args: list[str]) -> None:
    """One schedule has nothing partial to show: the threads unwind, then it stops."""
    result = invoke("explore", "counter", *args)
    assert result.exit_code == 130
    assert result.stderr == "Interrupted.\n" and result.stdout == ""
    assert not [t for t in threading.enumerate() if t.name.startswith("syncdemo-explore")]


# --- signals.polled ------------------------------------------------------------------------


@pytest.mark.usefixtures("sigint_raises")
def test_a_polled_signal_waits_to_be_taken_or_raises_at_the_end() -> None:
    with signals.polled():
        signal.raise_signal(signal.SIGINT)
        assert signals.pending() == signal.SIGINT
        assert signals.take() == signal.SIGINT
        assert signals.pending() is None
    with pytest.raises(KeyboardInterrupt), signals.polled():
        with signals.polled():
            signal.raise_signal(signal.SIGINT)
        assert signals.pending() == signal.SIGINT  # only the outermost block raises
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.usefixtures("sigint_raises")
def test_a_second_signal_long_after_the_first_raises_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """For code that never reaches a point where it stops (the user's setup, looping)."""
    monkeypatch.setattr(signals, "INSIST_S", 0.0)
    reached = []
    with pytest.raises(KeyboardInterrupt), signals.polled():
        signal.raise_signal(signal.SIGINT)
        reached.append(1)
        signal.raise_signal(signal.SIGINT)
        reached.append(2)
    assert reached == [1]
    assert signals.pending() is None
