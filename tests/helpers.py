"""Helpers the test modules share (import them; conftest.py holds the fixtures)."""

from __future__ import annotations

import click

from syncdemo.cli import cli


def commands() -> dict[str, click.Command]:
    """Every command of the lazy group, loaded, by name."""
    ctx = click.Context(cli)
    found = {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}
    return {name: command for name, command in found.items() if command is not None}
