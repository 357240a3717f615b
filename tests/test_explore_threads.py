"""Code that starts its own threads, explored as it is: a plain function (an engineer's
test), a user class's worker that starts threads, a helper class in a second file. The
threads a controlled thread starts run under the scheduler too (numbered after it), their
exceptions are failures, ``current_thread()`` is the user's Thread. Each expected verdict
is argued from the program."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from syncdemo import scenarios
from syncdemo.cli import cli
from syncdemo.engine.config import resolve
from syncdemo.explore.explorer import explore

#: In a second file: the read and the write of one deposit, with a C call between them
#: (the GIL can change hands when it returns).
ACCOUNT = """
class Account:
    def __init__(self):
        self.balance = 0

    def deposit(self, n):
        seen = self.balance
        print(end="")
        self.balance = seen + n
"""

TESTS = """
import threading

from account_{tag} import Account


def test_two_deposits():
    account = Account()
    threads = [threading.Thread(target=account.deposit, args=(10,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert account.balance == 20, f"balance is {{account.balance}}"


def test_two_locked_deposits():
    account = Account()
    lock = threading.Lock()

    def deposit():
        with lock:
            account.deposit(10)

    threads = [threading.Thread(target=deposit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert account.balance == 20, f"balance is {{account.balance}}"


def test_names():
    seen = []

    def who():
        seen.append(threading.current_thread().name)

    threads = [threading.Thread(target=who, name=f"teller-{{i}}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
        assert not t.is_alive()
    assert sorted(seen) == ["teller-0", "teller-1"], seen


def test_a_thread_raises():
    def fail():
        raise ValueError("no funds")

    t = threading.Thread(target=fail)
    t.start()
    t.join()


def test_an_executor():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        pool.submit(print, end="")
"""

_tags = iter(range(10_000))


def write(tmp_path: Path) -> Path:
    """The two files, with a module name of their own (each test imports afresh)."""
    tag = next(_tags)
    (tmp_path / f"account_{tag}.py").write_text(textwrap.dedent(ACCOUNT), encoding="utf-8")
    path = tmp_path / f"bank_{tag}.py"
    path.write_text(textwrap.dedent(TESTS.format(tag=tag)), encoding="utf-8")
    return path


def explored(path: Path, function: str, **kw: Any) -> Any:
    scenario = scenarios.get(f"{path}:{function}")
    config = resolve(scenario, purpose="explore")
    return explore(scenario, config, classify=False, **kw)


@pytest.mark.parametrize("granularity", ["gil", "line"])
def test_a_function_whose_threads_lose_a_deposit_fails(tmp_path: Path, granularity: str) -> None:
    """Thread 1 reads the balance (0), the print returns and the GIL goes to thread 2,
    which deposits (10); thread 1 writes 0 + 10: the assert sees 10. One preemption."""
    found = explored(write(tmp_path), "test_two_deposits", granularity=granularity)
    assert found.complete and not found.ok
    example = found.counterexample
    assert example is not None and example.preemptions == 1
    assert example.check == "test_two_deposits() raised AssertionError: balance is 10"
    assert {s.thread for s in example.steps} == {0, 1, 2}  # the two it started, numbered on
    assert any(line.file.startswith("account_") for s in example.steps for line in s.lines)


def test_the_locked_deposits_are_verified(tmp_path: Path) -> None:
    """The lock makes each deposit whole: every schedule ends with 20."""
    found = explored(write(tmp_path), "test_two_locked_deposits")
    assert found.complete and found.ok


def test_a_started_thread_is_the_users_thread(tmp_path: Path) -> None:
    """current_thread() inside a started thread is the Thread the code made (its name),
    and is_alive() is False once joined: every schedule passes the asserts."""
    found = explored(write(tmp_path), "test_names", max_preemptions=1)
    assert found.complete and found.ok


def test_an_exception_in_a_started_thread_is_a_failure(tmp_path: Path) -> None:
    found = explored(write(tmp_path), "test_a_thread_raises")
    assert not found.ok
    assert found.counterexample is not None
    assert "ValueError: no funds" in found.counterexample.error


def test_run_counts_a_started_threads_exception(tmp_path: Path) -> None:
    """For real: the thread's exception goes to threading.excepthook, which the run
    records, so every trial violates."""
    path = write(tmp_path)
    result = CliRunner().invoke(
        cli, ["run", f"{path}:test_a_thread_raises", "--trials", "2", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [t["ok"] for t in document["trials"]] == [False, False]


def test_an_executor_is_refused_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["explore", f"{write(tmp_path)}:test_an_executor"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "ThreadPoolExecutor" in lines[0], result.stderr
    assert "Traceback" not in result.output
