"""frontrun 0.7.0 on the same real workers as benchmarks/explore_real.py, for the table in
benchmarks/README.md. frontrun is not a dependency of syncdemo: run this in its own venv,

    python -m venv /tmp/frontrun-venv && /tmp/frontrun-venv/bin/pip install frontrun
    PYTHONPATH=. /tmp/frontrun-venv/bin/python benchmarks/explore_real_frontrun.py

Each case: frontrun's DPOR (its default, preemption bound 2) with setup = the scenario's
setup plus fresh thread contexts, workers = the scenario's real workers, invariant = its
check. Prints the wall time, executions and the counterexample's length.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import frontrun  # type: ignore[import-not-found]

from syncdemo import scenarios
from syncdemo.engine.runner import make_contexts
from syncdemo.results import RunConfig

CASES = [
    ("counter", "none", 2, 1),
    ("counter", "none", 2, 2),
    ("counter", "none", 2, 5),
    ("locked-counter", "lock", 2, 2),
    ("locked-counter", "lock", 3, 2),
]


def run(name: str, sync: str, threads: int, iterations: int) -> tuple[float, Any]:
    scenario = scenarios.get(name)
    config = RunConfig(name, sync, threads, iterations, trials=1, seed=0, window="call")
    roles = list(scenario.roles(config))
    strategy = scenario.strategy(sync)

    def setup() -> Any:
        state = scenario.setup(config)
        contexts = make_contexts(roles, config, 1, threading.Event())
        return state, contexts

    def worker(i: int) -> Any:
        w = scenario.worker(strategy, roles[i], config)
        return lambda box: w(box[0], box[1][i])

    began = time.perf_counter()
    result = frontrun.explore(
        setup,
        [worker(i) for i in range(threads)],
        lambda box: scenario.check(box[0], box[1]).ok,
        stop_on_first=True,
    )
    return time.perf_counter() - began, result


def main() -> None:
    for case in CASES:
        times = []
        result = None
        for _ in range(3):
            took, result = run(*case)
            times.append(took)
        found = getattr(result, "property_holds", None)
        explored = getattr(result, "num_explored", None)
        ce = getattr(result, "counterexample", None)
        name, sync, threads, iterations = case
        label = f"{name} --sync {sync} {threads}x{iterations}"
        print(
            f"{label:<36} holds={found} explored={explored} "
            f"steps={len(ce) if ce is not None else '-'} best={min(times):.2f}s "
            f"median={statistics.median(times):.2f}s"
        )


if __name__ == "__main__":
    main()
