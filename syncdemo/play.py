"""The game of ``syncdemo play``: the player is the scheduler of a scenario's real workers.

A game is nothing but the list of moves made so far (a thread number per step). The
explorer's scheduler is deterministic, so every position is recomputed by replaying that
prefix from fresh state (:func:`syncdemo.explore.explorer.position`): undo drops the last
move and replays the rest, restart replays nothing. No state of a half-run schedule is ever
kept between two moves, so there is nothing to get out of step.

The game is won when the run ends with the invariant broken (a failed check, a worker that
raised, or a deadlock, which is the failure the deadlock scenarios look for). Hints come
from the explorer's search, starting from the moves made.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import os
from dataclasses import dataclass, field
from typing import Any

from syncdemo.explore import explorer
from syncdemo.explore.explorer import Position
from syncdemo.explore.results import RealExecution
from syncdemo.explore.target import Target
from syncdemo.results import RunConfig
from syncdemo.scenarios.base import Scenario

#: The most runs one hint's search may make (each replays a schedule from fresh state):
#: hints search within the explorer's default preemption bound.
HINT_LIMIT = 2_000
#: The most runs of the unbounded search that tells whether anything breaks it at all (a
#: run of a retry loop can take thousands of steps: this keeps a hint to seconds).
UNBOUNDED_LIMIT = 200


@dataclass(frozen=True)
class Source:
    """A thread's worker as the screen shows it: its file, first line and lines of code."""

    function: str
    file: str
    first: int
    lines: tuple[str, ...]

    def holds(self, file: str, line: int) -> bool:
        return file == self.file and self.first <= line < self.first + len(self.lines)


@dataclass(frozen=True)
class Advice:
    """What a hint says, and the move it suggests (None: no move from here)."""

    text: str
    move: int | None = None


@dataclass
class Game:
    scenario: Scenario[Any]
    config: RunConfig
    granularity: str = "line"
    moves: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.target = Target(self.scenario, self.config)
        self.sources = tuple(_source(self.scenario, self.config, w) for w in self.target.workers)
        self.roles = tuple(self.target.roles)
        self._paths = {os.path.basename(f): f for f in self.target.files}
        self.position = self._at(tuple(self.moves))
        self._shortest: RealExecution | None = None
        self._searched_shortest = False
        self._unbreakable_text = ""

    # --- the position -------------------------------------------------------------------

    @property
    def threads(self) -> int:
        return self.target.threads

    @property
    def execution(self) -> RealExecution:
        return self.position.execution

    @property
    def over(self) -> bool:
        return self.position.over

    @property
    def won(self) -> bool:
        e = self.execution
        return self.over and (e.deadlocked or (e.how == "done" and not e.ok))

    def _at(self, moves: tuple[int, ...]) -> Position:
        return explorer.position(self.scenario, self.config, moves, granularity=self.granularity)

    def replay_command(self) -> str:
        command = explorer.replay_command(
            self.target.config, self.granularity, self.target.fingerprint()
        )
        return command(tuple(self.moves))

    def enclosing(self, file: str, line: int) -> Source | None:
        """The function around ``file:line`` (a helper the worker called), as written."""
        path = self._paths.get(file)
        if path is None:
            return None
        found = _functions(path)
        inner = [(a, b, n) for a, b, n in found if a <= line <= b]
        if not inner:
            return None
        first, last, name = max(inner)  # the innermost starts last
        lines = tuple(linecache.getline(path, n).rstrip() for n in range(first, last + 1))
        return Source(name, file, first, lines)

    # --- moves ----------------------------------------------------------------------------

    def refusal(self, thread: int) -> str | None:
        """Why ``thread`` cannot take the next step, or None when it can."""
        if not 0 <= thread < self.threads:
            return f"there is no thread {thread}: the threads are 0 to {self.threads - 1}"
        if self.over:
            return "the run is over: every thread has finished or is stuck"
        if thread in self.position.runnable:
            return None
        waits = self.position.next.get(thread)
        if waits is None:
            return f"thread {thread} has finished"
        return f"thread {thread} cannot move: it waits to {waits}, which it cannot do yet"

    def move(self, thread: int) -> str | None:
        """Step ``thread``; returns why not instead when it cannot move."""
        refused = self.refusal(thread)
        if refused is not None:
            return refused
        self.position = self._at((*self.moves, thread))
        self.moves.append(thread)
        return None

    def undo(self) -> bool:
        if not self.moves:
            return False
        self.moves.pop()
        self.position = self._at(tuple(self.moves))
        return True

    def restart(self) -> None:
        self.moves.clear()
        self.position = self._at(())

    # --- the explorer's help --------------------------------------------------------------

    def shortest(self) -> RealExecution | None:
        """The shortest failing schedule the explorer finds from the start (cached)."""
        if not self._searched_shortest:
            found = explorer.explore(
                self.scenario,
                self.config,
                granularity=self.granularity,
                classify=False,
                limit=HINT_LIMIT,
            )
            self._shortest = found.counterexample
            self._searched_shortest = True
        return self._shortest

    def comparison(self) -> str:
        """After a win: "you took 9 moves; the shortest is 4"."""
        best = self.shortest()
        took = len(self.moves)
        if best is None:
            return f"You took {took} moves."
        shortest = len(best.schedule)
        way = explorer.format_schedule(best.schedule)
        if shortest < took:
            return f"You took {took} moves; the shortest is {shortest}: {way}."
        return f"You took {took} moves: no failing schedule the explorer finds is shorter."

    def _way_from(self, prefix: tuple[int, ...]) -> tuple[int, ...] | None:
        return explorer.hint(
            self.scenario, self.config, prefix, granularity=self.granularity, limit=HINT_LIMIT
        )

    def advice(self) -> Advice:
        """A next move from which the invariant can still be broken; or how far to go
        back; or why nothing breaks it at all."""
        if self.won:
            return Advice(self.comparison())
        if self.shortest() is None:  # nothing breaks it from the start: say why
            return Advice(self._unbreakable())
        moves = tuple(self.moves)
        if not self.over:
            way = self._way_from(moves)
            if way is not None and len(way) > len(moves):
                t = way[len(moves)]
                rest = len(way) - len(moves)
                return Advice(
                    f"Move thread {t}: from there the invariant can still be broken "
                    f"({rest} more move{'s' if rest != 1 else ''} will do, e.g. "
                    f"{explorer.format_schedule(way)}).",
                    t,
                )
        for k in range(len(moves) - 1, -1, -1):
            way = self._way_from(moves[:k])
            if way is not None and len(way) > k and way[k] != moves[k]:
                back = len(moves) - k
                where = (
                    "restart (r)"
                    if k == 0
                    else "undo your last move (u)"
                    if back == 1
                    else f"undo {back} moves (u {back} times)"
                )
                return Advice(
                    f"From here nothing breaks it any more. {where.capitalize()} and, as move "
                    f"{k + 1}, step thread {way[k]} instead of thread {moves[k]} "
                    f"(e.g. {explorer.format_schedule(way)})."
                )
        best = self.shortest()
        assert best is not None
        return Advice(f"Restart (r) and try {explorer.format_schedule(best.schedule)}.")

    def _unbreakable(self) -> str:
        if not self._unbreakable_text:  # the same for every position: search once
            self._unbreakable_text = self._search_unbreakable()
        return self._unbreakable_text

    def _search_unbreakable(self) -> str:
        found = explorer.explore(
            self.scenario,
            self.config,
            granularity=self.granularity,
            max_preemptions=None,
            classify=False,
            limit=UNBOUNDED_LIMIT,
        )
        if found.counterexample is not None:
            way = explorer.format_schedule(found.counterexample.schedule)
            return f"It breaks with more preemptions: restart (r) and try {way}."
        tried = f"{found.schedules:,} schedule{'s' if found.schedules != 1 else ''}"
        strategy = self.scenario.strategy(self.config.sync)
        if not found.complete:
            bound = explorer.DEFAULT_MAX_PREEMPTIONS
            lead = f"--sync {strategy.name} is built to be safe: n" if strategy.safe else "N"
            return (
                f"{lead}o schedule with at most {bound} preemptions breaks it, nor any of "
                f"the {tried} with more that the explorer tried before it stopped."
            )
        if self.granularity == "gil":
            text = (
                "No interleaving the GIL allows breaks it: the explorer tried every one "
                f"({tried}, switching only where a GIL build can switch threads)."
            )
            if not strategy.safe:
                text += " Try --granularity line: what a free-threaded build can interleave."
            return text
        if strategy.safe:
            return f"--sync {strategy.name} is safe: none of the {tried} breaks it."
        return (
            f"No interleaving breaks it with {self.config.threads} threads × "
            f"{self.config.iterations} (the explorer tried all {tried}): try more --threads "
            "or --iterations."
        )


def _source(scenario: Scenario[Any], config: RunConfig, worker: Any) -> Source:
    """The function a thread runs, as written: the user's method for a user class."""
    from syncdemo.engine.context import lesson_of

    function = lesson_of(worker)
    for s in getattr(scenario, "user_strategies", ()):
        if s.name == config.sync:
            function = s.function
    try:
        lines, first = inspect.getsourcelines(function)
        file = os.path.basename(inspect.getsourcefile(function) or "")
    except (OSError, TypeError):
        return Source(getattr(function, "__name__", "worker"), "", 0, ())
    first = max(first, 1)
    return Source(function.__name__, file, first, tuple(line.rstrip() for line in lines))


@functools.lru_cache(maxsize=16)
def _functions(path: str) -> tuple[tuple[int, int, str], ...]:
    """(first line, last line, name) of every function in the file at ``path``."""
    try:
        tree = ast.parse("".join(linecache.getlines(path)))
    except (SyntaxError, ValueError):
        return ()
    return tuple(
        (node.lineno, node.end_lineno or node.lineno, node.name)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    )
