"""Issue 16's "must show", measured: the course scenarios in default runs, per interpreter.

For every strategy of livelock, reentrant, leaked-lock, semaphore, queue-shutdown,
print-interleave, shared-dict, and counter's none and sharded: ``--runs`` runs exactly as
``syncdemo run NAME --sync S`` makes them (the scenario's threads and iterations, 3 trials,
a fresh seed, a 0.0001 s switch interval, a 2 s watchdog timeout), in one child process per
interpreter. A run "shows the failure" when any of its trials violated the invariant. For
the strategies that stall (livelock, reentrant, leaked-lock, queue-shutdown's none), the
watchdog's ``stalled_s`` (how long nothing moved when it fired) is kept: the must-show
asks for the report within 2 s of the stall. A run that raises (a worker the watchdog could
not stop) counts as a hang, and each child has a time limit, ``--budget``, after which what
it finished is reported and the rest is marked as not run.

    python benchmarks/course.py                          # this interpreter, 20 runs each
    python benchmarks/course.py --python PATH --python PATH2 --runs 20 --budget 900
    python benchmarks/course.py --only livelock --only shared-dict      # some scenarios
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = (
    "livelock",
    "reentrant",
    "leaked-lock",
    "semaphore",
    "queue-shutdown",
    "print-interleave",
    "shared-dict",
    "counter",
)
COUNTER_STRATEGIES = ("none", "sharded")


def child(runs: int, budget: float, only: list[str]) -> None:
    """Run everything on this interpreter; one JSON line per (scenario, strategy)."""
    sys.path.insert(0, str(ROOT))
    from syncdemo import scenarios
    from syncdemo.engine import runner as engine
    from syncdemo.engine.runtime import gil_enabled
    from syncdemo.results import RunConfig

    deadline = time.monotonic() + budget
    print(json.dumps({"python": sys.version.split()[0], "gil": gil_enabled()}), flush=True)
    for name in only or SCENARIOS:
        scenario = scenarios.get(name)
        for strategy in scenario.strategies:
            if name == "counter" and strategy.name not in COUNTER_STRATEGIES:
                continue
            row = {"scenario": name, "sync": strategy.name, "safe": strategy.safe}
            failed = hung = done = 0
            stalls: list[float] = []
            times: list[float] = []
            for _ in range(runs):
                if time.monotonic() > deadline:
                    break
                config = RunConfig(
                    scenario=name,
                    sync=strategy.name,
                    threads=scenario.default_threads,
                    iterations=scenario.default_iterations,
                    trials=3,
                    seed=random.randrange(2**32),
                    switch_interval=0.0001,
                    timeout=2.0,
                )
                began = time.perf_counter()
                try:
                    result = engine.run(scenario, config)
                except engine.ThreadsAbandoned:
                    hung += 1
                    continue
                except engine.EngineError as exc:  # a worker crashed: report it, as a hang
                    print(json.dumps({"error": f"{name}:{strategy.name}: {exc}"}), flush=True)
                    hung += 1
                    continue
                finally:
                    times.append(time.perf_counter() - began)
                done += 1
                failed += not result.ok
                for t in result.trials:
                    if "stalled_s" in t.outcome.details:
                        stalls.append(float(t.outcome.details["stalled_s"] or 0))
            row.update(
                runs=done,
                failed=failed,
                hung=hung,
                max_stall_s=max(stalls, default=None),
                median_run_s=sorted(times)[len(times) // 2] if times else None,
            )
            print(json.dumps(row), flush=True)


def parent(pythons: list[str], runs: int, budget: float, only: list[str]) -> None:
    columns: list[str] = []
    table: dict[tuple[str, str], dict[str, str]] = {}
    safe: dict[tuple[str, str], bool] = {}
    for python in pythons:
        began = time.monotonic()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        try:
            out = subprocess.run(
                [
                    *(python, __file__, "--child", "--runs", str(runs), "--budget", str(budget)),
                    *(f"--only={name}" for name in only),
                ],
                capture_output=True,
                text=True,
                timeout=budget + 120,
                env=env,
            ).stdout
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else ""
            out += "\n"
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        head = lines[0] if lines else {"python": python, "gil": None}
        column = head["python"] + ("" if head["gil"] is not False else "t")
        columns.append(column)
        for row in lines[1:]:
            if "error" in row:
                print(row["error"], file=sys.stderr)
                continue
            key = (row["scenario"], row["sync"])
            safe[key] = row["safe"]
            cell = f"{row['failed']}/{row['runs']}"
            if row["hung"]:
                cell += f" {row['hung']} hung"
            if row["max_stall_s"] is not None and not row["safe"]:
                cell += f" ≤{row['max_stall_s']:.2f}s"
            if row["runs"] < runs:
                cell += " (budget)"
            table.setdefault(key, {})[column] = cell
        print(
            f"{column}: {len(lines) - 1} strategies in {time.monotonic() - began:.0f} s",
            file=sys.stderr,
        )
    width = max(len(f"{s}:{y}") for s, y in table) + 2
    print(f"{'scenario:sync':<{width}}{'want':<8}" + "".join(f"{c:<18}" for c in columns))
    for (scenario, sync), cells in table.items():
        want = "0/N" if safe[(scenario, sync)] else "N/N"
        label = f"{scenario}:{sync}"
        row = "".join(f"{cells.get(c, 'n/a'):<18}" for c in columns)
        print(f"{label:<{width}}{want:<8}" + row)
    print(
        "cells: runs that violated the invariant / runs; ≤X s: the longest stall before the "
        "watchdog's report; n/a: the strategy does not exist on that interpreter"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", default=[], help="interpreter (repeat)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--budget", type=float, default=900, help="seconds per interpreter")
    parser.add_argument("--only", action="append", default=[], help="scenario (repeat)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.runs, args.budget, args.only)
    else:
        parent(args.python or [sys.executable], args.runs, args.budget, args.only)


if __name__ == "__main__":
    main()
