"""--export-trace writes the Chrome Trace Event Format that Perfetto and vizviewer open."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Invoke = Callable[..., Result]

#: A lost update is nondeterministic: a run may miss it. Keep running until one shows.
BUDGET_S = 30.0


def check_format(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The rules of the format this file relies on; returns the events."""
    assert isinstance(doc, dict) and isinstance(doc["traceEvents"], list)
    events: list[dict[str, Any]] = doc["traceEvents"]
    last: dict[tuple[int, int], float] = {}
    for e in events:
        for key in ("ph", "ts", "pid", "tid"):
            assert key in e, (key, e)
        assert e["ph"] in ("M", "X", "i", "s", "f"), e
        if e["ph"] == "X":
            assert e["dur"] > 0, e
            track = (e["pid"], e["tid"])
            if e["name"] not in ("worker", "trial") and not e["name"].startswith("trial "):
                assert e["ts"] >= last.get(track, float("-inf")), "ts goes back on a thread"
                last[track] = e["ts"]
    return events


def traced(invoke: Invoke, tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    """Run until a trace shows a failure (or the budget ends); the last trace's events."""
    out = tmp_path / "trace.json"
    deadline = time.monotonic() + BUDGET_S
    while True:
        result = invoke("run", *args, "--export-trace", str(out), "-q")
        assert result.exit_code == 0, result.output
        events = check_format(json.loads(out.read_text(encoding="utf-8")))
        if any(e["ph"] == "s" for e in events) or time.monotonic() > deadline:
            return events


def test_two_thread_counter_trace(invoke: Invoke, tmp_path: Path) -> None:
    events = traced(invoke, tmp_path, "counter", "-t", "2", "-n", "5000", "--trials", "1")
    names = [e for e in events if e["ph"] == "M" and e["name"] == "thread_name"]
    assert {e["args"]["name"] for e in names} >= {"thread 0 (worker)", "thread 1 (worker)"}
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    ends = {e["id"]: e for e in events if e["ph"] == "f"}
    assert starts, "no lost update showed within the budget"
    assert starts.keys() == ends.keys()
    for key, start in starts.items():
        assert start["tid"] != ends[key]["tid"], "an arrow goes from one thread to another"
    reads = [e for e in events if e["ph"] == "X" and e["name"] == "read"]
    assert reads and all("value" in e["args"] for e in reads)


def test_a_safe_run_has_no_arrows(invoke: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "trace.json"
    result = invoke(
        "run", "counter", "--sync", "lock", "-t", "2", "-n", "2000", "--export-trace", str(out)
    )
    assert result.exit_code == 0
    events = check_format(json.loads(out.read_text(encoding="utf-8")))
    assert not [e for e in events if e["ph"] in ("s", "f")]
    assert [e for e in events if e["ph"] == "X" and e["name"] == "write"]


def test_the_file_says_when_it_was_capped(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncdemo.render import trace

    monkeypatch.setattr(trace, "MAX_EVENTS", 500)
    out = tmp_path / "trace.json"
    assert (
        invoke("run", "counter", "-t", "2", "-n", "2000", "--export-trace", str(out)).exit_code == 0
    )
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["otherData"]["capped"] is True
    recorded = [e for e in doc["traceEvents"] if e["ph"] == "X" and e["name"] in ("read", "write")]
    assert len(recorded) <= 500


@pytest.mark.parametrize("bad", ["", "/no/such/dir/t.json"])
def test_an_unusable_path_is_refused_before_running(
    invoke: Invoke, usage_error: Callable[[Result], str], bad: str
) -> None:
    assert "--export-trace" in usage_error(invoke("run", "counter", "--export-trace", bad))
