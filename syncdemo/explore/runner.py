"""One exploration's machinery held together: patched primitives, the tracer, the
controller, and a :meth:`Runner.run` that executes one schedule of the real code.

Use it as a context manager: the patches live exactly as long as the ``with`` block, and
threads left parked by a schedule (deadlocked, cut, pruned) are unwound before ``run``
returns, so nothing outlives it. The block is a :func:`syncdemo.signals.polled` one: a
signal (Ctrl-C) ends the run in progress at its next switch point (``interrupted``), the
caller asks :meth:`Runner.interrupted` between runs, and a signal it did not take raises
when the block ends.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

from syncdemo import guard, signals
from syncdemo.engine.locks import Snapshot, describe_cycle, describe_graph, find_cycle
from syncdemo.explore import patching, points, scheduler, tracking
from syncdemo.explore.scheduler import Controller
from syncdemo.explore.steps import Chooser, RunEnd, Serial, StepRecord
from syncdemo.explore.target import Target
from syncdemo.results import FORBIDDEN, Outcome

#: No schedule runs longer than this many steps unless the caller says (spin loops,
#: retry loops and livelocks would otherwise run for ever): it is cut and counted as cut.
#: A runner without a given limit fits its own (:meth:`Runner.fit_step_limit`): this, or
#: :data:`FIT_FACTOR` times the length of the serial schedule, whichever is more.
STEP_LIMIT = 2_000

#: A fitted step limit is this many times the serial schedule's length (each thread run to
#: its end in turn): room for every interleaving of the same work, and for retries.
FIT_FACTOR = 2

#: The longest the serial schedule may run while a runner fits its step limit: past it,
#: the workers do not end even one after another (:class:`EndlessWork`).
PROBE_LIMIT = 50_000


class EndlessWork(RuntimeError):
    """The serial schedule (each thread run to its end in turn, without preemption) did not
    end within :data:`PROBE_LIMIT` steps: no search of it can end either."""


DEADLOCK = "deadlock"
LIVELOCK = "livelock"
CUT = "cut"
HUNG = "hung"
ERROR = "exception"


@dataclass(frozen=True)
class RunOutcome:
    """One schedule of the real code and how it ended."""

    end: RunEnd
    outcome: Outcome | None
    """None when the run was cut, pruned or hung (there is no final state to check)."""
    label: str
    grade: str
    cycle: str
    """For a deadlock: the wait-for cycle in words (or every wait, when there is none)."""
    waits: tuple[str, ...]
    states: tuple[str, ...]
    """With ``detail``: the shared state after each step ("" where the step wrote nothing)."""
    initial: str
    error: str = ""
    """When a worker raised: which thread, and what."""
    fair_from: int | None = None
    """For a livelock: the steps the search chose, after which a fair continuation ran."""

    @property
    def how(self) -> str:
        return self.end.how

    @property
    def complete(self) -> bool:
        return self.end.how in ("done", DEADLOCK, LIVELOCK)

    @property
    def ok(self) -> bool:
        return self.end.how == "done" and self.outcome is not None and self.outcome.ok

    @property
    def failed(self) -> bool:
        return self.complete and not self.ok


class Runner:
    def __init__(
        self,
        target: Target,
        granularity: str = "line",
        step_limit: int | None = None,
        reduction: bool = True,
    ) -> None:
        """``step_limit``: the most steps a schedule runs before it is cut; None fits one
        to the workload when the block is entered (:meth:`fit_step_limit`)."""
        if granularity not in points.GRANULARITIES:
            raise ValueError(f"granularity must be one of {', '.join(points.GRANULARITIES)}")
        self.target = target
        self.granularity = granularity
        self.fitted = step_limit is None
        self.serial_steps: int | None = None
        """The serial schedule's length, once a fitted runner has run it."""
        self.written: frozenset[str] = frozenset()
        """The shared state (by path) the serial schedule's steps were seen to write."""
        self.check_reads: frozenset[str] | None = None
        """The shared state (by path) the scenario's check read, in the first run checked."""
        self.controller = Controller(target.threads, granularity, step_limit or STEP_LIMIT)
        self.controller.files = frozenset(target.files)
        self.controller.reduction = reduction
        modules = list(points.iter_modules(target.files))
        codes = points.code_objects(modules, target.files, target.scenario.code_roots())
        self.tracer = points.make_tracer(granularity, target.files, codes)
        self._undo = contextlib.ExitStack()
        self._names: guard.Snapshot = {}
        self.runs = 0

    def __enter__(self) -> Runner:
        if scheduler.active() is not None:
            raise RuntimeError("another exploration is running in this process")
        with contextlib.ExitStack() as stack:  # undone in reverse order, at __exit__
            stack.enter_context(signals.polled())  # its end raises a signal no one took
            stack.enter_context(patching.patched())
            stack.enter_context(_collected_between_runs())
            scheduler.set_active(self.controller)
            stack.callback(scheduler.set_active, None)
            self.tracer.start()
            self._names = guard.snapshot()  # as patched: the code must leave them so
            self._undo = stack.pop_all()
        if self.fitted:
            try:
                self.fit_step_limit()
            except BaseException:
                self.__exit__(None, None, None)
                raise
        return self

    def fit_step_limit(self) -> None:
        """Run the serial schedule (each thread to its end in turn) once, not counted, and
        make the step limit :data:`FIT_FACTOR` times its length (at least
        :data:`STEP_LIMIT`): a workload's own length is never what cuts its schedules, so
        a cut means a thread that retries or spins, and a fair continuation that runs past
        twice the limit is a livelock, not a big workload. The run also warms caches
        (an ABC's ``isinstance`` cache, a lazy import) before any schedule is compared
        with another. Raises :class:`EndlessWork` when the serial schedule does not end."""
        ctrl = self.controller
        with self.step_limit_of(PROBE_LIMIT):
            run = self.run(Serial(), judged=False, accesses=True)
        self.runs -= 1
        self.serial_steps = len(run.end.schedule)
        self.written = frozenset(a.path for st in run.end.steps for a in st.accesses if a.write)
        if run.how == CUT:
            at = "; ".join(
                f"thread {i} at {os.path.basename(f)}:{line}"
                for i, (f, line) in sorted(run.end.at.items())
            )
            raise EndlessWork(
                f"the workers do not end even one after another ({at or 'still running'} "
                f"after {PROBE_LIMIT:,} steps): explore runs every schedule to its end, so it "
                "needs workers that finish; 'syncdemo run' runs endless ones against a timer"
            )
        ctrl.step_limit = max(STEP_LIMIT, FIT_FACTOR * len(run.end.schedule))
        # no write seen at all: the shared state is out of the tracker's sight (a module
        # global, a plain function's locals), so a loop round that "wrote nothing" may
        # have; it is an ordinary switch point then, never a spin (the serial schedule
        # itself used spins, to let a thread that waits for another's write go on)
        ctrl.spins = bool(self.written)

    @contextlib.contextmanager
    def step_limit_of(self, steps: int) -> Iterator[None]:
        """Within the block, schedules are cut after ``steps`` steps; then the limit is
        what it was."""
        ctrl = self.controller
        limit, ctrl.step_limit = ctrl.step_limit, steps
        try:
            yield
        finally:
            ctrl.step_limit = limit

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        changed = guard.restore(self._names)
        try:
            self.controller.close()
            self.tracer.stop()
        finally:
            self._undo.__exit__(t, e, tb)
        if changed and not isinstance(e, KeyboardInterrupt):  # what broke, if anything did
            raise patching.Unexplorable(
                f"{self.target.scenario.name}: its code {guard.replaced_line(changed)}"
            ) from e

    @property
    def check_unseen(self) -> bool:
        """Whether the scenario's check read none of the shared state the serial schedule
        was seen to write (it saw some): the workers then change what decides the outcome
        where the tracker cannot see it too (a module global, an object outside the shared
        state), and spin detection (a loop round that wrote nothing seen is a spin) may be
        wrong about them."""
        return (
            self.check_reads is not None
            and bool(self.written)  # else spins are off: nothing relies on the tracker
            and not (self.check_reads & self.written)
        )

    @staticmethod
    def interrupted() -> bool:
        """Whether a signal (Ctrl-C) came: stop running schedules."""
        return signals.pending() is not None

    def run(
        self,
        chooser: Chooser,
        *,
        detail: bool = False,
        judged: bool = True,
        accesses: bool = False,
    ) -> RunOutcome:
        """One schedule, as ``chooser`` picks it; ``detail``: with the values each step
        read and wrote and the state after it (``accesses``: only what each step read and
        wrote); not ``judged``: without calling the scenario's check at its end (the
        outcome is then None)."""
        ctrl = self.controller
        _collect_as_the_interpreter_would()
        ctrl.building = True
        try:
            built = self.target.build()
        finally:
            ctrl.building = False
        view = self.target.scenario.explored_view(built.state)
        initial = tracking.describe(view) if detail else ""
        states: list[str] = []

        def on_step(step: StepRecord) -> None:
            states.append(tracking.describe(view) if step.wrote else "")

        ctrl.recording = detail or accesses
        try:
            end = ctrl.run(built.works, chooser, self.tracer, on_step if detail else None)
        finally:
            ctrl.recording = False
        self.runs += 1
        refused = [e for e in end.errors.values() if isinstance(e, patching.Unexplorable)]
        if refused:
            raise refused[0]
        exits = [(i, e) for i, e in sorted(end.errors.items()) if isinstance(e, guard.HardExit)]
        if exits:  # as run says it: the code would end the process, whatever the schedule
            first, hard = exits[0]
            raise patching.Unexplorable(
                f"{self.target.scenario.name}: thread {first} failed: {guard.failure(hard)}"
            ) from hard
        if end.errors and end.how == "done":
            # a worker raised: in this schedule the code fails outright (a race can do that:
            # a check on a value another thread changed); report it as a failing outcome
            index, error = min(end.errors.items())
            what = f"thread {index} raised {type(error).__name__}: {error}"
            outcome = Outcome(0, 0, 1, {"error": what})
            label = f"{ERROR} ({type(error).__name__})"
            return RunOutcome(end, outcome, label, FORBIDDEN, "", (), tuple(states), initial, what)
        cycle: str = ""
        waits: tuple[str, ...] = ()
        if end.how == DEADLOCK:
            cycle, waits = _deadlock(end)
        if end.how not in ("done", DEADLOCK) or not judged:
            return RunOutcome(end, None, end.how, "", cycle, waits, tuple(states), initial)
        ctrl.building = True
        try:
            if self.check_reads is None:  # the first check's reads only: off the hot path after
                with tracking.noted_reads() as read:
                    outcome = self.target.check(built, cycle if end.how == DEADLOCK else None)
                self.check_reads = frozenset(read)
            else:
                outcome = self.target.check(built, cycle if end.how == DEADLOCK else None)
        finally:
            ctrl.building = False
        if end.how == DEADLOCK:
            return RunOutcome(
                end, outcome, DEADLOCK, FORBIDDEN, cycle, waits, tuple(states), initial
            )
        label = self.target.label(outcome)
        return RunOutcome(
            end, outcome, label, self.target.grade(outcome), "", (), tuple(states), initial
        )


@contextlib.contextmanager
def _collected_between_runs() -> Iterator[None]:
    """The cycle collector runs between schedules, never inside one. Left automatic, it
    runs when allocations pass a count that the runs before left behind, in whichever
    thread allocates then, with the finalizers and ``gc.callbacks`` of whatever it frees:
    code at switch points that differ from one run of a schedule to the next."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _collect_as_the_interpreter_would() -> None:
    """Between runs: collect the generation that automatic collection would have (the
    oldest whose count has reached its threshold), so that memory stays as it would."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        limit = thresholds[generation] if generation < len(thresholds) else 0
        if limit and counts[generation] >= limit:
            gc.collect(generation)
            return


def livelock(run: RunOutcome, fair_from: int) -> RunOutcome:
    """A run that went on past the step limit under a fair continuation from its first
    ``fair_from`` steps: a livelock. Its preemptions are those of those steps (the search's
    choices); the fair continuation's hand-overs are fairness, not preemptions."""
    end = run.end
    end.how = LIVELOCK
    end.preemptions = sum(step.preemption for step in end.steps[:fair_from])
    running = sorted(end.at)
    where = "; ".join(
        f"thread {i} at {os.path.basename(end.at[i][0])}:{end.at[i][1]}" for i in running
    )
    who = ", ".join(f"thread {i}" for i in running) or "the threads"
    after = f"after the first {fair_from:,} steps " if fair_from else ""
    cycle = (
        f"{who} kept running for {len(end.steps) - fair_from:,} steps {after}without "
        f"finishing, each given its turn in order (a fair scheduler): {where}"
    )
    outcome = Outcome(0, 0, 1, {"livelock": cycle})
    return RunOutcome(
        end, outcome, LIVELOCK, FORBIDDEN, cycle, (), run.states, run.initial, fair_from=fair_from
    )


def _deadlock(end: RunEnd) -> tuple[str, tuple[str, ...]]:
    """The wait-for cycle among the blocked threads, in the words of the engine's graph."""
    holders: dict[str, str] = {}
    waiting: dict[str, str] = {}
    words = []
    for index, pending in sorted(end.waits.items()):
        thread = f"thread {index}"
        target = pending.target
        name = target._name() if target is not None else pending.what
        waiting[thread] = name
        words.append(f"{thread} waits to {pending.what}")
        if index in end.owners:
            holders[name] = f"thread {end.owners[index]}"
    snap = Snapshot(holders, waiting, frozenset(waiting))
    cycle = find_cycle(snap)
    if cycle:
        return describe_cycle(snap, cycle), tuple(words)
    return describe_graph(snap) or "; ".join(words), tuple(words)
