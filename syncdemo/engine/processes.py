"""Runs one trial as processes (``--runtime processes``): real parallelism, nothing shared
but what the scenario put in shared memory (``multiprocessing.Value`` and the like).

Processes start with the platform's default start method (reported), wait at a
``multiprocessing.Barrier``, and are timed from it, like threads; the time it took to
start them is measured apart (``startup_s``) so that ops/s compare fairly. Each child
mirrors its operation count into a shared array so the parent's watchdog sees progress,
and sends its statistics back when done. Ctrl-C, a failure or the watchdog stop every
child; any child still alive after a grace period is terminated, then killed: no process
outlives the trial.

Nor does any child outlive syncdemo, whatever ends it. SIGTERM and SIGHUP are turned
into the same cleanup as Ctrl-C by the CLI; SIGKILL (and a crash) cannot be caught, so
each child asks the kernel to kill it when its parent dies: ``prctl(PR_SET_PDEATHSIG,
SIGKILL)`` on Linux, through ctypes, then checks that the parent did not die before that
call took effect. It works even while the worker spins in C holding the GIL. Elsewhere a
thread in the child waits on multiprocessing's parent sentinel (a pipe the parent holds
open) and ends the child when it closes. A child that dies without reporting (a worker's
``os._exit``, a crash, a kill from outside) fails the trial with one line that says how.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from syncdemo import guard
from syncdemo.engine.context import Stopped, ThreadContext
from syncdemo.engine.runner import CANCEL_GRACE_S, EngineError, finish_trial, make_contexts
from syncdemo.engine.watchdog import Watchdog
from syncdemo.results import RunConfig, TrialResult
from syncdemo.scenarios.base import Scenario

#: More processes than this is refused: each one is a whole interpreter (tens of MB).
MAX_PROCESSES = 64
#: Seconds the processes get to start and reach the gate.
START_TIMEOUT_S = 60.0
POLL_S = 0.05


def start_method() -> str:
    return str(multiprocessing.get_start_method())


def run_trial(scenario: Scenario[Any], config: RunConfig, trial: int) -> TrialResult:
    mp = multiprocessing.get_context()
    strategy = scenario.strategy(config.sync)
    state = scenario.setup(config)
    roles = list(scenario.roles(config))
    if len(roles) > MAX_PROCESSES:
        raise EngineError(f"--runtime processes runs at most {MAX_PROCESSES} processes")
    stop = mp.Event()
    gate = mp.Barrier(len(roles) + 1)
    ops = mp.Array("q", len(roles), lock=False)
    reports: Any = mp.Queue()
    contexts = make_contexts(roles, config, trial, stop)  # type: ignore[arg-type]
    children = [
        mp.Process(
            target=_child,
            args=(
                scenario.worker(strategy, c.role, config),
                state,
                (c.index, c.role, c.role_index, config, trial),
                stop,
                gate,
                ops,
                reports,
            ),
            name=f"syncdemo-{c.role}-{c.index}",
            daemon=True,
        )
        for c in contexts
    ]
    began = time.perf_counter()
    try:
        for started, child in enumerate(children):
            try:
                child.start()
            except OSError as exc:  # fork refused: EAGAIN (ulimit -u), ENOMEM
                raise EngineError(
                    f"could only start {started} of {len(children)} worker processes: "
                    f"{exc.strerror or exc}"
                ) from None
        try:
            gate.wait(START_TIMEOUT_S)
        except Exception:  # BrokenBarrierError: a child died before the gate
            raise EngineError("the worker processes did not all start") from None
        startup_s = time.perf_counter() - began
        _collect(scenario, state, contexts, children, ops, reports, config.timeout)
    finally:
        _end(children, stop, gate)
    return finish_trial(scenario, config, trial, state, contexts, startup_s=startup_s)


def _collect(
    scenario: Scenario[Any],
    state: Any,
    contexts: Sequence[ThreadContext],
    children: Sequence[Any],
    ops: Any,
    reports: Any,
    timeout: float,
) -> None:
    """Wait for every child's report, watching progress; copy the reports into contexts."""
    watchdog = Watchdog(timeout, progress=lambda: sum(ops), deadlock=lambda: None)
    waiting = {c.index for c in contexts}
    give_up_at = float("inf")
    silent = False
    while waiting and time.monotonic() < give_up_at:
        try:
            index, stats = reports.get(timeout=POLL_S)
        except queue.Empty:
            if any(not children[i].is_alive() for i in waiting):
                if silent:  # dead, and no report came in one more poll: it died without a
                    break  # word (killed, crashed); the others are ended, not waited for
                silent = True  # (its report may still be on its way through the queue)
                continue
            stuck = watchdog.poll()
            if stuck is not None:
                scenario.stuck(state, stuck)
                contexts[0].stop.set()
                give_up_at = time.monotonic() + CANCEL_GRACE_S
            continue
        ctx = contexts[index]
        ctx.ops, ctx.wait_ns, ctx.start_ns, ctx.end_ns = stats["counts"]
        if stats["error"]:
            ctx.data["error"] = RuntimeError(stats["error"])
            contexts[0].stop.set()
        waiting.discard(index)
    for index in sorted(waiting):  # no report: count what its mirror says it did
        contexts[index].ops = ops[index]
    if give_up_at == float("inf"):  # not stopped by the watchdog: a silent death is a failure
        for index in sorted(waiting):
            code = children[index].exitcode
            if code is not None:
                ctx = contexts[index]
                raise EngineError(
                    f"{scenario.name} worker process {index} ({ctx.role}) {_death(code)} "
                    "before it reported"
                )


def _death(code: int) -> str:
    """'ended with exit status 5', 'was killed by SIGKILL'."""
    if code >= 0:
        return f"ended with exit status {code}"
    try:
        return f"was killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"


def _child(
    worker: Any,
    state: Any,
    spec: tuple[int, str, int, RunConfig, int],
    stop: Any,
    gate: Any,
    ops: Any,
    reports: Any,
) -> None:
    """A worker process: wait at the gate, run, report. Ctrl-C is the parent's to handle.

    Its context is built here, from plain values, so that any start method can send them;
    its rng is seeded as :func:`make_contexts` seeds a thread's."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):  # the default actions, not the parent's handlers
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    index, role, role_index, config, trial = spec
    ctx = _Mirrored(
        index, role, role_index, config, stop, random.Random(f"{config.seed}:{trial}:{index}")
    )
    ctx.shared = ops
    error = ""
    try:
        gate.wait(START_TIMEOUT_S)
    except Exception:
        return
    ctx.start_ns = time.perf_counter_ns()
    try:
        with guard.no_hard_exit():
            worker(state, ctx)
    except Stopped:
        pass
    except BaseException as exc:  # sys.exit() and os._exit() too: reported, not silent
        error = guard.failure(exc)
    ctx.end_ns = time.perf_counter_ns()
    counts = (ctx.ops, ctx.wait_ns, ctx.start_ns, ctx.end_ns)
    reports.put((ctx.index, {"counts": counts, "error": error}))
    reports.close()
    reports.join_thread()


def _die_with_parent() -> None:
    """Make this child die when its parent does, however the parent dies."""
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if _pdeathsig():
        if sentinel is not None and _closed(sentinel):  # it died before prctl took effect
            os._exit(1)
        return
    if sentinel is not None:
        threading.Thread(target=_watch, args=(sentinel,), daemon=True).start()


#: prctl(2) option: the signal the kernel sends this process when its parent dies.
PR_SET_PDEATHSIG = 1


def _pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):  # no libc to load (static builds), no prctl
        return False


def _closed(sentinel: int) -> bool:
    from multiprocessing.connection import wait

    return bool(wait([sentinel], timeout=0))


def _watch(sentinel: int) -> None:
    from multiprocessing.connection import wait

    wait([sentinel])
    os._exit(1)


class _Mirrored(ThreadContext):
    """The child's context: the work it has done is also written to the shared array,
    where the parent's watchdog reads it, after each chunk."""

    shared: Any = None

    def chunks(self) -> Iterator[range]:
        for chunk in super().chunks():
            yield chunk
            self.shared[self.index] = self.ops


def _end(children: Sequence[Any], stop: Any, gate: Any) -> None:
    """Stop every child; terminate, then kill, any that does not stop in time."""
    stop.set()
    with contextlib.suppress(Exception):
        gate.abort()
    deadline = time.monotonic() + CANCEL_GRACE_S
    for child in children:
        if child.pid is not None:
            child.join(max(0.0, deadline - time.monotonic()))
    for child in children:
        if child.is_alive():
            child.terminate()
            child.join(1.0)
        if child.is_alive():
            child.kill()
            child.join(1.0)
