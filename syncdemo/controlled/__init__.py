"""Exploring a scenario's real code: its real workers on real threads, one at a time, with
the switch points chosen by a deterministic scheduler (issue 13).

The entry points live in :mod:`syncdemo.controlled.explorer` (this package imports nothing
at load time, so ``syncdemo --help`` stays fast):

- ``explore(scenario, config, *, granularity, max_preemptions, reduction, limit, random,
  seed, step_limit, classify, raw, command) -> RealExploration``
- ``replay(scenario, config, schedule, *, granularity, step_limit, command, fingerprint)
  -> RealExecution``
- ``position(scenario, config, moves, *, granularity) -> Position`` and ``hint(...)`` for
  ``play``
- ``parse_schedule`` / ``format_schedule`` / ``replay_command`` for ``--schedule``

Modules, one concern each: scheduler (parking real threads, handing out the turn, virtual
time, deadlock), steps (the data it shares with the choosers), pool (reused threads),
points (switch points per granularity: settrace or sys.monitoring), primitives
(controlled Lock ... Barrier), patching (handing them out, sleep as a yield), tracking
(reads and writes on the shared state), target (the scenario contract), runner (one
schedule of the real code), search (bounded DFS with sleep sets, PCT, replay), report
(plain data), detail (runs into report data), explorer (the entry points).
"""
