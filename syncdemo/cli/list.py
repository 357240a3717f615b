"""``syncdemo list``: the scenarios, their strategies and invariants, as a table or data."""

from __future__ import annotations

from typing import Any

import click

from syncdemo.cli.output import OutputOptions, output_options


@click.command("list")
@output_options
def list_command(out: OutputOptions) -> None:
    """List the scenarios, their sync strategies (* the default) and invariants.

    The table needs no built-in scenario imported; each plugin gets a few seconds to
    import, and one that fails is listed as such. json, jsonl and csv give every field
    that 'describe -f json' gives, except the code.

    \b
    Examples:
      syncdemo list
      syncdemo list -f json | jq '.[].name'
      syncdemo list -f csv -o scenarios.csv
    """
    from syncdemo import scenarios
    from syncdemo.cli.output import Session

    entries, problems = scenarios.listing()

    def table() -> Any:
        from syncdemo.render.catalogue import scenario_list

        return scenario_list(entries, problems)

    def as_json() -> str:
        from syncdemo.render.catalogue import list_json

        return list_json([scenarios.get(e.name).info() for e in entries], problems)

    def as_csv() -> str:
        from syncdemo.render.catalogue import list_csv

        return list_csv(entries)

    with Session(out, total_trials=0) as session:
        if out.fmt == "jsonl":
            for e in entries:
                session.add(scenarios.get(e.name).info().to_dict())
        session.finish(table, {"json": as_json, "csv": as_csv})
