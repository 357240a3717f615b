"""Reports for slides: -o FILE.svg / .html / .txt (or --format svg|html|text) write what the
terminal shows, for every command that draws a table; unknown extensions are refused."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import Result

from syncdemo.render.export import export

Invoke = Callable[..., Result]

#: One cheap invocation of each command that draws a table.
COMMANDS = {
    "list": ["list"],
    "describe": ["describe", "counter"],
    "run": ["run", "counter", "--threads", "2", "--iterations", "200", "--trials", "1"],
    "compare": ["compare", "counter", "-t", "2", "-n", "200", "--trials", "1"],
    "sweep": ["sweep", "counter", "-t", "1,2", "-n", "200", "--trials", "1"],
    "explore": ["explore", "counter", "-n", "1"],
}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def svg_text(path: Path) -> str:
    """The SVG parsed as XML (it must be well-formed), with its text joined."""
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return "".join(root.itertext()).replace("\xa0", " ")


@pytest.mark.parametrize("command", COMMANDS)
def test_svg_is_valid_and_shows_the_scenario(invoke: Invoke, tmp_path: Path, command: str) -> None:
    out = tmp_path / "report.svg"
    result = invoke(*COMMANDS[command], "-q", "-o", str(out))
    assert result.exit_code in (0, 1), result.output
    text = svg_text(out)
    assert "counter" in text


@pytest.mark.parametrize("command", ["run", "list"])
def test_html_is_a_document_with_the_table(invoke: Invoke, tmp_path: Path, command: str) -> None:
    out = tmp_path / "report.html"
    result = invoke(*COMMANDS[command], "-q", "-o", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    parser = Tags()
    parser.feed(page)
    assert {"html", "body", "pre"} <= set(parser.tags)
    assert "counter" in page


def test_text_file_has_no_colour_codes(invoke: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    assert invoke(*COMMANDS["run"], "-q", "-o", str(out)).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "\x1b[" not in text
    assert "counter · --sync none" in text


def test_format_svg_goes_to_stdout_alone(invoke: Invoke) -> None:
    result = invoke("describe", "counter", "--format", "svg")
    assert result.exit_code == 0
    assert result.stdout.lstrip().startswith("<svg")
    assert result.stdout.rstrip().endswith("</svg>")


@pytest.mark.parametrize("name", ["run.md", "run.png", "run.pdf"])
def test_an_unknown_extension_is_a_usage_error_before_running(
    invoke: Invoke, usage_error: Callable[[Result], str], tmp_path: Path, name: str
) -> None:
    out = tmp_path / name
    line = usage_error(invoke("run", "counter", "-o", str(out)))
    assert Path(name).suffix in line and ".svg" in line and ".txt" in line
    assert not out.exists()


def test_export_keeps_colour_in_svg_and_html() -> None:
    from rich.text import Text

    shown = Text("VIOLATED", style="bold red")
    assert "VIOLATED" in export(shown, "svg")
    html = export(shown, "html")
    assert "VIOLATED" in html and "color" in html
    assert export(shown, "text").strip() == "VIOLATED"
    with pytest.raises(ValueError, match="png"):
        export(shown, "png")
