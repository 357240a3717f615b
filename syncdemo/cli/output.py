"""How results leave the process: ``--format``, ``-o/--output``, ``-q/--quiet``, progress.

One decorator gives every command the same output options, and one
:class:`Session` per command applies them, so every command behaves alike in a pipe:

- data (json, jsonl, csv) goes to stdout, or with ``-o FILE`` to that file, never both;
- the table goes to stdout when no data does there (``--format table``, or ``-o FILE``),
  unless ``-q``;
- jsonl is written a run at a time, flushed as each run finishes, so pipes stream;
- ``-o FILE`` is written atomically (a temporary file in the same directory, then
  ``os.replace``): an interrupted or failed command leaves the old file, or none; only
  a regular file is replaced so (through a symlink, its target): a device, a FIFO or
  ``/dev/stdout`` is written through;
- a progress bar (or :class:`StatusLine`) goes to stderr, only when stderr is a terminal
  and ``-q`` is not given.

Only click is imported at module level, so ``--help`` and completion stay fast.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live
    from rich.progress import Progress, TaskID

    from syncdemo.results import TrialResult

#: What the terminal shows, as a file: every command that draws a table can write these.
PICTURES = ("text", "svg", "html")
FORMATS = ("table", "json", "jsonl", "csv", *PICTURES)
#: ``-o FILE`` without ``--format`` takes the format from the file's extension.
EXTENSIONS = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".txt": "text",
    ".text": "text",
    "": "text",
    ".svg": "svg",
    ".html": "html",
    ".htm": "html",
}
#: Extensions of formats syncdemo does not write (yet): a file named so would hold
#: something else, so ``-o`` refuses them whatever ``--format`` says.
NOT_WRITTEN = (".md", ".markdown", ".png", ".pdf", ".xml", ".yaml")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class OutputOptions:
    """The output options as the user gave them, with the format resolved."""

    fmt: str = "table"
    path: Path | None = None
    quiet: bool = False

    @property
    def data_on_stdout(self) -> bool:
        return self.fmt != "table" and self.path is None

    @property
    def table_on_stdout(self) -> bool:
        return not self.quiet and (self.fmt == "table" or self.path is not None)


def output_options(func: F) -> F:
    """Add ``--format`` (every format), ``-o/--output`` and ``-q/--quiet``; the command
    receives them as one ``out: OutputOptions`` argument."""
    return output_options_for(*FORMATS)(func)


def output_options_for(*formats: str) -> Callable[[F], F]:
    """:func:`output_options` for a command whose data has only ``formats`` (table first);
    the pictures of the table (text, svg, html) come with every command."""
    formats = (*formats, *(p for p in PICTURES if p not in formats))

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(
            *args: Any, fmt: str | None, output: Path | None, quiet: bool, **kwargs: Any
        ) -> Any:
            return func(*args, out=resolve(fmt, output, quiet, formats), **kwargs)

        data = [f for f in formats if f not in ("table", *PICTURES)]
        from syncdemo.cli.options import OutputPath

        for option in reversed(
            (
                click.option(
                    "--format",
                    "-f",
                    "fmt",
                    type=click.Choice(formats),
                    help=(
                        f"table for people; {_choices(data)} for scripts, on stdout with "
                        "nothing else there; text, svg or html: the table as a file for "
                        "slides.  [default: table, or from -o FILE's extension]"
                    ),
                ),
                click.option(
                    "--output",
                    "-o",
                    type=OutputPath(),
                    help=(
                        "Write the data to FILE instead of stdout, atomically (complete or "
                        "not at all); the table still shows on the terminal. .json, .jsonl, "
                        ".csv or .txt (the plain table)."
                    ),
                ),
                click.option(
                    "--quiet",
                    "-q",
                    is_flag=True,
                    help="No table and no progress: only the exit status, and data if a "
                    "format or -o asks for it.",
                ),
            )
        ):
            wrapper = option(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


_FORMAT_WORDS = {
    "json": "json (one document)",
    "jsonl": "jsonl (one line per record, as each is ready)",
    "csv": "csv",
}


def _choices(formats: list[str]) -> str:
    words = [_FORMAT_WORDS.get(f, f) for f in formats]
    return ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else "".join(words)


def resolve(
    fmt: str | None, path: Path | None, quiet: bool, formats: tuple[str, ...] = FORMATS
) -> OutputOptions:
    """Fill in the format from ``-o``'s extension, and refuse a file we could not write."""
    if path is not None:
        from syncdemo.cli.options import check_file

        check_file(path, "'-o' / '--output'")
        suffix = path.suffix.lower()
        if suffix in NOT_WRITTEN or (fmt is None and suffix not in EXTENSIONS):
            known = ", ".join(
                f"{'/'.join(exts)} ({name})"
                for name in formats
                if (exts := [e for e, n in EXTENSIONS.items() if n == name and e])
            ).replace("(text)", "(the plain table)")
            raise click.BadParameter(
                f"{str(path)!r}: syncdemo does not write {suffix or 'that'} files; -o takes "
                f"{known}; or any other name with --format.",
                param_hint="'-o' / '--output'",
            )
        if fmt is None:
            fmt = EXTENSIONS[suffix]
            if fmt not in formats:
                raise click.BadParameter(
                    f"{str(path)!r}: this command writes {', '.join(formats)}, not {fmt}.",
                    param_hint="'-o' / '--output'",
                )
    return OutputOptions(fmt=fmt or "table", path=path, quiet=quiet)


def atomic_write(path: Path, text: str) -> None:
    """Put ``text`` at ``path`` so that readers see the old file or the new one, never
    half of it, and a failure (or Ctrl-C, SIGTERM) leaves no temporary file behind.

    Only a regular file, or a name not taken yet, is replaced that way, and through a
    symlink it is the link's target that is replaced, the link stays. Anything else is
    written through, as the shell's ``>`` would: a device (``/dev/null``: replacing it
    would give the whole system a regular file there, as root), a FIFO, a socket, and the
    file this process already writes as its stdout or stderr (``-o /dev/stdout``).
    """
    import stat

    try:
        found = os.stat(path)  # follows symlinks, /proc/self/fd's included
    except FileNotFoundError:
        found = None  # a new name, or a symlink to one: create the target
    if found is not None and (not stat.S_ISREG(found.st_mode) or _is_our_stream(found)):
        _write_through(path, text)
        return
    _replace(Path(os.path.realpath(path)), text, found)


def _is_our_stream(found: os.stat_result) -> bool:
    """Whether ``found`` is the file behind our stdout or stderr (``> out.txt`` and
    ``-o /dev/stdout``): replacing it would lose what the shell writes there."""
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            if os.path.samestat(found, os.fstat(fd)):
                return True
    return False


def _write_through(path: Path, text: str) -> None:
    """Write into what is there, in append mode: a device or FIFO does not mind, and a
    file that is also our stdout keeps what was written to it before."""
    import sys

    sys.stdout.flush()
    with open(path, "a", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _replace(path: Path, text: str, found: os.stat_result | None) -> None:
    import tempfile

    from syncdemo import signals

    if found is not None:
        mode = found.st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    temp = ""
    try:
        with signals.deferred():  # a signal here would leave a file no one knows the name of
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        if found is not None and (found.st_uid, found.st_gid) != _owner(temp):
            with contextlib.suppress(OSError):  # root writing someone's file: still theirs
                os.chown(temp, found.st_uid, found.st_gid)
        os.replace(temp, path)
    except BaseException:
        if temp:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        raise


def _owner(name: str) -> tuple[int, int]:
    found = os.stat(name)
    return found.st_uid, found.st_gid


def write_file(path: Path, text: str) -> None:
    """Write ``path`` atomically; a failure is one line and exit 1."""
    import errno

    try:
        atomic_write(path, text)
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # -o /dev/stdout | head: the reader had enough
            raise
        raise click.ClickException(f"could not write {str(path)!r}: {exc}") from None


class Session:
    """One command's output, from the first trial to the last line.

    Use it as a context manager around the runs: ``begin``/``on_trial`` drive the progress
    bar, ``add`` streams each finished run as a jsonl line, ``finish`` prints the table
    and the data and, when the command completed, writes ``-o FILE``. Leaving the block
    any other way writes no file.
    """

    def __init__(self, options: OutputOptions, total_trials: int) -> None:
        self.options = options
        self.total_trials = total_trials
        self._lines: list[str] = []
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Session:
        if not self.options.quiet and self.total_trials > 0:
            self._progress = _progress_bar()
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("", total=self.total_trials)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_progress()

    # --- progress -------------------------------------------------------------------------

    def begin(self, label: str) -> None:
        """A run starts: name it in the progress bar."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=label)
            self._progress.refresh()

    def on_trial(self, trial: TrialResult) -> None:
        """A trial finished (the engine's ``on_trial`` callback)."""
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
            self._progress.refresh()

    def stop_progress(self) -> None:
        """Take the bar off the terminal before anything else is printed there."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    # --- data -----------------------------------------------------------------------------

    def add(self, record: Mapping[str, Any]) -> None:
        """A record (a run, a row) is ready: with jsonl, write its line now (stdout) or keep
        it for the file."""
        if self.options.fmt != "jsonl":
            return
        import json

        line = json.dumps(record)
        if self.options.path is None:
            progress = self._progress
            if progress is not None:
                progress.stop()  # the bar and the line may share one terminal
            click.echo(line)  # click.echo flushes, so a pipe gets the line at once
            if progress is not None:
                progress.start()
        else:
            self._lines.append(line + "\n")

    def finish(
        self,
        table: Callable[[], RenderableType],
        data: Mapping[str, Callable[[], str]],
        *,
        complete: bool = True,
    ) -> None:
        """Print what the options ask for; write ``-o FILE`` only if ``complete``.

        ``data`` maps "json" and "csv" to functions that render the whole document; jsonl
        lines were written by :meth:`add` already.
        """
        self.stop_progress()
        fmt, path = self.options.fmt, self.options.path
        text: str | None = None
        if fmt in PICTURES and (self.options.data_on_stdout or (path is not None and complete)):
            text = _export(table(), fmt)
        elif fmt in data and (self.options.data_on_stdout or (path is not None and complete)):
            text = data[fmt]()
            if not text.endswith("\n"):
                text += "\n"
        if text is not None and self.options.data_on_stdout:
            click.echo(text, nl=False)
        if path is not None and complete:
            if fmt == "jsonl":
                text = "".join(self._lines)
            elif fmt == "table":
                text = _export(table(), "text")
            assert text is not None, f"no renderer for {fmt}"
            write_file(path, text)
        if self.options.table_on_stdout:
            from syncdemo.render.console import show

            show(table())


def _export(renderable: RenderableType, fmt: str) -> str:
    from syncdemo.render.export import export

    return export(renderable, fmt)


def _progress_bar() -> Progress | None:
    """A transient bar on stderr, or None when stderr is not a terminal.

    It is refreshed by the callbacks between trials, never by a timer thread: a refresh
    thread would compete with the measured threads for the interpreter.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from syncdemo.render.console import make_console

    console = make_console(stderr=True)
    if not console.is_terminal or console.is_dumb_terminal:
        return None
    return Progress(
        TextColumn("{task.description}", markup=False),  # a scenario's name, as it is
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("trials"),
        TimeElapsedColumn(),
        console=console,
        auto_refresh=False,
        transient=True,
        redirect_stdout=False,  # data written to stdout stays on stdout
        redirect_stderr=False,
    )


#: Columns a status line leaves free at its end (the terminal echoes Ctrl-C as "^C").
ECHO_ROOM = 3


class StatusLine:
    """One line of progress on stderr, rewritten in place and taken off by :meth:`stop`:
    only when stderr is a terminal and ``-q`` is not given, and only once ``after_s`` have
    passed (a command that ends sooner shows none). :meth:`update` draws it, at most
    ``per_second`` times a second; it is called between units of work, never by a timer
    thread (see :func:`_progress_bar`)."""

    def __init__(self, options: OutputOptions, after_s: float = 1.0, per_second: float = 8.0):
        self._live = None if options.quiet else _status_live()
        self._next = time.monotonic() + after_s
        self._gap = 1.0 / per_second
        self._started = False

    def update(self, line: Callable[[], RenderableType]) -> None:
        """Draw ``line()`` now, if it is time to (``line`` is called only then)."""
        if self._live is None:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._gap
        from rich.text import Text

        if not self._started:
            self._started = True
            self._live.start()
        shown = line()
        if isinstance(shown, Text):  # room left for the terminal's echo of ^C: a line it
            # wrapped would be one more than Rich takes off at the end
            shown.truncate(max(10, self._live.console.width - ECHO_ROOM), overflow="ellipsis")
        self._live.update(shown, refresh=True)

    def stop(self) -> None:
        """Take the line off the terminal (before anything else is printed there)."""
        if self._live is not None and self._started:
            self._live.stop()
        self._live = None


def _status_live() -> Live | None:
    """A transient one-line display on stderr, or None when stderr is not a terminal."""
    from rich.live import Live

    from syncdemo.render.console import make_console

    console = make_console(stderr=True)
    if not console.is_terminal or console.is_dumb_terminal:
        return None
    return Live(
        console=console,
        auto_refresh=False,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )
