"""What the terminal shows, as a file for slides: plain text, SVG or HTML.

Rich records what it prints and exports it with its own exporters, so the picture has the
same tables, histogram, verdict and colours as the screen, at a fixed width.
"""

from __future__ import annotations

import io

from rich.console import Console, RenderableType

from syncdemo.render.console import literal, plain_lines

#: The width of a report written to a file (no terminal to ask).
FILE_WIDTH = 120


def export(renderable: RenderableType, fmt: str, *, title: str = "syncdemo") -> str:
    """``renderable`` as "text" (no colour), "svg" or "html" (colours kept, inline styles)."""
    if fmt == "text":
        buffer = io.StringIO()
        Console(
            file=buffer,
            width=FILE_WIDTH,
            color_system=None,
            highlight=False,
            soft_wrap=False,
            markup=False,
        ).print(literal(renderable))
        return plain_lines(buffer.getvalue())
    console = Console(
        file=io.StringIO(),
        record=True,
        width=FILE_WIDTH,
        force_terminal=True,
        color_system="truecolor",
        highlight=False,
        soft_wrap=False,
        markup=False,
    )
    console.print(literal(renderable))
    if fmt == "svg":
        return console.export_svg(title=title)
    if fmt == "html":
        return console.export_html(inline_styles=True)
    raise ValueError(f"cannot export {fmt!r}")
