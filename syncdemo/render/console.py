"""The one way syncdemo makes a Rich console, so colour rules are the same everywhere."""

from __future__ import annotations

from rich.console import Console


def make_console(stderr: bool = False) -> Console:
    """A console that colours only terminals and honours NO_COLOR and TERM=dumb (Rich does)."""
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def show(renderable: object, console: Console | None = None) -> None:
    """Print ``renderable``; in a pipe or a file, without the spaces Rich pads each line
    with (a terminal does not show them, a pipe would keep them)."""
    from syncdemo.render.layout import plain_lines

    console = console or make_console()
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    console.file.write(plain_lines(captured.get()))
    console.file.flush()
