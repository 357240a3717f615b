"""Machine-readable output: JSON and CSV, for shells and spreadsheets. Stable field names."""

from __future__ import annotations

import csv
import io
import json

from syncdemo.results import RunResult

CSV_FIELDS = (
    "scenario",
    "sync",
    "trial",
    "threads",
    "iterations",
    "expected",
    "observed",
    "violations",
    "ok",
    "elapsed_s",
    "ops",
    "ops_per_s",
    "python",
    "implementation",
    "gil",
    "switch_interval",
    "seed",
)


def run_json(result: RunResult) -> str:
    return json.dumps(result.to_dict(), indent=2)


def run_csv(result: RunResult) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for trial in result.trials:
        writer.writerow(
            {
                "scenario": result.config.scenario,
                "sync": result.config.sync,
                "trial": trial.trial,
                "threads": result.config.threads,
                "iterations": result.config.iterations,
                "expected": trial.outcome.expected,
                "observed": trial.outcome.observed,
                "violations": trial.outcome.violations,
                "ok": str(trial.ok).lower(),
                "elapsed_s": f"{trial.elapsed_s:.6f}",
                "ops": trial.ops,
                "ops_per_s": f"{trial.ops_per_s:.1f}",
                "python": result.runtime.python,
                "implementation": result.runtime.implementation,
                "gil": str(result.runtime.gil).lower(),
                "switch_interval": result.runtime.switch_interval,
                "seed": result.config.seed,
            }
        )
    return out.getvalue()
