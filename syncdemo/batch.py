"""compare and sweep as data: the runs planned, and each finished run summarised as a row.

No threads and no output here: the CLI runs the plan with the engine, these classes turn
the finished runs into rows (with the stable JSON and CSV fields), and render/compare.py
draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from syncdemo.results import workers

if TYPE_CHECKING:
    from syncdemo.results import RunConfig, RunResult
    from syncdemo.scenarios.base import Scenario


@dataclass(frozen=True)
class Planned:
    """One run of a run, compare or sweep, before it ran (its configuration comes from
    :func:`syncdemo.engine.config.resolve`)."""

    scenario: Scenario[Any]
    config: RunConfig

    @property
    def safe(self) -> bool:
        return self.scenario.strategy(self.config.sync).safe

    @property
    def label(self) -> str:
        c = self.config
        where = "" if c.runtime == "threads" else f"@{c.runtime}"
        return f"{c.scenario}:{c.sync}{where} · {workers(c.threads, c.runtime)} × {c.iterations:,}"


def lost_fraction(run: RunResult) -> float:
    """Median over trials of violations / expected: how much of the work the race undid."""
    import statistics

    shares = [
        t.outcome.violations / t.outcome.expected if t.outcome.expected else 0.0 for t in run.trials
    ]
    return statistics.median(shares) if shares else 0.0


def run_fields(run: RunResult) -> dict[str, Any]:
    """The JSON fields every compare and sweep row has, named as in run's summary."""
    c = run.config
    return {
        "scenario": c.scenario,
        "sync": c.sync,
        "threads": c.threads,
        "iterations": c.iterations,
        "trials": len(run.trials),
        "violated": run.violated,
        "violation_rate": run.violation_rate,
        "violations": run.violations.to_dict(),
        "lost_fraction": lost_fraction(run),
        "elapsed_s": run.elapsed.to_dict(),
        "ops_per_s": run.ops_per_s.to_dict(),
        "kept_ops_per_s": run.kept_ops_per_s.to_dict(),
        "ok": run.ok,
    }


#: CSV columns of a compare or sweep: one row per run, scalars only.
RUN_CSV_FIELDS = (
    "scenario",
    "sync",
    "threads",
    "iterations",
    "trials",
    "violated",
    "violation_rate",
    "violations_median",
    "lost_fraction",
    "elapsed_s_median",
    "elapsed_s_min",
    "elapsed_s_max",
    "ops_per_s_median",
    "kept_ops_per_s_median",
    "ok",
    "python",
    "implementation",
    "gil",
    "switch_interval",
    "seed",
)
COMPARE_CSV_FIELDS = ("spec", *RUN_CSV_FIELDS[:2], "safe", *RUN_CSV_FIELDS[2:], "slowdown")
SWEEP_CSV_FIELDS = (*RUN_CSV_FIELDS, "speedup")


def run_csv_row(run: RunResult) -> dict[str, Any]:
    c = run.config
    e = run.elapsed
    return {
        "scenario": c.scenario,
        "sync": c.sync,
        "threads": c.threads,
        "iterations": c.iterations,
        "trials": len(run.trials),
        "violated": run.violated,
        "violation_rate": f"{run.violation_rate:.4f}",
        "violations_median": f"{run.violations.median:g}",
        "lost_fraction": f"{lost_fraction(run):.6f}",
        "elapsed_s_median": f"{e.median:.6f}",
        "elapsed_s_min": f"{e.min:.6f}",
        "elapsed_s_max": f"{e.max:.6f}",
        "ops_per_s_median": f"{run.ops_per_s.median:.1f}",
        "kept_ops_per_s_median": f"{run.kept_ops_per_s.median:.1f}",
        "ok": str(run.ok).lower(),
        "python": run.runtime.python,
        "implementation": run.runtime.implementation,
        "gil": str(run.runtime.gil).lower(),
        "switch_interval": run.runtime.switch_interval,
        "seed": c.seed,
    }


def ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


# --- compare --------------------------------------------------------------------------------


def workload(run: RunResult) -> tuple[Any, ...]:
    """What a run's throughput depends on besides the strategy: runs are ranked against
    each other only when all of this is the same."""
    c = run.config
    return (c.scenario, c.threads, c.iterations, c.window, c.switch_interval)


@dataclass(frozen=True)
class CompareRow:
    run: RunResult
    safe: bool
    """Whether the strategy is safe by design (a lucky unsafe run is ok but not safe)."""
    slowdown: float | None
    """The fastest comparable row's median kept ops/s over this row's (1.0 for that one);
    None when nothing is comparable, or this row lost work (it has no price to compare)."""
    within_noise: bool = False
    """Whether this row's trials and the fastest comparable row's overlap in kept ops/s
    (for the fastest row: some other row's do), so that the difference between their
    medians is inside the trials' own spread and ranks nothing."""

    @property
    def spec(self) -> str:
        c = self.run.config
        return f"{c.scenario}:{c.sync}" + ("" if c.runtime == "threads" else f"@{c.runtime}")

    def to_dict(self) -> dict[str, Any]:
        fields = run_fields(self.run)
        return {
            "spec": self.spec,
            **fields,
            "safe": self.safe,
            "slowdown": self.slowdown,
            "within_noise": self.within_noise,
        }

    def csv_row(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "safe": str(self.safe).lower(),
            **run_csv_row(self.run),
            "slowdown": ratio(self.slowdown),
        }


def overlap(a: RunResult, b: RunResult) -> bool:
    """Whether the two runs' trials overlap in kept ops/s (min to max): then which median
    is higher is a matter of noise, not of the strategies. One trial each has no spread,
    and overlaps only an equal value."""
    x, y = a.kept_ops_per_s, b.kept_ops_per_s
    return x.min <= y.max and y.min <= x.max


def _timed_and_kept(rows: Sequence[CompareRow]) -> list[CompareRow]:
    """Rows that finished trials and kept the invariant in all of them."""
    return [r for r in rows if r.run.trials and r.run.ok]


@dataclass(frozen=True)
class Comparison:
    """Strategies side by side. Only runs of one workload (scenario and parameters) are
    ranked against each other: a slowdown between different workloads means nothing."""

    rows: tuple[CompareRow, ...]
    interrupted: bool = False

    @classmethod
    def of(
        cls, runs: Sequence[RunResult], safe: Sequence[bool], interrupted: bool = False
    ) -> Comparison:
        groups: dict[tuple[Any, ...], list[RunResult]] = {}
        for r in runs:
            groups.setdefault(workload(r), []).append(r)
        rows = []
        for r, s in zip(runs, safe, strict=True):
            peers = groups[workload(r)]
            kept = [p for p in peers if p.trials and p.ok and p.kept_ops_per_s.median > 0]
            top = max(kept, key=lambda p: p.kept_ops_per_s.median, default=None)
            slowdown, noise = None, False
            if len(peers) > 1 and top is not None and any(p is r for p in kept):
                slowdown = top.kept_ops_per_s.median / r.kept_ops_per_s.median
                others = [top] if r is not top else [p for p in kept if p is not top]
                noise = any(overlap(r, p) for p in others)
            rows.append(CompareRow(run=r, safe=s, slowdown=slowdown, within_noise=noise))
        return cls(rows=tuple(rows), interrupted=interrupted)

    @property
    def ok(self) -> bool:
        return all(r.run.ok for r in self.rows)

    @property
    def groups(self) -> list[list[CompareRow]]:
        """The rows by workload, in the order each workload first appears."""
        found: dict[tuple[Any, ...], list[CompareRow]] = {}
        for r in self.rows:
            found.setdefault(workload(r.run), []).append(r)
        return list(found.values())

    @property
    def ranked(self) -> bool:
        """Whether the rows are one workload, so that "fastest" and "cheapest" mean
        something across all of them."""
        return len(self.groups) == 1

    @property
    def fastest(self) -> CompareRow | None:
        """The fastest row that kept the invariant (a run that lost work is never the
        fastest), when the rows are one workload."""
        return _fastest(_timed_and_kept(self.rows)) if self.ranked else None

    @property
    def cheapest_safe(self) -> CompareRow | None:
        """The fastest row whose strategy is safe and that kept the invariant every trial,
        when the rows are one workload."""
        if not self.ranked:
            return None
        return _fastest([r for r in _timed_and_kept(self.rows) if r.safe])

    def verdict(self) -> str:
        """The closing sentence(s): per workload, the cheapest strategy that kept the
        invariant and what it cost; different workloads are not ranked."""
        if not any(r.run.trials for r in self.rows):
            return "No run finished, so there is nothing to compare."
        if self.ranked:
            return _group_verdict(self.rows)
        sentences = [
            "These rows are different workloads (scenarios or parameters), so they stand "
            "side by side, unranked."
        ]
        for rows in self.groups:
            if len(rows) > 1 and any(r.run.trials for r in rows):
                c = rows[0].run.config
                kinds = {r.run.config.runtime for r in rows}
                runtime = c.runtime if len(kinds) == 1 else "several"  # "4 workers"
                sentences.append(
                    f"{c.scenario} ({workers(c.threads, runtime)} × {c.iterations:,}): "
                    + _group_verdict(rows)
                )
        return " ".join(sentences)

    def to_dict(self) -> dict[str, Any]:
        fastest, best = self.fastest, self.cheapest_safe
        return {
            "command": "compare",
            "rows": [r.to_dict() for r in self.rows],
            "ranked": self.ranked,
            "fastest": fastest.spec if fastest else None,
            "cheapest_safe": best.spec if best else None,
            "verdict": self.verdict(),
            "interrupted": self.interrupted,
            "ok": self.ok,
            "runs": [r.run.to_dict() for r in self.rows],
        }


def _fastest(rows: Sequence[CompareRow]) -> CompareRow | None:
    return max(rows, key=lambda r: r.run.kept_ops_per_s.median) if rows else None


def _group_verdict(rows: Sequence[CompareRow]) -> str:
    """The cheapest strategy that kept the invariant among rows of one workload."""
    kept = _timed_and_kept(rows)
    best, fastest = _fastest([r for r in kept if r.safe]), _fastest(kept)
    broke = [r for r in rows if r.run.trials and not r.run.ok]
    lost = "".join(
        f" {r.spec} violated it in {r.run.violated} of {len(r.run.trials)} trials: work it "
        "lost is no speed, so it is not ranked."
        for r in broke
    )
    if best is None:
        lucky = [r.spec for r in kept]
        if lucky:
            return (
                f"No safe strategy ran to the end; {', '.join(lucky)} showed no violation "
                "this time but cannot be trusted to: nothing stops the interleaving." + lost
            )
        return "No strategy kept the invariant in every trial."
    ties = [r.spec for r in kept if r.safe and r is not best and overlap(r.run, best.run)]
    if ties:  # named in the rows' order: none of them is first
        names = _and([r.spec for r in kept if r is best or r.spec in ties])
        sentence = (
            f"The safe strategies {names} kept the invariant at the same cost within noise "
            "(their trials' kept ops/s overlap), so none is ranked above another"
        )
    else:
        sentence = f"The cheapest strategy that kept the invariant: {best.spec}"
    if best is fastest or fastest is None:
        return sentence + ("." if ties else ", which was also the fastest.") + lost
    then = "; " if ties else ", "
    if overlap(best.run, fastest.run):
        return (
            sentence + f"{then}as fast as {fastest.spec} within noise (their trials' kept "
            f"ops/s overlap); {fastest.spec} showed no violation this time but is unsafe." + lost
        )
    return (
        sentence + f"{then}{best.slowdown or 0:.1f}× slower than the fastest, {fastest.spec}, "
        "which showed no violation this time but is unsafe." + lost
    )


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
