"""The ``syncdemo`` script's entry point. Importing the command line takes a moment (Click,
the options); Ctrl-C in that moment ends it as Ctrl-C does later, with "Interrupted." and
exit status 130, never with a traceback from the import."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from syncdemo.cli import main as command_line
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        raise SystemExit(130) from None
    command_line()
