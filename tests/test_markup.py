"""Code and values are shown as written: square brackets are never read as Rich markup.

Rich takes ``[w]``, ``[slot]`` or ``[seat]`` in a string for a style tag and drops it, so
``self.slots[slot] = item`` would show as ``self.slots = item``. Each command is run here
at 80 columns through CliRunner (stdout is not a terminal: the piped case) on words and
code with such brackets, and the renderers are printed on Rich's default console (markup
on), as a caller's own console would print them.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import render

from syncdemo.cli import cli
from syncdemo.render.console import group, literal
from syncdemo.render.layout import Alt, Col, Grid

WIDTH = 80

#: A scenario whose words and code hold brackets that Rich would read as tags.
SLOTS = textwrap.dedent(
    '''
    import threading

    import syncdemo


    @syncdemo.scenario
    class Slots:
        """Two threads add one to box[slot]: the read and the write [w] are two steps."""

        threads = 2
        iterations = 1
        invariant = "box[slot] counts every add [seat]"

        def setup(self):
            self.box = [0]
            self.lock = threading.Lock()

        def worker(self, thread):
            slot = 0
            seen = self.box[slot]
            self.box[slot] = seen + 1

        @syncdemo.strategy("lock", safe=True, summary="[seat] a lock around box[slot]")
        def worker_locked(self, thread):
            slot = 0
            with self.lock:
                self.box[slot] = self.box[slot] + 1

        def outcome(self):
            return f"[slot] {self.box[0]}"

        def check(self):
            return self.box[0] == self.threads * self.iterations
    '''
)


@pytest.fixture
def slots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "slots.py").write_text(SLOTS)
    monkeypatch.chdir(tmp_path)
    return "slots.py"


@pytest.fixture
def narrow() -> Callable[..., Result]:
    runner = CliRunner(env={"COLUMNS": str(WIDTH), "NO_COLOR": None, "FORCE_COLOR": None})

    def _invoke(*args: str) -> Result:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        if "-f" not in args:
            lines = result.stdout.splitlines()
            assert all(len(line) <= WIDTH for line in lines), result.stdout
        return result

    return _invoke


def flat(text: str) -> str:
    """The table's text without its rules and wrapping: words in order, one space apart."""
    for rule in "│┃━─╇┡┩┏┓┗┛┳┻╋┼╭╮╰╯":
        text = text.replace(rule, " ")
    return " ".join(text.split())


# --- the mechanism ---------------------------------------------------------------------------


@pytest.mark.parametrize("width", [200, 60, 24])
def test_a_grid_shows_cells_headers_and_titles_as_written_at_any_width(width: int) -> None:
    grid = Grid(
        Col("step", "right"),
        Col("[slot]"),
        Col("code", wrap=True),
        Col("", decorative=True),
        title="[seat] the title",
        keyed=True,
    )
    grid.add_row("1", "d[w]", "self.slots[slot] = item", "█" * 30)
    grid.add_row("2", Alt("[b]full", "[i]short"), "[w]", "█")
    out = render(grid, width)
    for text in ("[slot]", "d[w]", "[seat]", "[w]", "self.slots[slot]"):
        assert text in out, f"{text!r} at {width} columns:\n{out}"
    assert "[b]full" in out or "[i]short" in out, out


def test_strings_given_to_group_and_literal_stay_text() -> None:
    out = render(group("[bold]not bold[/bold]", literal("[w] = 1")))
    assert "[bold]not bold[/bold]" in out and "[w] = 1" in out


# --- every command ---------------------------------------------------------------------------


def test_list_shows_a_summary_with_brackets(narrow: Callable[..., Result]) -> None:
    out = flat(narrow("list").stdout)
    assert "d[w] =" in out, out


def test_describe_shows_strategies_with_brackets(narrow: Callable[..., Result]) -> None:
    out = narrow("describe", "shared-dict").stdout
    strategies = flat(out.split("sync strategies", 1)[1].split("Why it breaks", 1)[0])
    assert strategies.count("d[w] = d.get(w, 0) + 1") == 2, strategies


def test_describe_of_your_code_keeps_its_words(narrow: Callable[..., Result], slots: str) -> None:
    out = flat(narrow("describe", slots).stdout)
    assert "the read and the write [w] are two steps" in out
    assert "Invariant: box[slot] counts every add [seat]" in out
    assert "[seat] a lock around box[slot]" in out


def test_run_shows_outcomes_and_the_invariant_as_written(
    narrow: Callable[..., Result], slots: str, tmp_path: Path
) -> None:
    out = narrow("run", slots, "--trials", "2", "--race-budget", "0", "-o", "run.txt").stdout
    outcomes = out.split("outcomes over 2 trials")[1].split("Invariant")[0]
    assert outcomes.count("[slot] ") in (1, 2), outcomes  # "[slot] 2", maybe "[slot] 1"
    assert "Invariant: box[slot] counts every add [seat]" in flat(out)
    written = (tmp_path / "run.txt").read_text()
    assert "box[slot] counts every add [seat]" in flat(written)
    assert written.split("outcomes over")[1].count("[slot] ") in (1, 2), written


def test_compare_and_sweep_show_the_invariant_as_written(
    narrow: Callable[..., Result], slots: str
) -> None:
    compare = flat(narrow("compare", slots, "--trials", "1").stdout)
    assert "Invariant: box[slot] counts every add [seat]" in compare
    sweep = flat(narrow("sweep", slots, "--threads", "1,2", "--trials", "1").stdout)
    assert "Invariant: box[slot] counts every add [seat]" in sweep


def test_explore_shows_the_code_each_step_ran(narrow: Callable[..., Result], slots: str) -> None:
    out = narrow("explore", slots).stdout
    outcomes, steps = out.split("shortest failing schedule")
    assert "[slot] 1" in outcomes and "[slot] 2" in outcomes, outcomes
    steps = steps.split("Initial state")[0]
    assert steps.count("self.box[slot]") == 4, steps  # two reads, two writes


def test_explore_quiz_repeats_the_answer_as_typed(narrow: Callable[..., Result]) -> None:
    out = flat(narrow("explore", "counter", "--quiz", "--answer", "[w]", "--seed", "1").stdout)
    assert "Your answer: [w]" in out
    assert "you said '[w]'" in out


def test_play_shows_the_code_and_the_winning_schedule(
    narrow: Callable[..., Result], slots: str
) -> None:
    found = json.loads(narrow("explore", slots, "-f", "json").stdout)
    moves = ",".join(map(str, found["explored"]["counterexample"]["schedule"]))
    out = narrow("play", slots, "--moves", moves).stdout
    assert "You win" in out, out
    screen, schedule = out.split("The winning schedule", 1)
    assert "self.box[slot] = seen + 1" in screen
    assert schedule.split("You took")[0].count("self.box[slot]") == 4, schedule
