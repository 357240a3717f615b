"""The entry points: explore a scenario's real code, replay one schedule, and the small
pieces ``play`` needs (what each thread would do next after a prefix, a hint).

Every function builds a :class:`~syncdemo.explore.runner.Runner` (patched primitives,
tracer, controller) for the duration of the call and returns plain data from results.py.

Ctrl-C (or SIGTERM) never lands in the middle of a schedule: each function runs in a
:func:`syncdemo.signals.polled` block, the run in progress stops at its next switch point
and the search after it. :func:`explore` then raises :class:`ExploreInterrupted` with what
it explored so far; the others raise the plain ``KeyboardInterrupt`` once their threads are
unwound.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from syncdemo import signals
from syncdemo.explore import detail, search
from syncdemo.explore.results import (
    GIL,
    PARALLEL,
    RealExecution,
    RealExploration,
    SourceLine,
)
from syncdemo.explore.runner import DEADLOCK, LIVELOCK, Runner, RunOutcome
from syncdemo.explore.steps import INTERRUPTED
from syncdemo.explore.target import Target
from syncdemo.results import RunConfig
from syncdemo.scenarios.base import Scenario

#: The default --max-preemptions: most concurrency bugs need one or two (CHESS).
DEFAULT_MAX_PREEMPTIONS = 2

Command = detail.Command

#: The searches of :func:`explore`, as a progress display names them: the search itself,
#: the one for the step after which there is no way back, the check at ``gil`` granularity.
SEARCH = "search"
NO_WAY_BACK = "no way back"
AT_GIL = "gil"
#: Not a search: told once, before the search, how long a schedule is (the serial one's
#: steps): with the rate, what a search of this size costs.
SIZE = "size"
#: Told after each schedule a search of :func:`explore` counts: which search, and how
#: many schedules it has run so far.
OnProgress = Callable[[str, int], None]


class ExploreInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, SIGHUP) during :func:`explore`; ``partial`` is what it explored
    before (``interrupted`` is set, and ``complete`` unless the search had ended)."""

    def __init__(self, partial: RealExploration) -> None:
        super().__init__()
        self.partial = partial


class SourceChanged(ValueError):
    """A schedule made on other code than the code there is now."""


def format_schedule(schedule: tuple[int, ...], fingerprint: str = "") -> str:
    """``0,1,1,0``, with ``@fingerprint`` when given (see :meth:`Target.fingerprint`); a run
    of the same thread is written ``0*12`` (every switch point is a step, so runs are long)."""
    parts = []
    i = 0
    while i < len(schedule):
        j = i
        while j < len(schedule) and schedule[j] == schedule[i]:
            j += 1
        parts.append(
            f"{schedule[i]}*{j - i}" if j - i > 2 else ",".join([str(schedule[i])] * (j - i))
        )
        i = j
    text = ",".join(parts)
    return f"{text}@{fingerprint}" if fingerprint else text


def parse_schedule(text: str) -> tuple[tuple[int, ...], str]:
    """``"0,1,1,0@1a2b3c4d"`` -> ((0, 1, 1, 0), "1a2b3c4d"); the fingerprint is optional."""
    steps, _, fingerprint = text.strip().partition("@")
    try:
        schedule: tuple[int, ...] = ()
        for part in steps.replace(" ", "").split(","):
            if part == "":
                continue
            thread, star, count = part.partition("*")
            times = int(count) if star else 1
            if times < 1 or times > 1_000_000:
                raise ValueError
            schedule += (int(thread),) * times
    except ValueError:
        raise ValueError(
            "a schedule is thread numbers separated by commas (T*N for N steps of thread T), "
            f"not {text!r}"
        ) from None
    if any(t < 0 for t in schedule):
        raise ValueError("thread numbers in a schedule start at 0")
    return schedule, fingerprint


def replay_command(
    config: RunConfig,
    granularity: str,
    fingerprint: str = "",
    name: str = "",
    reduction: bool = True,
) -> Command:
    """The command line that replays a schedule of this exploration; ``name`` is how the
    user named the scenario (a user's FILE.py), when not by its registered name."""

    def command(schedule: tuple[int, ...]) -> str:
        parts = [
            f"syncdemo explore {name or config.scenario} --sync {config.sync}",
            f"-t {config.threads} -n {config.iterations}",
        ]
        if config.seed:
            parts.append(f"--seed {config.seed}")
        if granularity != "line":
            parts.append(f"--granularity {granularity}")
        if not reduction:
            parts.append("--no-reduction")
        parts.append(f"--schedule {format_schedule(schedule, fingerprint)}")
        return " ".join(parts)

    return command


def explore(
    scenario: Scenario[Any],
    config: RunConfig,
    *,
    granularity: str = "line",
    max_preemptions: int | None = DEFAULT_MAX_PREEMPTIONS,
    limit: int = search.DEFAULT_LIMIT,
    random: int | None = None,
    seed: int = 0,
    step_limit: int | None = None,
    classify: bool = True,
    command: Command | None = None,
    name: str = "",
    on_progress: OnProgress | None = None,
    reduction: bool = True,
    time_limit: float | None = None,
) -> RealExploration:
    """Search the schedules of the real workers; report outcomes and the shortest failing
    schedule (fewest preemptions, then fewest steps), replayed in detail.

    ``random=N`` runs N PCT schedules (``seed``) instead of the bounded search. With
    ``classify``, a failure found at ``line`` or ``opcode`` is checked against a search at
    ``gil`` granularity with the same bound, to say whether the GIL allows it. Without
    ``reduction``, every switch point is a choice, even one reached from the last through
    only local instructions (``--no-reduction``: the plain search, to compare with).

    ``time_limit`` (seconds) stops the search, and the checks after it, with what was
    found by then (incomplete: never a proof).

    A signal (Ctrl-C) stops it at once, whichever search or replay runs then: it raises
    :class:`ExploreInterrupted` with what was explored so far."""
    with signals.polled():
        exploration = _explore(
            scenario,
            config,
            granularity=granularity,
            max_preemptions=max_preemptions,
            limit=limit,
            random=random,
            seed=seed,
            step_limit=step_limit,
            classify=classify,
            command=command,
            name=name,
            on_progress=on_progress,
            reduction=reduction,
            time_limit=time_limit,
        )
        if signals.take() is not None or exploration.interrupted:
            raise ExploreInterrupted(replace(exploration, interrupted=True))
    return exploration


def _explore(
    scenario: Scenario[Any],
    config: RunConfig,
    *,
    granularity: str,
    max_preemptions: int | None,
    limit: int,
    random: int | None,
    seed: int,
    step_limit: int | None,
    classify: bool,
    command: Command | None,
    name: str,
    on_progress: OnProgress | None,
    reduction: bool,
    time_limit: float | None,
) -> RealExploration:
    target = Target(scenario, config)
    command = command or replay_command(
        target.config, granularity, target.fingerprint(), name, reduction
    )
    began = time.perf_counter()
    deadline = None if time_limit is None else time.monotonic() + time_limit
    with Runner(target, granularity, step_limit, reduction) as runner:
        steps_each = runner.controller.step_limit
        if on_progress is not None and runner.serial_steps:
            on_progress(SIZE, runner.serial_steps)
        if random is not None:
            found = search.pct(
                runner, random, seed, progress=_counter(on_progress, SEARCH), deadline=deadline
            )
            mode = "random"
        else:
            found = search.dfs(
                runner,
                max_preemptions,
                limit=limit,
                progress=_counter(on_progress, SEARCH),
                deadline=deadline,
            )
            mode = "exhaustive" if max_preemptions is None else "bounded"
        counterexample = None
        if found.best is not None:
            best = found.best
            unreachable = None
            if mode != "random" and found.complete and best.how != LIVELOCK:
                unreachable = detail.unreachable_from(
                    runner, best, max_preemptions, _counter(on_progress, NO_WAY_BACK), deadline
                )
            counterexample = _shown(runner, best, command, unreachable)
        # a built-in's check also reads what each thread recorded of its own work (the
        # harness keeps that, not the shared state): the warning is for the user's code
        check_unseen = runner.check_unseen and scenario.origin != "syncdemo"
    elapsed = time.perf_counter() - began
    gil_found = None
    if counterexample is not None:
        if granularity == GIL:
            gil_found = True
        elif classify and signals.pending() is None:
            gil_found = detail.fails_at_gil(
                scenario,
                config,
                max_preemptions,
                limit,
                step_limit,
                _counter(on_progress, AT_GIL),
                reduction,
                deadline,
            )
        if gil_found is not None:
            needs = GIL if gil_found else PARALLEL
            counterexample = detail.with_needs(counterexample, needs)
    return RealExploration(
        mode=mode,
        granularity=granularity,
        max_preemptions=max_preemptions,
        reduction=reduction,
        schedules=found.schedules,
        pruned=found.pruned,
        cut=found.cut,
        hung=found.hung,
        elapsed_s=elapsed,
        complete=found.complete,
        limit=limit,
        step_limit=steps_each,
        outcomes=detail.outcomes(target, found.ends),
        deadlocks=found.count(DEADLOCK),
        livelocks=found.count(LIVELOCK),
        counterexample=counterexample,
        seed=seed if random is not None else None,
        runs=random or 0,
        raw=None,
        gil_found=gil_found,
        interrupted=found.interrupted or signals.pending() is not None,
        time_limit=time_limit,
        timed_out=found.timed_out,
        check_unseen=check_unseen,
    )


def _shown(
    runner: Runner, best: RunOutcome, command: Command, unreachable: int | None
) -> RealExecution:
    """The failing schedule ``best``, replayed in detail; after a signal (before that
    replay, or during it) the search's own run of it, whose values were not recorded."""
    if not runner.interrupted():
        shown = detail.detail(runner, best.end.schedule, command, unreachable, best.fair_from)
        if shown.how != INTERRUPTED:
            return shown
    return detail.execution(
        runner, best, command, unreachable, len(best.end.schedule), recorded=False
    )


def _counter(on_progress: OnProgress | None, stage: str) -> search.Progress | None:
    """A search's progress callback: tells ``on_progress`` how many it has run so far."""
    if on_progress is None:
        return None
    made = itertools.count(1)

    def tick() -> None:
        on_progress(stage, next(made))

    return tick


def replay(
    scenario: Scenario[Any],
    config: RunConfig,
    schedule: tuple[int, ...],
    *,
    granularity: str = "line",
    step_limit: int | None = None,
    command: Command | None = None,
    fingerprint: str = "",
    name: str = "",
    reduction: bool = True,
) -> RealExecution:
    """Run one schedule (then on without preemption) and show every step.
    Raises :class:`~syncdemo.explore.search.BadSchedule` for a thread that cannot run,
    and :class:`SourceChanged` when ``fingerprint`` is not that of the code there now."""
    target = Target(scenario, config)
    now = target.fingerprint()
    if fingerprint and fingerprint != now:
        files = ", ".join(sorted(os.path.basename(f) for f in target.files))
        raise SourceChanged(
            f"{files} changed since this schedule was found (fingerprint {fingerprint}, now "
            f"{now}): its steps would not be the ones shown then; explore again"
        )
    command = command or replay_command(target.config, granularity, now, name, reduction)
    with Runner(target, granularity, step_limit, reduction) as runner:
        run = detail.detail(runner, schedule, command, None)
    return run


@dataclass(frozen=True)
class Position:
    """Where a prefix of moves leaves the threads (for ``play``)."""

    execution: RealExecution
    """The prefix itself, replayed in detail (its outcome is that of the prefix's end)."""
    runnable: tuple[int, ...]
    """The threads that can take the next step (empty: the run is over)."""
    next: dict[int, str]
    """What each unfinished thread waits to do: "run its next line", "start", or the
    operation it is about to do ("acquire counter.lock"); see ``runnable`` for whether it
    can."""
    lines: dict[int, SourceLine]
    """The line each unfinished thread stands at (its next line, or the one with the
    operation it waits to do)."""
    over: bool


class _StopAfter(search.Replay):
    def __init__(self, schedule: tuple[int, ...]) -> None:
        super().__init__(schedule)
        self.runnable: tuple[int, ...] = ()

    def choose(
        self, depth: int, enabled: tuple[int, ...], last: int | None, mode: int
    ) -> int | None:
        if depth >= len(self.schedule):
            self.runnable = enabled
            return None
        return super().choose(depth, enabled, last, mode)


def position(
    scenario: Scenario[Any],
    config: RunConfig,
    moves: tuple[int, ...],
    *,
    granularity: str = "line",
    step_limit: int | None = None,
    name: str = "",
) -> Position:
    """Play ``moves`` and stop: which threads may move next, and what each waits for."""
    target = Target(scenario, config)
    command = replay_command(target.config, granularity, name=name)
    with Runner(target, granularity, step_limit) as runner:
        chooser = _StopAfter(moves)
        run = runner.run(chooser, detail=True)
        waits = {i: detail.pending_words(p) for i, p in run.end.waits.items()}
        lines = {i: detail.source(f, n) for i, (f, n) in run.end.at.items()}
        execution = detail.execution(runner, run, command, None, len(moves))
    over = run.how != "pruned"
    return Position(execution, () if over else chooser.runnable, waits, lines, over)


def hint(
    scenario: Scenario[Any],
    config: RunConfig,
    moves: tuple[int, ...],
    *,
    granularity: str = "line",
    max_preemptions: int | None = DEFAULT_MAX_PREEMPTIONS,
    limit: int = search.DEFAULT_LIMIT,
) -> tuple[int, ...] | None:
    """A failing schedule that starts with ``moves`` (its next move is the hint), or None
    when no continuation within ``max_preemptions`` more preemptions breaks the invariant."""
    target = Target(scenario, config)
    with Runner(target, granularity) as runner:
        found = search.dfs(
            runner, max_preemptions, limit=limit, prefix=moves, stop=lambda r: r.failed
        )
    return found.best.end.schedule if found.best is not None else None


def random_schedule(
    scenario: Scenario[Any],
    config: RunConfig,
    seed: int,
    *,
    granularity: str = "line",
    name: str = "",
) -> RealExecution:
    """One PCT schedule of the real code (seeded), replayed in detail: the quiz's question."""
    target = Target(scenario, config)
    with Runner(target, granularity) as runner:
        found = search.pct(runner, 1, seed)
    schedule = found.first.end.schedule if found.first is not None else ()
    return replay(scenario, config, schedule, granularity=granularity, name=name)
