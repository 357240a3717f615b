"""Do the default demonstrations of the unsafe strategies show their race on a busy machine?

Run by hand (not by CI):  python benchmarks/load.py [--runs 20] [--busy 2] [--python PATH]

Starts ``--busy`` CPU-bound processes (``python -c "while True: pass"``), then runs every
unsafe strategy of every built-in scenario at its defaults, ``syncdemo run NAME --sync S
-f json``, ``--runs`` times each as a fresh process, and kills the busy processes at the
end (also on Ctrl-C or an error). A run "shows" the race when its JSON says ``ok: false``.
For each demo: runs that showed it, the median and the slowest wall time of one run
(process start-up included), the median time spent inside trials (start-up, setup and
the table excluded), and the median and largest number of trials a run took (more than
3 when ``--race-budget`` ran extra trials to find the race). The first line is the
start-up floor under the same load: a run that does almost nothing.
Target: every demo shows its violation in every run, in about a second.

Each run has a hang guard (``--guard`` seconds, then it is killed and counted as not
shown), so the whole benchmark is bounded.
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
sys.path.insert(0, str(REPO))

from syncdemo.scenarios.catalogue import BUILTINS  # noqa: E402

BUSY = "while True: pass"
FACTS = """
import sys
gil = getattr(sys, "_is_gil_enabled", lambda: True)()
print(sys.version.split()[0], "GIL" if gil else "no GIL")
"""
#: Windows other than the default that ``describe`` suggests and that can race here.
EXTRA = (("counter", "none", ("--window", "io")),)
#: The cost of starting syncdemo under the same load: a run that does almost nothing.
FLOOR = "(start-up: counter --sync lock -n 1 --trials 1)"
FLOOR_ARGV = ["counter", "--sync", "lock", "-n", "1", "--trials", "1"]


def demos(only: list[str]) -> list[tuple[str, list[str]]]:
    """(label, arguments after ``syncdemo run``) for every unsafe default demonstration."""
    found = []
    for entry in BUILTINS:
        for sync in entry.strategies:
            if sync not in entry.safe:
                found.append((f"{entry.name} --sync {sync}", [entry.name, "--sync", sync]))
    for name, sync, extra in EXTRA:
        found.append((f"{name} --sync {sync} {' '.join(extra)}", [name, "--sync", sync, *extra]))
    if only:
        found = [(label, argv) for label, argv in found if any(o in label for o in only)]
    return found


def one_run(py: str, argv: list[str], guard: float) -> tuple[bool, float, float, int, str]:
    """(showed the race, wall seconds, seconds inside trials, trials run, error or "")."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    began = time.perf_counter()
    try:
        done = subprocess.run(
            [py, "-m", "syncdemo", "run", *argv, "-f", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=guard,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, time.perf_counter() - began, 0.0, 0, f"killed after {guard:.0f} s"
    elapsed = time.perf_counter() - began
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        return False, elapsed, 0.0, 0, f"exit {done.returncode}: {done.stderr.strip()[-200:]}"
    in_trials = sum(t["elapsed_s"] for t in data["trials"])
    return not data["ok"], elapsed, in_trials, len(data["trials"]), ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--busy", type=int, default=2, help="CPU-bound processes alongside")
    parser.add_argument("--python", default=sys.executable, help="interpreter to run them on")
    parser.add_argument("--guard", type=float, default=30.0, help="seconds before a run is killed")
    parser.add_argument("only", nargs="*", help="run only the demos whose label contains these")
    args = parser.parse_args()
    py = args.python
    facts = subprocess.run(
        [py, "-c", FACTS], capture_output=True, text=True, check=True
    ).stdout.strip()
    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(args.busy)]
    try:
        print(
            f"{py}: Python {facts}, {os.cpu_count()} CPUs, {args.busy} busy processes "
            f"alongside, {args.runs} runs each; load average at the start: "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
        )
        print(
            f"{'syncdemo run ...':<44} {'showed':>7} {'median':>7} {'slowest':>8} "
            f"{'in trials':>9} {'trials':>7}"
        )
        all_shown = True
        for label, argv in [(FLOOR, FLOOR_ARGV), *demos(args.only)]:
            hits, times, inside, trials, errors = 0, [], [], [], []
            for _ in range(args.runs):
                shown, elapsed, in_trials, count, error = one_run(py, argv, args.guard)
                hits += shown
                times.append(elapsed)
                inside.append(in_trials)
                trials.append(count)
                if error:
                    errors.append(error)
            if label != FLOOR:
                all_shown &= hits == args.runs
            showed = "-" if label == FLOOR else f"{hits}/{args.runs}"
            print(
                f"{label:<44} {showed:>7} {statistics.median(times):>6.2f}s "
                f"{max(times):>7.2f}s {statistics.median(inside):>8.2f}s "
                f"{statistics.median(trials):>4.0f}-{max(trials):<3}",
                flush=True,
            )
            for error in sorted(set(errors)):
                print(f"    {errors.count(error)} x {error}")
        print("every demo showed its race in every run" if all_shown else "NOT every run showed")
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        for proc in busy:
            proc.kill()
        for proc in busy:
            proc.wait()


if __name__ == "__main__":
    main()
