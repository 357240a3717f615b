"""The built-in scenarios, as the registry lists them without importing their modules.

This table is their registration: a name, where the class lives, and what ``list`` shows.
``tests/test_structure.py`` holds each row equal to its class, so a scenario changed in
its module and not here fails the tests (the message gives the row to paste). A new
built-in scenario = its module + a row here + its tests.
"""

from __future__ import annotations

import sys

from syncdemo.scenarios.entry import Entry

#: queue-shutdown's shutdown strategy needs Queue.shutdown() (CPython 3.13+); its module
#: asks the same question, so the row and the class agree on every interpreter.
_QUEUE_SHUTDOWN = sys.version_info >= (3, 13)

BUILTINS: tuple[Entry, ...] = (
    Entry(
        name="counter",
        target="syncdemo.scenarios.counter:CounterScenario",
        summary="Threads increment one shared integer; unsynchronized increments get lost.",
        invariant="final value == threads × iterations",
        strategies=("none", "lock", "sharded"),
        safe=frozenset(["lock", "sharded"]),
        default_sync="none",
        runtimes=("threads", "asyncio", "processes"),
    ),
    Entry(
        name="locked-counter",
        target="syncdemo.scenarios.counter:LockedCounterScenario",
        summary="The counter with a threading.Lock around each increment; no update is lost.",
        invariant="final value == threads × iterations",
        strategies=("none", "lock", "sharded"),
        safe=frozenset(["lock", "sharded"]),
        default_sync="lock",
        runtimes=("threads", "asyncio", "processes"),
    ),
    Entry(
        name="producer-consumer",
        target="syncdemo.scenarios.producer_consumer:ProducerConsumerScenario",
        summary="Producers fill a bounded buffer, consumers empty it; items get lost or doubled.",
        invariant="every item produced is consumed exactly once",
        strategies=("none", "condition", "queue"),
        safe=frozenset(["condition", "queue"]),
        default_sync="condition",
    ),
    Entry(
        name="barrier",
        target="syncdemo.scenarios.barrier:BarrierScenario",
        summary="Threads work in phases and read each other's results; without a barrier, stale.",
        invariant="every slot a thread reads holds the current phase",
        strategies=("none", "barrier"),
        safe=frozenset(["barrier"]),
        default_sync="barrier",
    ),
    Entry(
        name="deadlock",
        target="syncdemo.scenarios.deadlock:DeadlockScenario",
        summary="Threads take two locks in opposite orders and wait for each other for ever.",
        invariant="every thread finishes all its updates",
        strategies=("none", "ordered", "trylock"),
        safe=frozenset(["ordered", "trylock"]),
        default_sync="none",
    ),
    Entry(
        name="dining-philosophers",
        target="syncdemo.scenarios.dining_philosophers:DiningPhilosophersScenario",
        summary="N philosophers share N forks; left-then-right deadlocks, fairness is measured.",
        invariant="every philosopher eats all its meals",
        strategies=("naive", "ordered", "waiter", "trylock"),
        safe=frozenset(["ordered", "trylock", "waiter"]),
        default_sync="naive",
    ),
    Entry(
        name="readers-writers",
        target="syncdemo.scenarios.readers_writers:ReadersWritersScenario",
        summary="Readers copy a record while writers rewrite it: torn reads, or starved writers.",
        invariant="no reader copies a half-written record",
        strategies=("none", "reader-preference", "writer-preference", "fair"),
        safe=frozenset(["fair", "reader-preference", "writer-preference"]),
        default_sync="reader-preference",
    ),
    Entry(
        name="bank-transfer",
        target="syncdemo.scenarios.bank_transfer:BankTransferScenario",
        summary="Tellers move money between accounts: overdrafts, money lost, or a deadlock.",
        invariant="money conserved, no overdraft, every transfer done",
        strategies=("none", "global-lock", "account-locks", "account-locks-unordered"),
        safe=frozenset(["account-locks", "global-lock"]),
        default_sync="none",
    ),
    Entry(
        name="lazy-init",
        target="syncdemo.scenarios.lazy_init:LazyInitScenario",
        summary="Threads build shared objects on first use; check-then-create builds several.",
        invariant="each object is built exactly once",
        strategies=("none", "lock", "double-checked"),
        safe=frozenset(["double-checked", "lock"]),
        default_sync="none",
    ),
    Entry(
        name="bounded-pool",
        target="syncdemo.scenarios.bounded_pool:BoundedPoolScenario",
        summary="At most K threads may use a resource at once; check-then-join lets more in.",
        invariant="never more than K threads use the resource at once",
        strategies=("none", "semaphore"),
        safe=frozenset(["semaphore"]),
        default_sync="none",
    ),
    Entry(
        name="condition-wait",
        target="syncdemo.scenarios.condition_wait:ConditionWaitScenario",
        summary="Consumers wait on a Condition; `if` instead of `while` takes from empty lists.",
        invariant="a woken consumer never takes from an empty list",
        strategies=("if-wait", "while-wait", "wait-for"),
        safe=frozenset(["wait-for", "while-wait"]),
        default_sync="if-wait",
    ),
    Entry(
        name="livelock",
        target="syncdemo.scenarios.livelock:LivelockScenario",
        summary="Two polite workers keep giving way to each other: busy for ever, nothing done.",
        invariant="every worker finishes all its jobs",
        strategies=("polite", "backoff", "ordered"),
        safe=frozenset(["backoff", "ordered"]),
        default_sync="polite",
    ),
    Entry(
        name="reentrant",
        target="syncdemo.scenarios.reentrant:ReentrantScenario",
        summary="A method holding a Lock calls one that takes it again: it waits for itself.",
        invariant="every restock is done and logged",
        strategies=("lock", "rlock", "split"),
        safe=frozenset(["rlock", "split"]),
        default_sync="lock",
    ),
    Entry(
        name="leaked-lock",
        target="syncdemo.scenarios.leaked_lock:LeakedLockScenario",
        summary="A thread dies between acquire() and release(); the others wait for ever.",
        invariant="no thread waits for ever for a lock whose holder has gone",
        strategies=("bare", "with", "try-finally"),
        safe=frozenset(["try-finally", "with"]),
        default_sync="bare",
    ),
    Entry(
        name="semaphore",
        target="syncdemo.scenarios.semaphore:SemaphoreScenario",
        summary="A Semaphore(K) released twice on an error path lets more than K threads in.",
        invariant="never more than K threads use the pool at once",
        strategies=("semaphore", "bounded", "with"),
        safe=frozenset(["with"]),
        default_sync="semaphore",
    ),
    Entry(
        name="queue-shutdown",
        target="syncdemo.scenarios.queue_shutdown:QueueShutdownScenario",
        summary="Consumers stop when the queue looks empty: items left behind, or get() for ever.",
        invariant="every item is consumed and every consumer stops",
        # Queue.shutdown() is new in 3.13: the strategy exists where the interpreter has it
        strategies=("none", "sentinel", "timeout", *(("shutdown",) if _QUEUE_SHUTDOWN else ())),
        safe=frozenset(["sentinel", "timeout", *(["shutdown"] if _QUEUE_SHUTDOWN else [])]),
        default_sync="none",
    ),
    Entry(
        name="print-interleave",
        target="syncdemo.scenarios.print_interleave:PrintInterleaveScenario",
        summary="Threads print whole lines to one stream; print() writes twice, so lines mix.",
        invariant="every line is exactly one thread's message",
        strategies=("none", "lock", "one-write"),
        safe=frozenset(["lock", "one-write"]),
        default_sync="none",
    ),
    Entry(
        name="shared-dict",
        target="syncdemo.scenarios.shared_dict:SharedDictScenario",
        summary="Threads count words into one dict with d[w] = d.get(w, 0) + 1; counts get lost.",
        invariant="every word's count equals the times it was handed out",
        strategies=("none", "lock", "merge", "append"),
        safe=frozenset(["append", "lock", "merge"]),
        default_sync="none",
    ),
)
