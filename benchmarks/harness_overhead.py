"""What syncdemo's harness costs: locked-counter ops/s as syncdemo reports it, beside a
minimal hand-written loop doing the same increments.

Run by hand (not by CI):  python benchmarks/harness_overhead.py [--rounds 9]

Both sides use the same threads, the same ``threading.Lock`` around the same
read / ``next_value`` / write (imported from syncdemo.scenarios.counter), the same switch
interval (0.0001 s, the CLI's default), a start barrier, and the same clock: wall time from
the first worker's start to the last one's end. The two alternate, round after round, so
that drift in the machine's speed hits both alike; the ratio of the medians is reported.
Target: syncdemo / hand-written >= 0.9.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time

from syncdemo import scenarios
from syncdemo.engine import runner as engine
from syncdemo.results import RunConfig
from syncdemo.scenarios.counter import next_value

SWITCH_INTERVAL = 0.0001  # syncdemo.cli.DEFAULT_SWITCH_INTERVAL


class Box:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()


def by_hand(threads: int, iterations: int) -> float:
    """ops/s of the bare loop: threads x iterations locked increments."""
    box = Box()
    gate = threading.Barrier(threads + 1)
    spans: list[tuple[int, int]] = []

    def worker() -> None:
        gate.wait()
        start = time.perf_counter_ns()
        for _ in range(iterations):
            with box.lock:
                value = box.value
                value = next_value(value)
                box.value = value
        spans.append((start, time.perf_counter_ns()))  # list.append is atomic

    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        workers = [threading.Thread(target=worker) for _ in range(threads)]
        for t in workers:
            t.start()
        gate.wait()
        for t in workers:
            t.join()
    finally:
        sys.setswitchinterval(previous)
    assert box.value == threads * iterations
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return threads * iterations / (elapsed / 1e9)


def by_syncdemo(threads: int, iterations: int) -> float:
    """ops/s as syncdemo reports it for one trial, with the CLI's configuration."""
    scenario = scenarios.get("locked-counter")
    config = RunConfig(
        scenario="locked-counter",
        sync="lock",
        threads=threads,
        iterations=iterations,
        trials=1,
        seed=1,
        switch_interval=SWITCH_INTERVAL,
    )
    result = engine.run(scenario, config)
    assert result.ok
    return result.trials[0].ops_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=4, help="locked-counter's default: 4")
    parser.add_argument("--iterations", type=int, default=10_000, help="its default: 10,000")
    args = parser.parse_args()

    by_hand(args.threads, 1000)  # warm up both
    by_syncdemo(args.threads, 1000)
    hand: list[float] = []
    harness: list[float] = []
    print(f"locked-counter, {args.threads} threads x {args.iterations:,} increments")
    print(f"{'round':>5}  {'syncdemo ops/s':>15}  {'by hand ops/s':>15}  {'ratio':>6}")
    for n in range(1, args.rounds + 1):
        first, second = (by_syncdemo, by_hand) if n % 2 else (by_hand, by_syncdemo)
        a = first(args.threads, args.iterations)
        b = second(args.threads, args.iterations)
        s, h = (a, b) if first is by_syncdemo else (b, a)
        harness.append(s)
        hand.append(h)
        print(f"{n:>5}  {s:>15,.0f}  {h:>15,.0f}  {s / h:>6.2f}")
    s_med, h_med = statistics.median(harness), statistics.median(hand)
    ratio = s_med / h_med
    print(f"{'median':>5}  {s_med:>15,.0f}  {h_med:>15,.0f}  {ratio:>6.2f}")
    per_round = statistics.median(s / h for s, h in zip(harness, hand, strict=True))
    print(f"median of the per-round ratios: {per_round:.2f}")
    print(f"Python {sys.version.split()[0]}, target >= 0.90: {'met' if ratio >= 0.9 else 'MISSED'}")


if __name__ == "__main__":
    main()
