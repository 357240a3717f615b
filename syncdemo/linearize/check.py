"""Try plans of calls under the explorer until one has a schedule whose history no
sequential order explains; minimize it by dropping calls while it still fails.

Each plan is searched with the explorer's bounded DFS (rounds of 0, 1, ... preemptions,
stopping at the first failing schedule); the smallest failing plan is then explored by
:func:`syncdemo.explore.explorer.explore` itself, whose counterexample (the shortest
failing schedule, and the command that replays it) is what the report shows.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncdemo import signals
from syncdemo.engine.config import resolve
from syncdemo.explore import explorer, search
from syncdemo.explore.results import RealExecution
from syncdemo.explore.runner import Runner
from syncdemo.explore.target import Target
from syncdemo.linearize import harness
from syncdemo.linearize.calls import Call, Result, plan_text
from syncdemo.linearize.history import History, Op, Plan, orders, sequential

#: How many of the sequential orders a failure shows (a minimized history has few).
SHOWN_ORDERS = 8


@dataclass(frozen=True)
class Settings:
    threads: int = 2
    calls: int = 2
    scenarios: int = 20
    seed: int = 0
    max_preemptions: int | None = explorer.DEFAULT_MAX_PREEMPTIONS
    granularity: str = "line"
    limit: int = search.DEFAULT_LIMIT
    """The most schedules one plan's search runs."""
    time_limit: float | None = None
    minimize: bool = True


@dataclass(frozen=True)
class Failure:
    plan: Plan
    history: History
    orders: tuple[tuple[tuple[Op, ...], tuple[Result, ...]], ...]
    """Some of the orders that respect real time, each with its sequential results."""
    all_orders: int
    found_in: Plan
    """The plan the search first failed on, before minimizing."""
    execution: RealExecution | None
    """The failing schedule as the explorer shows it (None when not replayed)."""
    replay: str

    def to_dict(self) -> dict[str, Any]:
        e = self.execution
        return {
            "calls": plan_text(self.plan),
            "history": [o.to_dict() for o in self.history.ops],
            "sequential_orders": [
                {
                    "order": [f"t{o.thread} {o.call.text}" for o in order],
                    "results": [r.text for r in results],
                    "differs": [
                        f"t{o.thread} {o.call.text}"
                        for o, r in zip(order, results, strict=True)
                        if r != o.result
                    ],
                }
                for order, results in self.orders
            ],
            "sequential_orders_total": self.all_orders,
            "found_in": plan_text(self.found_in),
            "schedule": list(e.schedule) if e is not None else None,
            "steps": len(e.schedule) if e is not None else None,
            "preemptions": e.preemptions if e is not None else None,
            "replay": self.replay,
        }


@dataclass(frozen=True)
class Checked:
    """What ``syncdemo check`` covered and found."""

    target: str
    operations: tuple[Call, ...]
    settings: Settings
    plans: tuple[Plan, ...]
    """Every plan whose schedules were searched (minimizing's included)."""
    schedules: int
    complete: bool
    """Every plan's search ran every schedule within the bound (no --limit, no time limit)."""
    elapsed_s: float
    failure: Failure | None = None
    stopped_by: str = ""
    tried: int = 0
    """Plans searched before the failure (or all of them), minimizing's not counted."""
    minimizing: int = 0

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "target": self.target,
            "linearizable": self.ok,
            "threads": s.threads,
            "calls_per_thread": s.calls,
            "operations": [c.text for c in self.operations],
            "max_preemptions": s.max_preemptions,
            "granularity": s.granularity,
            "seed": s.seed,
            "scenarios": self.tried,
            "scenarios_minimizing": self.minimizing,
            "schedules": self.schedules,
            "complete": self.complete,
            "stopped_by": self.stopped_by,
            "elapsed_s": round(self.elapsed_s, 3),
            "failure": self.failure.to_dict() if self.failure is not None else None,
        }


def plans(ops: Sequence[Call], threads: int, calls: int, count: int, seed: int) -> Iterator[Plan]:
    """Up to ``count`` different plans of ``threads`` × ``calls`` calls from ``ops``: all
    of them when there are few, else a seeded sample; a plan and the same plan with its
    threads in another order are one."""
    rng = random.Random(seed)
    seen: set[tuple[tuple[Call, ...], ...]] = set()
    total = len(ops) ** (threads * calls)
    if total <= 50_000:
        every = list(itertools.product(ops, repeat=threads * calls))
        rng.shuffle(every)
        source: Iterator[Sequence[Call]] = iter(every)
    else:
        source = (tuple(rng.choice(ops) for _ in range(threads * calls)) for _ in range(count * 50))
    made = 0
    for flat in source:
        plan = tuple(tuple(flat[t * calls : (t + 1) * calls]) for t in range(threads))
        key = tuple(sorted(plan, key=lambda t: [c.text for c in t]))
        if key in seen:
            continue
        seen.add(key)
        yield plan
        made += 1
        if made >= count:
            return


def smaller(plan: Plan) -> Iterator[Plan]:
    """``plan`` with one call dropped (a thread left with none goes), keeping two threads."""
    for t, thread in enumerate(plan):
        for i in range(len(thread)):
            rest = thread[:i] + thread[i + 1 :]
            fewer = tuple(x if u != t else rest for u, x in enumerate(plan) if u != t or rest)
            if len(fewer) >= 2:
                yield fewer


@dataclass
class _Run:
    """One check's bookkeeping while it runs."""

    settings: Settings
    make: Callable[[], Any]
    target: type
    name: str
    deadline: float | None
    searched: list[Plan] = field(default_factory=list)
    schedules: int = 0
    complete: bool = True
    stopped_by: str = ""

    def scenario(self, plan: Plan) -> harness.CheckScenario:
        tree = sequential(self.make, plan)
        return harness.scenario(self.target, self.make, plan, tree, self.name)

    def fails(self, plan: Plan) -> bool:
        """Search ``plan``'s schedules up to the first whose history is not linearizable."""
        scenario = self.scenario(plan)
        config = resolve(scenario, purpose="explore")
        self.searched.append(plan)
        with Runner(Target(scenario, config), self.settings.granularity) as runner:
            found = search.dfs(
                runner,
                self.settings.max_preemptions,
                limit=self.settings.limit,
                stop=lambda r: r.failed,
                deadline=self.deadline,
            )
        self.schedules += found.schedules
        if signals.take() is not None or found.interrupted:
            raise KeyboardInterrupt
        failed = found.best is not None
        if not failed and not found.complete:
            self.complete = False
            self.stopped_by = "the time limit" if found.timed_out else "--limit"
        return failed

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


def check(
    target: type,
    make: Callable[[], Any],
    ops: Sequence[Call],
    name: str,
    settings: Settings,
    plan: Plan | None = None,
) -> Checked:
    """Search plans of calls (``plan`` alone, when given) for a history that is not
    linearizable; minimize the first found. Raises KeyboardInterrupt on a signal."""
    began = time.perf_counter()
    deadline = None if settings.time_limit is None else time.monotonic() + settings.time_limit
    run = _Run(settings, make, target, name, deadline)
    failing: Plan | None = None
    tried = 0
    with signals.polled():
        candidates = (
            [plan]
            if plan is not None
            else plans(ops, settings.threads, settings.calls, settings.scenarios, settings.seed)
        )
        for candidate in candidates:
            if run.out_of_time():
                run.complete, run.stopped_by = False, "the time limit"
                break
            tried += 1
            if run.fails(candidate):
                failing = candidate
                break
        if failing is None:
            return Checked(
                name,
                tuple(ops),
                settings,
                tuple(run.searched),
                run.schedules,
                run.complete,
                time.perf_counter() - began,
                stopped_by=run.stopped_by,
                tried=tried,
            )
        smallest = _minimized(run, failing) if settings.minimize else failing
        failure = _failure(run, smallest, failing)
    return Checked(
        name,
        tuple(ops),
        settings,
        tuple(run.searched),
        run.schedules,
        run.complete,
        time.perf_counter() - began,
        failure=failure,
        tried=tried,
        minimizing=len(run.searched) - tried,
    )


def _minimized(run: _Run, plan: Plan) -> Plan:
    """Drop one call at a time while the plan still fails (a local minimum: no single
    call can go), within the time limit."""
    changed = True
    while changed and not run.out_of_time():
        changed = False
        for fewer in smaller(plan):
            if run.out_of_time():
                break
            if run.fails(fewer):
                plan, changed = fewer, True
                break
    return plan


def replay_command(
    name: str, plan: Plan, settings: Settings
) -> Callable[[tuple[int, ...], str], str]:
    def command(schedule: tuple[int, ...], fingerprint: str = "") -> str:
        parts = [f"syncdemo check {name} --calls {_quoted(plan_text(plan))}"]
        if settings.granularity != "line":
            parts.append(f"--granularity {settings.granularity}")
        parts.append(f"--schedule {explorer.format_schedule(schedule, fingerprint)}")
        return " ".join(parts)

    return command


def _quoted(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _failure(run: _Run, plan: Plan, found_in: Plan) -> Failure:
    """The smallest failing plan, explored by the explorer itself: its shortest failing
    schedule, the history of that schedule, and the sequential orders it cannot match."""
    scenario = run.scenario(plan)
    config = resolve(scenario, purpose="explore")
    fingerprint = Target(scenario, config).fingerprint()
    command = replay_command(run.name, plan, run.settings)
    try:
        exploration = explorer.explore(
            scenario,
            config,
            granularity=run.settings.granularity,
            max_preemptions=run.settings.max_preemptions,
            limit=run.settings.limit,
            classify=False,
            command=lambda s: command(s, fingerprint),
            name=run.name,
        )
    except explorer.ExploreInterrupted:
        signals.take()
        raise KeyboardInterrupt from None
    run.schedules += exploration.schedules
    example = exploration.counterexample
    history = scenario.found.get(example.check) if example is not None else None
    if example is None or history is None:  # cannot be: the search failed on this plan
        raise RuntimeError(f"the failing plan {plan_text(plan)} passed when explored again")
    tree = sequential(run.make, plan)
    shown, total = orders(history, tree, SHOWN_ORDERS)
    return Failure(plan, history, tuple(shown), total, found_in, example, example.replay)


def replay(
    target: type,
    make: Callable[[], Any],
    name: str,
    plan: Plan,
    schedule: tuple[int, ...],
    fingerprint: str,
    settings: Settings,
) -> tuple[RealExecution, History | None, Failure | None]:
    """One schedule of ``plan`` (then on without preemption), step by step: its history,
    and the failure when it is not linearizable. Raises explorer.SourceChanged and
    search.BadSchedule as explorer.replay does."""
    tree = sequential(make, plan)
    scenario = harness.scenario(target, make, plan, tree, name)
    config = resolve(scenario, purpose="explore")
    command = replay_command(name, plan, settings)
    now = Target(scenario, config).fingerprint()
    run = explorer.replay(
        scenario,
        config,
        schedule,
        granularity=settings.granularity,
        fingerprint=fingerprint,
        command=lambda s: command(s, now),
        name=name,
    )
    history = scenario.latest[0] if scenario.latest else None
    failure = None
    if history is not None and run.check:
        shown, total = orders(history, tree, SHOWN_ORDERS)
        failure = Failure(plan, history, tuple(shown), total, plan, run, run.replay)
    return run, history, failure
