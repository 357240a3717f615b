"""queue-shutdown: consumers that stop when the queue looks empty, and three ways to stop right.

Producers put items on a ``queue.Queue``; consumers loop ``while not q.empty(): q.get()``.
An empty queue only says nothing is there *now*: a consumer that finds it empty while the
producers are still producing gives up, and once every consumer has, the rest of the items
are left behind. And two consumers can both see the last item, so that one takes it and the
other waits in ``get()`` for ever. Fixed by a sentinel per consumer, by ``get(timeout=...)``
with a look at whether the producers are done, and on CPython 3.13+ by ``Queue.shutdown()``.

The ``shutdown`` strategy exists only where the interpreter has ``Queue.shutdown()``; the
catalogue row and this class ask the same question (``sys.version_info >= (3, 13)``), so
``list`` shows it only there, and ``describe`` explains its absence elsewhere.
"""

from __future__ import annotations

import platform
import queue
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from syncdemo.engine.context import Stopped, ThreadContext
from syncdemo.engine.locks import SLICE_S
from syncdemo.engine.watchdog import Stuck
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import ProducerConsumerRoles, Strategy, WhyItBreaks

#: Queue.shutdown() and queue.ShutDown are new in CPython 3.13.
HAS_SHUTDOWN = sys.version_info >= (3, 13)

#: timeout: how long a consumer waits in get() before it looks whether the producers are done.
GET_TIMEOUT_S = 0.01

#: sentinel: what the last producer puts once per consumer; not an item.
DONE = -1


class WatchedQueue(queue.Queue[int]):
    """A ``queue.Queue`` whose untimed ``get()`` the watchdog can see waiting and cancel.

    It waits in slices of ``SLICE_S`` (a put wakes it at once: the slice is a timeout, not a
    polling period), so that a consumer waiting for ever can be told to give up.
    """

    def __init__(self) -> None:
        super().__init__()
        self.cancelled = threading.Event()
        self._who = threading.Lock()
        self.waiting: set[str] = set()
        """Names of the threads in an untimed get() right now."""

    def get(self, block: bool = True, timeout: float | None = None) -> int:
        if not block or timeout is not None:
            return super().get(block, timeout)
        name = threading.current_thread().name
        with self._who:
            self.waiting.add(name)
        try:
            while True:
                try:
                    return super().get(timeout=SLICE_S)
                except queue.Empty:
                    if self.cancelled.is_set():
                        raise Stopped from None
        finally:
            with self._who:
                self.waiting.discard(name)

    def waiters(self) -> list[str]:
        with self._who:
            return sorted(self.waiting)


@dataclass(eq=False)
class Line:
    producers: int
    consumers: int
    """The threads that consume (the one thread, when there is only one)."""
    q: WatchedQueue = field(default_factory=WatchedQueue)
    lock: threading.Lock = field(default_factory=lambda: threading.Lock())
    producing: int = field(init=False)
    """Producers not yet done (under ``lock``)."""
    all_produced: threading.Event = field(default_factory=lambda: threading.Event())
    ends: list[threading.Event] = field(default_factory=list)
    """Each producer's ``finished`` event, for the watchdog (list.append is atomic)."""
    stuck: Stuck | None = None

    def __post_init__(self) -> None:
        self.producing = self.producers


def fetch(n: int, line: Line, ctx: ThreadContext) -> int:
    """Fetch item n from where it comes from. ``time.sleep(0)`` stands for that I/O (a
    socket, a file): it releases the GIL, as I/O does, and asks for no time at all."""
    time.sleep(0)
    return n * line.producers + ctx.role_index


def produce(line: Line, ctx: ThreadContext) -> None:
    """Fetch and put this producer's items: n * producers + its index, n < --iterations."""
    line.ends.append(ctx.finished)
    ctx.data["put"] = 0
    for chunk in ctx.chunks():
        for n in chunk:
            line.q.put(fetch(n, line, ctx))
            ctx.data["put"] += 1


def last_producer_out(line: Line) -> bool:
    """Count this producer out; True for the last one."""
    with line.lock:
        line.producing -= 1
        return line.producing == 0


def consume_while_not_empty(line: Line, ctx: ThreadContext) -> None:
    got = ctx.data["got"] = []
    while not line.q.empty():  # nothing there right now: taken to mean nothing is coming
        got.append(line.q.get())  # another consumer may have taken it: then this waits for ever
    ctx.data["done"] = True


def consume_until_sentinel(line: Line, ctx: ThreadContext) -> None:
    got = ctx.data["got"] = []
    while (item := line.q.get()) != DONE:
        got.append(item)
    ctx.data["done"] = True


def consume_with_timeout(line: Line, ctx: ThreadContext) -> None:
    got = ctx.data["got"] = []
    while True:
        try:
            got.append(line.q.get(timeout=GET_TIMEOUT_S))
        except queue.Empty:
            if line.all_produced.is_set() and line.q.empty():  # done, and nothing left
                break
            ctx.check_stop()
    ctx.data["done"] = True


def produce_only(line: Line, ctx: ThreadContext) -> None:
    produce(line, ctx)


def produce_then_sentinels(line: Line, ctx: ThreadContext) -> None:
    produce(line, ctx)
    if last_producer_out(line):
        for _ in range(line.consumers):
            line.q.put(DONE)  # one per consumer: each stops at its own


def produce_then_flag(line: Line, ctx: ThreadContext) -> None:
    produce(line, ctx)
    if last_producer_out(line):
        line.all_produced.set()


def alone(producer: Any, consumer: Any) -> Any:
    """One thread: produce everything, then consume it."""

    def produce_then_consume(line: Line, ctx: ThreadContext) -> None:
        producer(line, ctx)
        consumer(line, ctx)

    return produce_then_consume


_NONE = Strategy(
    "none",
    "consumers loop `while not q.empty(): q.get()`",
    "nothing, and consumers leave too early (items left behind) or wait for ever",
    False,
    {
        "producer": produce_only,
        "consumer": consume_while_not_empty,
        "producer+consumer": alone(produce_only, consume_while_not_empty),
    },
)
_SENTINEL = Strategy(
    "sentinel",
    "the last producer puts one DONE per consumer; a consumer stops at its DONE",
    "one extra item per consumer; the producers must know how many consumers there are",
    True,
    {
        "producer": produce_then_sentinels,
        "consumer": consume_until_sentinel,
        "producer+consumer": alone(produce_then_sentinels, consume_until_sentinel),
    },
)
_TIMEOUT = Strategy(
    "timeout",
    f"get(timeout={GET_TIMEOUT_S}); on Empty, stop if every producer is done and nothing is left",
    f"a consumer lingers up to {GET_TIMEOUT_S * 1000:.0f} ms at the end; needs a done flag",
    True,
    {
        "producer": produce_then_flag,
        "consumer": consume_with_timeout,
        "producer+consumer": alone(produce_then_flag, consume_with_timeout),
    },
)
STRATEGIES: tuple[Strategy, ...] = (_NONE, _SENTINEL, _TIMEOUT)

if sys.version_info >= (3, 13):

    def produce_then_shut_down(line: Line, ctx: ThreadContext) -> None:
        produce(line, ctx)
        if last_producer_out(line):
            line.q.shutdown()  # get() returns what is left, then raises queue.ShutDown

    def consume_until_shut_down(line: Line, ctx: ThreadContext) -> None:
        got = ctx.data["got"] = []
        while True:
            try:
                got.append(line.q.get())
            except queue.ShutDown:
                break
        ctx.data["done"] = True

    STRATEGIES += (
        Strategy(
            "shutdown",
            "the last producer calls q.shutdown(); get() drains, then raises queue.ShutDown",
            "nothing extra: no sentinel, no timeout (CPython 3.13+)",
            True,
            {
                "producer": produce_then_shut_down,
                "consumer": consume_until_shut_down,
                "producer+consumer": alone(produce_then_shut_down, consume_until_shut_down),
            },
        ),
    )
    _SHUTDOWN_NOTE = (
        "On this interpreter (3.13+) Queue.shutdown() does it without either: the last "
        "producer shuts the queue down, and get() hands out what is left, then raises "
        "queue.ShutDown."
    )
else:
    _SHUTDOWN_NOTE = (
        "CPython 3.13+ adds a fourth way, --sync shutdown (Queue.shutdown(): get() hands out "
        f"what is left, then raises queue.ShutDown); this interpreter, Python "
        f"{platform.python_version()}, has no Queue.shutdown(), so it is not offered here."
    )


class QueueShutdownScenario(ProducerConsumerRoles[Line]):
    name = "queue-shutdown"
    # at 2, a search of some strategy ran 15 s to minutes (or stopped at --limit); at 1
    # every strategy's takes about 2 s or less, and each unsafe one fails
    explore_preemptions = 1
    summary = "Consumers stop when the queue looks empty: items left behind, or get() for ever."
    explanation = (
        "Producers fetch items (time.sleep(0) stands for that I/O: it releases the GIL, as I/O "
        "does, and asks for no time at all) and put them on a queue.Queue; consumers loop "
        "`while not q.empty(): q.get()`. An empty queue only says nothing is there now: a "
        "consumer that finds it empty while producers are still producing gives up, and once "
        "all have, the rest is left behind. Two consumers can also both see the last item: one "
        "takes it, the other waits in get() for ever (the watchdog sees it waiting on an empty "
        "queue after every producer finished). The fix: tell the consumers the end has come, "
        "with one sentinel per consumer, or with get(timeout=...) and a flag the last producer "
        "sets. " + _SHUTDOWN_NOTE
    )
    shared_state = "a queue.Queue of items (and how many producers are still producing)"
    invariant = "every item is consumed and every consumer stops"
    violation_noun = "items left behind + consumers stuck in get()"
    why = WhyItBreaks(
        gil=(
            "under the GIL the consumers ran while the producers waited on their I/O, drained "
            "the queue, found it empty while producers were still "
            "producing, and stopped; what was put after the last one left stayed in the queue "
            "(or a consumer lost the race for the last item and waited in get() for ever). "
            "Tell the consumers the end has come: a sentinel, or a flag with get(timeout=...)."
        ),
        free_threaded=(
            "on this free-threaded build consumers and producers ran at once, a consumer found "
            "the queue empty between two puts and stopped, and items put after the last "
            "consumer left stayed in the queue (or two consumers raced for the last item and "
            "the loser waited in get() for ever). Tell the consumers the end has come: a "
            "sentinel, or a flag with get(timeout=...)."
        ),
    )
    strategies = STRATEGIES
    helpers = (produce, fetch, last_producer_out, WatchedQueue.get)
    default_sync = "none"
    default_threads = 4
    default_iterations = 2000
    iterations_meaning = "items per producer"

    def split(self, threads: int) -> tuple[int, int]:
        if threads == 1:
            return 1, 0
        producers = threads // 2
        return producers, threads - producers

    def setup(self, config: RunConfig) -> Line:
        producers, consumers = self.split(config.threads)
        return Line(producers=producers, consumers=max(1, consumers))

    def progress(self, state: Line, contexts: Sequence[ThreadContext]) -> int:
        """Items put and items taken."""
        return sum(c.data.get("put", 0) + len(c.data.get("got", ())) for c in contexts)

    def cancel(self, state: Line) -> None:
        state.q.cancelled.set()

    def deadlock(self, state: Line) -> str | None:
        done = len(state.ends) == state.producers and all(e.is_set() for e in state.ends)
        waiting = state.q.waiters()
        if not (done and waiting and state.q.empty()):
            return None
        return (
            f"{', '.join(waiting)} wait{'s' if len(waiting) == 1 else ''} in q.get() on an "
            "empty queue, and every producer has finished: nothing will ever be put"
        )

    def stuck(self, state: Line, stuck: Stuck) -> None:
        state.stuck = stuck

    def check(self, state: Line, contexts: Sequence[ThreadContext]) -> Outcome:
        produced = sum(c.data.get("put", 0) for c in contexts)
        consumed = [item for c in contexts for item in c.data.get("got", [])]
        consumers = [c for c in contexts if c.role != "producer"]
        stuck = sum(1 for c in consumers if not c.data.get("done"))
        left = produced - len(set(consumed))
        details: dict[str, Scalar] = {
            "produced": produced,
            "consumed": len(consumed),
            "left_behind": left,
            "stuck_in_get": stuck,
        }
        if state.stuck is not None:
            details.update(
                detected_by=state.stuck.reason,
                stalled_s=round(state.stuck.stalled_s, 3),
                seen=state.stuck.detail,
            )
        return Outcome(
            expected=produced,
            observed=len(consumed),
            violations=left + stuck,
            details=details,
        )
