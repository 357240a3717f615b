"""sweep as data: one scenario and strategy at several thread (and iteration) counts, each
finished run a row with its speedup over the fewest threads, and the chart's words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from syncdemo.batch import ratio, run_csv_row, run_fields
from syncdemo.results import RunResult, workers


@dataclass(frozen=True)
class SweepRow:
    run: RunResult
    speedup: float | None
    """Median kept ops/s over that of the fewest threads at the same iterations (None:
    n/a). Work the race undid is not throughput."""

    @property
    def threads(self) -> int:
        return self.run.config.threads

    @property
    def iterations(self) -> int:
        return self.run.config.iterations

    def to_dict(self) -> dict[str, Any]:
        return {**run_fields(self.run), "speedup": self.speedup}

    def csv_row(self) -> dict[str, Any]:
        return {**run_csv_row(self.run), "speedup": ratio(self.speedup)}


@dataclass(frozen=True)
class Sweep:
    """One scenario and strategy at several thread counts (and iteration counts)."""

    scenario: str
    sync: str
    rows: tuple[SweepRow, ...]
    interrupted: bool = False

    @classmethod
    def of(cls, runs: Sequence[RunResult], interrupted: bool = False) -> Sweep:
        first = runs[0].config if runs else None
        baseline: dict[int, float] = {}
        for r in sorted(runs, key=lambda r: r.config.threads):
            baseline.setdefault(r.config.iterations, r.kept_ops_per_s.median)
        several = len({r.config.threads for r in runs}) > 1
        rows = []
        for r in runs:
            base = baseline[r.config.iterations]
            speedup = r.kept_ops_per_s.median / base if several and base > 0 else None
            rows.append(SweepRow(run=r, speedup=speedup))
        return cls(
            scenario=first.scenario if first else "",
            sync=first.sync if first else "",
            rows=tuple(rows),
            interrupted=interrupted,
        )

    @property
    def ok(self) -> bool:
        return all(r.run.ok for r in self.rows)

    @property
    def threads(self) -> list[int]:
        return sorted({r.threads for r in self.rows})

    @property
    def runtime(self) -> str:
        """What ran the workers (one runtime per sweep): threads, asyncio or processes."""
        return self.rows[0].run.config.runtime if self.rows else "threads"

    @property
    def iterations(self) -> list[int]:
        return sorted({r.iterations for r in self.rows})

    @property
    def axis(self) -> str:
        """What varies: "threads", "iterations" or "threads,iterations"."""
        varies = [
            name
            for name, values in (("threads", self.threads), ("iterations", self.iterations))
            if len(values) > 1
        ]
        return ",".join(varies) or "threads"

    def point(self, row: SweepRow) -> str:
        """A row's place on the axis, in words: "4 threads", "1,000 iterations"."""
        parts = []
        if self.axis != "iterations":
            parts.append(workers(row.threads, self.runtime))
        if "iterations" in self.axis:
            parts.append(f"{row.iterations:,} iterations")
        return " × ".join(parts)

    def verdict(self) -> str:
        """Where throughput peaked and where the invariant broke, in one or two sentences."""
        timed = [r for r in self.rows if r.run.trials]
        if not timed:
            return "No run finished."
        sentences = []
        fewest = min(self.threads)
        if len(self.threads) > 1:
            base = workers(fewest, self.runtime)
            best = max(timed, key=lambda r: r.run.kept_ops_per_s.median)
            most = max(timed, key=lambda r: (r.threads, r.iterations))
            sentence = f"Throughput of kept work peaked at {self.point(best)}"
            if best.threads != fewest and best.speedup is not None:
                sentence += f", {best.speedup:.2f}× {base}"
            if most is not best and most.speedup is not None:
                sentence += f"; {self.point(most)} ran at {most.speedup:.2f}× {base}"
            sentences.append(sentence + ".")
        broke = [r for r in timed if not r.run.ok]
        if not broke:
            sentences.append("The invariant held at every point.")
        elif len(broke) == len(timed):
            sentences.append("The invariant broke at every point.")
        else:
            sentences.append(f"The invariant broke at {self.points(broke)}.")
        return " ".join(sentences)

    def points(self, rows: Sequence[SweepRow]) -> str:
        """Several points in words: "2, 4 and 8 threads"; "4 threads × 1,000 iterations"."""
        if self.axis == "threads":
            noun = workers(rows[0].threads if len(rows) == 1 else None, self.runtime)
            return _words([f"{r.threads:,}" for r in rows]) + " " + noun.rsplit(" ", 1)[-1]
        if self.axis == "iterations":
            return _words([f"{r.iterations:,}" for r in rows]) + " iterations"
        return _words([self.point(r) for r in rows])

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": "sweep",
            "scenario": self.scenario,
            "sync": self.sync,
            "axis": self.axis,
            "rows": [r.to_dict() for r in self.rows],
            "verdict": self.verdict(),
            "interrupted": self.interrupted,
            "ok": self.ok,
            "runs": [r.run.to_dict() for r in self.rows],
        }


def _words(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
