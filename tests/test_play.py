"""``syncdemo play``: a game driven through stdin to a lost update whose replay command
replays it; keys in a pseudo-terminal move the highlighted line and undo; the README's
overdraft.py is won at line granularity and not at gil granularity; nothing is cut at 80
columns; bad input is one line."""

from __future__ import annotations

import functools
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner, Result

from syncdemo import scenarios
from syncdemo.cli import cli
from syncdemo.engine.config import resolve
from syncdemo.explore.explorer import (
    DEFAULT_MAX_PREEMPTIONS,
    format_schedule,
    parse_schedule,
    replay,
)
from syncdemo.play import Game
from syncdemo.results import RunConfig

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent


def _counter_line(text: str, nth: int = 0) -> int:
    """Where ``text`` stands in counter's unsafe worker (the tests follow the code)."""
    import inspect

    from syncdemo.scenarios.counter import increment_unsafe

    lines, first = inspect.getsourcelines(increment_unsafe)
    return first + [i for i, line in enumerate(lines) if text in line][nth]


#: counter's unsafe worker: its first line, the read, the call and the write.
DEF = _counter_line("def increment_unsafe")
READ = _counter_line("value = counter.value")
CALL = _counter_line("value = step(value)")
WRITE = _counter_line("counter.value = value")


def play(*args: str, stdin: str = "", columns: int = 80) -> Result:
    runner = CliRunner(env={"COLUMNS": str(columns), "NO_COLOR": None, "FORCE_COLOR": None})
    return runner.invoke(cli, ["play", *args], input=stdin, catch_exceptions=False)


def config(name: str, sync: str = "none", threads: int = 2, iterations: int = 1) -> RunConfig:
    seed = scenarios.get(name).explore_seed  # as play uses it
    return RunConfig(
        scenario=name, sync=sync, threads=threads, iterations=iterations, trials=1, seed=seed
    )


def replay_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("syncdemo explore "))


# --- moves as a student finds them ------------------------------------------------------------
# Every switch point is a move (a line, a call, a lock operation, the harness's loops too), so
# the tests do not count moves: they press a thread's key until the screen shows what they
# wait for (the last move read the counter, the thread finished), as a student would.


def new_game(
    name: str, sync: str | None = None, threads: int = 2, granularity: str = "line"
) -> Game:
    """The game ``syncdemo play NAME`` starts (the same configuration, 1 iteration)."""
    scenario = scenarios.get(name)
    return Game(
        scenario,
        resolve(scenario, purpose="play", sync=sync, threads=threads, iterations=1, name=name),
        granularity,
    )


def until(game: Game, thread: int, done: Callable[[Game], bool], most: int = 200) -> int:
    """Step ``thread`` until ``done(game)``; how many moves the game has then."""
    for _ in range(most):
        refused = game.move(thread)
        assert refused is None, refused
        if done(game):
            return len(game.moves)
    raise AssertionError(f"thread {thread} took {most} moves and never got there")


def did(text: str) -> Callable[[Game], bool]:
    """The last move read or wrote what ``text`` says ("read counter.value", "acquired")."""
    return lambda game: any(text in str(v) for v in game.execution.steps[-1].values)


def finished(thread: int) -> Callable[[Game], bool]:
    return lambda game: thread not in game.position.next


def stuck(thread: int) -> Callable[[Game], bool]:
    """``thread`` cannot take the next step (it waits for a lock; or the run is over)."""
    return lambda game: thread not in game.position.runnable


def moves_text(moves: tuple[int, ...], sep: str = ",") -> str:
    return sep.join(map(str, moves))


class LostUpdate(NamedTuple):
    moves: tuple[int, ...]
    read: int
    """Moves made when thread 0 has read counter.value (0), before it writes."""
    written: int
    """... and when thread 1, run from its start, has then written 1."""


@functools.cache
def lost_update() -> LostUpdate:
    """counter, 2 threads x 1: thread 0 reads 0; thread 1 runs its whole increment (reads
    0, writes 1) and ends; thread 0 writes its stale 0 + 1 and ends. The final value is 1."""
    game = new_game("counter")
    read = until(game, 0, did("read counter.value"))
    written = until(game, 1, did("counter.value ←"))
    assert finished(1)(game)  # its write was its last step
    until(game, 0, finished(0))
    assert game.over
    return LostUpdate(tuple(game.moves), read, written)


def lost_update_stdin() -> str:
    return moves_text(lost_update().moves, "\n") + "\n"


def test_a_game_through_stdin_loses_an_update_and_its_replay_agrees() -> None:
    moves = lost_update().moves
    result = play("counter", "--threads", "2", "--iterations", "1", stdin=lost_update_stdin())
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "You win: the invariant broke (final value 1: updates were lost)." in out
    assert "The winning schedule" in out
    command = replay_line(out)
    assert command.startswith("syncdemo explore counter --sync none -t 2 -n 1 --schedule ")
    schedule, fingerprint = parse_schedule(command.split("--schedule ", 1)[1])
    assert schedule == moves and len(fingerprint) == 8
    run = replay(scenarios.get("counter"), config("counter"), schedule, fingerprint=fingerprint)
    assert run.label == "1" and not run.ok and run.how == "done"
    assert run.schedule == schedule


def test_each_move_shows_the_line_each_thread_stands_at() -> None:
    read = lost_update().read  # thread 0's moves up to the one that reads the counter
    result = play("counter", stdin="0\n" * read + "q\n")
    screens = result.stdout.split("syncdemo play counter · ")[1:]
    assert len(screens) == 1 + read  # the start, one after each move (q draws nothing)
    assert "▶" not in screens[0]  # nobody has started
    # the start, then the read: nothing of the harness is a move (3.10 runs on from the
    # start to its first switch point, past the read, in the same move)
    assert read in (1, 2)
    started = _marked(screens[1])  # thread 0 has started: it stands at the read
    assert len(started) == 1 and f" {READ if read == 2 else CALL} " in started[0]
    assert read == 1 or "Last move: thread 0 started" in screens[1]
    marked = _marked(screens[read])  # it has read the counter: the call is next
    assert len(marked) == 1 and f" {CALL} " in marked[0]
    assert "value = step(value)" in marked[0]
    assert f"Last move: thread 0 ran counter.py:{READ}: read counter.value = 0" in screens[read]
    assert all("read counter.value" not in screen for screen in screens[:read])


def test_undo_restart_hint_and_refusals_through_stdin() -> None:
    game = new_game("locked-counter", "lock")
    until(game, 0, did("acquired by thread 0"))  # thread 0 holds the lock
    until(game, 1, stuck(1))  # thread 1 runs up to the lock and waits there
    made = len(game.moves)
    commands = [*map(str, game.moves), "1", "7", "x", *["u"] * (made + 1), "h", "r", "q"]
    result = play("locked-counter", "--sync", "lock", stdin="\n".join(commands) + "\n")
    assert result.exit_code == 0
    err = result.stderr
    assert "Thread 1 cannot move: it waits to acquire counter.lock" in err
    assert "There is no thread 7: the threads are 0 to 1." in err
    assert "Unknown command 'x'" in err
    assert "Nothing to undo." in err  # the undo after the last move was undone
    assert f"Moves ({made}): {moves_text(tuple(game.moves), ' ')}" in result.stdout
    # nothing breaks a locked counter; at every switch point the schedules are too many
    # for the hint to try them all, so it says how far it searched
    bound = DEFAULT_MAX_PREEMPTIONS
    said = " ".join(result.stdout.split())
    assert (
        f"Hint: --sync lock is built to be safe: no schedule with at most {bound} "
        "preemptions breaks it"
    ) in said
    assert result.stdout.count("Moves (0): none yet") == 3  # the start, all undone, r


def test_a_deadlock_is_a_win_with_its_cycle() -> None:
    game = new_game("deadlock")  # thread 0 takes lock A then B, thread 1 B then A
    until(game, 0, did("acquired by thread 0"))  # A
    until(game, 1, did("acquired by thread 1"))  # B
    until(game, 0, stuck(0))  # waits for B
    until(game, 1, stuck(1))  # waits for A: nobody can move
    result = play("deadlock", "--moves", format_schedule(tuple(game.moves)), "--check")
    assert result.exit_code == 0, result.output
    assert (
        "You win: a deadlock. thread 0 holds lock A, waits for lock B -> thread 1 holds"
        in result.stdout
    )
    assert "stuck: waits to acquire lock" in result.stdout


def test_no_violation_exits_1_only_with_check() -> None:
    game = new_game("counter")  # thread 0 increments alone, then thread 1
    write = until(game, 0, did("counter.value ←"))
    assert finished(0)(game)  # its write was its last step
    until(game, 1, finished(1))
    # the last chance to lose an update was thread 0's write: had thread 1 read before it,
    # one write would overwrite the other; after it, thread 1 reads 1 and writes 2
    back = len(game.moves) - (write - 1)
    for check, code in ((False, 0), (True, 1)):
        moves = format_schedule(tuple(game.moves))
        result = play("counter", "--moves", moves, *(["--check"] if check else []))
        assert result.exit_code == code
        assert "Every thread finished without breaking it" in result.stdout
        hint = " ".join(result.stdout.split("Hint: ", 1)[1].split())
        assert hint.startswith(
            f"From here nothing breaks it any more. Undo {back} moves (u {back} times)"
        )
        assert f"as move {write}, step thread 1 instead of thread 0" in hint


def test_a_move_that_cannot_be_made_is_a_usage_error() -> None:
    game = new_game("counter")
    alone = until(game, 0, finished(0))
    until(game, 1, finished(1))
    over = play("counter", "--moves", format_schedule((*game.moves, 1)))
    assert over.exit_code == 2
    assert f"move {len(game.moves) + 1}: the run is over" in over.stderr
    done = play("counter", "--moves", format_schedule((0,) * (alone + 1)))
    assert done.exit_code == 2
    assert f"move {alone + 1}: thread 0 has finished" in done.stderr
    assert play("counter", "--moves", "0,a").exit_code == 2


def test_hint_after_a_win_compares_with_the_shortest() -> None:
    game = Game(scenarios.get("deadlock"), config("deadlock", iterations=2))
    # thread 0 takes both locks in its first round (A, then B): no deadlock there
    until(game, 0, did("lock B ← acquired by thread 0"))
    while not game.over:  # then the explorer's way to a deadlock from here
        move = game.advice().move
        assert move is not None
        assert game.move(move) is None
    assert game.won
    shortest = game.shortest()
    assert shortest is not None and len(shortest.schedule) < len(game.moves)
    text = game.advice().text
    assert text == (
        f"You took {len(game.moves)} moves; the shortest is {len(shortest.schedule)}: "
        f"{format_schedule(shortest.schedule)}."
    )


def test_the_screen_fits_80_columns_and_a_pipe() -> None:
    for name in ("counter", "deadlock", "producer-consumer", "dining-philosophers"):
        result = play(name, "--moves", "0,1", columns=80)
        assert result.exit_code == 0, (name, result.output)
        for line in result.stdout.splitlines():
            assert len(line) <= 80, (name, line)
            assert line == line.rstrip()
        assert "…" not in result.stdout


def readme_overdraft(tmp_path: Path) -> Path:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Your own code\n", 1)[1].split("\n## ", 1)[0]
    block = next(
        b for b in re.findall(r"```python\n(.*?)```", section, re.S) if b.startswith("# overdraft")
    )
    path = tmp_path / "overdraft.py"
    path.write_text(block, encoding="utf-8")
    return path


def test_overdraft_is_won_at_line_granularity_not_at_gil(tmp_path: Path) -> None:
    path = str(readme_overdraft(tmp_path))
    game = new_game(path)
    until(game, 0, did("read self.balance"))  # clerk 0 checks: 100 >= 80
    until(game, 1, finished(1))  # clerk 1 checks and withdraws: 20
    until(game, 0, finished(0))  # clerk 0 withdraws too: -60
    won = play(path, "--moves", format_schedule(tuple(game.moves)), "--check")
    assert won.exit_code == 0, won.output
    assert "You win: the invariant broke" in won.stdout
    assert "balance      │ -60" in won.stdout
    # at gil a clerk cannot be stopped between its check and its withdrawal (no call there):
    # one clerk after the other is the only order, and it keeps the balance at 20
    serial = new_game(path, granularity="gil")
    until(serial, 0, finished(0))
    until(serial, 1, finished(1))
    moves = format_schedule(tuple(serial.moves))
    lost = play(path, "--granularity", "gil", "--moves", moves, "--check")
    assert lost.exit_code == 1, lost.output
    assert "Every thread finished without breaking it" in lost.stdout
    assert "No interleaving the GIL allows breaks it" in " ".join(lost.stdout.split())
    hinted = play(path, "--granularity", "gil", stdin="h\n")
    assert "No interleaving the GIL allows breaks it" in hinted.stdout


# --- a real terminal ------------------------------------------------------------------------


class Terminal:
    """``syncdemo play`` in a pseudo-terminal: press keys, read what it draws."""

    def __init__(self, *args: str) -> None:
        import pty
        import termios

        self.master, slave = pty.openpty()
        self.initial = termios.tcgetattr(slave)
        env = {**os.environ, "COLUMNS": "100", "LINES": "60", "TERM": "xterm"}
        env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "syncdemo", "play", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
            preexec_fn=_controlling_terminal,  # so that Ctrl-C is a SIGINT, as for a user
        )
        os.close(slave)
        self.seen = b""

    def read_until(self, text: str, timeout: float = 30) -> str:
        """Everything drawn since the last call, once ``text`` is in it."""
        return self._read(lambda drawn: text in drawn, repr(text), timeout)

    def _read(self, done: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        start = len(self.seen)
        deadline = time.monotonic() + timeout

        def drawn() -> str:
            return _plain(self.seen[start:].decode(errors="replace")).replace("\r\n", "\n")

        while not done(drawn()):
            left = deadline - time.monotonic()
            assert left > 0, f"{what} never came: {drawn()}"
            if select.select([self.master], [], [], left)[0]:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:  # the child has gone
                    break
        return drawn()

    def press(self, key: str) -> None:
        os.write(self.master, key.encode())

    def screen_at(self, moves: int) -> str:
        """The screen once the game shows ``moves`` moves (the last drawn by then)."""
        # the moves line is whole once the keys' line follows it
        whole = re.compile(rf"Moves \({moves}\):[^\n]*\n[^\n]*Keys:")
        drawn = self._read(lambda got: whole.search(got) is not None, f"Moves ({moves})")
        return drawn.rsplit("syncdemo play counter · ", 1)[-1]

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=30)
        finally:
            os.close(self.master)


def _controlling_terminal() -> None:
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def _marked(screen: str) -> list[str]:
    return [line for line in screen.splitlines() if "▶" in line]


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_keys_in_a_terminal_move_the_highlight_and_undo() -> None:
    game = new_game("counter")
    read = until(game, 0, did("read counter.value"))
    wrote = until(game, 0, did("counter.value ←"))
    term = Terminal("counter")
    first = term.read_until("Keys:")
    assert _marked(first) == []
    for _ in range(read):
        term.press("0")  # a single key, no Enter
    after = term.screen_at(read)
    assert len(_marked(after)) == 1 and f" {CALL} " in _marked(after)[0]
    for _ in range(wrote - read):
        term.press("0")
    moved = term.screen_at(wrote)
    assert _marked(moved) == []  # it has written and finished; thread 1 has not started
    for _ in range(wrote - read):
        term.press("u")
    undone = term.screen_at(read)
    assert len(_marked(undone)) == 1 and f" {CALL} " in _marked(undone)[0]
    term.press("q")
    assert term.close() == 0


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_after_a_win_in_a_terminal_the_keys_are_shown_and_work() -> None:
    moves = lost_update().moves
    term = Terminal("counter")
    term.read_until("Keys:")
    for key in moves:
        term.press(str(key))
    won = term.read_until("Keys: u undo · r restart · q quit")
    assert "You win" in won
    term.press("u")
    before = len(moves) - 1
    assert f"Moves ({before}): {moves_text(moves[:-1], ' ')}\n" in term.screen_at(before)
    term.press("q")
    assert term.close() == 0


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_ctrl_c_in_a_terminal_exits_130_and_restores_it() -> None:
    import termios

    term = Terminal("counter")
    term.read_until("Keys:")
    assert not termios.tcgetattr(term.master)[3] & termios.ICANON  # keys act at once
    term.press("\x03")
    term.read_until("Interrupted.")
    assert term.proc.wait(timeout=30) == 130
    assert termios.tcgetattr(term.master)[3] == term.initial[3]  # cooked mode again
    term.close()


def _unsafe() -> list[tuple[str, str]]:
    return [
        (s.name, st.name) for s in scenarios.all_scenarios() for st in s.strategies if not st.safe
    ]


#: Unsafe strategies that nothing breaks with 2 threads × 1 (the game says so, and why).
NOT_AT_TWO_BY_ONE = {
    ("condition-wait", "if-wait"),  # needs a second consumer: --threads 3
}

#: Where 2 threads x 1 at line granularity is not the game: (threads, iterations,
#: granularity) that is; None where no game ends (a livelock retries for ever).
SIZED: dict[tuple[str, str], tuple[int, int, str] | None] = {
    # the bug needs a failed connection: at play's seed (11) one fails in the second use
    ("semaphore", "semaphore"): (2, 2, "line"),
    ("semaphore", "bounded"): (2, 2, "line"),
    ("shared-dict", "none"): (2, 2, "gil"),  # the race is inside one line, after a call
    ("livelock", "polite"): None,
}


@pytest.mark.parametrize(("name", "sync"), _unsafe(), ids=lambda v: str(v))
def test_every_unsafe_builtin_can_be_won_and_shows_whole(name: str, sync: str) -> None:
    from syncdemo.explore.explorer import explore

    threads, iterations, granularity = 2, 1, "line"
    if (name, sync) in SIZED:
        sized = SIZED[(name, sync)]
        if sized is None:
            pytest.skip("no game of this strategy ends at a size play can search in seconds")
        threads, iterations, granularity = sized
    found = explore(
        scenarios.get(name),
        config(name, sync, threads, iterations),
        classify=False,
        granularity=granularity,
        max_preemptions=1,  # each of these needs one
    )
    if (name, sync) in NOT_AT_TWO_BY_ONE:
        assert found.counterexample is None
        result = play(name, "--sync", sync, stdin="h\n")
        said = " ".join(result.stdout.split())
        # the hint's search of every bound stops at its limit here, and says so
        assert "o schedule with at most 2 preemptions breaks it" in said
        return
    assert found.counterexample is not None
    moves = ",".join(map(str, found.counterexample.schedule))
    size = ["-t", str(threads), "-n", str(iterations), "-g", granularity]
    result = play(name, "--sync", sync, *size, "--moves", moves, "--check", columns=80)
    assert result.exit_code == 0, result.output
    assert "You win" in result.stdout
    if found.counterexample.deadlocked:
        assert "You win: a deadlock. thread " in result.stdout
    for line in result.stdout.splitlines()[:-1]:  # all but the replay command fit
        assert len(line) <= 80, line
    assert "…" not in result.stdout


def test_a_short_terminal_gets_each_workers_code_around_its_next_line() -> None:
    import io

    from rich.console import Console

    from syncdemo.cli.play import _draw

    game = new_game("counter")
    until(game, 0, did("read counter.value"))
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=80, height=24, color_system=None)
    _draw(game, console, clear=False)
    lines = _plain(buffer.getvalue()).rstrip("\n").splitlines()
    assert len(lines) < 24
    marked = [line for line in lines if "▶" in line]
    assert len(marked) == 1 and f" {CALL} " in marked[0]
    assert "value = step(value)" in marked[0]
    assert "def increment_unsafe" in "\n".join(lines)  # the def line stays


@pytest.mark.skipif(
    sys.version_info[:2] != (3, 11) or not getattr(sys, "_is_gil_enabled", lambda: True)(),
    reason="the README's transcript is CPython 3.11's (each version stops at other places)",
)
def test_the_readme_transcript_is_what_play_prints() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Playing the scheduler\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```text\n(.*?)```", section, re.S)
    lost = lost_update()
    out = play("counter", stdin=lost_update_stdin()).stdout
    screens = ["syncdemo play counter · " + s for s in out.split("syncdemo play counter · ")[1:]]
    # thread 0 has read 0 and thread 1 has written 1: the screen the README shows first
    assert blocks[0].split("\n", 1)[1] == screens[lost.written]
    keys = format_schedule(lost.moves[: lost.written])
    assert f"(keys pressed so far: {keys})" in blocks[0].split("\n", 1)[0]
    assert out.endswith(blocks[1])  # the end of the game
    assert "You win" in blocks[1] and f"--schedule {format_schedule(lost.moves)}@" in blocks[1]


def test_a_check_that_raises_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text(
        "import syncdemo\n\n\n@syncdemo.scenario\nclass Broken:\n"
        "    def setup(self):\n        self.n = 0\n\n"
        "    def worker(self, thread):\n        self.n += 1\n\n"
        "    def check(self):\n        raise KeyError('oops')\n",
        encoding="utf-8",
    )
    game = new_game(str(path))  # check() runs when both threads have finished
    alone = until(game, 0, finished(0))
    # thread 1 runs the same one-line worker: as many moves, and the run is over
    result = play(str(path), "--moves", format_schedule((0,) * alone + (1,) * alone))
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("broken.py:13, in check)")
    assert "check() raised KeyError: 'oops'" in result.stderr
    assert "Traceback" not in result.output


def test_a_check_whose_result_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "liar.py"
    path.write_text(
        "import syncdemo\n\n\nclass Liar:\n    def __bool__(self):\n"
        "        raise ValueError('no truth')\n\n\n"
        "@syncdemo.scenario\nclass Liars:\n"
        "    def setup(self):\n        self.n = 0\n\n"
        "    def worker(self, thread):\n        self.n += 1\n\n"
        "    def check(self):\n        return Liar()\n",
        encoding="utf-8",
    )
    game = new_game(str(path))
    alone = until(game, 0, finished(0))  # as many moves as this interpreter's lines take
    result = play(str(path), "--moves", format_schedule((0,) * alone + (1,) * alone))
    assert result.exit_code == 1, result.output
    assert "bool() of it raised ValueError: no truth" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


# --- slides and the end of a game ------------------------------------------------------------


def test_moves_write_the_final_screen_as_a_slide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    moves = format_schedule(lost_update().moves)
    shown = play("counter", "--moves", moves, "-o", "slide.txt")
    assert shown.exit_code == 0, shown.output
    slide = (tmp_path / "slide.txt").read_text(encoding="utf-8")
    assert slide.startswith("syncdemo play counter · --sync none")
    assert "You win: the invariant broke (final value 1: updates were lost)." in slide
    assert replay_line(slide) == replay_line(shown.stdout), "the slide has the replay command"
    assert "Keys:" not in slide and "Keys:" not in shown.stdout, "nothing waits for a key"
    for ext, head in (("svg", "<svg"), ("html", "<!DOCTYPE html>")):
        quiet = play("counter", "--moves", moves, "-q", "-o", f"slide.{ext}")
        assert quiet.exit_code == 0 and quiet.stdout == "", quiet.output
        picture = (tmp_path / f"slide.{ext}").read_text(encoding="utf-8")
        assert picture.lstrip().startswith(head)
        assert "updates were lost" in picture.replace("&#160;", " ")


def test_a_picture_format_alone_goes_to_stdout() -> None:
    result = play("counter", "--moves", format_schedule(lost_update().moves), "--format", "svg")
    assert result.exit_code == 0
    assert result.stdout.lstrip().startswith("<svg") and result.stdout.rstrip().endswith("</svg>")


@pytest.mark.parametrize(
    "args", [["-o", "slide.svg"], ["--format", "html"], ["-q"]], ids=lambda a: a[0]
)
def test_slides_need_moves(args: list[str]) -> None:
    result = play("counter", *args)
    assert result.exit_code == 2
    assert "take the screen after --moves" in result.stderr
    assert "Traceback" not in result.output


def test_a_win_on_stdin_ends_with_the_keys_that_still_work() -> None:
    out = play("counter", stdin=lost_update_stdin()).stdout.rstrip("\n").splitlines()
    assert out[-2].startswith("syncdemo explore counter ")
    assert out[-1] == "Keys: u undo · r restart · q quit"
