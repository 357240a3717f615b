"""syncdemo's pytest plugin (entry point ``pytest11``): explore a test's threads.

- ``@pytest.mark.syncdemo_explore`` on a test that starts threads runs it under explore's
  scheduler, in every schedule within the bound, instead of once: the test fails when a
  schedule makes it (or a thread it started) raise, deadlock or livelock, and the failure
  says which schedule and how to replay it (``syncdemo explore NODEID --schedule ...``).
  Its keywords are :func:`syncdemo.explore`'s: ``max_preemptions``, ``granularity``,
  ``limit``, ``time_limit``. A test class's method runs on a fresh instance in each
  schedule (``setup_method`` first); fixture values are made once and shared by every
  schedule, so a test builds what its threads share in its own body.
- The ``syncdemo_explore`` fixture is :func:`syncdemo.explore` for a function the test
  defines, failing the test the same way: ``syncdemo_explore(deposit_twice)``.

Nothing is imported beyond pytest's own hooks until a test uses one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

MARK = "syncdemo_explore"


class ScheduleFailed(AssertionError):
    """A schedule broke the test (the message has the schedule and its replay)."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARK}(max_preemptions=2, granularity='line'): run the test's threads in every "
        "schedule within the bound under syncdemo's scheduler; fail with the one that breaks",
    )


def failure_text(report: Any) -> str:
    """What a test that a schedule broke fails with, in plain text that pytest's report and
    its JUnit XML keep: the verdict, the shortest schedule's steps in the user's own code
    (those in the standard library and installed packages are counted, not listed: pytest's
    assertion rewriting alone takes hundreds), check()'s message and the replay."""
    run = report.replay or report.exploration.counterexample
    lines = [f"syncdemo explore: {report.verdict()}"]
    if run is None:
        return lines[0]
    lines.append(f"The shortest failing schedule ({len(run.steps):,} steps):")
    elsewhere: dict[str, int] = {}
    for step in run.steps:
        where = step.lines[-1] if step.lines else None
        if where is not None and _installed(where.file) and not step.preemption:
            elsewhere[where.file] = elsewhere.get(where.file, 0) + 1
            continue
        place = f"{where.file}:{where.line}" if where is not None else ""
        values = "; ".join(str(v) for v in step.values[-3:])
        mark = "  <- preempted" if step.preemption else ""
        lines.append(
            f"  {step.index:>4}  thread {step.thread}  {place:<28} {step.code}"
            + (f"  ({values})" if values else "")
            + mark
        )
    if elsewhere:
        files = ", ".join(sorted(elsewhere, key=elsewhere.__getitem__, reverse=True)[:4])
        lines.append(f"  ({sum(elsewhere.values()):,} steps in installed code: {files}...)")
    if run.check:
        lines.append(f"check() said: {run.check}")
    if run.error:
        lines.append(f"A worker raised: {run.error}")
    lines.append(f"Replay it: {run.replay}")
    return "\n".join(lines)


def _installed(file: str) -> bool:
    """Whether a step's file (as a report names it: its base name, or a path) is the
    standard library's or an installed package's, not the user's."""
    import os
    import sys
    import sysconfig

    if file.startswith("<"):  # frozen modules, generated code (pytest's, dataclasses')
        return True
    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")}
    if os.path.isabs(file):
        return any(file.startswith(root) for root in roots)
    return any(
        os.path.isfile(os.path.join(root, file)) or file in _names_under(root) for root in roots
    ) and not any(os.path.isfile(os.path.join(p, file)) for p in sys.path[:1])


_NAMES: dict[str, frozenset[str]] = {}


def _names_under(root: str) -> frozenset[str]:
    """The base names of the .py files under ``root`` (read once)."""
    import os

    found = _NAMES.get(root)
    if found is None:
        names: set[str] = set()
        for _, _, files in os.walk(root):
            names.update(f for f in files if f.endswith(".py"))
        found = _NAMES[root] = frozenset(names)
    return found


def explore_or_fail(function: Callable[[], Any], **options: Any) -> Any:
    """:func:`syncdemo.explore` of ``function``; a schedule that breaks it (or a search
    that proves nothing, when one was asked for) fails the test with the report."""
    import contextlib
    import os

    from syncdemo.api import explore

    # what the threads print goes where `syncdemo explore` sends it, a file of C code:
    # pytest's capture is Python code (an encoder per write), whose steps would make the
    # schedules here other than the ones the replay command runs
    with (
        open(os.devnull, "w") as sink,
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        report = explore(function, **options)
    if report.violated:
        raise ScheduleFailed(failure_text(report))
    return report


@pytest.fixture
def syncdemo_explore() -> Callable[..., Any]:
    """``syncdemo_explore(function, **options)``: explore the threads ``function`` starts
    (options as :func:`syncdemo.explore`'s); a failing schedule fails the test."""
    return explore_or_fail


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    marker = pyfuncitem.get_closest_marker(MARK)
    if marker is None:
        return None
    import inspect

    from syncdemo.userfile import test_alone

    wanted = inspect.signature(pyfuncitem.function).parameters
    given = {k: v for k, v in pyfuncitem.funcargs.items() if k in wanted}
    function = test_alone(pyfuncitem.function, pyfuncitem.cls, pyfuncitem.nodeid, given)
    explore_or_fail(function, name=pyfuncitem.nodeid if not given else None, **marker.kwargs)
    return True
