"""Timelines in the Chrome Trace Event Format, which Perfetto UI, chrome://tracing and
VizTracer's viewer open: a track per worker thread, its recorded events as short slices,
and each failure the evidence found as a flow arrow between the threads involved.

``{"traceEvents": [...], "displayTimeUnit": "ns"}``; ``ts`` and ``dur`` are microseconds
(floats), from the trial's start. Each trial is a process (``pid`` = trial number) so that
trials stack in the viewer; the file says in ``otherData`` which run it shows and whether
the trace cap cut it short.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from syncdemo.explore.results import RealExecution
from syncdemo.results import Evidence, RunResult, ThreadEvents, TrialResult

#: The longest an event's slice is drawn (µs): long enough to click, short enough that the
#: next event on the thread starts after it.
SLICE_US = 1.0
#: Events a file holds at most, over all its trials (the engine's trace cap for one trial).
MAX_EVENTS = 400_000


class TraceBuilder:
    """Collects trace events; tracks and flows are numbered as they are added."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._flows = 0

    def process(self, pid: int, name: str) -> None:
        self.events.append(
            {
                "ph": "M",
                "name": "process_name",
                "pid": pid,
                "tid": 0,
                "ts": 0,
                "args": {"name": name},
            }
        )

    def thread(self, pid: int, tid: int, name: str) -> None:
        self.events.append(
            {
                "ph": "M",
                "name": "thread_name",
                "pid": pid,
                "tid": tid,
                "ts": 0,
                "args": {"name": name},
            }
        )

    def slice(
        self,
        pid: int,
        tid: int,
        name: str,
        ts: float,
        dur: float,
        args: dict[str, Any] | None = None,
    ) -> None:
        event: dict[str, Any] = {
            "ph": "X",
            "name": name,
            "pid": pid,
            "tid": tid,
            "ts": ts,
            "dur": max(dur, 0.001),
        }
        if args:
            event["args"] = args
        self.events.append(event)

    def flow(self, name: str, start: tuple[int, int, float], end: tuple[int, int, float]) -> None:
        """An arrow from (pid, tid, ts) to (pid, tid, ts); each end lies inside a slice."""
        self._flows += 1
        for ph, (pid, tid, ts) in (("s", start), ("f", end)):
            event: dict[str, Any] = {
                "ph": ph,
                "id": self._flows,
                "name": name,
                "cat": "evidence",
                "pid": pid,
                "tid": tid,
                "ts": ts,
            }
            if ph == "f":
                event["bp"] = "e"
            self.events.append(event)

    def document(self, other: dict[str, Any]) -> str:
        return json.dumps(
            {"traceEvents": self.events, "displayTimeUnit": "ns", "otherData": other}, indent=None
        )


def run_trace(result: RunResult) -> str:
    """The traced trials of ``result``, up to :data:`MAX_EVENTS` events in all."""
    builder = TraceBuilder()
    budget = MAX_EVENTS
    capped = False
    shown = 0
    for trial in result.trials:
        if trial.trace is None or not trial.trace.threads:
            continue
        if budget <= 0:
            capped = True
            break
        used, cut = _trial(builder, trial, budget)
        budget -= used
        capped = capped or cut or trial.trace.capped
        shown += 1
    config = result.config
    return builder.document(
        {
            "syncdemo": f"{config.scenario} --sync {config.sync}",
            "threads": config.threads,
            "iterations": config.iterations,
            "seed": config.seed,
            "python": f"{result.runtime.implementation} {result.runtime.python}",
            "gil": result.runtime.gil,
            "trials_shown": shown,
            "capped": capped,
        }
    )


def track(pid: int, index: int) -> int:
    """A thread's ``tid``: unique across trials, never 0 (Perfetto's idle thread) and never
    equal to its ``pid`` (which viewers take for the process's main thread)."""
    return pid * 1000 + index + 1


def _trial(builder: TraceBuilder, trial: TrialResult, budget: int) -> tuple[int, bool]:
    """Add one trial; returns (events used, whether the budget cut it)."""
    assert trial.trace is not None
    pid = trial.trial
    threads = trial.trace.threads
    start = min((t.start_ns for t in threads if t.start_ns), default=0)

    def us(ns: int) -> float:
        return (ns - start) / 1_000

    builder.process(pid, f"trial {trial.trial}: {'ok' if trial.ok else 'VIOLATED'}")
    trial_tid = track(pid, len(threads))
    builder.thread(pid, trial_tid, "trial")
    builder.slice(pid, trial_tid, f"trial {trial.trial}", 0.0, trial.elapsed_s * 1e6)
    used = 0
    cut = False
    for t in threads:
        tid = track(pid, t.index)
        builder.thread(pid, tid, f"thread {t.index} ({t.role})")
        if t.start_ns and t.end_ns:
            builder.slice(pid, tid, t.role, us(t.start_ns), us(t.end_ns) - us(t.start_ns))
        events = t.events[: max(0, budget - used)]
        cut = cut or len(events) < len(t.events)
        _events(builder, pid, t, events, us)
        used += len(events)
    for evidence in trial.evidence:
        _flow(builder, pid, evidence, trial.trace.base_ns, us)
    return used, cut


def _events(
    builder: TraceBuilder, pid: int, thread: ThreadEvents, events: Sequence[Any], us: Any
) -> None:
    for i, (t_ns, kind, value, other) in enumerate(events):
        ts = us(t_ns)
        following = us(events[i + 1][0] if i + 1 < len(events) else thread.end_ns or t_ns + 1000)
        args: dict[str, Any] = {"value": value}
        if other != -1:
            args["other"] = other
        builder.slice(pid, track(pid, thread.index), kind, ts, min(SLICE_US, following - ts), args)


def _flow(builder: TraceBuilder, pid: int, evidence: Evidence, base_ns: int, us: Any) -> None:
    """An arrow to the step that broke the invariant, from the last step before it on
    another thread (for a lost update: the write it overwrote)."""
    steps = evidence.steps
    end = next((s for s in steps if s.highlight), steps[-1] if steps else None)
    if end is None or end.thread < 0:
        return
    before = [s for s in steps[: steps.index(end)] if s.thread >= 0 and s.thread != end.thread]
    if not before:
        return
    start = before[-1]
    builder.flow(
        evidence.kind,
        (pid, track(pid, start.thread), us(base_ns + start.t_ns)),
        (pid, track(pid, end.thread), us(base_ns + end.t_ns)),
    )


def schedule_trace(run: RealExecution, threads: int, scenario: str) -> str:
    """One schedule of ``explore`` or ``play`` in logical time: step i runs from i to i + 1
    µs on its thread's track, named by its code, with the lines, values and state in
    ``args``; an arrow goes to the step that broke the invariant from the last step before
    it on another thread that wrote (for a lost update: the write it overwrote)."""
    builder = TraceBuilder()
    pid = 1
    builder.process(pid, f"explore {scenario}: {'ok' if run.ok else 'fails'}")
    for t in range(threads):
        builder.thread(pid, track(pid, t), f"thread {t}")
    for step in run.steps:
        args: dict[str, Any] = {
            "lines": [str(line) for line in step.lines],
            "values": [str(v) for v in step.values],
        }
        if step.state:
            args["state"] = step.state
        builder.slice(pid, track(pid, step.thread), step.code, float(step.index), 1.0, args)
    broke = next((s for s in run.steps if s.broke), None)
    if broke is not None:
        before = [
            s
            for s in run.steps[: broke.index - 1]
            if s.thread != broke.thread and any(v.kind == "write" for v in s.values)
        ]
        if before:
            start = before[-1]
            builder.flow(
                "invariant broken",
                (pid, track(pid, start.thread), start.index + 0.5),
                (pid, track(pid, broke.thread), broke.index + 0.5),
            )
    return builder.document(
        {
            "syncdemo": f"explore {scenario}",
            "schedule": list(run.schedule),
            "granularity": run.granularity,
            "outcome": run.label,
            "replay": run.replay,
            "time": "logical: one step per microsecond",
        }
    )
