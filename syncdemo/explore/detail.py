"""Turns runs into report data: the outcome table, a schedule replayed step by step with
its lines and values, the step from which the invariant is unreachable, and the searches
that back the report's claims (does it fail at ``gil`` granularity too? how many
schedules without reduction?)."""

from __future__ import annotations

import linecache
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from syncdemo.explore import search
from syncdemo.explore.results import GIL, OutcomeCount, RealExecution, RealStep, SourceLine, Value
from syncdemo.explore.runner import DEADLOCK, LIVELOCK, Runner, RunOutcome
from syncdemo.explore.steps import AccessRecord, Pending
from syncdemo.explore.target import Target
from syncdemo.results import RunConfig
from syncdemo.scenarios.base import Scenario

#: Makes the replay command of a schedule.
Command = Callable[[tuple[int, ...]], str]

#: The last steps of a livelock a report shows (the loop it is stuck in).
LIVELOCK_SHOWN = 30

#: Runs the search for the step from which the invariant is unreachable may make.
UNREACHABLE_BUDGET = 3_000


def pending_words(p: Pending) -> str:
    if p.kind == "point":
        return "run its next line"
    return p.what or p.kind


def outcomes(
    target: Target, counts: Counter[tuple[str, str, bool, str]]
) -> tuple[OutcomeCount, ...]:
    total = sum(counts.values())
    ordered = sorted(
        counts.items(), key=lambda kv: (kv[0][3] != "done", not kv[0][2], number(kv[0][0]))
    )
    return tuple(
        OutcomeCount(
            label=label,
            count=n,
            frequency=n / total if total else 0.0,
            grade=grade,
            meaning=ENDS.get(how) or target.meaning(grade),
            ok=ok,
            deadlock=how == DEADLOCK,
        )
        for (label, grade, ok, how), n in ordered
    )


#: What a run that did not simply finish means.
ENDS = {
    DEADLOCK: "every unfinished thread waits for another: none can go on",
    LIVELOCK: "the threads keep running but never finish, even each given its turn",
}


def number(label: str) -> tuple[int, str]:
    digits = label.replace(",", "")
    return (int(digits), "") if digits.lstrip("-").isdigit() else (0, label)


def unreachable_from(
    runner: Runner,
    best: RunOutcome,
    bound: int | None,
    progress: search.Progress | None = None,
    deadline: float | None = None,
) -> int | None:
    """The fewest steps of ``best`` after which no continuation keeps the invariant
    (within the bound), found by bisection; None if the budget ran out (its runs, or the
    ``deadline``), or a signal came."""
    schedule = best.end.schedule

    def can_pass(n: int) -> bool | None:
        found = search.dfs(
            runner,
            bound,
            limit=UNREACHABLE_BUDGET,
            prefix=schedule[:n],
            stop=lambda r: r.ok,
            progress=progress,
            deadline=deadline,
        )
        if found.passed:
            return True
        return False if found.complete else None

    low, high = 0, len(schedule)  # can_pass(0): unknown, but a failing run exists anyway
    while high - low > 1:
        mid = (low + high) // 2
        verdict = can_pass(mid)
        if verdict is None:
            return None
        if verdict:
            low = mid
        else:
            high = mid
    return high


def detail(
    runner: Runner,
    schedule: tuple[int, ...],
    command: Command,
    unreachable: int | None,
    fair_from: int | None = None,
) -> RealExecution:
    """``schedule`` replayed with the values each step read and wrote. A livelock found
    by a search (``fair_from``: the steps it chose) is run again as it was found: those
    steps, then the fair continuation. A replay that runs past the step limit is treated
    as a search's run is: the fair continuation from the end of ``schedule`` tells a
    livelock from a thread the replay's own order starved."""
    if fair_from is not None:
        run = search.fairly(runner, schedule[:fair_from], detail=True)
        return execution(runner, run, command, unreachable, fair_from)
    with runner.step_limit_of(max(runner.controller.step_limit, len(schedule))):
        run = runner.run(search.Replay(schedule), detail=True)
    run = search.settle(runner, run, len(schedule), detail=True)
    return execution(runner, run, command, unreachable, len(schedule))


def execution(
    runner: Runner,
    run: RunOutcome,
    command: Command,
    unreachable: int | None,
    given: int,
    *,
    recorded: bool = True,
) -> RealExecution:
    """``run`` as report data; ``recorded``: it was run with ``detail`` (the values each
    step read and wrote, the state after it), else only its lines are known (a search's
    own run), and so not the write that broke the invariant."""
    steps = []
    broke_at = None
    if run.failed:
        if run.how in ENDS:
            broke_at = len(run.end.steps)
        elif not recorded:
            pass
        else:
            writes = [i for i, s in enumerate(run.end.steps, 1) if s.wrote]
            broke_at = writes[-1] if writes else len(run.end.steps)
    for i, step in enumerate(run.end.steps, 1):
        steps.append(
            RealStep(
                index=i,
                thread=step.thread,
                lines=tuple(source(f, n) for f, n in step.lines),
                values=tuple(value(a) for a in step.accesses),
                state=run.states[i - 1] if i - 1 < len(run.states) else "",
                preemption=step.preemption,
                timed_out=step.timed_out,
                unreachable=unreachable is not None and i >= unreachable,
                broke=i == broke_at,
            )
        )
    elided = max(0, len(steps) - LIVELOCK_SHOWN) if run.how == LIVELOCK else 0
    return RealExecution(
        schedule=run.end.schedule,
        steps=tuple(steps[elided:]),
        elided=elided,
        outcome=run.outcome,
        label=run.label,
        grade=run.grade,
        meaning=ENDS.get(run.how) or runner.target.meaning(run.grade),
        how=run.how,
        cycle=run.cycle,
        waits=run.waits,
        preemptions=run.end.preemptions,
        granularity=runner.granularity,
        initial=run.initial,
        replay=command(run.end.schedule[: run.fair_from] if run.fair_from else run.end.schedule),
        given=given,
        error=run.error,
        recorded=recorded,
        fair_from=run.fair_from,
    )


def with_needs(e: RealExecution, needs: str) -> RealExecution:
    return replace(e, needs=needs)


def source(filename: str, lineno: int | None) -> SourceLine:
    """The line ``lineno`` of ``filename``; a frame between lines (CPython 3.10 has no line
    number for some instructions, e.g. inside ``traceback``'s code) has 0 and no text."""
    if lineno is None:
        return SourceLine(os.path.basename(filename), 0, "")
    return SourceLine(
        os.path.basename(filename), lineno, linecache.getline(filename, lineno).strip()
    )


def value(a: AccessRecord) -> Value:
    return Value("write" if a.write else "read", a.path, a.value)


def fails_at_gil(
    scenario: Scenario[Any],
    config: RunConfig,
    bound: int | None,
    limit: int,
    step_limit: int | None,
    progress: search.Progress | None = None,
    reduction: bool = True,
    deadline: float | None = None,
) -> bool | None:
    """Whether a search at ``gil`` granularity finds a failure too; None when it stopped
    (its --limit, the ``deadline``, a signal) before it found one or ran every schedule:
    a search that did not finish cannot say that the GIL rules the failure out."""
    target = Target(scenario, config)
    with Runner(target, GIL, step_limit, reduction) as runner:
        found = search.dfs(
            runner,
            bound,
            limit=limit,
            stop=lambda r: r.failed,
            progress=progress,
            deadline=deadline,
        )
    if found.best is not None:
        return True
    return False if found.complete and not found.cut else None
