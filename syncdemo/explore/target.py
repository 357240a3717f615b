"""What an exploration runs: a scenario's real setup, workers and check, as ``run`` does.

:class:`Target` is the one place that knows the scenario contract; the scheduler and the
search only see "build fresh state, here are the thread bodies, check afterwards". A
user's own class can be explored by giving an adapter with the same contract.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from syncdemo.engine.context import Stopped, ThreadContext, lesson_of
from syncdemo.engine.runner import make_contexts
from syncdemo.engine.watchdog import CYCLE, Stuck
from syncdemo.explore import tracking
from syncdemo.results import Outcome, RunConfig
from syncdemo.scenarios.base import Scenario


@dataclass(eq=False)
class Built:
    """One run's fresh state, its threads' contexts and their bodies."""

    state: Any
    contexts: list[ThreadContext]
    works: list[Callable[[], None]]


@dataclass(eq=False)
class Target:
    scenario: Scenario[Any]
    config: RunConfig

    def __post_init__(self) -> None:
        if not self.config.window:
            self.config = replace(self.config, window=self.scenario.default_window)
        self.strategy = self.scenario.strategy(self.config.sync)
        self.roles = list(self.scenario.roles(self.config))
        self.workers = [self.scenario.worker(self.strategy, r, self.config) for r in self.roles]
        self.files = self.scenario.code_files(self.workers)
        self.root = _first_parameter(lesson_of(self.workers[0])) if self.workers else "state"
        self._stop = threading.Event()

    def fingerprint(self) -> str:
        """8 hex digits of a hash of the explored files' text: a schedule found on other
        code cannot be replayed on this code meaningfully."""
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(os.path.basename(name).encode())  # the same in every checkout
            with contextlib.suppress(OSError), open(name, "rb") as f:
                digest.update(f.read())
        return digest.hexdigest()[:8]

    @property
    def threads(self) -> int:
        return len(self.roles)

    def build(self) -> Built:
        """Fresh state (the caller has the primitives patched, so they are controlled)."""
        state = self.scenario.setup(self.config)
        state = self.scenario.explored_state(
            state, self.root, lambda obj, name: tracking.track(obj, name, self.files)
        )
        contexts = make_contexts(self.roles, self.config, 1, self._stop)
        works = [_body(w, state, c) for w, c in zip(self.workers, contexts, strict=True)]
        return Built(state, contexts, works)

    def check(self, built: Built, deadlock: str | None) -> Outcome:
        if deadlock is not None:
            self.scenario.stuck(built.state, Stuck(CYCLE, deadlock, 0.0))
        return self.scenario.check(built.state, built.contexts)

    def grade(self, outcome: Outcome) -> str:
        return self.scenario.grade(outcome, self.config)

    def label(self, outcome: Outcome) -> str:
        return f"{self.scenario.outcome_key(outcome):,}"

    def meaning(self, grade: str) -> str:
        return str(self.scenario.grade_meanings.get(grade, ""))


def _body(
    worker: Callable[[Any, ThreadContext], None], state: Any, ctx: ThreadContext
) -> Callable[[], None]:
    def body() -> None:
        try:  # no with-statement: its __enter__/__exit__ would run as the worker's code
            worker(state, ctx)
        except Stopped:
            return

    return body


def _file(cls: type) -> str:
    module = sys.modules.get(cls.__module__)
    return str(getattr(module, "__file__", "") or "")


def _first_parameter(worker: Callable[..., Any]) -> str:
    try:
        names = list(inspect.signature(worker).parameters)
    except (TypeError, ValueError):
        return "state"
    return names[0] if names else "state"


def source_line(filename: str, lineno: int) -> str:
    import linecache

    return linecache.getline(filename, lineno).strip()


def roles_of(target: Target) -> Sequence[str]:
    return target.roles
