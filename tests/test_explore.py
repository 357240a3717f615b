"""``syncdemo explore`` on the real code, as a user runs it: built-ins and user files, the
granularities, replay (deterministic, and refused on changed code), the quiz, --check,
JSON, the trace export and bad input. The scheduler itself is tested in
tests/test_controlled_*.py."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Invoke = Callable[..., Result]

pytestmark = pytest.mark.timeout(120)

BARE_INCREMENT = """
    import syncdemo

    @syncdemo.scenario
    class Bare:
        \"\"\"Two threads add one with a bare += 1.\"\"\"
        threads = 2
        iterations = 1
        invariant = "n == threads x iterations"

        def setup(self):
            self.n = 0

        def worker(self, thread):
            self.n += 1

        def check(self):
            return self.n == self.threads * self.iterations
"""

TWO_LOCKS = """
    import threading

    import syncdemo

    @syncdemo.scenario
    class TwoLocks:
        \"\"\"Two threads take two locks in opposite orders.\"\"\"
        threads = 2
        iterations = 1

        def setup(self):
            self.a = threading.Lock()
            self.b = threading.Lock()
            self.done = 0

        def worker(self, thread):
            first, second = (self.a, self.b) if thread == 0 else (self.b, self.a)
            with first:
                with second:
                    self.done += 1

        def check(self):
            return self.done == 2
"""

OVERDRAFT = """
    import threading

    import syncdemo

    @syncdemo.scenario
    class Overdraft:
        \"\"\"Two clerks withdraw from one account.\"\"\"
        threads = 2
        iterations = 1
        invariant = "the balance never goes below zero"

        def setup(self):
            self.balance = 100
            self.lock = threading.Lock()

        def worker(self, thread):
            if self.balance >= 80:
                {between}self.balance -= 80

        @syncdemo.strategy("lock", safe=True)
        def worker_locked(self, thread):
            with self.lock:
                if self.balance >= 80:
                    self.balance -= 80

        def check(self):
            return self.balance >= 0


    def log(text):
        return text
"""


def user_file(tmp_path: Path, name: str, code: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return str(path)


def as_json(invoke: Invoke, *args: str) -> dict[str, Any]:
    result = invoke("explore", *args, "-f", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_counter_shows_the_shortest_lost_update_and_how_to_replay_it(invoke: Invoke) -> None:
    result = invoke("explore", "counter")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "shortest failing schedule" in text
    assert "← invariant broken" in text
    assert "counter.value = value" in text  # the real source line, not a model's words
    assert "possible with the GIL" in text
    assert "Replay it: syncdemo explore counter --sync none -t 2 -n 2 --schedule" in text


def test_no_reduction_runs_more_schedules_to_the_same_outcomes_and_replays(
    invoke: Invoke,
) -> None:
    # deadlock's workers have points in a row with only local instructions between
    reduced = as_json(invoke, "deadlock")["explored"]
    plain = as_json(invoke, "deadlock", "--no-reduction")["explored"]
    assert reduced["reduction"] is True and plain["reduction"] is False
    assert plain["complete"] and plain["schedules"] > reduced["schedules"]
    assert {o["outcome"] for o in plain["outcomes"]} == {o["outcome"] for o in reduced["outcomes"]}
    replay = plain["counterexample"]["replay"]
    assert " --no-reduction --schedule " in replay  # its steps are the plain search's
    args = replay.split()[2:]  # after "syncdemo explore"
    replayed = as_json(invoke, *args)["replay"]
    assert replayed["schedule"] == plain["counterexample"]["schedule"]
    assert replayed["outcome"] == plain["counterexample"]["outcome"]


def test_check_exit_codes(invoke: Invoke) -> None:
    assert invoke("explore", "counter", "--check").exit_code == 1
    locked = invoke("explore", "counter", "--sync", "lock", "--check")
    assert locked.exit_code == 0, locked.output
    assert "Verified for this bound" in " ".join(locked.stdout.split())


def test_check_exits_0_only_on_a_proof(invoke: Invoke) -> None:
    # the same safe strategy, proved above, is not proved by a sample or a search cut short
    for args, why in (
        (("--random", "5"), "random schedules are a sample, not a proof"),
        (("--limit", "2"), "the search stopped before it had run every schedule"),
    ):
        result = invoke("explore", "counter", "--sync", "lock", "--check", *args)
        assert result.exit_code == 1, result.output
        assert "No failure" in " ".join(result.stdout.split())
        assert f"--check: not verified: {why}" in result.stderr


def test_the_polite_livelock_is_found_at_the_defaults(invoke: Invoke) -> None:
    # explore's rounds run the schedules with one preemption (the two hands up at once)
    # before its --limit is spent on those with two
    result = invoke("explore", "livelock", "--sync", "polite", "--check", "-f", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["explored"]["livelocks"] > 0
    assert data["explored"]["counterexample"]["outcome"] == "livelock"


def test_json_counterexample_replays_to_the_same_outcome(invoke: Invoke) -> None:
    data = as_json(invoke, "counter")
    ex = data["explored"]["counterexample"]
    assert data["ok"] is False and ex["ok"] is False
    assert {o["outcome"] for o in data["explored"]["outcomes"]} == {"2", "3", "4"}
    schedule = ex["replay"].split("--schedule ", 1)[1]
    replayed = as_json(invoke, "counter", "--schedule", schedule)["replay"]
    assert replayed["outcome"] == ex["outcome"]
    assert replayed["schedule"] == ex["schedule"]

    def shown(steps: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        # the search also marks where the invariant became unreachable; a replay does not
        return [(s["thread"], s["lines"], s["values"], s["state"]) for s in steps]

    assert shown(replayed["steps"]) == shown(ex["steps"])


def test_a_replay_gives_identical_json_ten_times(invoke: Invoke) -> None:
    schedule = as_json(invoke, "counter", "-n", "1")["explored"]["counterexample"]["schedule"]
    text = ",".join(map(str, schedule))
    first = invoke("explore", "counter", "-n", "1", "--schedule", text, "-f", "json").stdout
    for _ in range(9):
        again = invoke("explore", "counter", "-n", "1", "--schedule", text, "-f", "json")
        assert again.stdout == first


def test_random_mode_is_reproducible_with_a_seed(invoke: Invoke) -> None:
    one = as_json(invoke, "counter", "--random", "30", "--seed", "7")["explored"]
    two = as_json(invoke, "counter", "--random", "30", "--seed", "7")["explored"]
    assert one["mode"] == "random" and one["seed"] == 7
    assert one["outcomes"] == two["outcomes"]
    assert one["counterexample"]["schedule"] == two["counterexample"]["schedule"]


def test_the_limit_stops_the_search_and_says_so(invoke: Invoke) -> None:
    result = invoke("explore", "counter", "-n", "3", "--limit", "3")
    assert result.exit_code == 0
    assert "--limit of 3" in result.stderr
    assert "proves nothing" in " ".join(result.stdout.split())


def test_bare_increment_fails_only_at_opcode_and_needs_parallel_threads(
    invoke: Invoke, tmp_path: Path
) -> None:
    path = user_file(tmp_path, "bare.py", BARE_INCREMENT)
    for granularity in ("gil", "line"):
        data = as_json(invoke, path, "-g", granularity)
        assert data["ok"], granularity
    at_opcode = as_json(invoke, path, "-g", "opcode")
    assert not at_opcode["ok"]
    ex = at_opcode["explored"]["counterexample"]
    assert ex["needs"] == "parallel"
    assert "free-threaded" in ex["needs_text"]
    assert at_opcode["explored"]["gil_found"] is False


def test_a_deadlock_in_user_code_is_reported_with_its_cycle(invoke: Invoke, tmp_path: Path) -> None:
    path = user_file(tmp_path, "locks.py", TWO_LOCKS)
    result = invoke("explore", path, "--check")
    assert result.exit_code == 1, result.output
    text = " ".join(result.stdout.split())
    assert "← deadlock" in text
    assert "holds" in text and "waits for" in text
    data = as_json(invoke, path)
    assert data["explored"]["deadlocks"] >= 1
    assert data["explored"]["counterexample"]["deadlocked"] is True


def test_overdraft_breaks_at_line_not_under_the_gil(invoke: Invoke, tmp_path: Path) -> None:
    path = user_file(tmp_path, "overdraft.py", OVERDRAFT.replace("{between}", ""))
    at_line = as_json(invoke, path)
    assert not at_line["ok"]
    assert at_line["explored"]["counterexample"]["needs"] == "parallel"
    at_gil = invoke("explore", path, "-g", "gil")
    assert at_gil.exit_code == 0
    assert "Verified for this bound" in " ".join(at_gil.stdout.split())
    locked = as_json(invoke, path, "--sync", "lock", "-g", "opcode")
    assert locked["ok"]


def test_a_call_between_check_and_act_opens_the_window_under_the_gil(
    invoke: Invoke, tmp_path: Path
) -> None:
    code = OVERDRAFT.replace("{between}", "log('approved')\n                ")
    path = user_file(tmp_path, "overdraft.py", code)
    data = as_json(invoke, path, "-g", "gil")
    assert not data["ok"]
    assert data["explored"]["counterexample"]["needs"] == "gil"
    assert data["file"] == path


def test_a_replay_on_changed_code_says_so(invoke: Invoke, tmp_path: Path) -> None:
    path = user_file(tmp_path, "bare.py", BARE_INCREMENT)
    ex = as_json(invoke, path, "-g", "opcode")["explored"]["counterexample"]
    schedule = ex["replay"].split("--schedule ", 1)[1]
    Path(path).write_text(
        textwrap.dedent(BARE_INCREMENT).replace("self.n += 1", "self.n = self.n + 1"),
        encoding="utf-8",
    )
    result = invoke("explore", path, "-g", "opcode", "--schedule", schedule)
    assert result.exit_code == 1
    assert "changed" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--schedule", "0,x"], "--schedule"),
        (["--schedule", "0,7"], "--schedule"),
        (["--schedule", ","], "--schedule"),
        (["--answer", "3"], "--answer goes with --quiz"),
        (["--random", "5", "--schedule", "0"], "drop --random"),
        (["--quiz", "--random", "5"], "drop --random"),
        (["-g", "bytes"], "--granularity"),
        (["--max-preemptions", "many"], "--max-preemptions"),
        (["-t", "9"], "--threads"),
        (["--quiz"], "--quiz needs --answer"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    invoke: Invoke, usage_error: Callable[[Result], str], args: list[str], words: str
) -> None:
    assert words in usage_error(invoke("explore", "counter", *args))


def test_quiz_right_and_wrong(invoke: Invoke) -> None:
    right = None
    for answer in ("2", "3", "4"):
        data = as_json(invoke, "counter", "--quiz", "--seed", "3", "--answer", answer)
        quiz = data["quiz"]
        assert quiz["question"] == "What is the final value at the end?"
        assert quiz["right"] == (answer == quiz["correct_answer"])
        right = right or quiz["right"]
    assert right, "one of the three possible final values is the answer"
    table = invoke("explore", "counter", "--quiz", "--seed", "3", "--answer", "99")
    assert table.exit_code == 0
    assert "Not quite" in table.stdout


def test_unbounded_search_covers_more(invoke: Invoke) -> None:
    # at gil, where every schedule of one increment each can be run (at line, on 3.12+,
    # they are more than the default limit)
    args = ("counter", "-n", "1", "-g", "gil", "--max-preemptions")
    bounded = as_json(invoke, *args, "0")["explored"]
    unbounded = as_json(invoke, *args, "unbounded")
    assert bounded["max_preemptions"] == 0 and bounded["ok"]
    assert unbounded["explored"]["max_preemptions"] is None
    # (on 3.10, whose GIL can change hands after returns too, the whole search is more
    # than the default limit: the lost update is what an unbounded search adds)
    assert not unbounded["ok"] and unbounded["explored"]["violating"] > 0
    assert unbounded["explored"]["schedules"] > bounded["schedules"]


def test_export_trace_of_the_shortest_failing_schedule(invoke: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "schedule.json"
    result = invoke("explore", "counter", "-n", "1", "--export-trace", str(out), "-q")
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    events = doc["traceEvents"]
    for e in events:
        assert {"ph", "ts", "pid", "tid"} <= set(e)
    names = [e for e in events if e["ph"] == "M" and e["name"] == "thread_name"]
    assert len(names) == 2
    starts = [e for e in events if e["ph"] == "s"]
    ends = [e for e in events if e["ph"] == "f"]
    assert len(starts) == len(ends) == 1 and starts[0]["id"] == ends[0]["id"]
    assert starts[0]["tid"] != ends[0]["tid"]
    steps = [e for e in events if e["ph"] == "X"]
    assert [e["ts"] for e in steps] == sorted(e["ts"] for e in steps)
    assert (
        doc["otherData"]["schedule"]
        == json.loads(invoke("explore", "counter", "-n", "1", "-f", "json").stdout)["explored"][
            "counterexample"
        ]["schedule"]
    )


@pytest.mark.skipif(
    sys.version_info[:2] != (3, 11) or not getattr(sys, "_is_gil_enabled", lambda: True)(),
    reason="the README's example is CPython 3.11's (each version stops at other places)",
)
def test_the_readme_explore_example_is_what_explore_prints() -> None:
    from click.testing import CliRunner

    from syncdemo.cli import cli

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```text\n\$ syncdemo explore counter -n 1\n(.*?)```", readme, re.S)
    assert found is not None
    runner = CliRunner(env={"COLUMNS": "96", "NO_COLOR": None, "FORCE_COLOR": None})
    out = runner.invoke(cli, ["explore", "counter", "-n", "1"]).stdout

    def words(text: str) -> str:  # the time it took is the one thing that may differ
        return re.sub(r"in [0-9.]+ (ms|s)\b", "in …", " ".join(text.split()))

    assert words(found.group(1)) == words(out)
