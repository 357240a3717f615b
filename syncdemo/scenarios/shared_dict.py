"""shared-dict: threads count words into one dict; which built-in operations are atomic?

``d[w] = d.get(w, 0) + 1`` is two operations on the dict, a read (the ``get`` call) and a
write, and a thread switch can land between them (after the call): an increment made
meanwhile is overwritten. One ``collections.Counter`` per thread, merged after the join,
shares nothing while the threads run; ``list.append`` of each word to one list is a single
operation on GIL and free-threaded builds alike, so nothing is lost and the words are
counted after the join. The check compares every word's count with the words handed out.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import ThreadContext
from syncdemo.engine.runtime import gil_enabled
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks

#: The words the threads count: few, so that threads often count the same word at once.
VOCABULARY = ("the", "lock", "thread", "race", "dict", "count", "gil", "atomic")


@dataclass(eq=False)
class Words:
    texts: list[list[str]]
    """The words each thread counts (thread i counts texts[i])."""
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=lambda: threading.Lock())
    partials: list[Counter[str]] = field(default_factory=list)
    """merge: one Counter per thread (list.append is atomic), merged after the join."""
    seen: list[str] = field(default_factory=list)
    """append: every word, counted after the join."""


def texts_for(config: RunConfig) -> list[list[str]]:
    """Each thread's --iterations words, drawn from VOCABULARY with the run's seed."""
    rng = random.Random(f"shared-dict:{config.seed}")
    return [rng.choices(VOCABULARY, k=config.iterations) for _ in range(config.threads)]


def count_unlocked(words: Words, ctx: ThreadContext) -> None:
    mine, counts = words.texts[ctx.index], words.counts
    for chunk in ctx.chunks():
        for i in chunk:
            w = mine[i]
            counts[w] = counts.get(w, 0) + 1  # read (a call), add, write: not one step


def count_locked(words: Words, ctx: ThreadContext) -> None:
    mine, counts = words.texts[ctx.index], words.counts
    for chunk in ctx.chunks():
        for i in chunk:
            w = mine[i]
            with words.lock:
                counts[w] = counts.get(w, 0) + 1


def count_own_then_merge(words: Words, ctx: ThreadContext) -> None:
    mine, own = words.texts[ctx.index], Counter[str]()
    for chunk in ctx.chunks():
        own.update(mine[chunk.start : chunk.stop])  # this thread's own Counter: no sharing
    words.partials.append(own)  # merged by the main thread after the join


def append_then_count(words: Words, ctx: ThreadContext) -> None:
    mine, seen = words.texts[ctx.index], words.seen
    for chunk in ctx.chunks():
        for i in chunk:
            seen.append(mine[i])  # one operation on the list: nothing is lost


def merged(words: Words, sync: str) -> Counter[str]:
    """What the main thread has after the join: the dict, the merged Counters, or the list
    counted."""
    if sync == "merge":
        total: Counter[str] = Counter()
        for own in words.partials:
            total.update(own)
        return total
    if sync == "append":
        return Counter(words.seen)
    return Counter(words.counts)


class SharedDictScenario(Scenario[Words]):
    name = "shared-dict"
    summary = "Threads count words into one dict with d[w] = d.get(w, 0) + 1; counts get lost."
    explanation = (
        "Each thread counts --iterations words (from a vocabulary of "
        f"{len(VOCABULARY)}) into one shared dict with d[w] = d.get(w, 0) + 1. That is a read "
        "(the get() call), an add and a write: when another thread counts the same word "
        "between this thread's read and write, this write overwrites it and a count is lost. "
        "Which built-ins are one step? A single dict or list operation (d[w] = v, d.get(w), "
        "list.append(x)) is, on GIL and free-threaded builds alike (the free-threaded build "
        "locks each object per operation); a read and a write are two. Fixes: a lock around "
        "the update; one collections.Counter per thread, merged after the join (nothing "
        "shared: safe and fastest); or list.append of each word, counted after the join."
    )
    shared_state = "one dict of word -> count (or one list of words, or one Counter per thread)"
    invariant = "every word's count equals the times it was handed out"
    violation_noun = "counts lost"
    why = WhyItBreaks(
        gil=(
            "under the GIL a thread switch can land right after the get() call, between the "
            "read and the write; the thread that ran meanwhile counted the same word, and this "
            "thread's write put back its stale count + 1. A lock, or no shared dict at all "
            "(a Counter per thread, merged after the join), keeps every count."
        ),
        free_threaded=(
            "on this free-threaded build two threads read the same word's count at the same "
            "moment and both wrote count + 1: each dict operation is atomic (the dict is "
            "locked per operation), the read-add-write is not. A lock, or a Counter per "
            "thread merged after the join, keeps every count."
        ),
    )
    strategies = (
        Strategy(
            "none",
            "d[w] = d.get(w, 0) + 1 on one shared dict",
            "nothing, and it loses counts",
            False,
            {"worker": count_unlocked},
        ),
        Strategy(
            "lock",
            "a threading.Lock around each d[w] = d.get(w, 0) + 1",
            "an acquire and a release per word, and threads wait for each other",
            True,
            {"worker": count_locked},
        ),
        Strategy(
            "merge",
            "one collections.Counter per thread (Counter.update counts in C), merged after "
            "the join",
            "a Counter per thread and a merge at the end; nothing shared while counting",
            True,
            {"worker": count_own_then_merge},
        ),
        Strategy(
            "append",
            "list.append(w) to one shared list, counted with Counter() after the join",
            "memory for every word until the count; no lock (append is one step)",
            True,
            {"worker": append_then_count},
        ),
    )
    helpers = (merged, texts_for)
    explore_seed = 2  # explore's 2 threads x 2 words: at seed 2 both count "thread"
    default_sync = "none"
    default_threads = 8
    """More threads than cores: on a busy machine a thread switch then comes more often."""
    default_iterations = 60_000 if gil_enabled() else 10_000
    """Under the GIL, enough that the threads overlap even when a busy machine starts some
    late; on a free-threaded build, where every operation waits for the dict's lock (8
    threads on a few cores take seconds for 10,000 words each), fewer."""
    iterations_meaning = "words per thread"

    def setup(self, config: RunConfig) -> Words:
        return Words(texts=texts_for(config))

    def check(self, state: Words, contexts: Sequence[ThreadContext]) -> Outcome:
        handed_out: Counter[str] = Counter()
        for c in contexts:
            handed_out.update(state.texts[c.index][: c.ops])
        sync = contexts[0].config.sync if contexts else "none"
        counted = merged(state, sync)
        lost = sum((handed_out - counted).values())
        extra = sum((counted - handed_out).values())
        expected = sum(handed_out.values())
        details: dict[str, Scalar] = {"words": expected, "counted": sum(counted.values())}
        if extra:
            details["counted_too_often"] = extra
        return Outcome(
            expected=expected,
            observed=sum(counted.values()),
            violations=lost,
            details=details,
        )
