"""The command line: a lazy group of commands, one module each, and the console script.

Each command lives in ``syncdemo/cli/NAME.py`` and is imported only when it runs (or when
``--help`` lists it, which needs only its first help line), so ``syncdemo --help`` and
``syncdemo list`` stay fast. Shared options are in :mod:`syncdemo.cli.options`, the output
path in :mod:`syncdemo.cli.output`; no command module imports another.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import io
import os
import sys
from typing import Any

import click

from syncdemo import __version__
from syncdemo.cli.options import EXIT_INTERRUPTED

#: Command name -> "module:attribute", in the order ``--help`` lists them.
COMMANDS = {
    "list": "syncdemo.cli.list:list_command",
    "describe": "syncdemo.cli.describe:describe",
    "run": "syncdemo.cli.run:run",
    "compare": "syncdemo.cli.compare:compare",
    "sweep": "syncdemo.cli.sweep:sweep",
    "explore": "syncdemo.cli.explore:explore",
    "check": "syncdemo.cli.check:check",
    "play": "syncdemo.cli.play:play",
}


class SyncdemoGroup(click.Group):
    """Commands loaded on first use. Ctrl-C anywhere exits 130 with one line on stderr,
    never a traceback, and SIGTERM or SIGHUP the same way with 143 or 129
    (:mod:`syncdemo.signals`); an output that cannot be written (a full disk) is one line
    and exit 1; so is the user's code calling ``sys.exit()`` or ``os._exit()`` where
    nothing else caught it. A usage error is its one ``Error:`` line, without Click's
    usage banner above it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *sorted(set(self.commands) - set(COMMANDS))]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        self.commands[cmd_name] = command
        return command

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        from syncdemo import guard, signals

        _tolerate_narrow_encodings()
        with signals.handled(), guard.no_hard_exit():  # os._exit in any code: one line
            try:
                return self._invoke(ctx)
            except click.exceptions.Exit as done:
                code = signals.exit_code(done.exit_code)
                if code != done.exit_code:  # "interrupted" by SIGTERM or SIGHUP
                    raise click.exceptions.Exit(code) from None
                raise
            except click.UsageError as exc:
                raise _one_line(exc) from None

    def _invoke(self, ctx: click.Context) -> Any:
        from syncdemo import guard

        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # surface a write error here, not at interpreter exit
            return result
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (SystemExit, guard.HardExit) as exc:  # the user's code, outside a worker
            from syncdemo.userfile import where_raised

            why = f"{guard.failure(exc)}{where_raised(exc)}"
            click.echo(f"Error: the scenario's code failed: {why}.", err=True)
            ctx.exit(1)
        except OSError as exc:
            if exc.errno not in WRITE_ERRORS:
                raise click.ClickException(_os_error(exc)) from None
            _silence_stdout()
            if exc.errno == errno.EPIPE:  # the reader had enough (| head): stop quietly
                ctx.exit(0)
            click.echo(f"Error: cannot write the output: {exc.strerror or exc}", err=True)
            ctx.exit(1)


#: What a failed write to stdout can raise; any other OSError is something else (a fork
#: refused, a file that vanished) and is reported as itself.
WRITE_ERRORS = frozenset(
    getattr(errno, name)
    for name in ("EPIPE", "ENOSPC", "EDQUOT", "EFBIG", "EIO", "EROFS", "EBADF")
    if hasattr(errno, name)
)


def _os_error(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _one_line(exc: click.UsageError) -> click.UsageError:
    """The error without the "Usage: ... Try '... -h' for help." banner (Click prints it
    when the error knows its context); the help itself when no command was given."""
    if not isinstance(exc, click.exceptions.NoArgsIsHelpError):
        exc.ctx = None
    return exc


def _tolerate_narrow_encodings() -> None:
    """On an ASCII (or other non-UTF) stdout, print '?' for '·', '×', 'µ' and the bars
    instead of failing with UnicodeEncodeError."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if encoding and encoding != "utf8" and reconfigure is not None:
        reconfigure(errors="replace")


def _silence_stdout() -> None:
    """After a write error, drop what is still buffered so exit does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@click.group(cls=SyncdemoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="syncdemo")
def cli() -> None:
    """See race conditions happen: real threads, real shared state, measured outcomes.

    \b
    syncdemo list                          what scenarios there are
    syncdemo describe counter              why it breaks, the fix, the code
    syncdemo run counter --threads 8       lose updates, for real
    syncdemo run counter --sync lock       ... and see what the lock costs
    syncdemo run counter -f json | jq .summary
    syncdemo run overdraft.py              your own scenario class, in your file
    """


def main() -> None:
    """The console script. --help and --version write outside any command, so their
    write errors (a full disk) are caught here as well as in SyncdemoGroup.invoke."""
    _buffer_stdout()
    try:
        try:
            cli(prog_name="syncdemo")
        except SystemExit as done:
            # Click ends a broken pipe outside a command (--help) with exit 1, after
            # wrapping stdout in its (private) PacifyFlushWrapper; commands end it with 0
            if type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):
                raise SystemExit(0) from None
            sys.stdout.flush()
            raise SystemExit(done.code) from None
    except KeyboardInterrupt:  # before a command's own handling began (its import, say)
        click.echo("Interrupted.", err=True)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except OSError as exc:
        _silence_stdout()
        if exc.errno == errno.EPIPE:
            raise SystemExit(0) from None
        click.echo(f"Error: cannot write the output: {exc.strerror or exc}", err=True)
        raise SystemExit(1) from None


def _buffer_stdout() -> None:
    """Under ``PYTHONUNBUFFERED`` (or ``-u``, common in containers) stdout writes straight
    to its file descriptor, and a write the OS takes only in part (a disk filling up) is
    cut short without an error: the data was truncated and the exit status 0. A buffered
    writer retries the rest and raises when the disk is full; line buffering keeps the
    output as prompt as unbuffered was."""
    raw = getattr(sys.stdout, "buffer", None)
    if not isinstance(raw, io.RawIOBase):
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fd = sys.stdout.fileno()
        sys.stdout.flush()
        sys.stdout = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(fd, "w", closefd=False)),
            encoding=sys.stdout.encoding,
            errors=sys.stdout.errors,
            line_buffering=True,
        )
