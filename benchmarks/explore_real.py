"""How fast the real-code explorer (syncdemo.explore) covers the issue's target cases.

Run by hand (not by CI, not by pytest):  python benchmarks/explore_real.py [--repeat N]
[--granularity line|opcode|gil] [--all] [--raw]

For each case it runs the bounded search (default --max-preemptions 2, sleep sets) on
the real workers and prints the complete schedules run, the runs pruned as equivalent,
whether a failure was found and its shortest schedule (preemptions/steps), and the best
and median wall time over --repeat runs. --raw also runs the search without reduction
for the raw count. --all adds every built-in scenario and strategy at its small default
size (2 threads x 2; condition-wait 3 x 1; bank-transfer's unordered locks at --seed 5).

Targets (issue 13): counter 2x1 and 2x2 lost update with the shortest schedule < 1 s;
locked-counter 2x2 proved within the bound < 1 s; locked 3x2 < 3 s (frontrun: 6.3 s);
every built-in scenario and strategy < 10 s.
"""

from __future__ import annotations

import argparse
import statistics
import time

from syncdemo import scenarios
from syncdemo.explore.explorer import explore
from syncdemo.explore.results import RealExploration
from syncdemo.results import RunConfig

#: (scenario, sync, threads, iterations, seed, target seconds or None)
CASES = [
    ("counter", "none", 2, 1, 0, 1.0),
    ("counter", "none", 2, 2, 0, 1.0),
    ("counter", "none", 2, 5, 0, None),
    ("locked-counter", "lock", 2, 2, 0, 1.0),
    ("locked-counter", "lock", 3, 2, 0, 3.0),
]

SMALL = {"condition-wait": (3, 1, 0)}
SEEDS = {("bank-transfer", "account-locks-unordered"): 5}


def every_case() -> list[tuple[str, str, int, int, int, float | None]]:
    cases: list[tuple[str, str, int, int, int, float | None]] = []
    for name in scenarios.names():
        threads, iterations, seed = SMALL.get(name, (2, 2, 0))
        for strategy in scenarios.get(name).strategies:
            seed = SEEDS.get((name, strategy.name), seed)
            cases.append((name, strategy.name, threads, iterations, seed, 10.0))
    return cases


def explore_once(
    name: str, sync: str, threads: int, iterations: int, seed: int, args: argparse.Namespace
) -> tuple[float, RealExploration]:
    config = RunConfig(name, sync, threads, iterations, trials=1, seed=seed)
    began = time.perf_counter()
    found = explore(
        scenarios.get(name),
        config,
        granularity=args.granularity,
        max_preemptions=args.max_preemptions,
        classify=False,
    )
    return time.perf_counter() - began, found


def raw_count(
    name: str, sync: str, threads: int, iterations: int, seed: int, args: argparse.Namespace
) -> int | None:
    """The complete schedules without reduction (a second, untimed search)."""
    config = RunConfig(name, sync, threads, iterations, trials=1, seed=seed)
    return explore(
        scenarios.get(name),
        config,
        granularity=args.granularity,
        max_preemptions=args.max_preemptions,
        classify=False,
        raw=True,
    ).raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--granularity", default="line", choices=("line", "opcode", "gil"))
    parser.add_argument("--max-preemptions", type=int, default=2)
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--raw", action="store_true")
    args = parser.parse_args()
    cases = CASES + (every_case() if args.all else [])
    header = (
        f"{'case':<50} {'schedules':>9} {'pruned':>7} {'raw':>6} {'found':>12}"
        f" {'best':>8} {'median':>8}  target"
    )
    print(f"granularity {args.granularity}, --max-preemptions {args.max_preemptions}")
    print(header)
    print("-" * len(header))
    for name, sync, threads, iterations, seed, target in cases:
        times = []
        found = None
        for _ in range(args.repeat):
            took, found = explore_once(name, sync, threads, iterations, seed, args)
            times.append(took)
        assert found is not None
        ce = found.counterexample
        what = "-" if ce is None else f"{ce.label} {ce.preemptions}p/{len(ce.schedule)}s"
        best, median = min(times), statistics.median(times)
        verdict = "" if target is None else ("ok" if median < target else "SLOW")
        case = f"{name} --sync {sync} {threads}x{iterations}" + (f" seed {seed}" if seed else "")
        counted = raw_count(name, sync, threads, iterations, seed, args) if args.raw else None
        raw = "-" if counted is None else str(counted)
        print(
            f"{case:<50} {found.schedules:>9} {found.pruned:>7} {raw:>6} {what:>12}"
            f" {best:>7.2f}s {median:>7.2f}s  {'' if target is None else f'<{target:g}s '}"
            f"{verdict}"
        )


if __name__ == "__main__":
    main()
