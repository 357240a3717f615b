"""``syncdemo describe``: what breaks, why on this interpreter, each fix, the worker code."""

from __future__ import annotations

from typing import Any

import click

from syncdemo.cli import options as opt
from syncdemo.cli.output import OutputOptions, output_options_for


@click.command()
@opt.scenario_argument
@output_options_for("table", "json")
@opt.debug_option
def describe(name: str, out: OutputOptions) -> None:
    """Explain a scenario: what breaks, why on this interpreter, each fix, the worker code.

    NAME may also be your own code: FILE.py, FILE.py:Class, path/to/pkg/module.py or
    package.module:Class (see 'Your own code' in the README). Loading a file runs its
    top-level code, as importing it would; nothing else in it runs until the threads call
    its methods.

    \b
    Examples:
      syncdemo describe producer-consumer
      syncdemo describe counter -f json | jq -r '.sources[0].code'
      syncdemo describe overdraft.py
    """
    scenario = opt.lookup(name)
    from syncdemo.cli.output import Session
    from syncdemo.engine.runtime import runtime_info

    info = scenario.info(sources=True)

    def table() -> Any:
        from syncdemo.render.catalogue import describe as render

        return render(info, runtime_info())

    def as_json() -> str:
        from syncdemo.render.catalogue import describe_json

        return describe_json(info)

    with Session(out, total_trials=0) as session:
        session.finish(table, {"json": as_json})
