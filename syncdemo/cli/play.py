"""``syncdemo play``: be the scheduler. The real workers run under the explorer's
deterministic scheduler and the player picks which thread takes each step.

On a terminal the keys act at once (the terminal is put in cbreak mode and restored on
every way out, Ctrl-C included); otherwise stdin is read one command per line, so a demo
can be scripted and tests can drive it. Only click is imported at module level.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click

from syncdemo.cli import options as opt
from syncdemo.cli.options import EXIT_VIOLATED
from syncdemo.cli.output import OutputOptions, output_options_for
from syncdemo.engine.config import PLAY_ITERATIONS, PLAY_THREADS

if TYPE_CHECKING:
    from rich.console import Console

    from syncdemo.play import Game

#: One key per thread on a terminal: 0 to 9.
MAX_THREADS = 10
MAX_ITERATIONS = 20
QUIT = ("q", "quit", "exit")


@click.command()
@opt.scenario_argument
@opt.threads_option("Threads (one key each, 0-9).", high=MAX_THREADS, default=PLAY_THREADS)
@opt.iterations_option(
    "Work per thread (increments, items, phases, meals).",
    high=MAX_ITERATIONS,
    default=PLAY_ITERATIONS,
)
@opt.sync_option
@opt.granularity_option
@click.option(
    "--moves",
    metavar="T,T,...",
    help="Play these moves without asking (e.g. 0,0,1,1,0; T*N is N moves of thread T, "
    "as explore writes schedules), then show the final screen.",
)
@output_options_for("table")
@opt.check_option("Exit 1 if the game ends without breaking the invariant, for scripts.")
@opt.debug_option
def play(
    name: str,
    threads: int,
    iterations: int,
    sync: str | None,
    granularity: str,
    moves: str | None,
    out: OutputOptions,
    check: bool,
) -> None:
    """Be the scheduler: step the real threads of a scenario, one line at a time, until
    they break its invariant (or deadlock).

    \b
    Keys: a thread's number steps it; u undo; h hint; r restart; q quit.
    On a terminal each key acts at once; otherwise one command per line on stdin.

    \b
    Examples:
      syncdemo play counter                      lose an update, by hand
      syncdemo play deadlock                     deadlock two threads
      syncdemo play overdraft.py --granularity gil
      printf '0\\n1\\n1\\n' | syncdemo play counter
      syncdemo play counter -n 1 --moves 0,0,1*8,0*6     a prepared lost update
      syncdemo play counter -n 1 --moves 0,0,1*8,0*6 -o slide.svg     ... as a slide
    """
    from syncdemo import scenarios
    from syncdemo.explore.explorer import parse_schedule

    if moves is None and (out.path is not None or out.fmt != "table" or out.quiet):
        raise click.UsageError(
            "-o, --format and -q take the screen after --moves (a prepared game, for a "
            "slide); add --moves T,T,..."
        )
    planned: tuple[int, ...] | None = None
    if moves is not None:
        try:
            planned, _ = parse_schedule(moves)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--moves'") from None
    scenario = opt.lookup(name)
    config = opt.config(
        scenario,
        purpose="play",
        sync=sync,
        threads=threads,
        iterations=iterations,
        name=name if scenarios.is_reference(name) else scenario.name,
    )
    game = _start(scenario, config, granularity)
    from syncdemo.render.console import make_console

    console = make_console()
    try:
        if planned is not None:
            for i, thread in enumerate(planned, 1):
                refused = game.move(thread)
                if refused is not None:
                    raise click.BadParameter(f"move {i}: {refused}.", param_hint="'--moves'")
            _final(game, console, out)
        else:
            _loop(game, console, _terminal())
    except (click.exceptions.Exit, click.ClickException):
        raise
    except RuntimeError as exc:  # the scenario's own code failed (check() raised...)
        raise click.ClickException(opt.failure_line(exc)) from None
    if check and not game.won:
        click.get_current_context().exit(EXIT_VIOLATED)


def _start(scenario: Any, config: Any, granularity: str) -> Game:
    from syncdemo.play import Game

    try:
        return Game(scenario, config, granularity)
    except (TypeError, RuntimeError) as exc:
        raise click.ClickException(
            f"cannot play {config.scenario}: {opt.failure_line(exc)}"
        ) from None


def _terminal() -> bool:
    """Single keys only when stdin is a terminal that termios can drive."""
    if not sys.stdin.isatty():
        return False
    try:
        import termios  # noqa: F401
    except ImportError:  # Windows: one command per line
        return False
    return True


def _show(
    console: Console, *renderables: Any, clear: bool = False, game: Game, keys: bool = False
) -> None:
    """Print the screen; after a win, the replay command on a line of its own that is
    never wrapped or cut, whatever the width (it is there to be copied), and with ``keys``
    the keys that still do something (the game waits for one of them)."""
    from rich.console import Group

    from syncdemo.render.console import show

    if clear and console.is_terminal:
        console.clear()
    show(Group(*renderables), console)
    if game.over and game.won:
        console.print(game.replay_command(), soft_wrap=True, markup=False, highlight=False)
        if keys:
            from syncdemo.render.play import won_keys

            show(won_keys(), console)


def _draw(game: Game, console: Console, message: str = "", *, clear: bool) -> None:
    """The screen; on a terminal too short for it, each worker's code around its next
    line only (the def line and a few lines either side, then fewer)."""
    from rich.console import Group

    from syncdemo.render.play import end_screen, screen

    for window in (None, 4, 2, 1, 0):
        parts = [screen(game, message, window=window)]
        if game.over:
            parts.append(end_screen(game))
        if not console.is_terminal:
            break
        height = len(console.render_lines(Group(*parts), console.options, pad=False))
        if height < console.size.height:
            break
    _show(console, *parts, clear=clear, game=game, keys=True)


def _final(game: Game, console: Console, out: OutputOptions) -> None:
    """The screen after --moves: the end, with a hint when the moves did not break it; the
    same screen as a picture (-o slide.svg, .html, .txt; or --format) for a slide."""
    from dataclasses import replace

    from rich.text import Text

    from syncdemo.render.play import end_screen, screen

    parts: list[Any] = [screen(game, keys=False)]
    if game.over:
        parts.append(end_screen(game, "" if game.won else game.advice().text))
    else:
        parts.append(
            Text(
                f"{len(game.moves)} move{'s' if len(game.moves) != 1 else ''} played; the "
                f"run is not over ({_who(game.position.runnable)} can move)."
            )
        )
    if out.path is not None or out.fmt != "table":
        from syncdemo.cli.output import Session
        from syncdemo.render.console import group

        picture = [*parts, Text(game.replay_command())] if game.over and game.won else parts
        with Session(replace(out, quiet=True), total_trials=0) as session:  # the file only
            session.finish(lambda: group(*picture), {})
    if out.table_on_stdout:
        _show(console, *parts, game=game)


def _loop(game: Game, console: Console, terminal: bool) -> None:
    """Read commands until q (or the end of stdin) and redraw after each."""
    with _commands(terminal) as read:  # keys typed while the first screen draws count too
        _draw(game, console, clear=terminal)
        while True:
            command = read()
            if command is None:
                return
            command = command.strip().lower()
            if not command:
                continue
            if command in QUIT:
                return
            message, redraw = _act(game, command, console, terminal)
            if terminal or redraw:
                _draw(game, console, message if terminal else "", clear=terminal)
            if message and not terminal:
                click.echo(message, err=not redraw)


def _act(game: Game, command: str, console: Console, terminal: bool) -> tuple[str, bool]:
    """Do one command: the message it leaves, and whether the position changed."""
    if command in ("u", "undo"):
        return ("", True) if game.undo() else ("Nothing to undo.", False)
    if command in ("r", "restart"):
        game.restart()
        return "", True
    if command in ("h", "hint", "?"):
        if terminal:
            console.print("Looking for a hint...", style="dim")
        text = f"Hint: {game.advice().text}"
        if not terminal:
            click.echo(text)
            return "", False
        return text, True
    if command.isdigit():
        refused = game.move(int(command))
        return (f"{refused[:1].upper()}{refused[1:]}.", False) if refused else ("", True)
    n = game.threads - 1
    return f"Unknown command {command!r}: 0-{n} step a thread, u, h, r or q.", False


@contextlib.contextmanager
def _commands(terminal: bool) -> Iterator[Callable[[], str | None]]:
    """A function returning the next command (None at the end of input): a key on a
    terminal, in cbreak mode until the block is left however it is left; else a line."""
    if not terminal:
        yield lambda: _line()
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield lambda: _key(fd)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _line() -> str | None:
    line = sys.stdin.readline()
    return line if line else None


def _key(fd: int) -> str | None:
    import select

    data = os.read(fd, 1)
    if not data or data == b"\x04":  # end of input, Ctrl-D
        return None
    if data == b"\x03":  # Ctrl-C, should the terminal not turn it into SIGINT
        raise KeyboardInterrupt
    if data == b"\x1b":  # an escape sequence (arrows, function keys): ignore it whole
        while select.select([fd], [], [], 0.05)[0]:
            os.read(fd, 16)
        return ""
    return data.decode(errors="replace")


def _who(runnable: tuple[int, ...]) -> str:
    """'thread 1', 'threads 0 and 1', 'threads 0, 1 and 2'."""
    names = [str(t) for t in runnable]
    if len(names) == 1:
        return f"thread {names[0]}"
    return f"threads {', '.join(names[:-1])} and {names[-1]}"
