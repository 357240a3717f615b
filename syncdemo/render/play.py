"""The screen of ``syncdemo play``: a panel per thread with its worker's code and the line it
runs next, the shared state with what the last move changed, the goal, the moves; and the
end screen with the winning schedule and the command that replays it.

Nothing is cut at any width: the thread panels stand side by side when their code fits,
one under the other otherwise, and a code line longer than the screen wraps between words.
The line a thread runs next is marked with "▶" as well as coloured, so it shows in a pipe.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from syncdemo.explore.results import RealExecution, RealStep, SourceLine
from syncdemo.play import Game, Source
from syncdemo.render.console import group
from syncdemo.render.layout import Col, Grid

MARK = "▶"
NEXT_STYLE = "bold reverse"
CHANGED_STYLE = "bold yellow"


def header(game: Game) -> Text:
    c = game.config
    text = Text()
    text.append(f"syncdemo play {c.scenario}", style="bold")
    text.append(
        f" · --sync {c.sync} · {c.threads} threads × {c.iterations} · "
        f"--granularity {game.granularity}"
    )
    return text


def goal(game: Game) -> Text:
    s = game.scenario
    text = Text("Goal: ", style="bold")
    text.append(f"break the invariant {s.invariant!r} (a win: {s.violation_noun}).")
    return text


def screen(
    game: Game, message: str = "", *, keys: bool = True, window: int | None = None
) -> RenderableType:
    """The whole screen for the position the game is in; with ``window``, each thread's
    code only that many lines either side of its next line (for a short terminal)."""
    parts: list[RenderableType] = [header(game), goal(game), Threads(game, window), ""]
    parts += [shared_state(game.execution), last_move(game.execution), moves(game)]
    if message:
        parts.append(Text(message, style="bold"))
    if keys and not game.over:
        n = game.threads - 1
        parts.append(
            Text(f"Keys: 0-{n} step that thread · u undo · h hint · r restart · q quit", "dim")
        )
    return group(*parts)


def moves(game: Game) -> Text:
    done = " ".join(map(str, game.moves)) or "none yet"
    return Text(f"Moves ({len(game.moves)}): {done}")


# --- the threads ----------------------------------------------------------------------------


class Threads:
    """The thread panels, side by side when they fit, else stacked."""

    def __init__(self, game: Game, window: int | None = None) -> None:
        self.panels = [thread_panel(game, i, window) for i in range(game.threads)]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = options.update_width(100_000)
        widths = [Measurement.get(console, wide, p).maximum for p in self.panels]
        if sum(widths) + len(widths) - 1 <= options.max_width:
            row = Table.grid(padding=(0, 1))
            for w in widths:
                row.add_column(width=w)
            row.add_row(*self.panels)
            yield row
            return
        yield from self.panels


def _dedent(lines: Iterable[str]) -> list[str]:
    return textwrap.dedent("\n".join(lines)).split("\n")


def code_grid(source: Source, at: SourceLine | None, window: int | None = None) -> Table:
    """``source`` with line numbers, the line at ``at`` marked and highlighted; with
    ``window``, only the lines that near it (or the first ones, before the thread starts)."""
    code = Table.grid(padding=(0, 1))
    code.add_column(no_wrap=True)
    code.add_column(justify="right", no_wrap=True)
    code.add_column(overflow="fold")  # a long line wraps between words, under itself
    focus = at.line if at is not None and source.holds(at.file, at.line) else source.first
    for offset, text in enumerate(_dedent(source.lines)):
        lineno = source.first + offset
        if window is not None and abs(lineno - focus) > window and lineno != source.first:
            continue
        here = at is not None and at.file == source.file and at.line == lineno
        code.add_row(
            Text(MARK if here else " "),
            Text(str(lineno)),
            Text(text),
            style=NEXT_STYLE if here else None,
        )
    return code


def thread_panel(game: Game, index: int, window: int | None = None) -> Panel:
    source = game.sources[index]
    at = game.position.lines.get(index)
    parts: list[RenderableType] = [code_grid(source, at, window)]
    if at is not None and not source.holds(at.file, at.line):  # in a function it called
        helper = game.enclosing(at.file, at.line)
        if helper is not None:
            parts += [
                Text(f"in {helper.function}(), which it called:", "italic"),
                code_grid(helper, at, window),
            ]
        else:
            parts.append(Text(f"{MARK} {at}", style=NEXT_STYLE))
    parts.append(status(game, index))
    last = game.execution.steps[-1].thread if game.execution.steps else None
    title = Text(f"thread {index} · {game.roles[index]} · {source.function}()")
    if last == index:
        title.append(" · moved last")
    # a Panel reads a string title as markup: the title is Text (a role may be "[w]")
    return Panel(group(*parts), title=title, title_align="left", expand=False)


def status(game: Game, index: int) -> Text:
    p = game.position
    if index not in p.next:
        started = any(s.thread == index for s in game.execution.steps)
        return Text("finished" if started or game.over else "not started", style="dim")
    waits = p.next[index]
    if game.over:
        return Text(f"stuck: waits to {waits}", style="bold red")
    if index not in p.runnable:
        return Text(f"blocked: waits to {waits}", style="bold red")
    if waits == "start":
        return Text(f"next: start (press {index})")
    return Text(f"next: {waits} (press {index})")


# --- the shared state -----------------------------------------------------------------------


def split_state(text: str) -> list[tuple[str, str]]:
    """'value: 1, items: [1, 2], lock: free' -> [(value, 1), (items, [1, 2]), (lock, free)]:
    commas inside brackets and quotes belong to the value."""
    parts: list[str] = []
    depth, quote = 0, ""
    current: list[str] = []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    pairs = []
    for part in parts:
        name, sep, value = part.partition(": ")
        pairs.append((name, value) if sep else ("", part))
    return pairs


def _state_after(steps: Iterable[RealStep], initial: str) -> str:
    state = initial
    for step in steps:
        if step.state:
            state = step.state
    return state


def shared_state(e: RealExecution) -> RenderableType:
    now = split_state(_state_after(e.steps, e.initial))
    last = e.steps[-1] if e.steps else None
    before = dict(split_state(_state_after(e.steps[:-1], e.initial)))
    grid = Grid(Col("shared state"), Col("value"), Col("", wrap=True))
    for name, value in now:
        changed = last is not None and bool(last.state) and before.get(name) != value
        note = f"changed by thread {last.thread}'s move" if changed and last else ""
        style = CHANGED_STYLE if changed else None
        grid.add_row(Text(name), Text(value), note, style=style)
    return grid


def last_move(e: RealExecution) -> Text:
    if not e.steps:
        return Text("No move yet: every thread waits to start.")
    step = e.steps[-1]
    where = f" ran {spans(step)}" if step.lines else " started"
    touched = values(step)
    text = Text(f"Last move: thread {step.thread}{where}")
    if touched:
        text.append(f": {touched}")
    return text


def values(step: RealStep) -> str:
    """What a step read and wrote; a value the explorer shortened is left out rather than
    shown cut ("read table.forks")."""
    words = []
    for v in step.values:
        if "…" not in v.value:
            words.append(str(v))
        else:
            words.append(f"read {v.what}" if v.kind == "read" else f"wrote {v.what}")
    return "; ".join(words)


def spans(step: RealStep) -> str:
    """The lines a step ran: "counter.py:63-67", "counter.py:72, 64", "a.py:3, b.py:9"."""
    runs: list[tuple[str, int, int]] = []
    for line in step.lines:
        if runs and runs[-1][0] == line.file and runs[-1][2] + 1 == line.line:
            runs[-1] = (line.file, runs[-1][1], line.line)
        elif not runs or (runs[-1][0], runs[-1][2]) != (line.file, line.line):
            runs.append((line.file, line.line, line.line))
    words = []
    for i, (file, low, high) in enumerate(runs):
        span = f"{low}" if low == high else f"{low}-{high}"
        words.append(span if i and runs[i - 1][0] == file else f"{file}:{span}")
    return ", ".join(words)


# --- the end --------------------------------------------------------------------------------


def verdict(game: Game) -> Text:
    e = game.execution
    if e.deadlocked:
        return Text(f"You win: a deadlock. {e.cycle}.", style="bold green")
    if game.won:
        what = e.error or f"{game.scenario.outcome_name} {e.label}: {e.meaning}"
        return Text(f"You win: the invariant broke ({what}).", style="bold green")
    if e.how == "done":
        return Text(
            f"Every thread finished without breaking it ({game.scenario.outcome_name} "
            f"{e.label}: {e.meaning}).",
            style="bold",
        )
    if e.how == "cut":
        return Text(
            f"The run was cut after {len(e.steps)} steps (the step limit): a loop that does "
            "not end without another thread's help.",
            style="bold",
        )
    return Text(f"The run ended: {e.how}.", style="bold")


def steps_table(game: Game) -> Grid:
    e = game.execution
    grid = Grid(
        Col("step", "right"),
        Col("thread", "right", short="t"),
        Col(f"line of {game.sources[0].file}", wrap=True, short="line"),
        Col("read and wrote", wrap=True, short="values"),
        Col("shared state after", wrap=True, short="state"),
        title="The winning schedule",
    )
    home = game.sources[0].file
    for step in e.steps:
        end = step.lines[-1] if step.lines else None
        line = step.code
        if end is not None:
            line = f"{end.line}  {step.code}" if end.file == home else f"{end}"
        style = "bold red" if step.broke else None
        grid.add_row(
            str(step.index),
            str(step.thread),
            Text(line),
            Text(values(step)),
            Text(step.state),
            style=style,
        )
    return grid


def won_keys() -> Text:
    """After a win the game still takes keys: say which, rather than wait in silence."""
    return Text("Keys: u undo · r restart · q quit", "dim")


def end_screen(game: Game, advice: str = "") -> RenderableType:
    parts: list[RenderableType] = [verdict(game)]
    if game.won:
        parts += ["", steps_table(game), "", Text(game.comparison())]
        parts.append(Text("Replay it:"))
    elif advice:
        parts.append(Text(f"Hint: {advice}"))
    else:
        parts.append(Text("Press h for a hint, u to undo, r to restart, q to quit.", "dim"))
    return group(*parts)
