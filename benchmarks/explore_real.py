"""How fast the real-code explorer (syncdemo.explore) covers the issue's target cases.

Run by hand (not by CI, not by pytest):  python benchmarks/explore_real.py [--repeat N]
[--granularity line|opcode|gil] [--max-preemptions K] [--all] [--plain]

For each case it runs the bounded search on the real workers and prints the complete
schedules run, schedules per second, whether a failure was found and its shortest schedule
(preemptions/steps), whether the search completed, and the best and median wall time over
--repeat runs. --plain also runs the search without the reduction (--no-reduction) for its
count. --all adds every built-in scenario and strategy at explore's defaults, as
``syncdemo explore NAME --sync S`` runs it: the scenario's small size, seed and bound
(--max-preemptions, when given, overrides the bound of every case).

Targets (issue 20): counter 2x2 lost update and locked-counter 3x2 proved, each < 1 s;
every built-in strategy at its default < 10 s.
"""

from __future__ import annotations

import argparse
import statistics
import time

from syncdemo import scenarios
from syncdemo.engine.config import resolve
from syncdemo.explore.explorer import explore
from syncdemo.explore.results import RealExploration
from syncdemo.results import RunConfig

#: (scenario, sync, threads, iterations, seed, bound, target seconds or None)
Case = tuple[str, str, int, int, int, int, "float | None"]
CASES: list[Case] = [
    ("counter", "none", 2, 1, 0, 2, 1.0),
    ("counter", "none", 2, 2, 0, 2, 1.0),
    ("counter", "none", 2, 5, 0, 2, None),
    ("locked-counter", "lock", 2, 2, 0, 2, 1.0),
    ("locked-counter", "lock", 3, 2, 0, 1, 1.0),
    ("locked-counter", "lock", 3, 2, 0, 2, None),
]


def every_case() -> list[Case]:
    cases: list[Case] = []
    for name in scenarios.names():
        scenario = scenarios.get(name)
        for strategy in scenario.strategies:
            config = resolve(scenario, purpose="explore", sync=strategy.name)
            bound = int(scenario.explore_preemptions)
            cases.append(
                (name, strategy.name, config.threads, config.iterations, config.seed, bound, 10.0)
            )
    return cases


def explore_once(
    case: Case, args: argparse.Namespace, reduction: bool = True
) -> tuple[float, RealExploration]:
    name, sync, threads, iterations, seed, bound, _ = case
    config = RunConfig(name, sync, threads, iterations, trials=1, seed=seed)
    began = time.perf_counter()
    found = explore(
        scenarios.get(name),
        config,
        granularity=args.granularity,
        max_preemptions=bound if args.max_preemptions is None else args.max_preemptions,
        classify=False,
        reduction=reduction,
    )
    return time.perf_counter() - began, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--granularity", default="line", choices=("line", "opcode", "gil"))
    parser.add_argument("--max-preemptions", type=int, default=None)
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--plain", action="store_true")
    args = parser.parse_args()
    cases = CASES + (every_case() if args.all else [])
    header = (
        f"{'case':<52} {'schedules':>9} {'per s':>6} {'plain':>6} {'found':>12}"
        f" {'done':>4} {'best':>8} {'median':>8}  target"
    )
    print(f"granularity {args.granularity}")
    print(header)
    print("-" * len(header))
    for case in cases:
        name, sync, threads, iterations, seed, bound, target = case
        times = []
        found = None
        for _ in range(args.repeat):
            took, found = explore_once(case, args)
            times.append(took)
        assert found is not None
        ce = found.counterexample
        what = "-" if ce is None else f"{ce.label} {ce.preemptions}p/{len(ce.schedule)}s"
        best, median = min(times), statistics.median(times)
        verdict = "" if target is None else ("ok" if median < target else "SLOW")
        k = bound if args.max_preemptions is None else args.max_preemptions
        label = f"{name} --sync {sync} {threads}x{iterations} k={k}"
        label += f" seed {seed}" if seed else ""
        plain = str(explore_once(case, args, reduction=False)[1].schedules) if args.plain else "-"
        rate = found.schedules / median if median else 0.0
        print(
            f"{label:<52} {found.schedules:>9} {rate:>6.0f} {plain:>6} {what:>12}"
            f" {'yes' if found.complete else 'NO':>4} {best:>7.2f}s {median:>7.2f}s"
            f"  {'' if target is None else f'<{target:g}s '}{verdict}"
        )


if __name__ == "__main__":
    main()
