"""Output that shells love, tested as shells use it: real processes, pipes, files, Ctrl-C.

The README's Scripting examples run here for real, in bash, with this environment's
``syncdemo`` first on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import helpers
import pytest
from click.testing import Result
from helpers import UNTIL_SEEN, wait_for_steady_threads

from syncdemo.cli.output import atomic_write

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals, pipes and ptys")
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SYNCDEMO = [sys.executable, "-m", "syncdemo"]
ONCE = ["--trials", "1"]
LAST = [*ONCE, "--format", "jsonl"]
#: A sweep whose second run (ten million items per producer) outlasts any test.
FOREVER = [*SYNCDEMO, "sweep", "producer-consumer", "-t", "2", "-n", "10,10000000", *ONCE]
Invoke = Callable[..., Result]


def env(**changes: str) -> dict[str, str]:
    """The child's environment: this venv's bin first on PATH, as an activated shell has."""
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return helpers.env(**{"PATH": path, "COLUMNS": "100", **changes})


def default_sigint() -> None:
    """In the child: undo a background job's ignored SIGINT, so Ctrl-C can be tested."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# --- the README's Scripting examples ----------------------------------------------------------


def scripting_examples() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Scripting\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, re.S)


EXAMPLES = scripting_examples()


def test_the_readme_has_scripting_examples() -> None:
    joined = "\n".join(EXAMPLES)
    assert len(EXAMPLES) >= 4
    assert "for " in joined and "jq" in joined, "a bash loop with jq"
    assert "--format jsonl" in joined
    assert ".csv" in joined, "a CSV for a spreadsheet"
    assert re.search(r"^if .*--check", joined, re.M), "--check in an if"


@POSIX
@pytest.mark.timeout(60)
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda s: s.split("\n")[0][:40])
def test_readme_scripting_example(script: str, tmp_path: Path) -> None:
    if not (BIN / "syncdemo").exists():
        pytest.skip("the syncdemo script is not installed next to this Python")
    if "jq" in script and shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "Error" not in done.stderr
    assert done.stdout.strip(), "every example prints something"
    for written in re.findall(r"--output (\S+)", script):
        lines = (tmp_path / written).read_text().splitlines()
        assert lines[0].startswith("scenario,sync,threads")
        assert len(lines) > 2
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"


# --- jsonl streams ----------------------------------------------------------------------------


@POSIX
@pytest.mark.timeout(60)
def test_jsonl_first_line_arrives_before_the_sweep_ends() -> None:
    """A 10-item run, then a 15,000-item one (each item's I/O takes tens of µs): the first
    line must reach the pipe while the second run is still going."""
    process = subprocess.Popen(
        [*SYNCDEMO, "sweep", "producer-consumer", "-t", "2", "-n", "10,15000", *LAST],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        still_running = process.poll() is None
        rest = process.stdout.read()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert json.loads(first)["params"]["iterations"] == 10
    assert still_running, "the first line waited for the whole sweep"
    second = json.loads(rest)
    assert second["params"]["iterations"] == 15000
    assert process.returncode == 0


def test_run_jsonl_is_the_run_json_on_one_line(invoke: Invoke) -> None:
    args = ("run", "counter", "-n", "100", "--trials", "2", "--seed", "3", "--switch-interval")
    jsonl = invoke(*args, "keep", "-f", "jsonl")
    assert jsonl.exit_code == 0, jsonl.output
    lines = jsonl.stdout.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["params"]["seed"] == 3
    assert len(data["trials"]) == 2
    as_json = json.loads(invoke(*args, "keep", "-f", "json").stdout)
    assert set(data) == set(as_json)
    assert set(data["summary"]) == set(as_json["summary"])


# --- -o FILE ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "check"),
    [
        ("r.json", None, lambda text: json.loads(text)["scenario"] == "counter"),
        ("r.jsonl", None, lambda text: len(text.splitlines()) == 1),
        ("r.csv", None, lambda text: text.startswith("scenario,sync,trial,")),
        ("r.txt", None, lambda text: "trials violated the invariant" in " ".join(text.split())),
        ("r.out", "csv", lambda text: text.startswith("scenario,sync,trial,")),
    ],
)
def test_run_output_file(
    invoke: Invoke, tmp_path: Path, name: str, fmt: str | None, check: Callable[[str], bool]
) -> None:
    target = tmp_path / name
    args = ["run", "counter", "-n", "100", "--trials", "1", "-o", str(target)]
    result = invoke(*args, *(["-f", fmt] if fmt else []))
    assert result.exit_code == 0, result.output
    assert check(target.read_text())
    assert "counter · --sync none" in result.stdout, "the table still shows"
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_output_file_with_quiet_prints_nothing(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "c.json"
    result = invoke("compare", "counter", "-n", "100", "--trials", "1", "-q", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert [r["spec"] for r in json.loads(target.read_text())["rows"]] == [
        "counter:none",
        "counter:lock",
        "counter:sharded",
    ]


def test_output_file_replaces_the_old_one(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "s.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    result = invoke(
        "sweep", "counter", "-t", "1,2", "-n", "100", "--trials", "1", "-o", str(target)
    )
    assert result.exit_code == 0
    assert target.read_text().startswith("scenario,sync,threads,")
    assert target.stat().st_mode & 0o777 == 0o640, "the file keeps its permissions"


def test_interrupted_run_writes_no_file(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_result: Any
) -> None:
    from syncdemo.engine import runner as engine

    def interrupted(scenario: object, config: object, **_: object) -> Any:
        raise engine.RunInterrupted(make_result((2000,), interrupted=True))

    monkeypatch.setattr(engine, "run", interrupted)
    result = invoke("run", "counter", "-o", str(tmp_path / "r.json"))
    assert result.exit_code == 130
    assert "Interrupted: these are the trials that finished." in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_leaves_nothing_when_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "data.csv"
    target.write_text("old\n")

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.csv"]


def test_write_failure_exits_1_with_one_line(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    result = invoke("run", "counter", "-n", "10", "--trials", "1", "-q", "-o", str(tmp_path / "x"))
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("Error: could not write")
    assert "No space left on device" in result.stderr
    assert list(tmp_path.iterdir()) == []


@POSIX
@pytest.mark.timeout(60)
@pytest.mark.parametrize("existing", [None, "old contents\n"], ids=["new", "existing"])
def test_ctrl_c_mid_sweep_leaves_no_file(tmp_path: Path, existing: str | None) -> None:
    """The second run (ten million items) never finishes; Ctrl-C lands in it."""
    target = tmp_path / "sweep.json"
    if existing is not None:
        target.write_text(existing)
    process = subprocess.Popen(
        [*FOREVER, "-o", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        preexec_fn=default_sigint,
    )
    try:
        wait_for_steady_threads(process.pid, 2)  # run 2's workers (run 1's came and went)
        assert process.poll() is None, "the sweep should still be running"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "Interrupted after 1 of 2 runs." in err
    assert "producer-consumer:condition" in out, "the finished run still shows as a table"
    assert [p.name for p in tmp_path.iterdir()] == ([] if existing is None else ["sweep.json"])
    if existing is not None:
        assert target.read_text() == existing


# --- -q and progress --------------------------------------------------------------------------


def test_run_quiet_prints_nothing_and_keeps_the_exit_status(invoke: Invoke) -> None:
    quiet = invoke("run", "counter", "-n", "100", "--trials", "1", "-q")
    assert quiet.exit_code == 0
    assert quiet.stdout == ""
    checked = invoke("run", "barrier", "-s", "none", *UNTIL_SEEN, "--check", "--quiet")
    assert checked.exit_code == 1
    assert checked.stdout == ""


def test_quiet_keeps_data_formats(invoke: Invoke) -> None:
    result = invoke("run", "counter", "-n", "100", "--trials", "1", "-q", "-f", "csv")
    assert result.stdout.startswith("scenario,sync,trial,")


@POSIX
@pytest.mark.timeout(60)
def test_no_progress_when_stderr_is_not_a_terminal() -> None:
    done = subprocess.run(
        [*SYNCDEMO, "sweep", "counter", "-t", "1,2", "-n", "200", "--trials", "1"],
        capture_output=True,
        text=True,
        env=env(TERM="xterm-256color"),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stderr == ""
    assert "\x1b[" not in done.stdout


def stderr_in_a_pty(args: Sequence[str]) -> tuple[str, str]:
    """Run with stderr on a terminal and stdout on a pipe; return (stdout, stderr)."""
    import pty

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*SYNCDEMO, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env(TERM="xterm-256color"),
    )
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert process.stdout is not None
        out = process.stdout.read().decode()
    finally:
        os.close(master)
        process.wait(timeout=30)
    assert process.returncode == 0
    return out, b"".join(chunks).decode(errors="replace")


SWEEP = ["sweep", "counter", "-t", "1,2,4", "-n", "500", "--trials", "2", "-f", "jsonl"]


@POSIX
@pytest.mark.timeout(60)
def test_progress_bar_on_a_terminal_stderr() -> None:
    out, err = stderr_in_a_pty(SWEEP)
    assert "6/6" in err, "the bar counts every trial of every run"
    assert "counter:none · 4 threads × 500" in err
    assert "━" in err
    assert len(out.splitlines()) == 3, "stdout carries only the data"
    assert "━" not in out


@POSIX
@pytest.mark.timeout(60)
def test_quiet_hides_the_progress_bar() -> None:
    out, err = stderr_in_a_pty([*SWEEP, "-q"])
    assert err == ""
    assert len(out.splitlines()) == 3


# --- shell completion -------------------------------------------------------------------------


def complete(words: str, cword: int, shell: str = "bash") -> list[str]:
    done = subprocess.run(
        SYNCDEMO,
        env=env(
            _SYNCDEMO_COMPLETE=f"{shell}_complete",
            COMP_WORDS=words,
            COMP_CWORD=str(cword),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.timeout(60)
def test_completion_of_a_scenario_name() -> None:
    assert complete("syncdemo run cou", 2) == ["plain,counter"]


def offered(line: str) -> list[str]:
    """What completion offers for ``line`` (the last word is the incomplete one), in-process."""
    from click.shell_completion import BashComplete

    from syncdemo.cli import cli

    words = line.split(" ")
    found = BashComplete(cli, {}, "syncdemo", "_SYNCDEMO_COMPLETE").get_completions(
        words[1:-1], words[-1]
    )
    return [item.value for item in found]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("syncdemo sw", ["sweep"]),
        ("syncdemo compare counter:l", ["counter:lock"]),
        ("syncdemo compare prod", ["producer-consumer"]),
        ("syncdemo compare counter:none bar", ["barrier"]),
        ("syncdemo sweep producer-consumer --sync ", ["none", "condition", "queue"]),
        ("syncdemo sweep counter -s ", ["none", "lock", "sharded"]),
        ("syncdemo sweep counter -f ", ["table", "json", "jsonl", "csv", "text", "svg", "html"]),
        ("syncdemo run counter --format j", ["json", "jsonl"]),
    ],
)
def test_completion(line: str, expected: list[str]) -> None:
    assert offered(line) == expected


@POSIX
@pytest.mark.timeout(60)
def test_bash_completion_script_completes_a_spec_split_at_the_colon(tmp_path: Path) -> None:
    """bash splits 'counter:l' into 'counter' ':' 'l' (COMP_WORDBREAKS) and replaces only
    the last word, so the completion must be 'lock' there, and ':lock' for 'counter:'."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    shim = tmp_path / "syncdemo"  # this interpreter's syncdemo, installed or not
    shim.write_text(f"#!/bin/sh\nexec '{sys.executable}' -m syncdemo \"$@\"\n")
    shim.chmod(0o755)
    script = """
        eval "$(_SYNCDEMO_COMPLETE=bash_source syncdemo)"
        COMP_WORDS=(syncdemo compare counter : l); COMP_CWORD=4
        _syncdemo_completion syncdemo; echo "split: ${COMPREPLY[*]}"
        COMPREPLY=(); COMP_WORDS=(syncdemo compare counter :); COMP_CWORD=3
        _syncdemo_completion syncdemo; echo "colon: ${COMPREPLY[*]}"
        COMPREPLY=(); COMP_WORDS=(syncdemo sweep bar); COMP_CWORD=2
        _syncdemo_completion syncdemo; echo "name: ${COMPREPLY[*]}"
    """
    done = subprocess.run(
        ["bash", "-c", script],
        env=env(PATH=f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "split: lock",
        "colon: :none :lock :sharded",
        "name: barrier",
    ]
