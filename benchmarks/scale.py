"""Scale: ``--threads 1000`` on counter, producer-consumer and barrier, each a fresh process:
its wall time and its peak resident memory (``ru_maxrss`` of that child, from wait4).

Run by hand (not by CI):  python benchmarks/scale.py [--threads 1000]

-n is small (the point is a thousand threads, not a long run); one trial; the scenario's
default sync strategy and then its unsafe one. A run of one thread with the same -n is the
baseline, so the ratios show what the threads themselves cost.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: (scenario, sync, iterations)
CASES = [
    ("counter", "none", 100),
    ("counter", "lock", 100),
    ("producer-consumer", "condition", 20),
    ("producer-consumer", "none", 20),
    ("barrier", "barrier", 10),
    ("barrier", "none", 10),
]


def measure(name: str, sync: str, threads: int, iterations: int) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB, violations) of one run in its own process."""
    argv = [sys.executable, "-m", "syncdemo", "run", name, "-s", sync, "-t", str(threads)]
    argv += ["-n", str(iterations), "--trials", "1", "-f", "json"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=env)
        assert child.stdout is not None
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, unlike getrusage
        elapsed = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise SystemExit(
                f"{' '.join(argv[3:])}: exit {child.returncode}\n{err.read().decode()}"
            )
    violations = int(json.loads(out)["trials"][0]["violations"])
    return elapsed, usage.ru_maxrss / 1024, violations  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1000)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, --threads {args.threads}")
    print(
        f"{'scenario':<18} {'sync':<10} {'-n':>4} {'wall':>8} {'x 1 thread':>10} "
        f"{'peak RSS':>9} {'x 1 thread':>10} {'violations':>10}"
    )
    for name, sync, iterations in CASES:
        base_s, base_mb, _ = measure(name, sync, 1, iterations)
        wall, rss, violations = measure(name, sync, args.threads, iterations)
        print(
            f"{name:<18} {sync:<10} {iterations:>4} {wall:>7.2f}s {wall / base_s:>10.1f} "
            f"{rss:>6.0f}MiB {rss / base_mb:>10.1f} {violations:>10,}"
        )


if __name__ == "__main__":
    main()
