"""``syncdemo explore``: every interleaving of a scenario's model, the shortest failing
schedule, replay and quiz. Parses and dispatches only; the search is syncdemo.explore.

Only click is imported here at module level (``syncdemo --help`` stays fast); the
explorer, the scenarios and Rich are imported inside the command.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from syncdemo.cli import options as opt
from syncdemo.cli.options import EXIT_INTERRUPTED, EXIT_VIOLATED, Count
from syncdemo.cli.output import OutputOptions, output_options_for

if TYPE_CHECKING:
    from syncdemo.explore.model import Model
    from syncdemo.explore.models_search import Explorer
    from syncdemo.explore.report import Report
    from syncdemo.results import RunConfig
    from syncdemo.scenarios.base import Scenario

MAX_THREADS = 8
MAX_ITERATIONS = 100
MAX_RANDOM = 1_000_000
MAX_LIMIT = 10_000_000
#: Keep in step with syncdemo.explore.DEFAULT_LIMIT (not imported: --help stays light).
DEFAULT_LIMIT = 100_000
#: A replay searches this many states at most, to mark the step after which no continuation
#: keeps the invariant (bigger models are replayed without that mark).
REPLAY_SEARCH = 20_000


def parse_schedule(value: str | None) -> list[int] | None:
    """'0,0,1,1' (commas and/or spaces) -> [0, 0, 1, 1]; a usage error names the bad entry."""
    if value is None:
        return None
    parts = [p for p in value.replace(",", " ").split() if p]
    if not parts:
        raise click.BadParameter(
            "is empty; give thread numbers separated by commas, e.g. 0,0,1,1",
            param_hint="'--schedule'",
        )
    schedule = []
    for i, part in enumerate(parts, start=1):
        if not part.isdigit():
            raise click.BadParameter(
                f"entry {i}, {part!r}, is not a thread number; give thread numbers separated "
                "by commas, e.g. 0,0,1,1",
                param_hint="'--schedule'",
            )
        schedule.append(int(part))
    return schedule


@click.command()
@opt.scenario_argument
@opt.threads_option("Threads in the model.", high=MAX_THREADS, default=2)
@opt.iterations_option(
    "Work per thread (increments, items, phases, meals).", high=MAX_ITERATIONS, default=2
)
@opt.sync_option
@click.option(
    "--max-preemptions",
    type=Count(0, 1000),
    metavar="K",
    help="Only schedules that switch away from a thread that could go on at most K times.",
)
@click.option(
    "--random",
    "runs",
    type=Count(1, MAX_RANDOM),
    metavar="N",
    help="Sample N schedules with PCT (random priorities) instead of trying them all.",
)
@opt.seed_option(
    "With --random or --quiz: fix the random choices.  [default: a fresh one, reported]"
)
@click.option(
    "--schedule",
    metavar="T,T,...",
    help="Replay one schedule: the thread that runs each step, e.g. 0,0,1,1,0.",
)
@click.option(
    "--quiz",
    is_flag=True,
    help="Show a schedule with the values hidden and ask for the outcome before revealing it.",
)
@click.option(
    "--answer", metavar="VALUE", help="With --quiz: the answer, without asking (for scripts)."
)
@output_options_for("table", "json")
@opt.check_option("Exit 1 if a schedule breaks the invariant (0 otherwise), for shell scripts.")
@click.option(
    "--limit",
    type=Count(1, MAX_LIMIT),
    metavar="STATES",
    default=DEFAULT_LIMIT,
    show_default=True,
    help="The most distinct states a search visits; past it, it stops and says so.",
)
def explore(
    name: str,
    threads: int,
    iterations: int,
    sync: str | None,
    max_preemptions: int | None,
    runs: int | None,
    seed: int | None,
    schedule: str | None,
    quiz: bool,
    answer: str | None,
    out: OutputOptions,
    check: bool,
    limit: int,
) -> None:
    """Try every interleaving of a scenario's steps: outcomes, the shortest schedule that
    breaks the invariant, and the command that replays it.

    The model is each worker as atomic steps on the shared state (read, write, acquire,
    release, wait, put, get), kept next to the real worker in the scenario's module.

    \b
    Examples:
      syncdemo explore counter                       every schedule of 2 threads × 2
      syncdemo explore counter --sync lock           ... and none loses an update
      syncdemo explore counter -t 3 -n 2 --max-preemptions 1
      syncdemo explore deadlock --random 1000 --seed 7
      syncdemo explore counter -n 1 --schedule 0,1,1,0
      syncdemo explore counter --quiz
      syncdemo explore counter -f json | jq .explored.counterexample.replay
    """
    parsed = parse_schedule(schedule)
    _check_combinations(parsed, max_preemptions, runs, seed, quiz, answer)
    scenario = opt.lookup(name)
    sync = opt.check_sync(scenario, sync)
    from syncdemo.explore.model import ModelError
    from syncdemo.explore.models_search import BadSchedule, Explorer

    config = _config(scenario, sync, threads, iterations)
    model = _model(scenario, config)
    explorer = Explorer(model, lambda o: scenario.grade(o, config), scenario.grade_meanings)
    report = _report(scenario, config, model)
    ctx = click.get_current_context()
    try:
        if quiz:
            _quiz(explorer, report, model, parsed, seed, answer, out, limit)
            return
        if parsed is not None:
            explorer.exhaustive(limit=min(limit, REPLAY_SEARCH))  # for the point of no return
            try:
                run = explorer.execute(parsed)
            except BadSchedule as exc:
                raise click.BadParameter(str(exc), param_hint="'--schedule'") from None
            report = _with(report, replay=run)
        elif runs is not None:
            seed = opt.fresh_seed(seed)
            report = _with(report, exploration=explorer.pct(runs, seed))
        else:
            found = explorer.exhaustive(max_preemptions=max_preemptions, limit=limit)
            report = _with(report, exploration=found)
    except ModelError as exc:
        raise click.ClickException(f"the model of {scenario.name} is broken: {exc}") from None
    _emit(report, out)
    e = report.exploration
    if e is not None and not e.complete:
        click.echo(
            f"Stopped at the --limit of {e.limit:,} states: the search is incomplete.", err=True
        )
    if check and report.violated:
        ctx.exit(EXIT_VIOLATED)


def _check_combinations(
    schedule: list[int] | None,
    max_preemptions: int | None,
    runs: int | None,
    seed: int | None,
    quiz: bool,
    answer: str | None,
) -> None:
    if answer is not None and not quiz:
        raise click.UsageError("--answer goes with --quiz.")
    if runs is not None and max_preemptions is not None:
        raise click.UsageError("choose one of --random N and --max-preemptions K.")
    if schedule is not None and (runs is not None or max_preemptions is not None):
        raise click.UsageError("--schedule replays one schedule; it takes no search options.")
    if quiz and (runs is not None or max_preemptions is not None):
        raise click.UsageError("--quiz picks its own schedule; drop --random/--max-preemptions.")
    if seed is not None and runs is None and not quiz:
        raise click.UsageError("--seed goes with --random or --quiz.")


def _config(scenario: Scenario[Any], sync: str, threads: int, iterations: int) -> RunConfig:
    from syncdemo.results import RunConfig

    return RunConfig(
        scenario=scenario.name,
        sync=sync,
        threads=threads,
        iterations=iterations,
        trials=1,
        seed=0,
        window=scenario.default_window,
    )


def _model(scenario: Scenario[Any], config: RunConfig) -> Model:
    from dataclasses import replace

    from syncdemo import scenarios

    model = scenario.model(config)
    if model is not None:
        return model
    if getattr(scenario, "user_class", None) is not None:  # a user's class has no model
        raise click.BadParameter(
            f"exploring your own code ({scenario.origin}) needs the real-code explorer, which "
            f"this version does not have yet; meanwhile 'syncdemo run {scenario.origin} "
            "--trials 100' or 'syncdemo compare' shows what real threads do with it.",
            param_hint="'NAME'",
        )
    modelled = [
        s.name
        for s in scenarios.all_scenarios()
        if s.model(replace(config, scenario=s.name, sync=s.default_sync)) is not None
    ]
    syncs = [n for n in scenario.strategy_names() if scenario.model(replace(config, sync=n))]
    if syncs:
        raise click.BadParameter(
            f"explore has no model of {scenario.name} --sync {config.sync}; it has one for "
            f"--sync {', '.join(syncs)}.",
            param_hint="'--sync'",
        )
    raise click.BadParameter(
        f"explore has no model of {scenario.name} yet; scenarios it can explore: "
        f"{', '.join(modelled)}.",
        param_hint="'NAME'",
    )


def _report(scenario: Scenario[Any], config: RunConfig, model: Model) -> Report:
    from syncdemo.explore.report import Report

    command = (
        f"syncdemo explore {scenario.name} --threads {config.threads} "
        f"--iterations {config.iterations} --sync {config.sync}"
    )
    return Report(
        scenario=scenario.name,
        sync=config.sync,
        threads=config.threads,
        iterations=config.iterations,
        iterations_meaning=scenario.iterations_meaning,
        invariant=scenario.invariant,
        violation_noun=scenario.violation_noun,
        outcome_name=model.outcome_name,
        roles=scenario.roles_note(config),
        notes=model.notes,
        command=command,
    )


def _with(report: Report, **changes: Any) -> Report:
    from dataclasses import replace

    return replace(report, **changes)


def _emit(report: Report, out: OutputOptions, extra: dict[str, Any] | None = None) -> None:
    """The report through the shared output path (table or json, -o, -q)."""
    from syncdemo.cli.output import Session

    def table() -> Any:
        from syncdemo.render.explore import explore_report, replay_report

        return replay_report(report) if report.replay else explore_report(report)

    def as_json() -> str:
        import json

        return json.dumps({**report.to_dict(), **(extra or {})}, indent=2)

    with Session(out, total_trials=0) as session:
        session.finish(table, {"json": as_json})


def interactive() -> bool:
    """Whether --quiz may ask: only on a terminal (tests and scripts use --answer)."""
    return sys.stdin.isatty()


def _normal(answer: str) -> str:
    text = answer.strip().lower().replace(",", "").replace("_", "")
    return {"y": "yes", "true": "yes", "n": "no", "false": "no"}.get(text, text)


def _quiz(
    explorer: Explorer,
    report: Report,
    model: Model,
    schedule: list[int] | None,
    seed: int | None,
    answer: str | None,
    out: OutputOptions,
    limit: int,
) -> None:
    """Pick a schedule (an outcome at random, then a schedule ending in it, uniformly), show
    it with the values hidden, take an answer, reveal."""
    import random

    from syncdemo.explore.models_search import BadSchedule

    seed = opt.fresh_seed(seed)
    if schedule is None:
        schedule = list(explorer.quiz_schedule(random.Random(seed), limit))
    try:
        run = explorer.execute(schedule)
    except BadSchedule as exc:
        raise click.BadParameter(str(exc), param_hint="'--schedule'") from None
    report = _with(report, replay=run)
    asked = answer is None
    if answer is None:
        if out.fmt == "json" or not interactive():
            raise click.UsageError("--quiz needs --answer VALUE when not asking on a terminal.")
        from syncdemo.render.console import make_console
        from syncdemo.render.explore import quiz_question

        make_console().print(quiz_question(report, run, model.question))
        try:
            answer = click.prompt("Your answer", prompt_suffix=": ")
        except click.Abort:  # Ctrl-C or end of input at the prompt
            click.echo("\nInterrupted.", err=True)
            click.get_current_context().exit(EXIT_INTERRUPTED)
        assert answer is not None
    right = _normal(answer) == _normal(run.answer)
    if out.fmt == "json":
        quiz = {
            "question": model.question,
            "answer": answer,
            "correct_answer": run.answer,
            "right": right,
            "seed": seed,
        }
        _emit(report, out, {"quiz": quiz})
        return
    from syncdemo.render.console import make_console
    from syncdemo.render.explore import quiz_question, quiz_reveal

    console = make_console()
    if not asked:
        console.print(quiz_question(report, run, model.question))
        console.print(f"Your answer: {answer}")
    console.print(quiz_reveal(report, run, answer, right))
