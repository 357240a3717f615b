"""``syncdemo.run(...)`` from Python and pytest, and the lazy public names of ``syncdemo``."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import syncdemo
from syncdemo.cli.options import DEFAULT_SWITCH_INTERVAL
from syncdemo.results import RunResult

ROOT = Path(__file__).resolve().parent.parent


@syncdemo.scenario
class Account:
    """One account, two clerks: check, then withdraw."""

    threads = 2
    iterations = 1
    invariant = "the balance never goes below zero"

    def setup(self) -> None:
        import threading

        self.balance = 100
        self.lock = threading.Lock()

    def worker(self, thread: int) -> None:
        if self.balance >= 80:
            self.balance -= 80

    @syncdemo.strategy("lock", safe=True)
    def worker_locked(self, thread: int) -> None:
        with self.lock:
            if self.balance >= 80:
                self.balance -= 80

    def check(self) -> bool:
        return self.balance >= 0


def test_run_a_decorated_class() -> None:
    result = syncdemo.run(Account, sync="lock", trials=5)
    assert isinstance(result, RunResult)
    assert result.ok
    assert len(result.trials) == 5
    data = result.to_dict()
    assert data["scenario"] == "account" and data["sync"] == "lock" and data["ok"]
    assert data["params"]["threads"] == 2
    assert data["runtime"]["switch_interval"] == pytest.approx(DEFAULT_SWITCH_INTERVAL)


def test_run_takes_the_cli_defaults() -> None:
    result = syncdemo.run(Account)
    config = result.config
    assert (config.sync, config.threads, config.iterations, config.trials) == ("none", 2, 1, 3)
    assert config.switch_interval == DEFAULT_SWITCH_INTERVAL
    assert isinstance(config.seed, int)
    result = syncdemo.run(Account, threads=3, iterations=5, trials=1, seed=9, switch_interval=None)
    assert (result.config.threads, result.config.iterations, result.config.seed) == (3, 5, 9)
    assert result.trials[0].ops == 15


def test_run_a_builtin_by_name() -> None:
    result = syncdemo.run("locked-counter", iterations=500, trials=2)
    assert result.ok
    assert result.config.scenario == "locked-counter" and result.config.sync == "lock"


def test_run_a_file_by_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    code = textwrap.dedent(
        """
        import syncdemo

        @syncdemo.scenario
        class Tally:
            threads = 2
            iterations = 10
            def setup(self):
                self.calls = [0, 0]
            def worker(self, thread):
                self.calls[thread] += 1
            def check(self):
                assert self.calls == [10, 10], f"calls: {self.calls}"
        """
    )
    (tmp_path / "tally.py").write_text(code, encoding="utf-8")
    result = syncdemo.run(str(tmp_path / "tally.py"), trials=2)
    assert result.ok, result.verdict
    assert syncdemo.run(f"{tmp_path / 'tally.py'}:Tally", trials=1).ok


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sync": "mutex"}, "account has no strategy 'mutex'; choose from: none, lock."),
        ({"threads": 0}, "threads = 0"),
        ({"iterations": -5}, "iterations = -5"),
        ({"trials": 0}, "trials = 0"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        syncdemo.run(Account, **kwargs)  # type: ignore[arg-type]


def test_an_unknown_name_raises_lookup_error() -> None:
    with pytest.raises(LookupError, match="No scenario named 'conter'"):
        syncdemo.run("conter")


def test_a_worker_that_raises_raises_chained_to_it() -> None:
    from syncdemo.engine.runner import EngineError

    @syncdemo.scenario
    class Fails:
        def worker(self, thread: int) -> None:
            raise KeyError(thread)

        def check(self) -> bool:
            return True

    with pytest.raises(EngineError, match="KeyError") as info:
        syncdemo.run(Fails, trials=1)
    assert isinstance(info.value.__cause__, KeyError)


def test_the_public_names() -> None:
    from syncdemo import results

    assert syncdemo.RunResult is results.RunResult
    assert syncdemo.TrialResult is results.TrialResult
    assert syncdemo.Outcome is results.Outcome
    assert callable(syncdemo.run) and callable(syncdemo.scenario)
    assert {"run", "scenario", "strategy", "RunResult"} <= set(dir(syncdemo))
    with pytest.raises(AttributeError):
        _ = syncdemo.nothing_here  # type: ignore[attr-defined]


def test_import_syncdemo_is_light() -> None:
    """A user file imports syncdemo and uses the decorators: no engine, no Rich, no Click."""
    code = (
        "import sys, syncdemo\n"
        "syncdemo.scenario, syncdemo.strategy\n"
        "heavy = [m for m in ('rich', 'click', 'syncdemo.engine.runner') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def readme_block(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Your own code\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    return next(b for b in blocks if b.startswith(f"# {title}\n"))


def test_the_readme_pytest_example(tmp_path: Path) -> None:
    (tmp_path / "overdraft.py").write_text(readme_block("overdraft.py"), encoding="utf-8")
    (tmp_path / "test_overdraft.py").write_text(readme_block("test_overdraft.py"), "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_overdraft.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
