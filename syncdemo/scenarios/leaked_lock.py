"""leaked-lock: ``acquire()`` without ``with``, and an exception between it and ``release()``.

Threads tally the lines of one log file, taking the next line under a lock. The last line
is cut short (the file was still being written) and parsing it raises ``ValueError``. The
thread that drew it ends with that exception (as any uncaught exception ends a thread), and
with a bare ``acquire()`` ... ``release()`` the release never runs: the lock stays held by
a thread that is gone, and every other thread waits for it for ever. The lock is
instrumented (syncdemo.engine.locks), so the watchdog sees the holder has finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import ThreadContext
from syncdemo.engine.locks import TracedLock, Watched, Who, member
from syncdemo.engine.watchdog import Stuck
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks


@dataclass(eq=False)
class LogFile:
    """The lines still to read (the next one taken under the lock) and the running tally."""

    lines: list[str]
    watched: Watched = field(default_factory=Watched)
    lock: TracedLock = field(init=False)
    next_line: int = 0
    total: int = 0

    def __post_init__(self) -> None:
        self.lock = self.watched.graph.lock("the log lock")


def log_lines(count: int) -> list[str]:
    """``count`` lines "bytes=N"; the last one cut short, as a file still being written is."""
    lines = [f"bytes={n % 97 + 1}" for n in range(count)]
    lines[-1] = "bytes="
    return lines


def parse(line: str) -> int:
    """The number on a line; ValueError for a line cut short."""
    return int(line.partition("=")[2])


def take_line(log: LogFile) -> str | None:
    """The next line, or None at the end of the file (call it holding the lock)."""
    if log.next_line == len(log.lines):
        return None
    line = log.lines[log.next_line]
    log.next_line += 1
    return line


def tally_bare(log: LogFile, me: Who, ctx: ThreadContext) -> None:
    while True:
        ctx.check_stop()
        log.lock.acquire(me)
        line = take_line(log)
        if line is None:
            log.lock.release(me)
            return
        log.total += parse(line)  # raises on the bad line: the release below never runs
        log.lock.release(me)
        ctx.ops += 1


def tally_with(log: LogFile, me: Who, ctx: ThreadContext) -> None:
    while True:
        ctx.check_stop()
        with log.lock.held(me):  # released however the block ends, an exception included
            line = take_line(log)
            if line is None:
                return
            log.total += parse(line)
        ctx.ops += 1


def tally_finally(log: LogFile, me: Who, ctx: ThreadContext) -> None:
    while True:
        ctx.check_stop()
        log.lock.acquire(me)
        try:
            line = take_line(log)
            if line is None:
                return
            log.total += parse(line)
        finally:
            log.lock.release(me)  # runs on return and on the exception alike
        ctx.ops += 1


def tally_thread_bare(log: LogFile, ctx: ThreadContext) -> None:
    """The thread's whole life: tally lines until the end, or die of a bad line (an uncaught
    exception ends a thread; the except clause only notes it for the report)."""
    try:
        tally_bare(log, member(f"thread {ctx.index}", ctx), ctx)
        ctx.data["ended"] = "end of file"
    except ValueError as error:
        ctx.data["ended"] = f"died of ValueError: {error}"


def tally_thread_with(log: LogFile, ctx: ThreadContext) -> None:
    try:
        tally_with(log, member(f"thread {ctx.index}", ctx), ctx)
        ctx.data["ended"] = "end of file"
    except ValueError as error:
        ctx.data["ended"] = f"died of ValueError: {error}"


def tally_thread_finally(log: LogFile, ctx: ThreadContext) -> None:
    try:
        tally_finally(log, member(f"thread {ctx.index}", ctx), ctx)
        ctx.data["ended"] = "end of file"
    except ValueError as error:
        ctx.data["ended"] = f"died of ValueError: {error}"


class LeakedLockScenario(Scenario[LogFile]):
    name = "leaked-lock"
    # at 2, a search of some strategy ran 15 s to minutes (or stopped at --limit); at 1
    # every strategy's takes about 2 s or less, and each unsafe one fails
    explore_preemptions = 1
    summary = "A thread dies between acquire() and release(); the others wait for ever."
    explanation = (
        "Threads tally the lines of one log file, each taking the next line under a lock. The "
        "last line is cut short (the file was still being written), so parsing it raises "
        "ValueError and the thread that drew it ends with that exception, as an uncaught "
        "exception ends any thread. With a bare lock.acquire() ... lock.release(), the release "
        "never runs: the lock is still held by a thread that has gone, and every other "
        "thread waits for it for ever. The watchdog sees the holder has finished while "
        "others wait, and reports the lock as leaked. The fix: `with lock:` (or try/finally), "
        "which releases the lock however the block ends; the bad line still ends its thread, "
        "but the others finish the file."
    )
    shared_state = "the log's lines and a read position, under one instrumented lock"
    invariant = "no thread waits for ever for a lock whose holder has gone"
    violation_noun = "threads left waiting on a leaked lock"
    why = WhyItBreaks(
        gil=(
            "this is no race, and the GIL changes nothing: the thread that drew the bad line "
            "raised between acquire() and release(), so it ended holding the lock, and the "
            "others wait for a release that will never come. `with lock:` releases it on the "
            "way out of an exception."
        ),
        free_threaded=(
            "this is no race, so the free-threaded build behaves as a GIL build does: the "
            "thread that raised between acquire() and release() ended holding the lock, and "
            "the others wait for it for ever. `with lock:` releases it on the way out of an "
            "exception."
        ),
    )
    strategies = (
        Strategy(
            "bare",
            "lock.acquire() ... lock.release(), with nothing to release on an exception",
            "nothing, until a line raises: then the lock leaks and everyone else waits",
            False,
            {"worker": tally_thread_bare},
        ),
        Strategy(
            "with",
            "`with lock:` around taking and tallying a line",
            "none: the same acquire and release, and the release also runs on an exception",
            True,
            {"worker": tally_thread_with},
        ),
        Strategy(
            "try-finally",
            "acquire(), then try: ... finally: release()",
            "none; what `with` does, written out (easy to get wrong by hand)",
            True,
            {"worker": tally_thread_finally},
        ),
    )
    helpers = (tally_bare, tally_with, tally_finally, take_line, parse, log_lines)
    default_sync = "bare"
    default_threads = 4
    default_iterations = 200
    iterations_meaning = "log lines per thread (the file has threads x this; the last is bad)"

    def setup(self, config: RunConfig) -> LogFile:
        return LogFile(lines=log_lines(config.threads * config.iterations))

    def deadlock(self, state: LogFile) -> str | None:
        return state.watched.graph.deadlock()

    def stuck(self, state: LogFile, stuck: Stuck) -> None:
        state.watched.record(stuck)

    def check(self, state: LogFile, contexts: Sequence[ThreadContext]) -> Outcome:
        ended = [c for c in contexts if "ended" in c.data]
        died = [c for c in ended if c.data["ended"].startswith("died")]
        good = state.lines[:-1]
        details: dict[str, Scalar] = {
            **state.watched.details(),
            "lines_tallied": sum(c.ops for c in contexts),
            "good_lines": len(good),
            "total_ok": state.total == sum(parse(line) for line in good),
            "died": ", ".join(f"thread {c.index}: {c.data['ended']}" for c in died) or "none",
        }
        return Outcome(
            expected=len(contexts),
            observed=len(ended),
            violations=len(contexts) - len(ended),
            details=details,
        )
