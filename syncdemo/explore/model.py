"""The step language of ``syncdemo explore``: a scenario's workers as atomic steps.

A :class:`Model` is one :class:`Program` per thread over a dict of shared variables. A
program is a list of :class:`Step` s: each step is atomic (nothing else runs during it),
touches the shared state (read, write, acquire, release, wait, put, get...) and may be
*blocked* (a lock held by another thread, a condition that does not hold yet). Between
two steps any other thread may run; that is the whole point.

Control flow that only looks at a thread's own registers (``if the count I read was 0``)
is not a step: a step may name the label to continue at (``branch``). A polling loop
(``while count == 0: sleep(0)``) is one step that is blocked until its condition holds:
an iteration that sees nothing new changes nothing, so leaving it out loses no outcome
and keeps the schedules finite.

States must compare equal when they are equal, so that the explorer can cache them: a
step clears the registers it no longer needs (``clear``), and bookkeeping that is not
real shared state (how many increments were done, which items were handled) lives in
*ghost* variables that the step table does not show.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncdemo.results import Outcome

Shared = dict[str, Any]
Local = dict[str, Any]
Do = Callable[[Shared, Local], str]
Ready = Callable[[Shared, Local], bool]
Branch = Callable[[Local], "str | None"]

#: The label every program may jump to: the thread has finished.
END = "end"


@dataclass(frozen=True)
class Step:
    """One atomic step of one thread."""

    kind: str
    """read, write, acquire, release, wait, put, get, arrive, pass, ..."""
    target: str
    """The shared variable, lock, condition, queue or barrier it touches."""
    do: Do
    """Carries the step out on (copies of) the shared state and the thread's registers
    and says what it did, with the values ("read 3")."""
    hidden: str
    """What it does without the values, for ``--quiz`` ("read value")."""
    ready: Ready | None = None
    """None: always enabled. Otherwise the step is blocked while this is False."""
    waits_for: Callable[[Shared, Local], str] | None = None
    """While blocked: what the thread waits for, in words (for deadlock reports)."""
    branch: Branch | None = None
    """After the step: the label to continue at (None: the next step)."""


@dataclass(frozen=True)
class Program:
    """What one thread does, as steps; ``labels`` name jump targets."""

    thread: int
    role: str
    steps: tuple[Step, ...]
    labels: Mapping[str, int]
    registers: tuple[str, ...]

    def target(self, label: str) -> int:
        return len(self.steps) if label == END else self.labels[label]


@dataclass(frozen=True)
class Model:
    """A scenario's workload as steps: the programs, the shared state, how to judge it."""

    scenario: str
    sync: str
    programs: tuple[Program, ...]
    initial: Mapping[str, Hashable]
    """Every shared variable (real and ghost) with its starting value."""
    shown: tuple[str, ...]
    """The real shared variables, in the order the step table shows them."""
    outcome: Callable[[Mapping[str, Any]], Outcome]
    """The scenario's check, on a final state (the same numbers ``run`` reports)."""
    label: Callable[[Mapping[str, Any]], str]
    """An outcome in a few words, for the outcome table ("1", "lost 1, duplicated 1")."""
    outcome_name: str = "outcome"
    show: Callable[[Mapping[str, Any]], str] | None = None
    """The shared state in a few words; None: ``name=value`` for each shown variable."""
    violation: Callable[[Mapping[str, Any]], str | None] | None = None
    """Checked after every step: why the invariant is broken by now, or None. The first
    step after which it says so is the one the step table highlights."""
    question: str = "Does the invariant hold at the end (yes or no)?"
    answer: Callable[[Mapping[str, Any]], str] | None = None
    """The quiz answer for a final state; None: "yes" if the invariant held, else "no"."""
    notes: tuple[str, ...] = ()
    """What the model leaves out or simplifies, in words (shown by ``explore``)."""

    @property
    def threads(self) -> int:
        return len(self.programs)

    def describe(self, shared: Mapping[str, Any]) -> str:
        if self.show is not None:
            return self.show(shared)
        return " ".join(f"{name}={_fmt(shared[name])}" for name in self.shown)

    def quiz_answer(self, shared: Mapping[str, Any], deadlocked: bool) -> str:
        if self.answer is not None and not deadlocked:
            return self.answer(shared)
        return "yes" if self.outcome(shared).ok and not deadlocked else "no"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


@dataclass
class ProgramBuilder:
    """Builds one thread's :class:`Program`; the helpers below are the step language."""

    thread: int
    role: str
    registers: tuple[str, ...] = ()
    steps: list[Step] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)

    def build(self) -> Program:
        return Program(self.thread, self.role, tuple(self.steps), dict(self.labels), self.registers)

    def label(self, name: str) -> None:
        """The next step added can be jumped to as ``name``."""
        self.labels[name] = len(self.steps)

    def step(
        self,
        kind: str,
        target: str,
        do: Do,
        hidden: str,
        *,
        ready: Ready | None = None,
        waits_for: Callable[[Shared, Local], str] | None = None,
        branch: Branch | None = None,
    ) -> None:
        self.steps.append(Step(kind, target, do, hidden, ready, waits_for, branch))

    # --- the common steps ---------------------------------------------------------------

    def read(
        self, var: str, into: str, *, index: int | None = None, branch: Branch | None = None
    ) -> None:
        """Read shared ``var`` into register ``into``. With ``index``, ``var`` names one
        element ("balance 3") of the shared sequence the step reads (its first word + s)."""
        if index is None:

            def do(s: Shared, loc: Local) -> str:
                loc[into] = s[var]
                return f"read {var} = {_fmt(s[var])}"

        else:
            seq = var.split()[0] + "s"

            def do(s: Shared, loc: Local) -> str:
                loc[into] = s[seq][index]
                return f"read {var} = {_fmt(loc[into])}"

        self.step("read", var, do, f"read {var}", branch=branch)

    def acquire(self, lock: str) -> None:
        me = self.thread

        def do(s: Shared, loc: Local) -> str:
            s[lock] = me
            return f"acquire {lock}"

        self.step(
            "acquire",
            lock,
            do,
            f"acquire {lock}",
            ready=lambda s, loc: s[lock] is None,
            waits_for=lambda s, loc: f"waits for {lock} (held by thread {s[lock]})",
        )

    def release(self, lock: str, *, branch: Branch | None = None) -> None:
        me = self.thread

        def do(s: Shared, loc: Local) -> str:
            if s[lock] != me:
                raise ModelError(f"thread {me} releases {lock}, held by {s[lock]}")
            s[lock] = None
            return f"release {lock}"

        self.step("release", lock, do, f"release {lock}", branch=branch)

    def wait_until(
        self,
        target: str,
        condition: Callable[[Shared], bool],
        text: str,
        *,
        lock: str | None = None,
        waits_for: str = "",
    ) -> None:
        """``Condition.wait_for(condition)`` with ``lock`` held (or, without a lock, a polling
        loop): two steps. The first checks; if the condition does not hold it lets go of
        the lock and goes to sleep. The second is blocked until the condition holds and the
        lock is free, then takes the lock back. A notify is assumed to reach the sleeper."""
        me = self.thread
        asleep = f"_wake{len(self.steps)}"
        after = f"_awake{len(self.steps)}"

        def check(s: Shared, loc: Local) -> str:
            if condition(s):
                loc["_asleep"] = False
                return f"wait_for {text}: holds"
            if lock is not None:
                s[lock] = None
            loc["_asleep"] = True
            return f"wait_for {text}: sleep" + (f", release {lock}" if lock else "")

        def wake(s: Shared, loc: Local) -> str:
            if lock is not None:
                s[lock] = me
            return f"wake: {text}" + (f", re-acquire {lock}" if lock else "")

        def ready(s: Shared, loc: Local) -> bool:
            return condition(s) and (lock is None or s[lock] is None)

        def branch(loc: Local) -> str:
            asleep_now = loc.pop("_asleep")
            return asleep if asleep_now else after

        self.step("wait", target, check, f"wait_for {text}", branch=branch)
        self.label(asleep)
        self.step(
            "wake",
            target,
            wake,
            f"wake: {text}",
            ready=ready,
            waits_for=lambda s, loc: waits_for or f"waits until {text}",
        )
        self.label(after)


class ModelError(RuntimeError):
    """A model did something its own rules forbid (a bug in the model, not in the user's input)."""


def initial_locals(program: Program) -> tuple[Hashable, ...]:
    """A thread's starting point: pc 0 and every register None."""
    return (0, *(None for _ in program.registers))
