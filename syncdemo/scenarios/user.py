"""A user's plain class, as a :class:`~syncdemo.scenarios.base.Scenario` the engine can run.

The user-file format (README, "Your own code") is a class that *is* the shared state:
``setup(self)``, ``worker(self, thread)``, more workers marked ``@syncdemo.strategy``, and
``check(self)``. :class:`UserScenario` maps it onto the contract: a fresh instance and its
``setup()`` per trial; each thread calls the worker ``--iterations`` times with its index,
looking at the stop flag between calls (Ctrl-C and the watchdog stop it there); ``check()``
after the join. The same adapter serves a file, a ``module:Class`` and a plugin whose entry
point names such a class, so all three behave alike.

Every mistake in the class is a :class:`BadUserClass` (one line, exit 2); an exception in
the user's own code while it runs becomes an ``EngineError`` chained to it (exit 1), whose
``__cause__`` keeps the traceback for ``--debug``.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncdemo.engine.context import Stopped, ThreadContext, Worker
from syncdemo.engine.watchdog import Stuck
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks
from syncdemo.scenarios.user_class import (
    DEFAULT_ITERATIONS,
    DEFAULT_THREADS,
    MAX_ITERATIONS,
    MAX_THREADS,
    BadUserClass,
    UserStrategy,
    called_functions,
    has_switch_points,
    kebab,
    read_count,
    read_strategies,
    source_of,
)

#: explore's caps on --threads and --iterations (a declared size above them is capped).
EXPLORE_MAX_THREADS = 8
EXPLORE_MAX_ITERATIONS = 100


def _declared(cls: type) -> set[str]:
    """The names the user's class (or a base of theirs) sets itself."""
    names: set[str] = set()
    for base in cls.__mro__[:-1]:
        names.update(vars(base))
    return names


#: Set on each fresh instance before its setup(): the run's --threads and --iterations.
RUN_ATTRIBUTES = ("threads", "iterations")
#: After the stop flag is set, how long threads get to leave a call on their own before a
#: stuck one is interrupted (an exception raised inside it, see :func:`_interrupt`).
LEAVE_GRACE_S = 0.2

_WHY = WhyItBreaks(
    gil=(
        "under the GIL one thread runs bytecode at a time, but the interpreter may switch "
        "threads at any call or loop jump in the worker, and wherever it releases the GIL "
        "(I/O); a switch between a read of the shared state and the write that depends on it "
        "lets another thread change the state in between, and the write then undoes it."
    ),
    free_threaded=(
        "threads truly run in parallel on this free-threaded build: two threads read the same "
        "state at the same moment and both act on what they read."
    ),
)


@dataclass(eq=False)
class Trial:
    """One trial's shared state: the user's fresh instance, and per-thread bookkeeping that
    only its own thread writes (calls finished; the thread's id while it is in the loop)."""

    instance: Any
    done: list[int]
    inside: list[int]
    stuck: Stuck | None = None
    stopping: bool = False
    """Set by :meth:`UserScenario.cancel`, which the engine calls right after setting the
    stop flag: the workers read it between calls without a call of their own, which would
    be one more place for a thread switch outside the user's race window."""


class UserScenario(Scenario[Trial]):
    """A user's class adapted to the scenario contract (see the module docstring)."""

    shared_state = ""
    violation_noun = "failed checks"
    iterations_meaning = "calls of the worker per thread"
    why = _WHY

    def __init__(self, cls: type, origin: str, name: str | None = None) -> None:
        label = f"{cls.__name__} ({origin})"
        for needed, what in (("worker", "worker(self, thread)"), ("check", "check(self)")):
            if not callable(getattr(cls, needed, None)):
                raise BadUserClass(
                    f"{label} has no {what} method; a scenario class needs worker(self, "
                    "thread) and check(self) (see 'Your own code' in the README)."
                )
        own = getattr(cls, "name", None)
        if own is not None and (not isinstance(own, str) or not own.strip()):
            raise BadUserClass(f"{label}: name = {own!r}; it must be a non-empty string.")
        self.user_class = cls
        self.origin = origin
        self.name = name or (own.strip() if own else kebab(cls.__name__))
        doc = inspect.getdoc(cls) or ""
        first, _, rest = doc.partition("\n")
        self.summary = " ".join(first.split()) or f"{cls.__name__}, from {origin}."
        self.explanation = rest.strip() or (
            f"Each of --threads threads calls a worker of {cls.__name__} --iterations times "
            "on one shared instance; after they all finish, check() says whether the "
            "invariant held."
        )
        self.shared_state = f"an instance of {cls.__name__}, made fresh for each trial"
        self.invariant = str(getattr(cls, "invariant", "") or "check() returns True")
        self.user_strategies = read_strategies(cls, label)
        self.strategies = tuple(
            Strategy(
                name=s.name,
                summary=s.summary,
                cost="measured by 'syncdemo compare'",
                safe=s.safe,
                workers={"worker": _worker(s)},
            )
            for s in self.user_strategies
        )
        self.default_sync = str(getattr(cls, "default_sync", "none"))
        if self.default_sync not in self.strategy_names():
            raise BadUserClass(
                f"{label}: default_sync = {self.default_sync!r} is not one of its strategies: "
                f"{', '.join(self.strategy_names())}."
            )
        self.default_threads = read_count(cls, "threads", DEFAULT_THREADS, MAX_THREADS, label)
        self.default_iterations = read_count(
            cls, "iterations", DEFAULT_ITERATIONS, MAX_ITERATIONS, label
        )
        # the size the class declares is the size its bug needs: explore and play use it
        # (within their own caps), not their small defaults
        if "threads" in _declared(cls):
            self.explore_threads = min(self.default_threads, EXPLORE_MAX_THREADS)
        if "iterations" in _declared(cls):
            self.explore_iterations = min(self.default_iterations, EXPLORE_MAX_ITERATIONS)
        self.starts_threads = callable(getattr(cls, "function", None))
        self.has_outcome = callable(getattr(cls, "outcome", None))
        self.outcome_name = "outcome()" if self.has_outcome else "final state"
        self._labels: dict[str, int] = {}
        self._stuck_trials = 0
        """Trials the watchdog stopped since the last verdict (the engine asks for one verdict
        at the end of each run; a scenario object runs one run at a time)."""

    # --- exploring ------------------------------------------------------------------------

    def code_files(self, workers: Sequence[Callable[..., Any]]) -> frozenset[str]:
        """The user's file, not this adapter's loop around their worker."""
        with contextlib.suppress(TypeError, OSError):
            found = inspect.getsourcefile(self.user_class)
            if found:
                return frozenset({found})
        # defined in the REPL, `python -c` or a notebook: where its methods' code says
        own = {
            f.__code__.co_filename
            for f in vars(self.user_class).values()
            if inspect.isfunction(f) and f.__module__ == self.user_class.__module__
        }
        return frozenset(own) or super().code_files(workers)

    def code_roots(self) -> tuple[Any, ...]:
        return (self.user_class,)

    def explored_state(self, state: Trial, root: str, track: Callable[[Any, str], Any]) -> Trial:
        state.instance = track(state.instance, "self")
        return state

    def explored_view(self, state: Trial) -> Any:
        return _View(state.instance)  # the user's object, not this adapter's bookkeeping

    # --- one trial ------------------------------------------------------------------------

    def setup(self, config: RunConfig) -> Trial:
        instance = _call(self.user_class, f"{self.name}: making a {self.user_class.__name__}")
        for attr in RUN_ATTRIBUTES:  # this run's values, for check() to compute what it expects
            with contextlib.suppress(AttributeError, TypeError):
                setattr(instance, attr, getattr(config, attr))
        if callable(getattr(instance, "setup", None)):
            _call(instance.setup, f"{self.name}: setup()")
        zeros = [0] * config.threads
        return Trial(instance=instance, done=list(zeros), inside=list(zeros))

    def progress(self, state: Trial, contexts: Sequence[ThreadContext]) -> int:
        return sum(state.done) + sum(c.wait_ns for c in contexts)

    def stuck(self, state: Trial, stuck: Stuck) -> None:
        state.stuck = stuck
        self._stuck_trials += 1

    def cancel(self, state: Trial) -> None:
        """Make the workers stop between calls, and stop threads still inside a call (the
        watchdog found the trial stuck, Ctrl-C, a worker failed): wait a moment for them
        to return, then raise :class:`Stopped` inside those that did not (an endless loop
        stops; a thread blocked in C, e.g. on a lock, cannot be, and the engine reports
        it)."""
        state.stopping = True  # most leave between calls; one in an endless call is stopped
        deadline = time.monotonic() + LEAVE_GRACE_S
        while any(state.inside) and time.monotonic() < deadline:
            time.sleep(0.01)
        for ident in state.inside:
            if ident:
                _interrupt(ident)

    def check(self, state: Trial, contexts: Sequence[ThreadContext]) -> Outcome:
        if state.stuck is not None:
            details: dict[str, Scalar] = {
                "stuck": True,
                "detected_by": state.stuck.reason,
                "stalled_s": round(state.stuck.stalled_s, 2),
                "check": f"not run: the trial was stuck ({state.stuck.detail})",
            }
            return Outcome(expected=1, observed=0, violations=1, details=details)
        instance = state.instance
        try:
            verdict = instance.check()
        except AssertionError as exc:
            verdict = str(exc) or "an assert in check() failed"
        except Exception as exc:
            raise _failure(f"{self.name}: check() raised {type(exc).__name__}: {exc}") from exc
        try:
            held = verdict is None or (not isinstance(verdict, str) and bool(verdict))
        except Exception as exc:  # its own __bool__ raised
            raise _failure(
                f"{self.name}: check() returned a {type(verdict).__name__} that is neither "
                f"true nor false: bool() of it raised {type(exc).__name__}: {exc}"
            ) from exc
        details = self._outcome(instance)
        if not held:
            details["check"] = verdict if isinstance(verdict, str) and verdict else "False"
        return Outcome(expected=1, observed=int(held), violations=int(not held), details=details)

    def _outcome(self, instance: Any) -> dict[str, Scalar]:
        """What the histogram counts: ``outcome()``'s value, or the final public int, str
        and bool attributes of the instance."""
        if self.has_outcome:
            value = _call(instance.outcome, f"{self.name}: outcome()")
            return {"outcome": value if isinstance(value, int | str) else repr(value)}
        return {
            k: v
            for k, v in vars(instance).items()
            if not k.startswith("_") and k not in _NOT_OUTCOME and isinstance(v, int | str)
        }

    def outcome_key(self, outcome: Outcome) -> int:
        """The histogram buckets ints; a single int outcome is its own key, anything else
        (several attributes, a string) gets a key that prints as its text."""
        values = {k: v for k, v in outcome.details.items() if k not in _NOT_OUTCOME}
        if len(values) == 1:
            (value,) = values.values()
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        text = "stuck" if "stuck" in outcome.details else _text(values)
        key = self._labels.setdefault(text, LABEL_BASE + len(self._labels))
        return Label(key, text)

    # --- what describe and the report say -------------------------------------------------

    def sources(self) -> tuple[Any, ...]:
        from syncdemo.info import Source

        found = [
            Source(
                title=f"--sync {s.name}: each thread calls {s.method}(self, thread) "
                "--iterations times",
                strategy=s.name,
                role="worker",
                function=s.method,
                code=source_of(s.function),
            )
            for s in self.user_strategies
        ]
        helpers = [
            getattr(self.user_class, n)
            for n in ("setup", "check", "outcome")
            if callable(getattr(self.user_class, n, None))
        ]
        helpers += called_functions(self.user_strategies)
        if helpers:
            names = ", ".join(f"{h.__name__}()" for h in helpers)
            found.append(
                Source(
                    title=f"and: {names}",
                    strategy="",
                    role="",
                    function=names,
                    code="\n\n".join(source_of(h) for h in helpers),
                )
            )
        return tuple(found)

    def verdict(self, ok: bool, config: RunConfig, gil: bool) -> str:
        strategy = self.strategy(config.sync)
        stuck, self._stuck_trials = self._stuck_trials, 0
        if stuck:
            return (
                f"{stuck} trial{'s' if stuck != 1 else ''} got stuck and the watchdog stopped "
                f"{'them' if stuck != 1 else 'it'}: no call of a worker returned for "
                f"{config.timeout:g} s (an endless loop, or a wait that never ends: a lock "
                "never released, a condition never notified). If one call rightly takes "
                "longer, raise --timeout."
            )
        if not ok and strategy.safe:
            return (
                f"The invariant broke with --sync {strategy.name}, which the class declares "
                "safe=True: this strategy does not protect what check() checks."
            )
        if not ok or strategy.safe or (config.threads == 1 and not self.starts_threads):
            return super().verdict(ok, config, gil)
        method = next(s for s in self.user_strategies if s.name == strategy.name)
        trials = f"{config.trials} trial{'s' if config.trials != 1 else ''}"
        if not gil:
            return (
                f"No violation in {trials}, but --sync {strategy.name} is unsafe: threads run "
                "in parallel here and nothing stops them interleaving; it just did not happen "
                "this time. Try more --iterations or --trials."
            )
        if has_switch_points(method.function):
            return (
                f"No violation in {trials}, but --sync {strategy.name} is unsafe: "
                f"{method.method}() calls functions, so a thread switch can land between a read "
                "and the write that depends on it; it just did not this time. Under the GIL a "
                "switch comes once a thread has run for the switch interval or when it releases "
                "the GIL (I/O), and a short worker rarely runs that long: try more --iterations "
                "or --trials, or I/O between the check and the act."
            )
        return (
            f"No violation in {trials}, yet --sync {strategy.name} is not safe: nothing makes "
            f"{method.method}()'s check and act one step. Under the GIL, CPython 3.10+ "
            "switches threads only at calls, loop jumps and where the GIL is released (I/O), "
            f"and {method.method}() has none of those, so a switch almost never lands inside "
            "it: its race window is closed here. Real code opens it: I/O between the check "
            "and the act (a log() that writes a file releases the GIL), or a function call in "
            "a worker that runs many --iterations, as the README shows; on a free-threaded "
            "build (3.13t) threads run in parallel."
        )


#: The first key given to an outcome that is not one int: far below any int a user's
#: outcome is likely to be, so the two kinds never share a key (and labels sort first).
LABEL_BASE = -(2**62)
#: Outcome details that are not part of the user's outcome.
_NOT_OUTCOME = frozenset({"check", "stuck", "detected_by", "stalled_s", *RUN_ATTRIBUTES})


class Label(int):
    """An outcome histogram key that prints as the outcome's text, not as a number.

    The engine's histogram (syncdemo.engine.outcomes) counts ints and labels each with
    ``f"{value:,}"``; an outcome such as "balance=-60, clerks=2" is given a small int of its
    own, in the order first seen, that formats as that text.
    """

    text: str

    def __new__(cls, value: int, text: str) -> Label:
        self = super().__new__(cls, value)
        self.text = text
        return self

    def __format__(self, spec: str) -> str:
        return self.text


def _text(values: Mapping[str, Scalar]) -> str:
    if list(values) == ["outcome"]:
        return str(values["outcome"])
    return ", ".join(f"{k}={v!r}" for k, v in values.items()) or "-"


def _worker(strategy: UserStrategy) -> Worker:
    method = strategy.method

    def call_worker(state: Trial, ctx: ThreadContext) -> None:
        """Call the user's worker --iterations times, looking at the stop flag between
        calls; count each call when it has returned."""
        call = getattr(state.instance, method)
        index, done = ctx.index, state.done
        state.inside[index] = threading.get_ident()
        try:
            for chunk in ctx.chunks():
                for _ in chunk:
                    if state.stopping:
                        return
                    call(index)
                    done[index] += 1
        except Stopped:
            pass
        finally:
            state.inside[index] = 0
            ctx.ops = done[index]  # chunks() counts work when handed out; count what was done

    call_worker.__qualname__ = call_worker.__name__ = f"call_{method}"
    return call_worker


def _interrupt(ident: int) -> None:
    """Raise :class:`Stopped` in thread ``ident`` at its next bytecode (CPython only)."""
    try:
        import ctypes

        set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    except (ImportError, AttributeError):
        return
    set_async_exc(ctypes.c_ulong(ident), ctypes.py_object(Stopped))


def _failure(message: str) -> Exception:
    from syncdemo.engine.runner import EngineError

    return EngineError(message)


def _call(function: Callable[[], Any], what: str) -> Any:
    try:
        return function()
    except Exception as exc:
        raise _failure(f"{what} raised {type(exc).__name__}: {exc}") from exc


class _View:
    """The user's object as the explorer's reports show it: its attributes, without the
    run's size that this adapter gives it (``threads``, ``iterations``)."""

    __slots__ = ("_instance",)

    def __init__(self, instance: Any) -> None:
        self._instance = instance

    @property
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        own = vars(self._instance) if hasattr(self._instance, "__dict__") else {}
        return {k: v for k, v in own.items() if k not in RUN_ATTRIBUTES}

    def __repr__(self) -> str:
        return repr(self._instance)


# --- a plain function: the threads it starts are the scenario -----------------------------


def function_class(function: Callable[[], Any], origin: str) -> type:
    """A user class around a plain function that starts its own threads (an engineer's
    test, as it is): each of ``--threads`` threads (1 by default) calls it once; it fails
    when it raises (a failed ``assert`` included), in its own thread or in one it started,
    or when the threads deadlock. The function's file is the scenario's code."""
    name = getattr(function, "__name__", "function")
    doc = inspect.getdoc(function) or (
        f"{name}(), from {origin}: the threads it starts, explored as they are."
    )

    # its own bookkeeping under names that start with "__": never shown as shared state
    def setup(self: Any) -> None:
        failures: list[str] = []
        vars(self)["__failures"] = failures
        vars(self)["__raised"] = []
        vars(self)["__hook"] = threading.excepthook  # 'syncdemo run': what threads raise

        def record(args: Any) -> None:
            failures.append(f"{args.exc_type.__name__}: {args.exc_value}")

        threading.excepthook = record

    def call_function(self: Any, thread: int) -> None:
        try:
            function()
        except Exception as exc:  # a failed assert is what the test found, not a crash
            if type(exc).__module__.startswith("syncdemo."):
                raise  # the harness's own: the run is stopped, or cannot be explored
            vars(self)["__raised"].append(f"{type(exc).__name__}: {exc}")

    def check(self: Any) -> Any:
        threading.excepthook = vars(self)["__hook"]
        raised, failures = vars(self)["__raised"], vars(self)["__failures"]
        if raised:
            return f"{name}() raised {raised[0]}"
        if failures:
            return f"a thread it started raised {failures[0]}"
        return True

    return type(
        name,
        (),
        {
            "__module__": getattr(function, "__module__", __name__),
            "__doc__": doc,
            "threads": 1,
            "iterations": 1,
            "setup": setup,
            "worker": call_function,
            "check": check,
            "invariant": f"{name}() and the threads it starts raise nothing",
            "function": function,
        },
    )
