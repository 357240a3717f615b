"""The one way syncdemo makes a Rich console, and the one way text reaches it.

Everything syncdemo prints is someone's words or code: a worker's line
(``self.slots[slot] = item``), a value (``items[1]``), a scenario's summary
(``d[w] = d.get(w, 0) + 1``), what a user typed. Rich reads square brackets in a string as
markup and drops what it takes for a tag, so the code shown would differ from the code
run. So no string reaches Rich as markup: renderers hand over :class:`~rich.text.Text`
(styles are set as styles, never written into the text), :func:`literal` and
:func:`group` turn the strings they are given into Text, the layout :class:`Grid` does the
same to every cell, header and title, and the console itself has markup off, for a plain
``console.print(text)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import RenderableType


def make_console(stderr: bool = False) -> Console:
    """A console that colours only terminals and honours NO_COLOR and TERM=dumb (Rich does),
    and reads no markup."""
    return Console(stderr=stderr, highlight=False, soft_wrap=False, markup=False)


def literal(part: RenderableType) -> RenderableType:
    """A string as the text it is (never markup); any other renderable unchanged."""
    return Text(part) if isinstance(part, str) else part


def group(*parts: RenderableType) -> Group:
    """``parts`` one under the other, strings among them as plain text."""
    return Group(*(literal(p) for p in parts))


def show(renderable: object, console: Console | None = None) -> None:
    """Print ``renderable``; in a pipe or a file, without the spaces Rich pads each line
    with (a terminal does not show them, a pipe would keep them)."""
    console = console or make_console()
    if isinstance(renderable, str):
        renderable = Text(renderable)
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    console.file.write(plain_lines(captured.get()))
    console.file.flush()


def plain_lines(text: str) -> str:
    """``text`` with the spaces at the end of each line removed (Rich pads lines to the
    table's width, which a pipe or a file should not get)."""
    return "\n".join(line.rstrip(" ") for line in text.split("\n"))
