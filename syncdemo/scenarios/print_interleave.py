"""print-interleave: threads print whole lines to one stream, and the lines come out mixed.

The stream is the scenario's own object (never the real stdout): ``Stream.print`` writes as
the built-in ``print()`` does, each argument, the separator between two, and then ``end``,
each in a call of its own (``print("thread", 3, "says line", 17)`` is eight writes). Between
two of them another thread may write its own, so two messages share a line. The check
splits what was written into lines and counts those that are not exactly one thread's
message.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import ThreadContext
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks


class Stream:
    """A text stream that keeps every ``write`` as one piece, in the order they happened.

    ``list.append`` is atomic on GIL and free-threaded builds alike, so one write is never
    torn: what mixes is the order of the writes, as on a terminal or a pipe.
    """

    def __init__(self) -> None:
        self._pieces: list[str] = []

    def write(self, text: str) -> int:
        self._pieces.append(text)
        return len(text)

    def print(self, *args: object, sep: str = " ", end: str = "\n") -> None:
        """What ``print(*args, file=stream)`` does: one write per argument, one per separator,
        one for ``end``."""
        for i, arg in enumerate(args):
            if i:
                self.write(sep)
            self.write(str(arg))
        self.write(end)

    def getvalue(self) -> str:
        return "".join(self._pieces)


@dataclass(eq=False)
class Terminal:
    stream: Stream = field(default_factory=Stream)
    lock: threading.Lock = field(default_factory=lambda: threading.Lock())


def message(index: int, n: int) -> str:
    """Line n of thread ``index``, as it should come out."""
    return f"thread {index} says line {n}"


def print_lines(term: Terminal, ctx: ThreadContext) -> None:
    for chunk in ctx.chunks():
        for n in chunk:
            term.stream.print("thread", ctx.index, "says line", n)  # 8 writes: others may cut in


def print_lines_locked(term: Terminal, ctx: ThreadContext) -> None:
    for chunk in ctx.chunks():
        for n in chunk:
            with term.lock:  # all the writes of a line, with no other thread's in between
                term.stream.print("thread", ctx.index, "says line", n)


def write_whole_lines(term: Terminal, ctx: ThreadContext) -> None:
    for chunk in ctx.chunks():
        for n in chunk:
            term.stream.write(message(ctx.index, n) + "\n")  # the whole line in one write


class PrintInterleaveScenario(Scenario[Terminal]):
    name = "print-interleave"
    # at 2, a search of some strategy ran 15 s to minutes (or stopped at --limit); at 1
    # every strategy's takes about 2 s or less, and each unsafe one fails
    explore_preemptions = 1
    summary = "Threads print whole lines to one stream; print() writes twice, so lines mix."
    explanation = (
        "Each thread prints --iterations lines to one shared stream (the scenario's own, never "
        "your terminal) with print('thread', i, 'says line', n). print() writes each argument, "
        "each separator and the newline in a call of its own (eight here); between two of them "
        "another thread may write, so messages share a line. The check splits everything "
        "written into lines and counts the lines that are not exactly one thread's message. The"
        " fix: a lock around each print, or build the whole line first and write it in one call"
        " (stream.write(line + '\\n'))."
    )
    shared_state = "one text stream; each write() lands whole, in the order writes happen"
    invariant = "every line is exactly one thread's message"
    violation_noun = "mixed lines"
    why = WhyItBreaks(
        gil=(
            "under the GIL a thread switch can land at any call, and print() makes a write call "
            "per argument, per separator and for the newline; when a switch landed between two "
            "of them, the next thread's writes went into the middle of this thread's line. A "
            "lock around the print, or one write per line, keeps each line whole."
        ),
        free_threaded=(
            "on this free-threaded build threads wrote at the same time, so another thread's "
            "writes landed between the writes of one print() (one per argument, separator and "
            "newline). A lock around the print, or one write per line, keeps each line whole."
        ),
    )
    strategies = (
        Strategy(
            "none",
            "stream.print('thread', i, 'says line', n): a write per argument, separator and "
            "newline, as print() does",
            "nothing, and lines mix",
            False,
            {"worker": print_lines},
        ),
        Strategy(
            "lock",
            "a threading.Lock held around each print",
            "an acquire and a release per line; printing threads wait for each other",
            True,
            {"worker": print_lines_locked},
        ),
        Strategy(
            "one-write",
            "stream.write(line + '\\n'): the whole line, built first, in one call",
            "one string concatenation per line; no lock (each write is one step here, and "
            "on a real file one write() of a short line is not split either)",
            True,
            {"worker": write_whole_lines},
        ),
    )
    helpers = (Stream.print, Stream.write, message)
    default_sync = "none"
    default_threads = 8
    """More threads than cores: on a busy machine a thread switch then comes more often."""
    default_iterations = 10_000
    iterations_meaning = "lines per thread"

    def setup(self, config: RunConfig) -> Terminal:
        return Terminal()

    def check(self, state: Terminal, contexts: Sequence[ThreadContext]) -> Outcome:
        expected = sum(c.ops for c in contexts)
        lines = state.stream.getvalue().split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # after the last newline
        sent = {message(c.index, n) for c in contexts for n in range(c.ops)}
        whole = sum(1 for line in lines if line in sent)
        mixed = len(lines) - whole
        details: dict[str, Scalar] = {"lines": len(lines), "whole": whole, "mixed": mixed}
        example = next((line for line in lines if line and line not in sent), "")
        if example:
            details["example"] = example
        return Outcome(expected=expected, observed=whole, violations=mixed, details=details)
