"""Which schedules to run: bounded depth-first search, PCT, and replay.

The search is stateless (CHESS-style): every schedule is run from a fresh state, and the
search keeps only the path of choices it is on. ``max_preemptions`` bounds how often a
schedule switches away from a thread that could have gone on (most bugs need one or two);
within the bound the search runs every schedule, with no reduction: sleep sets and DPOR
need to know every read and write a step makes, and real code reaches state the tracker
cannot see (a C function's, a module's, an object of any type). A verdict is therefore
about every schedule within the bound, at the granularity named.

A schedule that runs past the step limit is re-run from the same choices under a fair
continuation (each runnable thread in turn): one that then ends was only starved by the
search's own unfair continuation (a spinning thread kept running); one that still runs on
is a **livelock**.

A signal (Ctrl-C) ends the run in progress (it is not counted) and the search, which then
returns what it saw so far, marked ``interrupted``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from syncdemo.explore.runner import CUT, LIVELOCK, Runner, RunOutcome, livelock
from syncdemo.explore.steps import (
    FREE,
    INTERRUPTED,
    AccessRecord,
    Serial,
    cost,
    default_order,
)

#: PCT's bug depth: priority change points per run = depth - 1.
PCT_DEPTH = 3
#: Runs a search makes before it stops and says it is partial.
DEFAULT_LIMIT = 20_000

#: Called after each schedule a search counts (for a progress display).
Progress = Callable[[], None]


class BadSchedule(ValueError):
    """A --schedule that cannot be replayed (the message says which step and why)."""


class NotDeterministic(RuntimeError):
    """The same prefix of choices led to different runnable threads."""


class Replay(Serial):
    """Follows a given schedule, then goes on without preemption."""

    def __init__(self, schedule: tuple[int, ...]) -> None:
        self.schedule = schedule

    def choose(
        self, depth: int, enabled: tuple[int, ...], last: int | None, mode: int
    ) -> int | None:
        if depth < len(self.schedule):
            t = self.schedule[depth]
            if t not in enabled:
                runnable = ", ".join(map(str, enabled)) or "none"
                raise BadSchedule(
                    f"step {depth + 1} of the schedule runs thread {t}, which cannot run "
                    f"then (runnable: {runnable})"
                )
            return t
        return super().choose(depth, enabled, last, mode)


@dataclass(eq=False)
class _Node:
    enabled: tuple[int, ...]
    last: int | None
    mode: int
    used: int
    choice: int
    todo: list[int]

    def cost(self, t: int) -> int:
        return self.used + cost(self.mode, self.last, t, self.enabled)


class BoundedDFS:
    """Every schedule within ``bound`` preemptions (None: no bound); ``prefix`` fixes the
    first choices."""

    def __init__(self, bound: int | None, prefix: tuple[int, ...] = ()) -> None:
        self.bound = bound
        self.prefix = prefix
        self.stack: list[_Node] = []
        self.pruned = 0

    def choose(
        self, depth: int, enabled: tuple[int, ...], last: int | None, mode: int
    ) -> int | None:
        if depth < len(self.stack):
            node = self.stack[depth]
            if node.enabled != enabled:
                raise NotDeterministic(
                    f"step {depth + 1}: runnable threads {enabled}, before {node.enabled}"
                )
            return node.choice
        if depth > 0:
            parent = self.stack[depth - 1]
            used = parent.cost(parent.choice)
        else:
            used = 0
        node = _Node(enabled, last, mode, used, -1, [])
        if depth < len(self.prefix):
            forced = self.prefix[depth]
            if forced not in enabled:
                raise BadSchedule(f"step {depth + 1}: thread {forced} cannot run then")
            candidates = [forced]
            node.used, node.mode = 0, FREE  # the prefix's preemptions are free
        else:
            candidates = [
                t
                for t in default_order(enabled, last, mode)
                if self.bound is None or node.cost(t) <= self.bound
            ]
        if not candidates:
            self.pruned += 1
            return None
        node.choice, node.todo = candidates[0], candidates[1:]
        self.stack.append(node)
        return node.choice

    def stepped(self, depth: int, thread: int, accesses: tuple[AccessRecord, ...]) -> None:
        pass

    def path_cost(self) -> int:
        """The preemptions of the schedule just run (the prefix's are free)."""
        if not self.stack:
            return 0
        node = self.stack[-1]
        return node.cost(node.choice)

    def decided(self) -> int:
        """How many of the current schedule's first choices the search made (past them,
        it only followed the default order)."""
        for depth in range(len(self.stack) - 1, -1, -1):
            node = self.stack[depth]
            if node.choice != default_order(node.enabled, node.last, node.mode)[0]:
                return depth + 1
        return 0

    def backtrack(self) -> bool:
        """Move to the next schedule; False when there is none."""
        while self.stack:
            node = self.stack[-1]
            if node.todo:
                node.choice = node.todo.pop(0)
                return True
            self.stack.pop()
        return False


class Fair:
    """Follows ``prefix``, then gives each runnable thread :data:`QUANTUM` steps in turn
    (a fair continuation: no thread is starved, whatever it spins on)."""

    def __init__(self, prefix: tuple[int, ...]) -> None:
        self.prefix = prefix
        self.turn: int | None = None
        self.left = 0

    def choose(
        self, depth: int, enabled: tuple[int, ...], last: int | None, mode: int
    ) -> int | None:
        if depth < len(self.prefix) and self.prefix[depth] in enabled:
            return self.prefix[depth]
        if self.turn in enabled and self.left > 0:
            self.left -= 1
            return self.turn
        later = [t for t in enabled if self.turn is None or t > self.turn]
        self.turn = later[0] if later else enabled[0]
        self.left = QUANTUM - 1
        return self.turn

    def stepped(self, depth: int, thread: int, accesses: tuple[AccessRecord, ...]) -> None:
        pass


#: Steps each thread runs in its turn under a fair continuation.
QUANTUM = 25


def settle(runner: Runner, run: RunOutcome, decided: int, *, detail: bool = False) -> RunOutcome:
    """A run cut at the step limit, run again from its first ``decided`` choices under a
    fair continuation: its real end, or a livelock when it still does not finish."""
    if run.how != CUT:
        return run
    return fairly(runner, run.end.schedule[:decided], detail=detail)


def fairly(runner: Runner, prefix: tuple[int, ...], *, detail: bool = False) -> RunOutcome:
    """``prefix``, then each runnable thread in turn (:class:`Fair`), with room to finish
    (:data:`FAIR_FACTOR` times the step limit): its end, or a livelock when it runs past."""
    limit = runner.controller.step_limit
    with runner.step_limit_of(max(limit * FAIR_FACTOR, FAIR_STEPS, len(prefix) + limit)):
        fair = runner.run(Fair(prefix), detail=detail)
    return livelock(fair, len(prefix)) if fair.how == CUT else replace(fair, fair_from=len(prefix))


#: A fair continuation's step limit: this many times the search's, and at least FAIR_STEPS
#: (a --step-limit set low to cut long schedules must not turn them into livelocks).
FAIR_FACTOR = 2
FAIR_STEPS = 2_000


class PCT:
    """Probabilistic concurrency testing: random thread priorities and ``depth - 1``
    random points where the running thread's priority drops below all others."""

    def __init__(
        self, rng: random.Random, threads: int, length: int, depth: int = PCT_DEPTH
    ) -> None:
        order = list(range(threads))
        rng.shuffle(order)
        self.priority = {t: depth + i for i, t in enumerate(order)}
        self.changes = {rng.randrange(max(1, length)): depth - 1 - i for i in range(depth - 1)}

    def choose(
        self, depth: int, enabled: tuple[int, ...], last: int | None, mode: int
    ) -> int | None:
        if depth in self.changes and last is not None:
            self.priority[last] = self.changes[depth]
        return max(enabled, key=lambda t: (self.priority[t], -t))

    def stepped(self, depth: int, thread: int, accesses: tuple[AccessRecord, ...]) -> None:
        pass


@dataclass
class Found:
    """What one search saw."""

    ends: Counter[tuple[str, str, bool, str]] = field(default_factory=Counter)
    """How many complete runs (done, deadlock, livelock) ended each way: (label, grade,
    ok, how). Only counts are kept, so memory does not grow with the schedules run."""
    pruned: int = 0
    cut: int = 0
    hung: int = 0
    complete: bool = True
    best: RunOutcome | None = None
    first: RunOutcome | None = None
    """The first complete run (the quiz's question)."""
    passed: bool = False
    """Whether some complete run kept the invariant."""
    elapsed_s: float = 0.0
    interrupted: bool = False
    """A signal (Ctrl-C) stopped the search: it saw only what is counted here."""
    timed_out: bool = False
    """Its time limit stopped the search: it saw only what is counted here."""

    def out_of_time(self, deadline: float | None) -> bool:
        """Whether ``deadline`` (a :func:`time.monotonic` time) has passed: if so the
        search is over, incomplete."""
        if deadline is None or time.monotonic() < deadline:
            return False
        self.complete = False
        self.timed_out = True
        return True

    @property
    def schedules(self) -> int:
        return sum(self.ends.values())

    def count(self, how: str) -> int:
        return sum(n for key, n in self.ends.items() if key[3] == how)

    def stopped(self, runner: Runner, run: RunOutcome | None = None) -> bool:
        """Whether a signal came: before the next run (``runner`` says), or during ``run``
        (which then did not finish, and is not counted). If so the search is over,
        incomplete."""
        if not (runner.interrupted() if run is None else run.how == INTERRUPTED):
            return False
        self.complete = False
        self.interrupted = True
        return True

    def add(self, run: RunOutcome) -> None:
        if run.how == CUT:
            self.cut += 1
            return
        if run.how == "hung":
            self.hung += 1
            return
        if run.how == "pruned":
            self.pruned += 1
            return
        self.ends[(run.label, run.grade, run.ok, run.how)] += 1
        self.passed = self.passed or run.ok
        if self.first is None:
            self.first = run
        if run.failed and (self.best is None or _shorter(run, self.best)):
            self.best = run


def _shorter(a: RunOutcome, b: RunOutcome) -> bool:
    return (a.end.preemptions, len(a.end.schedule), a.end.schedule) < (
        b.end.preemptions,
        len(b.end.schedule),
        b.end.schedule,
    )


def dfs(
    runner: Runner,
    bound: int | None,
    *,
    limit: int = DEFAULT_LIMIT,
    prefix: tuple[int, ...] = (),
    stop: Callable[[RunOutcome], bool] | None = None,
    progress: Progress | None = None,
    deadline: float | None = None,
) -> Found:
    """Run every schedule the bounded search reaches (up to ``limit`` schedules, and until
    ``deadline``, a :func:`time.monotonic` time); ``stop`` ends the search early when it
    returns True for a run; ``progress`` is called after each.

    With a bound, the schedules are run in rounds of their preemptions (iterative context
    bounding, as CHESS does): those with none, then those with one, and so on up to the
    bound. A round walks the tree of the rounds before it again (a stateless search keeps
    no tree) but counts only its own schedules, so every schedule is counted once, and a
    failure that needs few preemptions is found before the limit is spent on schedules
    that need many."""
    began = time.perf_counter()
    found = Found()
    if not found.stopped(runner):
        warm_up(runner)
    rounds: list[int | None] = [None] if bound is None else list(range(bound + 1))
    made = 0
    for k in rounds:
        search = BoundedDFS(k, prefix)
        last_round = k == bound
        while not found.stopped(runner):
            if made >= limit:
                found.complete = False
                break
            if found.out_of_time(deadline):
                break
            run = runner.run(search)
            mine = k is None or search.path_cost() == k or (last_round and run.how == "pruned")
            if mine:
                was_cut = run.how == CUT
                if was_cut:
                    run = settle(runner, run, search.decided())
                if found.stopped(runner, run):
                    break
                found.cut += was_cut and run.how != LIVELOCK
                made += 1
                found.add(run)
                if progress is not None:
                    progress()
                if stop is not None and stop(run):
                    found.complete = False
                    break
            elif found.stopped(runner, run):
                break
            if not search.backtrack():
                break
        if not found.complete:
            break
    found.elapsed_s = time.perf_counter() - began
    return found


def warm_up(runner: Runner) -> None:
    """One run, not counted, before a search: code that fills a cache the first time it
    runs (an ABC's ``isinstance`` cache, ``re``'s compiled patterns, a lazy import) takes
    other steps then than ever after, and the search compares each run with the ones
    before it (:class:`NotDeterministic`). A runner that fitted its step limit has run
    one already."""
    if runner.serial_steps is None:
        runner.run(Serial())


def pct(
    runner: Runner,
    runs: int,
    seed: int,
    *,
    length: int = 0,
    progress: Progress | None = None,
    deadline: float | None = None,
) -> Found:
    """``runs`` PCT schedules; the i-th uses its own rng seeded from (seed, i)."""
    began = time.perf_counter()
    found = Found()
    if length <= 0 and not found.stopped(runner):
        if runner.serial_steps is None:
            runner.serial_steps = len(runner.run(Serial()).end.schedule)
        length = max(1, runner.serial_steps)
    for i in range(runs):
        if found.stopped(runner) or found.out_of_time(deadline):
            break
        rng = random.Random(f"{seed}:{i}")
        run = runner.run(PCT(rng, runner.target.threads, length))
        if run.how == CUT:
            run = settle(runner, run, len(run.end.schedule) // 2)
        if found.stopped(runner, run):
            break
        found.add(run)
        if progress is not None:
            progress()
    found.elapsed_s = time.perf_counter() - began
    return found
