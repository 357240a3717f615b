"""A deterministic scheduler for models (syncdemo.explore.model): every interleaving, or a bounded
or random sample of them, the shortest schedule that breaks the invariant, and replay.

Exhaustive search is a depth-first search over *states* (the shared variables plus each
thread's program counter and registers), not over schedules: two schedules that reach the
same state have the same futures, so each state is expanded once (state caching). Each
state remembers how many complete schedules lead from it to each final outcome, so the
counts reported are exact counts of every interleaving (34,650 for counter with 3 threads
x 2 increments) although only a few thousand states are visited.

``max_preemptions`` bounds how often a schedule may switch away from a thread that could
have gone on (preemption bounding, as in CHESS): most concurrency bugs need only one or
two. ``random`` runs PCT (probabilistic concurrency testing, Burckhardt et al. 2010):
random thread priorities with a few random points where the running thread's priority
drops, which finds a bug of depth d with probability at least 1/(n k^(d-1)) per run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncdemo.explore.model import Model, ModelError, Program, initial_locals
from syncdemo.explore.report import PCT_DEPTH, Execution, Exploration, Move, OutcomeCount
from syncdemo.results import FORBIDDEN, Outcome

#: Exhaustive and bounded searches stop after this many distinct states unless --limit says.
DEFAULT_LIMIT = 100_000
#: No schedule runs longer than this many steps (a model with a loop would otherwise spin).
MAX_STEPS = 2_000
DEADLOCK = "deadlock"
DEADLOCK_MEANING = "every unfinished thread waits for another: none can go on"

Locals = tuple[Any, ...]
State = tuple[tuple[Any, ...], tuple[Locals, ...]]
Node = tuple[State, "int | None", int]
"""A search node: the state, the thread that ran last, the preemptions used so far."""


class BadSchedule(ValueError):
    """A --schedule that cannot be replayed (the message says which step and why)."""


class LimitHit(Exception):
    """The search reached --limit states (caught inside; the result says it is partial)."""


@dataclass(slots=True)
class _Info:
    """What a search knows about one node once all its futures are explored."""

    counts: dict[int, int]
    """outcome id -> complete schedules from here that end in it."""
    to_violation: float
    """Fewest steps from here to a violating end (inf: none)."""
    can_pass: bool
    """Some continuation keeps the invariant."""


@dataclass
class _Terminal:
    label: str
    grade: str
    ok: bool
    deadlock: bool
    states: set[State] = field(default_factory=set)


Grader = Callable[[Outcome], str]


class Explorer:
    """Runs one model: steps, searches, replays. Keeps the search's cache for sampling."""

    def __init__(self, model: Model, grade: Grader, meanings: Mapping[str, str]) -> None:
        self.model = model
        self.grade = grade
        self.meanings = meanings
        self.names = tuple(model.initial)
        self.programs = model.programs
        self.root: State = (
            tuple(model.initial.values()),
            tuple(initial_locals(p) for p in self.programs),
        )
        self._cleared = [initial_locals(p)[1:] for p in self.programs]
        self.terminals: list[_Terminal] = []
        self._terminal_ids: dict[tuple[str, str], int] = {}
        self.memo: dict[Any, _Info] = {}
        self._bounded: int | None = None
        self._everything = False
        """``memo`` holds every state's futures (a complete search without a bound)."""
        self._partial_bad: tuple[int, ...] | None = None
        """The first violating schedule the current search met (all there is after --limit)."""

    # --- stepping ------------------------------------------------------------------------

    def shared(self, state: State) -> dict[str, Any]:
        return dict(zip(self.names, state[0], strict=True))

    def finished(self, state: State, t: int) -> bool:
        return bool(state[1][t][0] == len(self.programs[t].steps))

    def step(self, state: State, t: int) -> tuple[State, str, str] | None:
        """Run thread ``t``'s next step: (new state, what it did, hidden), or None if blocked."""
        return self._step(state, t, dict(zip(self.names, state[0], strict=False)))

    def _step(self, state: State, t: int, shared: dict[str, Any]) -> tuple[State, str, str] | None:
        """``step`` on ``shared``, the state's variables as a dict, which it does not change."""
        program: Program = self.programs[t]
        loc = state[1][t]
        pc: int = loc[0]
        steps = program.steps
        if pc >= len(steps):
            return None
        step = steps[pc]
        registers = program.registers
        regs = dict(zip(registers, loc[1:], strict=False))
        if step.ready is not None and not step.ready(shared, regs):
            return None
        s = shared.copy()
        text = step.do(s, regs)
        label = step.branch(regs) if step.branch is not None else None
        npc = pc + 1 if label is None else program.target(label)
        if npc >= len(steps):  # finished: its registers no longer matter
            new_loc: Locals = (npc, *self._cleared[t])
        else:
            new_loc = (npc, *[regs.get(r) for r in registers])
        locs = (*state[1][:t], new_loc, *state[1][t + 1 :])
        if len(s) != len(self.names):
            raise ModelError(f"a step of thread {t} made up a shared variable: {sorted(s)}")
        return (tuple(s.values()), locs), text, step.hidden

    def enabled(self, state: State) -> list[int]:
        return [t for t in range(len(self.programs)) if self._ready(state, t)]

    def _ready(self, state: State, t: int) -> bool:
        program = self.programs[t]
        pc: int = state[1][t][0]
        if pc >= len(program.steps):
            return False
        step = program.steps[pc]
        if step.ready is None:
            return True
        regs = dict(zip(program.registers, state[1][t][1:], strict=True))
        return step.ready(self.shared(state), regs)

    def waits(self, state: State) -> tuple[str, ...]:
        """For a stuck state: what each unfinished thread waits for, in words."""
        out = []
        s = self.shared(state)
        for t, program in enumerate(self.programs):
            pc: int = state[1][t][0]
            if pc >= len(program.steps):
                continue
            step = program.steps[pc]
            regs = dict(zip(program.registers, state[1][t][1:], strict=True))
            why = step.waits_for(s, regs) if step.waits_for else f"is blocked at {step.hidden}"
            out.append(f"thread {t} {why}")
        return tuple(out)

    def terminal(self, state: State) -> int:
        """The outcome id of a state where no thread can move (finished or deadlocked)."""
        deadlock = any(not self.finished(state, t) for t in range(len(self.programs)))
        s = self.shared(state)
        if deadlock:
            key = (DEADLOCK, FORBIDDEN)
        else:
            outcome = self.model.outcome(s)
            key = (self.model.label(s), self.grade(outcome))
        tid = self._terminal_ids.get(key)
        if tid is None:
            tid = len(self.terminals)
            self._terminal_ids[key] = tid
            ok = not deadlock and self.model.outcome(s).ok
            self.terminals.append(_Terminal(key[0], key[1], ok, deadlock))
        self.terminals[tid].states.add(state)
        return tid

    def _children(self, node: Node) -> list[tuple[int, Node]]:
        state, last, used = node
        shared = dict(zip(self.names, state[0], strict=False))
        moves = [(t, self._step(state, t, shared)) for t in range(len(self.programs))]
        ready = [(t, m[0]) for t, m in moves if m is not None]
        last_ready = last is not None and any(t == last for t, _ in ready)
        out: list[tuple[int, Node]] = []
        for t, child in ready:
            cost = used + (1 if last_ready and t != last else 0)
            if self._bounded is not None and cost > self._bounded:
                continue
            out.append((t, (child, t, cost)))
        return out

    def _key(self, node: Node) -> Any:
        return node[0] if self._bounded is None else node

    # --- exhaustive and bounded search -----------------------------------------------

    def exhaustive(
        self, *, max_preemptions: int | None = None, limit: int = DEFAULT_LIMIT
    ) -> Exploration:
        """Every schedule (with at most ``max_preemptions`` preemptions, if given)."""
        began = time.perf_counter()
        self._bounded = max_preemptions
        self._everything = False
        self.memo = {}
        for seen in self.terminals:  # outcome ids stay; which states reached them is per search
            seen.states.clear()
        root: Node = (self.root, None, 0)
        complete = True
        first_bad: tuple[int, ...] | None = None
        try:
            first_bad = self._search(root, limit)
        except LimitHit:
            complete = False
            first_bad = self._partial_bad
        self._everything = complete and max_preemptions is None
        info = self.memo.get(self._key(root))
        counts: dict[int, int] = dict(info.counts) if info else self._partial_counts()
        example = None
        if complete and info is not None and info.to_violation != float("inf"):
            example = self.execute(self._shortest(root))
        elif first_bad is not None:
            example = self.execute(first_bad)
        return self._result(
            "exhaustive" if max_preemptions is None else "bounded",
            counts,
            time.perf_counter() - began,  # the search and the counterexample
            complete,
            limit,
            example,
            max_preemptions=max_preemptions,
            states=len(self.memo),
        )

    def _search(self, root: Node, limit: int) -> tuple[int, ...] | None:
        """Post-order DFS filling ``memo``; returns the first violating schedule met."""
        memo = self.memo
        self._partial_bad = None
        # frames: [key, node, children, next child index, thread chosen to get here]
        frames: list[list[Any]] = [[self._key(root), root, None, 0, -1]]
        on_stack: set[Any] = set()
        while frames:
            frame = frames[-1]
            key, node, children = frame[0], frame[1], frame[2]
            if children is None:
                children = frame[2] = self._children(node)
                if not children:
                    tid = self.terminal(node[0])
                    ok = self.terminals[tid].ok
                    memo[key] = _Info({tid: 1}, 0.0 if not ok else float("inf"), ok)
                    if not ok and self._partial_bad is None:
                        self._partial_bad = tuple(f[4] for f in frames[1:])
                    frames.pop()
                    continue
                on_stack.add(key)
            if frame[3] < len(children):
                t, child = children[frame[3]]
                frame[3] += 1
                ckey = self._key(child)
                if ckey in memo:
                    continue
                if ckey in on_stack:
                    raise ModelError(
                        f"the model of {self.model.scenario} --sync {self.model.sync} can "
                        "return to a state it was in (a loop that makes no progress)"
                    )
                if len(memo) + len(on_stack) >= limit:
                    raise LimitHit
                if len(frames) > MAX_STEPS:
                    raise ModelError(f"a schedule ran longer than {MAX_STEPS} steps")
                frames.append([ckey, child, None, 0, t])
                continue
            counts: dict[int, int] = {}
            to_violation = float("inf")
            can_pass = False
            for _, child in children:
                sub = memo[self._key(child)]
                for tid, n in sub.counts.items():
                    counts[tid] = counts.get(tid, 0) + n
                to_violation = min(to_violation, sub.to_violation + 1)
                can_pass = can_pass or sub.can_pass
            memo[key] = _Info(counts, to_violation, can_pass)
            on_stack.discard(key)
            frames.pop()
        return self._partial_bad

    def _partial_counts(self) -> dict[int, int]:
        """After --limit: how many finished states of each outcome were seen (not schedules)."""
        return {tid: len(t.states) for tid, t in enumerate(self.terminals)}

    def _shortest(self, root: Node) -> tuple[int, ...]:
        """The shortest violating schedule; among those, the fewest preemptions, then the
        lowest thread numbers (so the same model always gives the same counterexample)."""
        best: dict[tuple[Any, int | None], tuple[int, int, Node | None]] = {}
        tight: dict[Any, tuple[set[int], list[tuple[int, Node]]]] = {}

        def kids_of(node: Node) -> tuple[set[int], list[tuple[int, Node]]]:
            """(threads that can move, the moves that stay on a shortest violating path)"""
            key = self._key(node)
            if key not in tight:
                left = self.memo[key].to_violation - 1
                everyone = self._children(node)
                tight[key] = (
                    {t for t, _ in everyone},
                    [(t, c) for t, c in everyone if self.memo[self._key(c)].to_violation == left],
                )
            return tight[key]

        # post-order over (node, thread that ran last), without recursion: paths can be long
        stack: list[tuple[Node, int | None, bool]] = [(root, None, False)]
        while stack:
            node, prev, expanded = stack.pop()
            k = (self._key(node), prev)
            if k in best:
                continue
            if self.memo[self._key(node)].to_violation == 0:
                best[k] = (0, -1, None)
                continue
            ready, kids = kids_of(node)
            if not expanded:
                stack.append((node, prev, True))
                stack.extend((c, t, False) for t, c in kids if (self._key(c), t) not in best)
                continue
            switch = prev in ready
            best[k] = min(
                (best[(self._key(c), t)][0] + (1 if switch and t != prev else 0), t, c)
                for t, c in kids
            )

        schedule: list[int] = []
        at: Node | None = root
        last: int | None = None
        while at is not None:
            _, t, nxt = best[(self._key(at), last)]
            if nxt is None:
                break
            schedule.append(t)
            at, last = nxt, t
        return tuple(schedule)

    def sample(self, tid: int, rng: random.Random) -> tuple[int, ...]:
        """A schedule drawn uniformly among those (after an exhaustive search) ending in
        outcome ``tid``."""
        node: Node = (self.root, None, 0)
        schedule: list[int] = []
        while True:
            kids = [
                (t, child, self.memo[self._key(child)].counts.get(tid, 0))
                for t, child in self._children(node)
            ]
            kids = [k for k in kids if k[2]]
            if not kids:
                return tuple(schedule)
            pick = rng.randrange(sum(k[2] for k in kids))
            for t, child, n in kids:
                if pick < n:
                    schedule.append(t)
                    node = child
                    break
                pick -= n

    # --- random (PCT) ----------------------------------------------------------------

    def pct(self, runs: int, seed: int) -> Exploration:
        """``runs`` schedules from PCT with depth :data:`PCT_DEPTH`, reproducible by seed."""
        began = time.perf_counter()
        length = sum(len(p.steps) for p in self.programs)
        counts: dict[int, int] = {}
        seen: set[tuple[int, ...]] = set()
        bad: tuple[int, ...] | None = None
        bad_rank: tuple[int, int] = (0, 0)
        for run in range(runs):
            schedule, state = self.pct_run(random.Random(f"{seed}:{run}"), length)
            length = max(length, len(schedule))
            tid = self.terminal(state)
            counts[tid] = counts.get(tid, 0) + 1
            key = tuple(schedule)
            seen.add(key)
            if not self.terminals[tid].ok:
                rank = (len(key), self.preemptions(key))
                if bad is None or rank < bad_rank:
                    bad, bad_rank = key, rank
        example = self.execute(bad) if bad is not None else None
        return self._result(
            "random",
            counts,
            time.perf_counter() - began,
            True,
            runs,
            example,
            runs=runs,
            seed=seed,
            distinct=len(seen),
            states=0,
        )

    def pct_run(self, rng: random.Random, length: int) -> tuple[list[int], State]:
        """One PCT schedule: the enabled thread with the highest priority runs; at
        PCT_DEPTH - 1 random steps out of about ``length`` the running thread drops to a
        priority below every other."""
        n = len(self.programs)
        priority = dict(enumerate(rng.sample(range(PCT_DEPTH, PCT_DEPTH + n), n)))
        changes = sorted(rng.sample(range(1, max(2, length)), min(PCT_DEPTH - 1, length - 1)))
        drop = {at: PCT_DEPTH - 1 - i for i, at in enumerate(changes)}
        state, schedule = self.root, list[int]()
        while len(schedule) < MAX_STEPS:
            ready = self.enabled(state)
            if not ready:
                return schedule, state
            t = max(ready, key=lambda th: priority[th])
            moved = self.step(state, t)
            assert moved is not None
            state = moved[0]
            schedule.append(t)
            if len(schedule) in drop:
                priority[t] = drop[len(schedule)]
        raise ModelError(f"a schedule ran longer than {MAX_STEPS} steps")

    def quiz_schedule(self, rng: random.Random, limit: int) -> tuple[int, ...]:
        """A schedule for --quiz: an outcome picked at random (so that a rare outcome is as
        likely as a common one), then a schedule drawn uniformly among those ending in it.
        Too many states to enumerate: one PCT schedule."""
        found = self.exhaustive(limit=limit)
        if not found.complete:
            return tuple(self.pct_run(rng, sum(len(p.steps) for p in self.programs))[0])
        counts = self.memo[self._key((self.root, None, 0))].counts
        return self.sample(rng.choice(sorted(counts)), rng)

    # --- results and replay ------------------------------------------------------------

    def _result(
        self,
        mode: str,
        counts: dict[int, int],
        elapsed: float,
        complete: bool,
        limit: int,
        example: Execution | None,
        **extra: Any,
    ) -> Exploration:
        total = sum(counts.values())
        outcomes = []
        for tid, n in sorted(counts.items(), key=lambda kv: self._order(kv[0])):
            t = self.terminals[tid]
            meaning = DEADLOCK_MEANING if t.deadlock else self.meanings.get(t.grade, "")
            outcomes.append(
                OutcomeCount(
                    t.label, n, n / total if total else 0.0, t.grade, meaning, t.ok, t.deadlock
                )
            )
        deadlocks = [tid for tid, t in enumerate(self.terminals) if t.deadlock and tid in counts]
        return Exploration(
            mode=mode,
            schedules=total if complete or mode == "random" else 0,
            elapsed_s=elapsed,
            complete=complete,
            limit=limit,
            outcomes=tuple(outcomes),
            deadlocks=sum(counts[tid] for tid in deadlocks),
            deadlock_states=sum(len({s for s in self.terminals[tid].states}) for tid in deadlocks),
            counterexample=example,
            counted="schedules" if complete else "final states",
            **extra,
        )

    def _order(self, tid: int) -> tuple[int, int, int, str]:
        """Deadlocks last; numbers (a counter's final value) in order; else passing first."""
        t = self.terminals[tid]
        digits = t.label.replace(",", "")
        number = int(digits) if digits.lstrip("-").isdigit() else 0
        return (int(t.deadlock), number, int(not t.ok), t.label)

    def preemptions(self, schedule: tuple[int, ...]) -> int:
        count, state, prev = 0, self.root, None
        for t in schedule:
            if prev is not None and t != prev and self._ready(state, prev):
                count += 1
            moved = self.step(state, t)
            assert moved is not None
            state, prev = moved[0], t
        return count

    def execute(self, schedule: tuple[int, ...] | list[int]) -> Execution:
        """Replay ``schedule`` step by step (:class:`BadSchedule` if it cannot be); when it
        runs out before the threads do, go on without preemption (the thread that ran last
        while it can, else the lowest-numbered one) to the end. After a complete search of
        every interleaving, the step after which no continuation passes is marked too."""
        doomed = self._everything
        given = list(schedule)
        n = len(self.programs)
        state = self.root
        moves: list[Move] = []
        done: list[int] = []
        highlight: int | None = None
        why = ""
        no_return: int | None = None
        prev: int | None = None
        preempted = 0
        while True:
            index = len(done)
            if index < len(given):
                t = given[index]
                if not 0 <= t < n:
                    raise BadSchedule(
                        f"step {index + 1} names thread {t}, but there are only {n} threads "
                        f"(0 to {n - 1})"
                    )
                moved = self.step(state, t)
                if moved is None:
                    raise BadSchedule(self._refusal(state, index, t, len(given)))
            else:
                ready = self.enabled(state)
                if not ready:
                    break
                t = prev if prev in ready else ready[0]
                moved = self.step(state, t)
                assert moved is not None
            if index >= MAX_STEPS:
                raise ModelError(f"a schedule ran longer than {MAX_STEPS} steps")
            if prev is not None and t != prev and self._ready(state, prev):
                preempted += 1
            state, text, hidden = moved
            done.append(t)
            prev = t
            s = self.shared(state)
            if highlight is None and self.model.violation is not None:
                broken = self.model.violation(s)
                if broken:
                    highlight, why = index, broken
            if doomed and no_return is None and index > 0:
                info = self.memo.get(self._key((state, t, 0)))
                if info is not None and not info.can_pass:
                    no_return = index
            moves.append(Move(index + 1, t, text, hidden, self.model.describe(s)))
        deadlocked = any(not self.finished(state, t) for t in range(n))
        s = self.shared(state)
        outcome = self.model.outcome(s)
        label = DEADLOCK if deadlocked else self.model.label(s)
        grade = FORBIDDEN if deadlocked else self.grade(outcome)
        meaning = DEADLOCK_MEANING if deadlocked else self.meanings.get(grade, "")
        if highlight is None and (deadlocked or not outcome.ok) and moves:
            highlight = len(moves) - 1
            why = (
                "every unfinished thread is blocked: a deadlock"
                if deadlocked
                else f"the run ends with {label}" + (f" ({meaning})" if meaning else "")
            )
        if no_return == highlight:
            no_return = None
        moves = [
            Move(m.index, m.thread, m.action, m.hidden, m.shared, i == highlight, i == no_return)
            for i, m in enumerate(moves)
        ]
        return Execution(
            schedule=tuple(done),
            moves=tuple(moves),
            outcome=outcome,
            label=label,
            grade=grade,
            meaning=meaning,
            deadlocked=deadlocked,
            waits=self.waits(state) if deadlocked else (),
            preemptions=preempted,
            why=why,
            completed_from=len(given),
            answer=self.model.quiz_answer(s, deadlocked),
            initial=self.model.describe(self.shared(self.root)),
        )

    def _refusal(self, state: State, index: int, t: int, given: int) -> str:
        """Why step ``index`` of a --schedule cannot run thread ``t``, in one sentence."""
        ready = self.enabled(state)
        if not ready:
            end = (
                "deadlocked"
                if any(not self.finished(state, u) for u in range(len(self.programs)))
                else "finished"
            )
            return (
                f"the schedule has {given} steps, but the run is over after {index} "
                f"(every thread has {end} by then)"
            )
        if self.finished(state, t):
            what = "has already finished"
        else:
            mine = next((w for w in self.waits(state) if w.startswith(f"thread {t} ")), "")
            what = "is blocked" + (f" ({mine.removeprefix(f'thread {t} ')})" if mine else "")
        return (
            f"step {index + 1} picks thread {t}, which {what} at that point; threads that "
            f"can move there: {', '.join(map(str, ready))}"
        )
