"""counter on the three runtimes side by side: ops/s of kept increments with --sync none
and --sync lock, the share lost, and (processes) the start-up measured apart.

Run by hand (not by CI):  python benchmarks/runtimes.py [--trials 5] [--python PATH]
                          python benchmarks/runtimes.py --demos 20 [--python PATH]

``--demos N`` instead runs the default demonstration (``run counter --runtime R``, and
``--sync lock``) N times on asyncio and on processes and counts the runs that lost updates.

Each run is a fresh ``python -m syncdemo run counter ... -f json`` process with this
checkout first on its path; the figures are medians over the run's trials, as the report
gives them. Every runtime runs 4 workers; asyncio gets its own default --iterations
(2,000: an await per increment), the others counter's 20,000.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def run(python: str, runtime: str, sync: str, trials: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = ["-m", "syncdemo", "run", "counter", "--runtime", runtime, "--sync", sync]
    done = subprocess.run(
        [python, *args, "--trials", str(trials), "-f", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
    )
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--demos", type=int, default=0)
    args = parser.parse_args()
    if args.demos:
        demos(args.python, args.demos)
        return
    print(f"{args.python}: counter, 4 workers, median of {args.trials} trials")
    print(f"{'runtime':<10} {'--sync':<6} {'kept ops/s':>12} {'lost':>7} {'violated':>9} "
          f"{'start-up':>9}")  # fmt: skip
    for runtime in ("threads", "asyncio", "processes"):
        for sync in ("none", "lock"):
            data = run(args.python, runtime, sync, args.trials)
            trials = data["trials"]
            kept = sorted(
                (t["ops"] - t["violations"]) / t["elapsed_s"] for t in trials if t["elapsed_s"]
            )
            lost = sorted(t["violations"] / t["expected"] for t in trials if t["expected"])
            startup = sorted(t["startup_s"] for t in trials)
            median = len(trials) // 2
            print(
                f"{runtime:<10} {sync:<6} {kept[median]:>12,.0f} {lost[median]:>6.1%} "
                f"{data['summary']['violated']:>4}/{len(trials):<4} "
                + (f"{startup[median] * 1e3:>6.1f} ms" if runtime == "processes" else "")
            )


def demos(python: str, runs: int) -> None:
    print(f"{python}: default runs of counter, {runs} of each")
    for runtime in ("asyncio", "processes"):
        for sync in ("none", "lock"):
            lost = 0
            for _ in range(runs):
                data = run(python, runtime, sync, 3)
                lost += not data["ok"]
            print(f"{runtime:<10} --sync {sync:<5} lost updates in {lost}/{runs} runs")


if __name__ == "__main__":
    main()
