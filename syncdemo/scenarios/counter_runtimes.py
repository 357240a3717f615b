"""counter on the other runtimes: asyncio tasks in one event loop (an ``await`` is the only
switch point) and processes sharing one ``multiprocessing.Value``; the workers of each
strategy there, and the verdicts that say why each runtime races or does not.

:mod:`syncdemo.scenarios.counter` imports this module when a run asks for one of them.
"""

from __future__ import annotations

import asyncio
from typing import cast

from syncdemo.engine.context import ThreadContext, Worker
from syncdemo.results import RunConfig
from syncdemo.scenarios.counter import (
    AsyncLockedCounter,
    Counter,
    Shard,
    ShardedCounter,
    next_value,
)

# --- --runtime asyncio: tasks in one event loop ---------------------------------------------


async def next_value_after_await(value: int) -> int:
    """The step between read and write, after an ``await`` that suspends: the point where
    the event loop runs the other tasks (``asyncio.sleep(0)`` standing for I/O)."""
    await asyncio.sleep(0)
    return next_value(value)


async def next_value_no_await(value: int) -> int:
    """The same step with nothing to wait for: a coroutine that never suspends gives the
    loop nothing to switch at, however many calls it makes."""
    return next_value(value)


#: --window on asyncio: io awaits a suspension between the read and the write; call and
#: none do not (a plain call is no switch point for the event loop).
ASYNC_STEPS = {"io": next_value_after_await, "call": next_value_no_await}


async def increment_async_unsafe(state: Counter, ctx: ThreadContext) -> None:
    step = ASYNC_STEPS.get(ctx.config.window, next_value_no_await)
    for chunk in ctx.chunks():
        for _ in chunk:
            value = state.value  # read
            value = await step(value)  # with --window io, other tasks run here
            state.value = value  # write


async def increment_async_sharded(state: ShardedCounter, ctx: ThreadContext) -> None:
    """--sync sharded: each task its own counter, summed after the loop ends."""
    step = ASYNC_STEPS.get(ctx.config.window, next_value_no_await)
    own = Shard()
    state.shards.append(own)
    for chunk in ctx.chunks():
        for _ in chunk:
            own.value = await step(own.value)


async def increment_async_locked(state: AsyncLockedCounter, ctx: ThreadContext) -> None:
    step = ASYNC_STEPS.get(ctx.config.window, next_value_no_await)
    lock = state.lock
    for chunk in ctx.chunks():
        for _ in chunk:
            async with lock:  # tasks that reach it while it is held wait here
                state.value = await step(state.value)


# --- --runtime processes: the counter in shared memory ---------------------------------------


class SharedCounter:
    """counter.value as a ``multiprocessing.Value`` that every process sees. Each read or
    write of ``cell.value`` takes the Value's own lock for that one access only."""

    def __init__(self) -> None:
        import multiprocessing

        self.cell = multiprocessing.get_context().Value("q", 0)

    @property
    def value(self) -> int:
        return int(self.cell.value)

    def total(self) -> int:
        return self.value


def increment_shared_unsafe(state: SharedCounter, ctx: ThreadContext) -> None:
    cell = state.cell
    bare = ctx.config.window == "none"
    for chunk in ctx.chunks():
        for _ in chunk:
            if bare:
                cell.value += 1  # still a read and a write, each locked on its own
            else:
                value = cell.value  # read
                value = next_value(value)  # the other processes run meanwhile, in parallel
                cell.value = value  # write


def increment_shared_sharded(state: SharedCounter, ctx: ThreadContext) -> None:
    """--sync sharded: count in this process alone, add the total once at the end."""
    own = 0
    for chunk in ctx.chunks():
        for _ in chunk:
            own = next_value(own)
    with state.cell.get_lock():
        state.cell.value += own


def increment_shared_locked(state: SharedCounter, ctx: ThreadContext) -> None:
    cell = state.cell
    lock = cell.get_lock()
    for chunk in ctx.chunks():
        for _ in chunk:
            with lock:  # one process at a time from here
                cell.value = next_value(cell.value)


#: The workers of --runtime asyncio and processes, by strategy (the engine awaits what an
#: asyncio worker returns).
RUNTIME_WORKERS: dict[str, dict[str, Worker]] = {
    "asyncio": {
        "none": cast(Worker, increment_async_unsafe),
        "lock": cast(Worker, increment_async_locked),
        "sharded": cast(Worker, increment_async_sharded),
    },
    "processes": {
        "none": increment_shared_unsafe,
        "lock": increment_shared_locked,
        "sharded": increment_shared_sharded,
    },
}

_LOCKED_ON: dict[str, dict[str, str]] = {"lock": {}, "sharded": {}}
_LOCKED_ON["lock"] = {
    "asyncio": (
        "The invariant held, as it must with --sync lock: an asyncio.Lock is held across the "
        "await, so no other task gets between a read and its write."
    ),
    "processes": (
        "The invariant held, as it must with --sync lock: value.get_lock() is held across "
        "the read and the write, so one process at a time does the whole increment."
    ),
}
_LOCKED_ON["sharded"] = {
    runtime: (
        "The invariant held, as it must with --sync sharded: each worker counted on its "
        "own and the counts were added up once it had finished; nothing was shared while "
        "counting."
    )
    for runtime in ("asyncio", "processes")
}


def _asyncio_verdict(ok: bool, window: str) -> str:
    if window == "io":
        if ok:
            return (
                "No update was lost this time, but each task awaits between its read and its "
                "write, and every await that suspends lets the other tasks run: run more "
                "--iterations or --trials."
            )
        return (
            "The invariant broke on one thread, with no GIL switch involved: each task read "
            "the counter, awaited (the event loop ran the other tasks there, and they wrote), "
            "then wrote its stale value + 1. An asyncio.Lock held across the await fixes it."
        )
    return (
        "No update was lost, and none can be: all tasks run on one thread in one event loop, "
        "which switches tasks only at an await that suspends, and there is none between "
        "this read and this write (a plain call, or awaiting a coroutine that never "
        "suspends, is no switch point). Put an await of real I/O there (--window io) and "
        "updates are lost."
        if ok
        else "Updates were lost although no await suspended between read and write."
    )


def _processes_verdict(ok: bool) -> str:
    if ok:
        return (
            "No update was lost this time, but the processes run in parallel and the read and "
            "the write of the shared Value are two separate locked steps: run more "
            "--iterations or --trials."
        )
    return (
        "The invariant broke: separate processes run truly in parallel (each has its own "
        "interpreter and GIL), and only the multiprocessing.Value is shared. Each read and "
        "each write of value.value is locked on its own, so two processes read the same "
        "value and both write value + 1. Holding value.get_lock() across the read and the "
        "write fixes it."
    )


def runtime_verdict(ok: bool, config: RunConfig) -> str:
    """The report's last sentence for a counter run on asyncio or processes."""
    if config.sync != "none":
        if not ok:
            return f"Updates were lost with --sync {config.sync}."
        return _LOCKED_ON.get(config.sync, {}).get(config.runtime, "The invariant held.")
    if config.runtime == "asyncio":
        return _asyncio_verdict(ok, config.window)
    return _processes_verdict(ok)
