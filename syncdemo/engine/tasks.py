"""Runs one trial as asyncio tasks in one event loop (``--runtime asyncio``).

One thread runs every task, so the GIL and the switch interval play no part: a task gives
the loop up only at an ``await`` that suspends (``asyncio.sleep(0)``, I/O, a lock that is
held). Tasks are released together by an ``asyncio.Event`` start gate, as threads are by
their barrier, and timed from it. A watchdog task calls the trial stuck when progress stops
for ``--timeout`` (tasks that wait on each other for ever: an asyncio deadlock); Ctrl-C
cancels every task before the trial ends, so none is left behind.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from syncdemo.engine.context import Stopped, ThreadContext
from syncdemo.engine.runner import finish_trial, make_contexts
from syncdemo.engine.watchdog import Watchdog
from syncdemo.results import RunConfig, TrialResult
from syncdemo.scenarios.base import Scenario

#: How often the watchdog task looks at progress.
POLL_S = 0.05

AsyncWorker = Callable[[Any, ThreadContext], Awaitable[None]]


def run_trial(scenario: Scenario[Any], config: RunConfig, trial: int) -> TrialResult:
    strategy = scenario.strategy(config.sync)
    state = scenario.setup(config)
    contexts = make_contexts(scenario.roles(config), config, trial, threading.Event())
    workers: list[AsyncWorker] = [
        scenario.worker(strategy, c.role, config)  # type: ignore[misc]
        for c in contexts
    ]
    asyncio.run(_trial(scenario, state, contexts, workers, config.timeout))
    return finish_trial(scenario, config, trial, state, contexts)


async def _trial(
    scenario: Scenario[Any],
    state: Any,
    contexts: Sequence[ThreadContext],
    workers: Sequence[AsyncWorker],
    timeout: float,
) -> None:
    gate = asyncio.Event()
    tasks = [
        asyncio.create_task(_one(worker, state, ctx, gate), name=f"syncdemo-{ctx.role}-{ctx.index}")
        for worker, ctx in zip(workers, contexts, strict=True)
    ]
    await asyncio.sleep(0)  # every task is now waiting at the gate
    gate.set()
    watchdog = Watchdog(
        timeout,
        progress=lambda: scenario.progress(state, contexts),
        deadlock=lambda: None,
    )
    try:
        pending = set(tasks)
        while pending:
            _, pending = await asyncio.wait(pending, timeout=POLL_S)
            stuck = watchdog.poll()
            if stuck is not None and pending:  # tasks waiting on each other: stop them all
                scenario.stuck(state, stuck)
                contexts[0].stop.set()
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                pending = set()
    finally:
        for task in tasks:  # Ctrl-C (the loop cancels this coroutine) or an error
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _one(worker: AsyncWorker, state: Any, ctx: ThreadContext, gate: asyncio.Event) -> None:
    try:
        await gate.wait()
        ctx.start_ns = time.perf_counter_ns()
        try:
            await worker(state, ctx)
        except (Stopped, asyncio.CancelledError):
            pass
        except Exception as exc:  # reported after the loop ends, as for threads
            ctx.data["error"] = exc
            ctx.stop.set()
        finally:
            ctx.end_ns = time.perf_counter_ns()
    finally:
        ctx.finished.set()
