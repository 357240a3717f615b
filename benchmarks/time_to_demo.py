"""How soon, and how reliably, each demo shows a lost update: ``syncdemo run counter
--threads 8`` beside the two classic demos from the books, on the same interpreter.

Run by hand (not by CI):  python benchmarks/time_to_demo.py [--runs 50] [--python PATH]

Each demo runs ``--runs`` times as a fresh process; a run "shows" the race when the final
count is short. For each: the fraction of runs that showed it, and the median wall time of
one run (process start included). Target for syncdemo: 50 of 50 runs.

- ``setswitchinterval``: ``sys.setswitchinterval(1e-6)`` and a bare ``n += 1`` in 8 threads,
  the same 8 x 20,000 increments as syncdemo's default counter.
- ``sleep``: read, ``time.sleep(0.001)``, write. It always loses updates because the sleep
  hands every other thread the window; it is the anti-pattern syncdemo avoids (the race is
  staged, and the timings mean nothing), shown for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SWITCHINTERVAL_DEMO = """
import sys, threading
sys.setswitchinterval(1e-6)
n = 0
def work():
    global n
    for _ in range(20_000):
        n += 1
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(8 * 20_000 - n)
"""

SLEEP_DEMO = """
import threading, time
n = 0
def work():
    global n
    for _ in range(10):
        value = n
        time.sleep(0.001)
        n = value + 1
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(8 * 10 - n)
"""

FACTS = """
import sys
gil = getattr(sys, "_is_gil_enabled", lambda: True)()
print(sys.version.split()[0], "GIL" if gil else "no GIL")
"""


def timed(argv: list[str]) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    began = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, done.stdout


def syncdemo_lost(stdout: str) -> bool:
    return int(json.loads(stdout)["summary"]["violated"]) > 0


def script_lost(stdout: str) -> bool:
    return int(stdout.strip()) > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--python", default=sys.executable, help="interpreter to run them on")
    args = parser.parse_args()
    py = args.python
    facts = subprocess.run(
        [py, "-c", FACTS], capture_output=True, text=True, check=True
    ).stdout.strip()
    demos = [
        (
            "syncdemo run counter --threads 8",
            [py, "-m", "syncdemo", "run", "counter", "--threads", "8", "-f", "json"],
            syncdemo_lost,
        ),
        ("setswitchinterval(1e-6) + n += 1", [py, "-c", SWITCHINTERVAL_DEMO], script_lost),
        ("read, sleep(0.001), write", [py, "-c", SLEEP_DEMO], script_lost),
    ]
    print(f"{py}: Python {facts}, {os.cpu_count()} CPUs, {args.runs} runs each")
    print(f"{'demo':<36} {'showed lost updates':>20} {'median wall time':>17}")
    for label, argv, lost in demos:
        times, hits = [], 0
        for _ in range(args.runs):
            elapsed, out = timed(argv)
            times.append(elapsed)
            hits += lost(out)
        shown = f"{hits}/{args.runs} ({hits / args.runs:.0%})"
        print(f"{label:<36} {shown:>20} {statistics.median(times) * 1000:>14.0f} ms")


if __name__ == "__main__":
    main()
