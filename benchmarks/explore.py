"""How fast ``syncdemo explore`` covers the interleavings of the issue's target sizes.

Run by hand (not by CI, not by pytest):  python benchmarks/explore.py [--repeat N]

For each case it builds the model, runs the exhaustive search (state caching, exact
schedule counts) and prints the schedules covered, the distinct states visited, and the
best and median wall time over --repeat runs (each run on a fresh explorer, so no cache
carries over). The targets: counter 2x3 and dining-philosophers with 3 philosophers in
about a second, counter 3x2 (34,650 interleavings) in a few seconds at most.
"""

from __future__ import annotations

import argparse
import statistics
import time

from syncdemo import scenarios
from syncdemo.explore.models_search import Explorer
from syncdemo.explore.report import Exploration
from syncdemo.results import RunConfig

#: (scenario, sync, threads, iterations, target seconds or None)
CASES = [
    ("counter", "none", 2, 3, 1.0),
    ("counter", "none", 3, 2, 3.0),
    ("dining-philosophers", "naive", 3, 2, 1.0),
    ("locked-counter", "lock", 3, 2, None),
    ("counter", "none", 3, 3, None),
    ("producer-consumer", "none", 4, 1, None),
    ("producer-consumer", "condition", 4, 2, None),
    ("barrier", "barrier", 3, 2, None),
    ("deadlock", "none", 3, 2, None),
    ("dining-philosophers", "naive", 4, 2, None),
    ("bank-transfer", "none", 3, 2, None),
    ("lazy-init", "double-checked", 3, 2, None),
]


def explore_once(name: str, sync: str, threads: int, iterations: int) -> tuple[float, Exploration]:
    scenario = scenarios.get(name)
    config = RunConfig(name, sync, threads, iterations, trials=1, seed=0)
    began = time.perf_counter()
    model = scenario.model(config)
    assert model is not None, (name, sync)
    found = Explorer(
        model, lambda o: scenario.grade(o, config), scenario.grade_meanings
    ).exhaustive()
    return time.perf_counter() - began, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    header = f"{'case':<42} {'schedules':>24} {'states':>8} {'best':>9} {'median':>9}  target"
    print(header)
    print("-" * len(header))
    for name, sync, threads, iterations, target in CASES:
        times = []
        found = None
        for _ in range(args.repeat):
            took, found = explore_once(name, sync, threads, iterations)
            times.append(took)
        assert found is not None
        best, median = min(times), statistics.median(times)
        verdict = ""
        if target is not None:
            verdict = f"<= {target:.0f} s: {'met' if median <= target else 'MISSED'}"
        case = f"{name} --sync {sync} -t {threads} -n {iterations}"
        print(
            f"{case:<42} {found.schedules:>24,} {found.states:>8,} {best * 1e3:>7.1f}ms "
            f"{median * 1e3:>7.1f}ms  {verdict}"
        )


if __name__ == "__main__":
    main()
