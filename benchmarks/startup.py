"""Start-up time: ``syncdemo --help`` and ``syncdemo list`` beside the bare import of
syncdemo's two dependencies, ``python -c "import click, rich.table"``.

Run by hand (not by CI):  python benchmarks/startup.py [--runs 10]

Every command is a fresh process on this interpreter (``python -m syncdemo``, the same
code as the ``syncdemo`` script) with this checkout first on its path and its bytecode
cached, as an installed package has it; the three alternate, and each one's median is
reported.
Target: each syncdemo command <= 1.3 x the bare import.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMANDS = {
    'python -c "import click, rich.table"': ["-c", "import click, rich.table"],
    "syncdemo --help": ["-m", "syncdemo", "--help"],
    "syncdemo list": ["-m", "syncdemo", "list"],
}


def wall_time(args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120"}
    # Bytecode as an installed package has it (pip compiles it): the first run writes it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    began = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    times: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for argv in COMMANDS.values():  # warm the file cache
        wall_time(argv)
    for _ in range(args.runs):
        for label, argv in COMMANDS.items():
            times[label].append(wall_time(argv))
    base_label = next(iter(COMMANDS))
    base = statistics.median(times[base_label])
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.runs} runs")
    print(f"{'command':<38} {'median':>9} {'ratio':>6}")
    for label, values in times.items():
        median = statistics.median(values)
        verdict = "" if label == base_label else ("  met" if median / base <= 1.3 else "  MISSED")
        print(f"{label:<38} {median * 1000:>6.0f} ms {median / base:>6.2f}{verdict}")
    print("target: <= 1.30 x the bare import")


if __name__ == "__main__":
    main()
