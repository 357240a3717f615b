"""Tables that never cut a name or a number, at any width.

Rich fits a table that is too wide by narrowing its widest columns and then every column
evenly, which ends in "…" inside names and numbers. A :class:`Grid` lays itself out
instead, trying in order, at the width it is given:

1. every column at its natural width; or, if only headers need to wrap, so be it;
2. without decorative columns (bars), the first thing to go; then also with each
   column's shorter header;
   (a cell may have a shorter form too, see :class:`Alt`);
3. the same two at widths that wrap headers and sentences between words and never break
   a name or a number (each such cell is as wide as its text);
4. with ``keyed`` rows (a trial number first), the rows as columns;
5. stacked: one block per row, a line per column ("header  value"), which fits any width
   a line of text fits.

Every column folds as a last resort (a word longer than the whole screen is split, never
replaced by "…").

A cell, header or title given as a string is shown as the text it is, never read as Rich
markup: ``self.slots[slot] = item`` keeps its brackets (see :mod:`syncdemo.render.console`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rich import box
from rich.console import (
    Console,
    ConsoleOptions,
    Group,
    JustifyMethod,
    RenderableType,
    RenderResult,
)
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text, TextType

from syncdemo.render.console import literal

#: Wider than any table syncdemo draws: the width at which a table shows its natural size.
UNBOUNDED = 100_000


@dataclass(frozen=True)
class Col:
    """One column of a :class:`Grid`, and how it may give way when space is short."""

    header: str
    justify: JustifyMethod = "left"
    short: str = ""
    """A shorter header for narrow screens ("" keeps ``header``)."""
    wrap: bool = False
    """Sentences that may wrap between words; names and numbers (the default) never wrap."""
    decorative: bool = False
    """A bar or other picture of a number shown elsewhere: dropped before anything else."""
    style: str = ""


@dataclass(frozen=True)
class Alt:
    """A cell with a shorter form for narrow layouts: "11.3 ms (11.1-11.6)" or "11.3 ms"."""

    full: RenderableType
    short: RenderableType


def _literal(cell: RenderableType | Alt) -> RenderableType | Alt:
    if isinstance(cell, Alt):
        return Alt(literal(cell.full), literal(cell.short))
    return literal(cell)


def _pick(cell: RenderableType | Alt, short: bool) -> RenderableType:
    if isinstance(cell, Alt):
        return cell.short if short else cell.full
    return cell


class Grid:
    """A table built row by row like a Rich ``Table``, laid out when it is rendered."""

    def __init__(
        self,
        *columns: Col,
        title: TextType = "",
        show_lines: bool = False,
        show_edge: bool = False,
        show_header: bool = True,
        keyed: bool = False,
    ) -> None:
        self.columns = list(columns)
        self.title: Text = Text(title) if isinstance(title, str) else title
        self.show_lines = show_lines
        self.show_edge = show_edge
        self.show_header = show_header
        self.keyed = keyed
        """The first column names each row (a trial number): when the rows do not fit side
        by side, try them as columns (one row per other column) before stacking."""
        self.rows: list[tuple[list[RenderableType | Alt], str | None]] = []

    def add_row(self, *cells: RenderableType | Alt, style: str | None = None) -> None:
        self.rows.append(([_literal(c) for c in cells], style))

    # --- layouts --------------------------------------------------------------------------

    def table(self, *, short: bool = False, decorated: bool = True) -> Table:
        """The rows as a Rich table with natural column widths."""
        table = Table(
            title=self.title or None,
            title_justify="left",
            show_edge=self.show_edge,
            pad_edge=self.show_edge,
            show_lines=self.show_lines,
            show_header=self.show_header,
            box=box.HEAVY_HEAD if self.show_header else None,
        )
        keep = [i for i, c in enumerate(self.columns) if decorated or not c.decorative]
        for i in keep:
            c = self.columns[i]
            table.add_column(
                Text((c.short or c.header) if short else c.header),
                justify=c.justify,
                style=c.style or None,
                no_wrap=not c.wrap,
                overflow="fold",
            )
        for cells, style in self.rows:
            table.add_row(
                *(_pick(cells[i], short) if i < len(cells) else Text() for i in keep), style=style
            )
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        full = self.table()
        if _natural(console, full) <= width:
            yield full
            return
        fitted = fit_widths(console, full, width, wrap_cells=False)
        if fitted is not None:  # the bars stay if only headers need to wrap
            yield fitted
            return
        has_short = any(c.short and c.short != c.header for c in self.columns)
        plain = [self.table(decorated=False)]  # the bars go first
        if has_short:
            plain.append(self.table(short=True, decorated=False))
        for table in plain:  # then, without wrapping anything, shorter headers
            if _natural(console, table) <= width:
                yield table
                return
        for table in plain:  # then wrapping headers and sentences between words
            fitted = fit_widths(console, table, width)
            if fitted is not None:
                yield fitted
                return
        if self.keyed:
            fitted = fit_widths(console, self.transposed(), width)
            if fitted is not None:
                yield fitted
                return
        yield self.stacked(width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        natural = _natural(console, self.table())
        return Measurement(min(natural, 20), natural).with_maximum(options.max_width)

    def transposed(self) -> Table:
        """Rows as columns: the first column's values head the columns, every other
        (non-decorative) column becomes a row."""
        key, *others = [c for c in self.columns if not c.decorative]
        index = {id(c): i for i, c in enumerate(self.columns)}
        table = Table(
            title=self.title or None, title_justify="left", show_edge=False, pad_edge=False
        )
        table.add_column(Text(key.header), no_wrap=True, overflow="fold")
        for cells, _style in self.rows:
            first = cells[0] if cells else ""
            table.add_column(first if isinstance(first, Text) else "", justify="right")
        for c in others:
            i = index[id(c)]
            table.add_row(
                Text(" ".join(c.header.split())),
                *((_pick(cells[i], False) if i < len(cells) else Text()) for cells, _ in self.rows),
            )
        for column in table.columns[1:]:
            column.no_wrap = True
            column.overflow = "fold"
        return table

    def stacked(self, width: int = UNBOUNDED) -> RenderableType:
        """One block per row: a line per (non-decorative) column, header then value; the
        headers get what the longest value leaves of ``width`` (at least a third)."""
        parts: list[RenderableType] = []
        if self.title:
            parts.append(self.title)
        columns = [(i, c) for i, c in enumerate(self.columns) if not c.decorative]
        headers = max((len(" ".join(c.header.split())) for _, c in columns), default=0)
        values = max(
            (
                _length(_pick(cells[i], False))
                for cells, _ in self.rows
                for i, _ in columns
                if i < len(cells)
            ),
            default=0,
        )
        head = max(min(headers, width - 2 - values), min(headers, width // 3), 1)
        for cells, style in self.rows:
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold", overflow="fold", width=head)
            grid.add_column(overflow="fold")
            for i, c in columns:
                cell = _pick(cells[i], False) if i < len(cells) else Text()
                if not _length(cell) and not c.header:
                    continue
                grid.add_row(Text(" ".join(c.header.split())), cell, style=style)
            parts += ["", grid]
        return Group(*parts)


def _length(cell: RenderableType) -> int:
    """How wide a cell's text is on one line (0 for other renderables)."""
    if isinstance(cell, Text):
        return cell.cell_len
    return Text(cell).cell_len if isinstance(cell, str) else 0


def _natural(console: Console, renderable: RenderableType) -> int:
    options = console.options.update_width(UNBOUNDED)
    return Measurement.get(console, options, renderable).maximum


def fit_widths(
    console: Console, table: Table, width: int, *, wrap_cells: bool = True
) -> Table | None:
    """``table`` with fixed column widths that fit ``width`` and break no name or number
    (a no-wrap cell gets its whole length, headers and sentences wrap between words; with
    ``wrap_cells`` false only headers wrap), or None when even that is too wide."""
    options = console.options.update_width(UNBOUNDED)
    lows: list[int] = []
    highs: list[int] = []
    for column in table.columns:
        low = high = 1
        for i, cell in enumerate((column.header, *column.cells)):
            m = Measurement.get(console, options, cell)
            header = i == 0
            if header and not wrap_cells:  # a header may wrap, to three lines at most
                low = max(low, m.minimum, -(-m.maximum // 3))
            else:
                wraps = header or (wrap_cells and not column.no_wrap)
                low = max(low, m.minimum if wraps else m.maximum)
            high = max(high, m.maximum)
        if column.min_width:
            low, high = max(low, column.min_width), max(high, column.min_width)
        lows.append(low)
        highs.append(max(low, high))
    # Rich's own accounting of what a table adds around its cells.
    extra = table._extra_width + sum(table._get_padding_width(i) for i in range(len(table.columns)))
    spare = width - extra - sum(lows)
    if spare < 0:
        return None
    widths = _share(lows, highs, spare)
    fitted = Table(
        title=table.title,
        title_justify=table.title_justify,
        show_edge=table.show_edge,
        pad_edge=table.pad_edge,
        show_lines=table.show_lines,
        show_header=table.show_header,
        box=table.box,
    )
    fitted.columns = [
        replace(c, width=w, no_wrap=False, min_width=None, _index=i)
        for i, (c, w) in enumerate(zip(table.columns, widths, strict=True))
    ]
    fitted.rows = table.rows
    return fitted


def _share(lows: Sequence[int], highs: Sequence[int], spare: int) -> list[int]:
    """Widths from ``lows`` up towards ``highs``: ``spare`` cells shared fairly, so that
    columns wanting little get all of it and only the widest ones wrap."""
    widths = list(lows)
    open_ = [i for i in range(len(lows)) if highs[i] > lows[i]]
    while open_ and spare > 0:
        fair = spare // len(open_)
        settled = [i for i in open_ if highs[i] - widths[i] <= fair]
        if not settled:
            for n, i in enumerate(open_):
                widths[i] += fair + (1 if n < spare - fair * len(open_) else 0)
            break
        for i in settled:
            spare -= highs[i] - widths[i]
            widths[i] = highs[i]
        open_ = [i for i in open_ if i not in settled]
    return widths
