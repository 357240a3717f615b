"""Shell completion for scenario names, strategies and compare specs (``--sync <TAB>``).

Each function takes what Click passes to ``shell_complete`` and imports the registry only
when it runs, so completing is as fast as the registry allows.
"""

from __future__ import annotations

import contextlib

import click
from click.shell_completion import CompletionItem


def complete_scenario(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from syncdemo import scenarios

    found = [
        CompletionItem(entry.name, help=entry.summary)
        for entry in scenarios.entries()
        if entry.name.startswith(incomplete)
    ]
    if not found or "/" in incomplete or "." in incomplete:  # the user's own FILE.py
        found.append(CompletionItem(incomplete, type="file"))
    return found


def strategies_of(name: str, incomplete: str) -> list[CompletionItem]:
    """The strategies of scenario ``name`` that start with ``incomplete`` ([] if unknown)."""
    from syncdemo import scenarios

    try:
        scenario = scenarios.get(name)
    except LookupError:
        return []
    return [
        CompletionItem(s.name, help=s.summary)
        for s in scenario.strategies
        if s.name.startswith(incomplete)
    ]


def complete_sync(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """--sync's strategies for the NAME given, even when '--sync' ends the line (then Click
    leaves NAME unparsed, in ctx.args); every scenario's when no NAME is known."""
    from syncdemo import scenarios

    name = ctx.params.get("name") or (ctx.args[0] if ctx.args else None)
    if name:
        found = strategies_of(name, incomplete)
        if found:
            return found
    seen: dict[str, str] = {}
    for entry in scenarios.entries():
        for strategy in entry.strategies:
            seen.setdefault(strategy, "")
    with contextlib.suppress(LookupError):
        if name:
            seen = {s.name: s.summary for s in scenarios.get(name).strategies}
    return [CompletionItem(n, help=h or None) for n, h in seen.items() if n.startswith(incomplete)]


def complete_spec(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """NAME, and NAME:SYNC once a colon is typed.

    bash splits words at ':', so there 'counter:lo' arrives as 'counter', ':', 'lo' and
    'counter:' as 'counter', ':'; zsh and fish pass the word as typed.
    """
    before = tuple(ctx.params.get("specs") or ())
    if incomplete == ":" and before:
        name, prefix, incomplete = before[-1], ":", ""
    elif len(before) > 1 and before[-1] == ":":
        name, prefix = before[-2], ""
    elif ":" in incomplete:
        name, _, incomplete = incomplete.partition(":")
        prefix = f"{name}:"
    else:
        return complete_scenario(ctx, param, incomplete)
    return [
        CompletionItem(prefix + item.value, help=item.help)
        for item in strategies_of(name, incomplete)
    ]
