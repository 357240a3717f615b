"""What bounds explore: time, memory and the answer on workloads that used to run away.

Each case runs ``syncdemo explore`` in a child process and reports its wall time, exit
status, peak resident memory (the child's ``ru_maxrss``), schedules run and per second,
and what the report said:

- an endless user worker (``while True: self.x += 1``): refused in one line, in how long;
- ``counter -t 8 -n 100`` (a serial schedule of about 5,600 steps) at two time limits: if
  memory grew with the schedules run, the longer search would peak higher;
- ``counter -t 8 -n 100 --sync lock`` at the same limits.

    python benchmarks/explore_bounds.py [--short S] [--long L]

Nothing here is asserted: the tests hold the verdicts (tests/test_explore_bounds.py);
this prints the figures, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

ENDLESS = textwrap.dedent(
    """
    import syncdemo

    @syncdemo.scenario
    class Endless:
        def setup(self):
            self.x = 0

        def worker(self, thread):
            while True:
                self.x += 1

        def check(self):
            return True
    """
)

PROBE = (
    "import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True,"
    " text=True); sys.stdout.write(p.stdout); sys.stderr.write(p.stderr);"
    " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
    " sys.exit(p.returncode)"
)


def measure(args: list[str]) -> dict[str, object]:
    """One child ``syncdemo`` run: its status, time, peak RSS and JSON report (if any)."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, sys.executable, "-m", "syncdemo", *args],
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - began
    err = done.stderr.strip().splitlines()
    rss_kb = int(err[-1]) if err and err[-1].isdigit() else 0
    report: dict[str, object] = {}
    if done.stdout.strip().startswith("{"):
        report = json.loads(done.stdout)
    return {
        "status": done.returncode,
        "seconds": took,
        "rss_mb": rss_kb / 1024,
        "report": report,
        "said": next((line for line in err[:-1] if line.strip()), ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=float, default=5.0, help="the shorter time limit, s")
    parser.add_argument("--long", type=float, default=20.0, help="the longer time limit, s")
    a = parser.parse_args()
    print(f"CPython {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "endless.py")
        with open(path, "w") as f:
            f.write(ENDLESS)
        m = measure(["explore", path])
        print(
            f"endless worker: exit {m['status']} in {m['seconds']:.2f} s, peak "
            f"{m['rss_mb']:.0f} MB: {str(m['said'])[:110]}"
        )
    print(f"{'case':34} {'limit':>6} {'time':>7} {'schedules':>9} {'per s':>7} {'peak':>7}  said")
    for sync in ("none", "lock"):
        for limit in (a.short, a.long):
            args = ["explore", "counter", "--sync", sync, "-t", "8", "-n", "100"]
            m = measure([*args, "--time-limit", str(limit), "-f", "json"])
            e = m["report"].get("explored", {}) if isinstance(m["report"], dict) else {}
            assert isinstance(e, dict)
            n = int(e.get("schedules", 0))
            rate = n / float(e.get("elapsed_s", 1) or 1)
            said = (
                f"timed out, {e.get('livelocks', 0)} livelocks, {e.get('cut', 0)} cut, "
                f"step limit {e.get('step_limit', 0):,}"
            )
            print(
                f"counter --sync {sync} -t 8 -n 100{'':10} {limit:>5g}s {m['seconds']:>6.1f}s "
                f"{n:>9,} {rate:>7.1f} {m['rss_mb']:>5.0f}MB  "
                + (said if e.get("timed_out") else f"exit {m['status']}")
            )


if __name__ == "__main__":
    main()
