"""Do real runs agree with the explorer's ``gil`` verdict? The corpus of
tests/test_explore_truth.py, searched at ``--granularity gil`` and run for real on every
GIL CPython here.

Run by hand (not by CI):  python benchmarks/explore_truth.py [--trials 20000]
[--programs TEXT]... [--python PATH]... [--no-free-threaded] [--runner walk|run]

For each program of the corpus (``CORPUS``, written as a scenario file by
tests/enumerator.py's ``render``; ``--programs`` keeps the names that contain any of the
given texts, case-insensitive), on each interpreter, in a child process of that
interpreter:

1. The *failure*: a final state that no serial run of the program ends in. The program is
   run with its threads one after another, in every order, and the scenario file's
   ``check()`` (``return True`` as rendered) becomes "``outcome()`` is one of those
   states"; a worker's exception, or a deadlock, is a failure too, as the explorer counts
   them (unless a serial run ends that way).
2. The ``gil`` verdict: ``explore(scenario, config, granularity="gil", ...)`` over every
   schedule when the tree is small (the enumerator's count, within the test's own cap of
   150, and then at most 1,000 schedules of the explorer's), else within
   ``--max-preemptions`` (2). A failing schedule there: *possible with the GIL* (``gil``).
   None: a search at ``opcode`` within one preemption (as the test holds opcode) says
   whether the program fails once threads run in parallel (``par``, "needs threads that
   run in parallel") or not at all (``ok``).
3. Real runs: ``--trials`` runs of the program on real threads with
   ``sys.setswitchinterval(1e-6)``, each on fresh state (the file's module executed anew,
   for its module global, then ``setup()``), counting the runs that ended in a failure.

A program the gil search calls impossible (``par`` or ``ok``) that failed in a real run on
a GIL interpreter is an explorer bug: it is printed as a CONTRADICTION, with its counts
and outcomes, and the script exits 1. So is a real outcome that an exhaustive gil search
never reached, failure or not; beyond a bounded search it is only marked ``+`` (it may
take more preemptions). A program called possible that never failed is marked ``?`` and
listed, not an error: its window can be rarer than the trials. Exit status 2: an
interpreter could not be measured (its venv, or its child, failed).

How the real runs are made (``--runner walk``, the default). ``syncdemo run FILE.py
--trials 5000 --switch-interval 1e-06 --race-budget 0`` starts each trial's threads afresh
behind a barrier, and a program of a few lines is over in about a microsecond, mostly
before the second thread has even woken: on 3.11.7 it lost an update in 0 to 2 of 5,000
trials of "lost update, a C call between" and of its three-thread version (two runs each,
5.4 to 6 s a run, about 1.1 ms a trial). Here a batch of 1,000 fresh instances is made
first, and every thread walks the same list, calling ``worker(i)`` on each in turn: the
threads are both running, a few instances apart, whenever the GIL changes hands, and a
thread that loses it inside an instance's window is overtaken by the other on that very
instance.
That is about as many failures per run as the engine's (0 to 26 in 20,000 below where the
GIL allows one) for some 50 µs a run instead of 1.1 ms, most of it executing the module
anew. Each instance is still one run of the program on real threads, alone on its own
state: nothing in the program changed, only what the threads do before and after it. On
the free-threaded build the threads also wait for each other at every instance (spinning
with ``sched_yield``), so that they run each one at the same time, in parallel. A batch
that has not ended after 30 s counts as one deadlock and ends that program's runs.
``--runner run`` counts the real runs with syncdemo's engine instead, as ``syncdemo run``
makes them (about 20 times slower per run; a worker's exception ends that call of the
engine and counts as one run).

Each interpreter runs in a venv of its own, made on first use (about a minute) under
``~/.cache/syncdemo-explore-truth/`` (``$XDG_CACHE_HOME``; ``--venvs DIR``) with ``pip
install --prefer-binary -e '.[test]'`` of this checkout (the corpus module imports pytest
and hypothesis), and this checkout first on its ``PYTHONPATH``; an interpreter that
already imports click, rich, pytest and hypothesis (a venv of the project) is used as it
is. The default interpreters are the newest ``~/.pyenv/versions/3.1X.*`` of 3.10 to 3.13,
as .ci/run finds them (``python3.1X`` on the PATH otherwise), and the free-threaded build
``~/.local/ft-python/bin/python3.13t`` when it exists: it has no GIL, so it gets no
verdict and nothing to contradict, only its real failures, in a column of its own (where
the ``par`` programs should fail). They run one after another.

Measured on 2026-12-02 at commit ``50c266f`` on the 2-CPU VM, nearly idle (load average
2), the venvs already made: 67 s in all, 8 to 19 s an interpreter, of which the searches
took 2 to 8 s (3.12 and 3.13 the most: the three-thread programs at 2 preemptions); at a
load average of 9 from other work the same run took 5 minutes::

    $ python benchmarks/explore_truth.py
    each GIL interpreter's gil verdict, then how many of 20,000 real runs failed
    (sys.setswitchinterval(1e-06), --runner walk); right of |, builds without a GIL: no verdict
    program                                  3.10.13   3.11.7    3.12.1    3.13.0    | 3.13.15t
    lost update, two lines                   par 0     par 0     par 0     par 0     | 73
    lost update, a C call between            gil 1     gil 3     gil 6     gil 9     | 171
    lost update, a Python call between       gil 1     gil 4     gil 4     gil 4     | 301
    x += 1 (one line)                        par 0     par 0     par 0     par 0     | 44
    locked read-modify-write                 ok 0      ok 0      ok 0      ok 0      | 0
    three threads, locked                    ok 0      ok 0      ok 0      ok 0      | 0
    three threads, unlocked, a call between  gil 9     gil 11    gil 26    gil 12    | 278
    a private attribute                      gil 2     gil 9     gil 8     gil 8     | 181
    a module global                          gil 0?    gil 9     gil 11    gil 4     | 178
    d[k] = d.get(k, 0) + 1                   gil 2     gil 4     gil 10    gil 14    | 97
    different keys of one dict               ok 0      ok 0      ok 0      ok 0      | 0
    reorder (SCTBench)                       par 0     par 0     par 0     par 0     | 27
    check then act (account, SCTBench)       gil 4     gil 11    gil 7     gil 9     | 124
    two stages (twostage, SCTBench)          ok 0      ok 0      ok 0      ok 0      | 0
    wrong lock use (wronglock, SCTBench)     gil 2     gil 11    gil 9     gil 4     | 133
    an assertion that a race breaks          gil 1     gil 6     gil 7     gil 5     | 44
    gil: possible with the GIL (a failing schedule at gil); par: needs threads that run
    in parallel (none at gil, one at opcode within 1 preemption); ok: no failure at
    either; /M: only M runs (a batch hung); ! contradiction, + outcome beyond the
    bound, ? possible but never seen
    gil search within 2 preemptions (too many schedules for all):
      locked read-modify-write (3.10.13)
      three threads, locked (3.10.13, 3.11.7, 3.12.1, 3.13.0)
      three threads, unlocked, a call between (3.10.13, 3.11.7, 3.12.1, 3.13.0)
      two stages (twostage, SCTBench) (3.10.13, 3.11.7, 3.12.1, 3.13.0)
    ? a module global on 3.10.13: possible with the GIL, 0 of 20,000 runs failed
    no contradiction: real GIL runs agree with the gil verdict (3.10.13, 3.11.7, 3.12.1, 3.13.0)

No contradiction: no ``par`` or ``ok`` program failed on a GIL interpreter, nor in
200,000 runs each (``--trials 200000 --no-free-threaded --programs 'two lines'
--programs 'x +=' --programs reorder --programs locked --programs 'different keys'
--programs 'two stages'``, 199 s: 0 everywhere, while "three threads, unlocked, a call
between", which ``locked`` also picks, failed 77 to 150 times). Every ``gil`` program
failed for real (1 to 26 runs in 20,000) except in a cell or two of a run (``?``, another
cell each time): a window as short as one C call, where the GIL seldom changes hands.
The free-threaded build failed every program that the opcode search fails, ``par`` ones
included, and none of the ``ok`` ones; on a busy machine its threads overlap less and
some of its counts drop to 0.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
SERIES = ("3.10", "3.11", "3.12", "3.13")
FREE_THREADED = Path.home() / ".local" / "ft-python" / "bin" / "python3.13t"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "syncdemo-explore-truth"
#: What a child's interpreter must import (the corpus module imports pytest and hypothesis).
NEEDS = "import click, rich, pytest, hypothesis"
#: The most schedules an exhaustive gil search may run before the bounded one is used.
UNBOUNDED_LIMIT = 1_000
#: Fresh instances a batch of real runs walks through.
BATCH = 1_000
#: Seconds a batch (or one serial run) may take before it counts as a deadlock.
HANG_S = 30.0
#: ``check()`` as tests/enumerator.py's ``render`` writes it, and what replaces it.
CHECK = "    def check(self):\n        return True\n"
SERIAL_CHECK = (
    "    def check(self):\n"
    "        # the invariant: the final state of some serial run (benchmarks/explore_truth.py)\n"
    "        return self.outcome() in {serial!r}\n"
)
DEADLOCK = "deadlock"
VERDICTS = {
    "gil": "possible with the GIL",
    "par": "needs threads that run in parallel",
    "ok": "no failure at gil, nor at opcode within 1 preemption",
}


# --- the child: one interpreter ---------------------------------------------------------


def corpus() -> tuple[dict[str, list[list[tuple[object, ...]]]], Callable[..., str]]:
    sys.path.insert(0, str(TESTS))
    from enumerator import render
    from test_explore_truth import CORPUS

    return CORPUS, render


def small(threads: Sequence[Sequence[tuple[object, ...]]]) -> bool:
    """Whether every schedule at ``gil`` is few enough to run, by the enumerator's count
    (tests/enumerator.py, the test's own cap: it gives the bound, the explorer the truth)."""
    from enumerator import TooBig, enumerate_tree
    from test_explore_truth import UNBOUNDED_TREE

    try:
        enumerate_tree(threads, "gil", None, UNBOUNDED_TREE)
    except TooBig:
        return False
    return True


def fresh(code: Any, path: str) -> Any:
    """A new instance of the program, in a module of its own (a module global is state
    too), after its ``setup()``."""
    namespace: dict[str, Any] = {"__name__": "explore_truth_program", "__file__": path}
    exec(code, namespace)
    instance = namespace["Program"]()
    instance.setup()
    return instance


def label_of(error: BaseException) -> str:
    return f"exception ({type(error).__name__})"  # as the explorer labels it


def serial_outcomes(code: Any, path: str, threads: int) -> set[str]:
    """The final states of the program with its threads run one after another, in every
    order (on a thread of its own: a program that waits for itself must not hang here)."""
    found: set[str] = set()
    for order in itertools.permutations(range(threads)):
        box: list[str] = []

        def alone(order: tuple[int, ...] = order, box: list[str] = box) -> None:
            instance = fresh(code, path)
            try:
                for i in order:
                    instance.worker(i)
            except Exception as exc:
                box.append(label_of(exc))
                return
            box.append(str(instance.outcome()))

        runner = threading.Thread(target=alone, daemon=True)
        runner.start()
        runner.join(HANG_S)
        found.add(box[0] if box else DEADLOCK)
    return found


def one_batch(
    code: Any, path: str, threads: int, size: int, lockstep: bool
) -> tuple[Counter[str], bool]:
    """``size`` real runs: fresh instances, every thread calls ``worker(i)`` on each in
    turn (``lockstep``: each waits there until every thread has reached that instance).
    Returns the outcomes and whether the batch hung (then it counts one deadlock)."""
    instances = [fresh(code, path) for _ in range(size)]
    errors: list[dict[int, str]] = [{} for _ in range(threads)]
    at = [0] * threads
    gate = threading.Barrier(threads)

    def walk(i: int) -> None:
        mine = errors[i]
        gate.wait()
        for j, instance in enumerate(instances):
            if lockstep:
                at[i] = j
                while min(at) < j:
                    os.sched_yield()  # a thread waiting for a core must not cost a time slice
            try:
                instance.worker(i)
            except Exception as exc:
                mine[j] = label_of(exc)

    workers = [threading.Thread(target=walk, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + HANG_S
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()))
    if any(w.is_alive() for w in workers):
        return Counter({DEADLOCK: 1}), True
    seen: Counter[str] = Counter()
    for j, instance in enumerate(instances):
        error = next((e[j] for e in errors if j in e), None)
        seen[error or str(instance.outcome())] += 1
    return seen, False


def real_runs(
    code: Any, path: str, threads: int, trials: int, interval: float, lockstep: bool
) -> tuple[Counter[str], int, bool]:
    """Outcomes of ``trials`` real runs (fewer if a batch hung), how many ran, and whether
    one hung."""
    seen: Counter[str] = Counter()
    ran = 0
    before = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        while ran < trials:
            size = min(BATCH, trials - ran)
            got, hung = one_batch(code, path, threads, size, lockstep)
            seen += got
            if hung:
                return seen, ran + 1, True
            ran += size
    finally:
        sys.setswitchinterval(before)
    return seen, ran, False


def engine_runs(scenario: Any, trials: int, interval: float) -> tuple[Counter[str], int, bool]:
    """``--runner run``: ``trials`` trials as ``syncdemo run FILE.py --trials N
    --switch-interval I --race-budget 0`` makes them (a worker that raised ends that call
    of the engine: it counts as one run with that exception, and the rest go on)."""
    from syncdemo.engine import runner as engine
    from syncdemo.engine.config import MAX_TRIALS, resolve
    from syncdemo.results import TrialResult

    seen: Counter[str] = Counter()
    ran = 0
    while ran < trials:
        config = resolve(
            scenario,
            sync="none",
            trials=min(MAX_TRIALS, trials - ran),
            switch_interval=interval,
            race_budget=0.0,
            timeout=HANG_S,
        )
        done: list[TrialResult] = []
        try:
            engine.run(scenario, config, on_trial=done.append)
        except engine.ThreadsAbandoned:
            seen[DEADLOCK] += 1
            return seen, ran + len(done) + 1, True
        except engine.EngineError as exc:
            seen[label_of(exc.__cause__ or exc)] += 1
            ran += 1
        for trial in done:
            details = trial.outcome.details
            seen[DEADLOCK if "stuck" in details else str(details.get("outcome"))] += 1
        ran += len(done)
    return seen, ran, False


def gil_search(scenario: Any, config: Any, bound: int, every: bool) -> Any:
    """With ``every``, every schedule at ``gil`` if there are at most UNBOUNDED_LIMIT;
    otherwise (or past that) within ``bound`` preemptions."""
    from syncdemo.explore.explorer import explore

    if every:
        found = explore(
            scenario,
            config,
            granularity="gil",
            max_preemptions=None,
            limit=UNBOUNDED_LIMIT,
            classify=False,
        )
        if found.complete:
            return found
    return explore(scenario, config, granularity="gil", max_preemptions=bound, classify=False)


def child(args: argparse.Namespace) -> None:
    from syncdemo import scenarios
    from syncdemo.engine.config import resolve
    from syncdemo.engine.runtime import gil_enabled
    from syncdemo.explore.explorer import explore

    programs, render = corpus()
    gil = gil_enabled()
    head = {"python": sys.version.split()[0], "gil": gil, "executable": sys.executable}
    print(json.dumps(head), flush=True)
    folder = Path(tempfile.mkdtemp(prefix="explore-truth-"))
    try:
        for name, threads in programs.items():
            if args.programs and not any(p.lower() in name.lower() for p in args.programs):
                continue
            began = time.perf_counter()
            ident = "truth_" + hashlib.sha1(name.encode()).hexdigest()[:8]
            path = folder / f"{ident}.py"
            source = render(ident, threads)
            if source.count(CHECK) != 1:
                raise SystemExit("tests/enumerator.py's render() no longer writes check() here")
            code = compile(source, str(path), "exec")
            serial = serial_outcomes(code, str(path), len(threads))
            path.write_text(source.replace(CHECK, SERIAL_CHECK.format(serial=sorted(serial))))
            row: dict[str, Any] = {"program": name, "threads": len(threads)}
            row["serial"] = sorted(serial)
            if gil:
                scenario = scenarios.get(str(path))
                config = resolve(scenario, purpose="explore", sync="none")
                found = gil_search(scenario, config, args.max_preemptions, small(threads))
                failing = found.counterexample
                verdict = "gil"
                if failing is None:
                    parallel = explore(
                        scenario, config, granularity="opcode", max_preemptions=1, classify=False
                    )
                    verdict = "ok" if parallel.counterexample is None else "par"
                row.update(
                    verdict=verdict,
                    bound=found.max_preemptions,
                    complete=found.complete,
                    schedules=found.schedules,
                    gil_outcomes=sorted(o.label for o in found.outcomes),
                    gil_failure=failing.label if failing is not None else None,
                    gil_schedule=list(failing.schedule) if failing is not None else None,
                )
            searched = time.perf_counter()
            if args.runner == "run":
                scenario = scenarios.get(str(path))
                seen, ran, hung = engine_runs(scenario, args.trials, args.interval)
            else:
                seen, ran, hung = real_runs(
                    code, str(path), len(threads), args.trials, args.interval, lockstep=not gil
                )
            row.update(
                trials=ran,
                hung=hung,
                real=dict(seen.most_common()),
                failures=sum(n for label, n in seen.items() if label not in serial),
                search_s=round(searched - began, 3),
                real_s=round(time.perf_counter() - searched, 3),
            )
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- the parent: interpreters, venvs, the table ------------------------------------------


def default_pythons(free_threaded: bool) -> list[str]:
    found = []
    for series in SERIES:
        versions = sorted(
            (Path.home() / ".pyenv" / "versions").glob(f"{series}.*/bin/python"),
            key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parts[-3].split(".")],
        )
        if versions:
            found.append(str(versions[-1]))
        elif shutil.which(f"python{series}"):
            found.append(str(shutil.which(f"python{series}")))
        else:
            print(f"CPython {series}: not found (~/.pyenv/versions/{series}.*), skipped")
    if free_threaded and FREE_THREADED.exists():
        found.append(str(FREE_THREADED))
    return found


def environment(python: str, venvs: Path) -> str:
    """An interpreter to run the child with: ``python`` itself if it has what the child
    imports, else a venv of it (made once, reused) with this checkout installed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    probe = subprocess.run([python, "-c", NEEDS], capture_output=True, env=env)
    if probe.returncode == 0:
        return python
    real = os.path.realpath(python)
    version = subprocess.run(
        [
            python,
            "-c",
            "import sys, sysconfig; print(sys.version.split()[0] + "
            "('t' if sysconfig.get_config_var('Py_GIL_DISABLED') else ''))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    venv = venvs / f"{version}-{hashlib.sha1(real.encode()).hexdigest()[:8]}"
    inside = str(venv / "bin" / "python")
    ready = venv / ".ready"
    if (
        ready.exists()
        and subprocess.run([inside, "-c", NEEDS], env=env, capture_output=True).returncode == 0
    ):
        return inside
    shutil.rmtree(venv, ignore_errors=True)
    print(f"{version}: making a venv in {venv} (once)", file=sys.stderr, flush=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [inside, "-m", "pip", "install", "-q", "--prefer-binary", "-e", f"{ROOT}[test]"],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        raise RuntimeError(f"pip failed in {venv}:\n{pip.stdout}{pip.stderr}")
    (venv / ".ready").write_text(f"{ROOT}\n")
    return inside


def run_child(python: str, args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    argv = [python, __file__, "--child", "--trials", str(args.trials)]
    argv += ["--max-preemptions", str(args.max_preemptions), "--interval", str(args.interval)]
    argv += ["--runner", args.runner] + [f"--programs={p}" for p in args.programs]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=args.timeout)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{python} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return lines[0], lines[1:]


def cell(row: dict[str, Any], trials: int) -> str:
    """``gil 4``: the verdict and the real runs that failed (``/M`` when fewer ran)."""
    text = f"{row['failures']}" + (f"/{row['trials']}" if row["trials"] != trials else "")
    if row.get("verdict"):
        text = f"{row['verdict']} {text}"
    if row["hung"]:
        text += " hung"
    return text + "".join(mark for mark, _ in marks(row))


def marks(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(mark, what it means) for one program on one interpreter."""
    if not row.get("verdict"):  # no GIL: no verdict to contradict
        return []
    found = []
    seen = set(row["real"])
    outside = sorted(seen - set(row["gil_outcomes"]))
    if row["verdict"] != "gil" and row["failures"]:
        found.append(("!", "failed for real, yet the gil search calls it impossible"))
    if outside and row["bound"] is None:
        found.append(("!", f"real outcomes no schedule at gil reaches: {', '.join(outside)}"))
    elif outside:
        found.append(
            ("+", f"real outcomes beyond {row['bound']} preemptions: {', '.join(outside)}")
        )
    if row["verdict"] == "gil" and not row["failures"]:
        found.append(("?", f"possible with the GIL, 0 of {row['trials']:,} runs failed"))
    return found


def parent(args: argparse.Namespace) -> int:
    began = time.monotonic()
    pythons = args.python or default_pythons(not args.no_free_threaded)
    columns: list[tuple[str, bool]] = []
    table: dict[str, dict[str, dict[str, Any]]] = {}
    broken = False
    for python in pythons:
        start = time.monotonic()
        try:
            head, rows = run_child(environment(python, args.venvs), args)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"{python}: not measured: {exc}", file=sys.stderr)
            broken = True
            continue
        column = head["python"] + ("" if head["gil"] else "t")
        columns.append((column, head["gil"]))
        for row in rows:
            table.setdefault(row["program"], {})[column] = row
        search = sum(r["search_s"] for r in rows)
        real = sum(r["real_s"] for r in rows)
        print(
            f"{column}: {len(rows)} programs in {time.monotonic() - start:.0f} s "
            f"(searches {search:.1f} s, real runs {real:.1f} s) {head['executable']}",
            file=sys.stderr,
            flush=True,
        )
    if not table:
        print("nothing measured")
        return 2
    with_gil = [c for c, gil in columns if gil]
    without = [c for c, gil in columns if not gil]
    width = max(len(p) for p in table) + 2
    cells = {p: {c: cell(r, args.trials) for c, r in rows.items()} for p, rows in table.items()}
    wide = max(
        [len(t) for row in cells.values() for t in row.values()] + [len(c) for c, _ in columns]
    )
    print(
        f"each GIL interpreter's gil verdict, then how many of {args.trials:,} real runs failed\n"
        f"(sys.setswitchinterval({args.interval:g}), --runner {args.runner})"
        + ("; right of |, builds without a GIL: no verdict" if without else "")
    )
    header = f"{'program':<{width}}" + "".join(f"{c:<{wide + 2}}" for c in with_gil)
    if without:
        header += "| " + "".join(f"{c:<{wide + 2}}" for c in without)
    print(header.rstrip())
    for program, row in cells.items():
        line = f"{program:<{width}}" + "".join(f"{row.get(c, 'n/a'):<{wide + 2}}" for c in with_gil)
        if without:
            line += "| " + "".join(f"{row.get(c, 'n/a'):<{wide + 2}}" for c in without)
        print(line.rstrip())
    print(
        "gil: possible with the GIL (a failing schedule at gil); par: needs threads that run\n"
        "in parallel (none at gil, one at opcode within 1 preemption); ok: no failure at\n"
        "either; /M: only M runs (a batch hung); ! contradiction, + outcome beyond the\n"
        "bound, ? possible but never seen"
    )
    bounded = [
        f"{p} ({', '.join(c for c, r in rows.items() if r.get('bound') is not None)})"
        for p, rows in table.items()
        if any(r.get("bound") is not None for r in rows.values())
    ]
    if bounded:
        print(f"gil search within {args.max_preemptions} preemptions (too many schedules for all):")
        for text in bounded:
            print(f"  {text}")
    contradictions = []
    notes = []
    for program, rows in table.items():
        for column, row in rows.items():
            for mark, what in marks(row):
                if mark != "!":
                    notes.append(f"{mark} {program} on {column}: {what}")
                    continue
                failed = {k: v for k, v in row["real"].items() if k not in row["serial"]}
                searched = "every schedule" if row["bound"] is None else f"≤{row['bound']}p"
                contradictions.append(
                    f"{program} on {column}: {what}. Verdict {row['verdict']} "
                    f"({VERDICTS[row['verdict']]}); {row['failures']} of {row['trials']} real "
                    f"runs failed: {failed}; all real outcomes {row['real']}; the gil search "
                    f"({searched}, {row['schedules']} schedules) reached {row['gil_outcomes']}; "
                    f"serial runs end in {row['serial']}"
                )
    for text in notes:
        print(text)
    for text in contradictions:
        print(f"CONTRADICTION (an explorer bug): {text}")
    if not contradictions:
        print(f"no contradiction: real GIL runs agree with the gil verdict ({', '.join(with_gil)})")
    print(f"took {time.monotonic() - began:.0f} s", file=sys.stderr)
    return 1 if contradictions else 2 if broken else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20_000, help="real runs per program")
    parser.add_argument(
        "--programs",
        action="append",
        default=[],
        metavar="TEXT",
        help="only the programs whose name contains TEXT (repeat; case-insensitive)",
    )
    parser.add_argument("--python", action="append", default=[], help="interpreter (repeat)")
    parser.add_argument("--no-free-threaded", action="store_true", help="skip python3.13t")
    parser.add_argument("--max-preemptions", type=int, default=2, help="the bounded search's")
    parser.add_argument("--interval", type=float, default=1e-6, help="sys.setswitchinterval")
    parser.add_argument(
        "--runner",
        choices=("walk", "run"),
        default="walk",
        help="real runs by batches of instances every thread walks (default), or by "
        "syncdemo's engine, as `syncdemo run FILE.py --trials N` (slower, see above)",
    )
    parser.add_argument("--venvs", type=Path, default=CACHE, help="where the venvs are kept")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per interpreter")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
