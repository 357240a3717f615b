"""Machine-readable output: JSON and CSV, for shells and spreadsheets. Stable field names."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from syncdemo.results import RunResult
from syncdemo.scenarios.base import Scenario

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


def scenario_dict(scenario: Scenario[Any]) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "summary": scenario.summary,
        "explanation": scenario.explanation,
        "shared_state": scenario.shared_state,
        "invariant": scenario.invariant,
        "violation": scenario.violation_noun,
        "default_sync": scenario.default_sync,
        "defaults": {
            "threads": scenario.default_threads,
            "iterations": scenario.default_iterations,
            "iterations_meaning": scenario.iterations_meaning,
        },
        "strategies": [
            {"name": s.name, "summary": s.summary, "cost": s.cost, "safe": s.safe}
            for s in scenario.strategies
        ],
        "why": {"gil": scenario.why.gil, "free_threaded": scenario.why.free_threaded},
    }


def list_json(scenarios: Sequence[Scenario[Any]]) -> str:
    return json.dumps([scenario_dict(s) for s in scenarios], indent=2)
