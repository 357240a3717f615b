"""Hostile input through the real Click command: whatever the argv, the CLI answers with an
exit code of 0, 1 or 2, never a traceback, and its data formats always parse.

The options and their types are read from the Click commands themselves, so a new option
is fuzzed as soon as it exists. Every ``run`` gets ``-n 5 --trials 1`` ahead of the fuzzed
options (which override them when given), valid counts stay tiny (threads <= 8, a few dozen
iterations, two trials) and junk text never parses as a number, so an example that runs
finishes in milliseconds.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from helpers import commands
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from syncdemo import scenarios
from syncdemo.cli import cli

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written to .hypothesis/; a failure prints its example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

#: Where a run really executes, valid values stay this small so examples take milliseconds
#: (--timeout: a scenario that deadlocks is declared stuck within half a second; a race
#: budget of minutes would have a run go on looking for a race that a few items rarely show).
SMALL: dict[str, float] = {
    "threads": 8,
    "iterations": 50,
    "trials": 2,
    "timeout": 0.5,
    "race_budget": 1.0,
}

ALL = scenarios.all_scenarios()
SCENARIOS = [s.name for s in ALL]
WORDS = sorted(
    {st_.name for s in ALL for st_ in s.strategies}
    | {w for s in ALL for w in getattr(s, "windows", ())}
    | {"table", "json", "csv", "keep", "none", "lock"}
)
KNOWN = {opt for c in commands().values() for p in c.params for opt in p.opts}
#: Ahead of the fuzzed options, so a run that leaves them out is still tiny.
TINY_RUN = ("-n", "5", "--trials", "1") + (
    ("--timeout", "0.5")
    if "--timeout" in {o for p in commands()["run"].params for o in p.opts}
    else ()
)
#: A run whose scenario deadlocks ends with exit status 3 (the watchdog stopped it).
EXIT_STUCK = 3


def is_number(text: str) -> bool:
    for kind in (int, float):
        try:
            kind(text)
            return True
        except ValueError:
            pass
    return False


def tame(text: str) -> str:
    """No number (it could be a huge valid count) and no path separator (an option that names
    a file must not write outside the test's temporary directory)."""
    text = text.replace("/", "|").replace("\\", "|")
    return text + "x" if is_number(text) else text


#: Text that is not a number: empty, whitespace, unicode, control characters, dashes.
junk = st.one_of(
    st.sampled_from(["", " ", "-", "--", "-1x", "0x10", "∞", "1,000", "\u0661\u0660x", ".", ".."]),
    st.text(max_size=12),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=4),
).map(tame)
#: Numbers Python's int() reads in surprising ways (the Arabic-Indic digits read as 10),
#: or that are far out of any range.
odd_numbers = st.sampled_from(
    [
        "1_000",
        "\u0661\u0660",
        "+3",
        "0003",
        "10**9",
        "1e3",
        "2.0",
        str(2**63 - 1),
        str(2**63),
        str(10**100),
    ]
)


def int_values(param: click.Option, valid_only: bool) -> st.SearchStrategy[str]:
    low = int(getattr(param.type, "min", None) or 0)
    high = getattr(param.type, "max", None)
    high = int(high) if high is not None else 10**6
    cap = min(high, int(SMALL.get(param.name or "", high)))
    valid = st.integers(low, cap).map(lambda n: st_pad(n))
    if valid_only:
        return valid
    return st.one_of(
        valid,
        st.integers(max_value=low - 1).map(str),
        st.integers(min_value=high + 1).map(str),
        odd_numbers.filter(lambda s: _odd_is_safe(s, param)),
        junk,
    )


def st_pad(n: int) -> str:
    """A valid count, sometimes with the spaces a shell variable can carry."""
    return f" {n} " if n % 3 == 0 else str(n)


def _odd_is_safe(text: str, param: click.Option) -> bool:
    """Keep odd spellings out of the counts that size a run when they are big and valid."""
    try:
        value = int(text)
    except ValueError:
        return True
    return param.name not in SMALL or value > int(getattr(param.type, "max", 0) or 0) or value <= 8


def float_values(valid_only: bool, low: float = 1e-6, high: float = 1.0) -> st.SearchStrategy[str]:
    valid = st.floats(low, high).map(repr)
    if valid_only:
        return valid
    return st.one_of(
        valid,
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["1e-7", "1e999", "-0", "-inf", "inf", "nan", "-NaN", "3601", "0x1p-3"]),
        junk,
    )


def values(param: click.Option, scenario: Any, valid_only: bool) -> st.SearchStrategy[str]:
    """Values for one option, derived from its Click type (and the scenario for names)."""
    kind = param.type
    if isinstance(kind, click.IntRange | type(click.INT)):
        return int_values(param, valid_only)
    if isinstance(kind, click.FloatRange | type(click.FLOAT)):
        low = float(getattr(kind, "min", None) or 0.0)
        high = float(getattr(kind, "max", None) or 1e6)
        return float_values(valid_only, low, min(high, SMALL.get(param.name or "", high)))
    if isinstance(kind, click.Choice):
        choices = [str(c) for c in kind.choices]
        if valid_only:
            return st.sampled_from(choices)
        return st.one_of(st.sampled_from(choices), st.sampled_from(choices).map(str.upper), junk)
    if isinstance(kind, click.Path | click.File):
        files = st.sampled_from(["out.data", "ü.csv", "-", "no-such-dir|x"])
        return files if valid_only else st.one_of(files, junk)
    if param.name == "switch_interval":
        keep = st.sampled_from(["keep", "KEEP", " default "])
        return st.one_of(float_values(valid_only), keep)
    names = {
        "sync": scenario.strategy_names() if scenario else WORDS,
        "window": list(getattr(scenario, "windows", ())) or WORDS,
    }.get(param.name or "", WORDS)
    if valid_only:
        return st.sampled_from(names)
    return st.one_of(st.sampled_from(WORDS), junk, st.integers().map(str))


def unknown_option(name: str) -> bool:
    """An option name no command has, even when spelled --name=value."""
    return f"--{name.split('=')[0]}" not in KNOWN | {"--help", "--version"}


@dataclass
class Argv:
    """An argv and what it must produce when it is accepted."""

    args: list[str] = field(default_factory=list)
    fmt: str = "table"
    check: bool = False
    help: bool = False
    to_file: bool = False
    """An option naming a file was given: the data may be there instead of on stdout."""


def spell(opt: str, value: str, style: int) -> list[str]:
    """--opt value, --opt=value, -ovalue: Click accepts each; the fuzz tries them all."""
    if style == 1 and opt.startswith("--"):
        return [f"{opt}={value}"]
    if style == 2 and len(opt) == 2 and value and not value.startswith("-"):
        return [f"{opt}{value}"]
    return [opt, value]


@st.composite
def command_line(draw: st.DrawFn, command: str, valid_only: bool = False) -> Argv:
    """argv for ``command``: options in any order and spelling, a name somewhere among them.

    ``valid_only`` draws accepted values only (so runs really execute and print data);
    otherwise anything goes: junk, unknown options, --help, stray words.
    """
    cmd = commands()[command]
    options = [p for p in cmd.params if isinstance(p, click.Option)]
    has_name = any(isinstance(p, click.Argument) for p in cmd.params)
    scenario = draw(st.sampled_from(ALL)) if has_name and valid_only else None
    out = Argv()
    groups: list[list[str]] = []  # one option and its value each: the name goes between
    fmt = next((p for p in options if p.name == "fmt"), None)
    if valid_only and fmt is not None:  # mostly data formats, the ones that must parse
        out.fmt = draw(values(fmt, scenario, valid_only))
        groups.append(spell(draw(st.sampled_from(fmt.opts)), out.fmt, draw(st.integers(0, 2))))
    for _ in range(draw(st.integers(0, 6 if options or not valid_only else 0))):
        kinds = ["option"] * 8 if options else []
        kind = "option" if valid_only else draw(st.sampled_from([*kinds, "unknown", "help"]))
        if kind == "help":
            groups.append([draw(st.sampled_from(["--help", "-h"]))])
            out.help = True
            continue
        if kind == "unknown":
            groups.append(["--" + draw(st.text(min_size=1, max_size=8).filter(unknown_option))])
            continue
        param = draw(st.sampled_from(options))
        opt = draw(st.sampled_from(param.opts))
        if param.is_flag:
            groups.append([opt])
            out.check = out.check or param.name == "check"
            continue
        value = draw(values(param, scenario, valid_only))
        groups.append(spell(opt, value, draw(st.integers(0, 2))))
        if param.name == "fmt":
            out.fmt = value
        out.to_file = out.to_file or isinstance(param.type, click.Path | click.File)
    if scenario is not None:
        groups.insert(draw(st.integers(0, len(groups))), [scenario.name])
    elif has_name and draw(st.integers(0, 9)) > 0:
        name = draw(
            st.one_of(
                st.sampled_from(SCENARIOS),
                st.sampled_from(SCENARIOS).map(str.upper),
                st.sampled_from(["countr", "barier", "", " counter", "counter\x00", "ƈounter"]),
                junk,
            )
        )
        groups.insert(draw(st.integers(0, len(groups))), [name])
    words = [word for group in groups for word in group]
    if not valid_only and draw(st.integers(0, 9)) == 0:  # a stray word or end-of-options
        words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(["--", "extra"])))
    out.args = [command, *(TINY_RUN if command == "run" else ()), *words]
    return out


RUNNER = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "FORCE_COLOR": None})


@contextlib.contextmanager
def temporary_cwd() -> Iterator[None]:
    before = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="syncdemo-fuzz-") as where:
        os.chdir(where)
        try:
            yield
        finally:
            os.chdir(before)


def invoke(args: list[str]) -> Result:
    """In a fresh temporary directory, so that any file an option names lands there."""
    with temporary_cwd():
        return RUNNER.invoke(cli, args, catch_exceptions=True)


def assert_answered(result: Result, argv: Any, codes: tuple[int, ...] = (0, 1, 2)) -> None:
    """The contract for any input: a known exit code, and a line rather than a traceback."""
    context = f"argv={argv!r}\nstdout={result.stdout[-2000:]!r}\nstderr={result.stderr[-2000:]!r}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}\n{context}") from result.exception
    assert result.exit_code in codes, context
    assert "Traceback" not in result.stderr, context
    assert "Traceback" not in result.stdout, context
    if result.exit_code == 2:  # never data on stdout; help (no command given) is fine
        assert result.stdout == "" or result.stdout.startswith("Usage:"), context
        assert "Error" in result.stderr or result.stderr.startswith("Usage:"), context


def not_json(constant: str) -> Any:
    """json.loads accepts NaN and Infinity; RFC 8259 (and many other parsers) do not."""
    raise ValueError(f"{constant} is not JSON")


def assert_parses(result: Result, fmt: str, command: str) -> None:
    context = f"stdout={result.stdout[-2000:]!r}"
    if fmt == "json":
        data = json.loads(result.stdout, parse_constant=not_json)
        assert isinstance(data, dict if command == "run" else list), context
    elif fmt == "jsonl":
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        assert lines, context
        for line in lines:
            json.loads(line, parse_constant=not_json)
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(result.stdout)))
        header = ["name", "summary", "invariant"] if command == "list" else ["scenario", "sync"]
        assert rows and rows[0][: len(header)] == header, context
        assert len(rows) >= 2, context
        assert all(len(row) == len(rows[0]) for row in rows), context


def check_run(argv: Argv) -> None:
    result = invoke(argv.args)
    shown = "help" if argv.help else argv.fmt
    event(f"exit {result.exit_code}" + (f", {shown}" if result.exit_code != 2 else ""))
    assert_answered(result, argv.args, (0, 1, 2, EXIT_STUCK))
    if result.exit_code == 1:
        assert argv.check or "Error" in result.stderr, result.stderr
    if result.exit_code == EXIT_STUCK:
        assert result.stderr.strip(), "a stuck run says so"
    printed = result.exit_code == 0 or result.stdout.strip()
    if result.exit_code != 2 and printed and not argv.help and not argv.to_file:
        assert_parses(result, argv.fmt, "run")


# --- the fuzz ---------------------------------------------------------------------------------


@FUZZ
@given(command_line("run"))
def test_run_with_hostile_input(argv: Argv) -> None:
    check_run(argv)


@FUZZ
@given(command_line("run", valid_only=True))
def test_run_with_any_valid_input_prints_data_that_parses(argv: Argv) -> None:
    check_run(argv)


@FUZZ
@given(command_line("list") | command_line("list", valid_only=True))
def test_list(argv: Argv) -> None:
    result = invoke(argv.args)
    assert_answered(result, argv.args)
    assert result.exit_code in (0, 2)
    if result.exit_code == 0 and not argv.help and not argv.to_file:
        assert_parses(result, argv.fmt, "list")


@FUZZ
@given(command_line("describe") | command_line("describe", valid_only=True))
def test_describe(argv: Argv) -> None:
    result = invoke(argv.args)
    assert_answered(result, argv.args)
    assert result.exit_code in (0, 2)


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["--help", "-h", "--version", "-V", "run", "list", "describe"]),
            st.sampled_from(["", "--", "-", "runn", "RUN", "l\u0456st"]),  # a Cyrillic i
            junk,
        ),
        max_size=3,
    )
)
def test_top_level(args: list[str]) -> None:
    """Before any command: --help, --version, unknown commands, junk. A run that gets here
    with a real scenario name is kept tiny like the others."""
    if len(args) >= 2 and args[0] == "run" and args[1] in SCENARIOS:
        args = [args[0], args[1], *TINY_RUN, *args[2:]]
    result = invoke(args)
    assert_answered(result, args, (0, 1, 2, EXIT_STUCK))


# --- the fuzz's own guards --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_control_a_plain_tiny_run_parses(name: str, fmt: str) -> None:
    result = invoke(["run", name, *TINY_RUN, "-t", "2", "-f", fmt])
    assert result.exit_code == 0, result.output
    assert_parses(result, fmt, "run")


def test_junk_is_never_a_number() -> None:
    assert all(is_number(s) for s in ("5", " 7 ", "1e3", "\u0663", "inf", "1_000"))
    assert not any(is_number(s) for s in ("", "abc", "--", "5x", "\u0661\u0660x"))
