"""readers-writers: readers copy a record of several fields while writers rewrite it.

A writer writes a new version into every field, one field at a time; a reader copies the
fields one at a time. Unsynchronized, a reader that runs while a writer is half-way copies
some fields of the new version and some of the old: a torn read. A readers-writer lock
lets many readers in at once but a writer only alone; the three classic ones differ in who
waits when both want in, and the report measures it: wait percentiles per role, from
``perf_counter_ns`` stamps each thread keeps in its own ``ctx.data``, and a starvation verdict.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import ThreadContext
from syncdemo.engine.fairness import wait_summary
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks

FIELDS = 4
#: A thread that waited longer than this for one access is called starved.
STARVED_MS = 20.0


@dataclass(eq=False)
class Record:
    """The shared record and the state of its readers-writer lock (guarded by ``cond``)."""

    fields: list[int] = field(default_factory=lambda: [0] * FIELDS)
    cond: threading.Condition = field(default_factory=lambda: threading.Condition())
    readers: int = 0
    readers_waiting: int = 0
    writing: bool = False
    writers_waiting: int = 0
    next_ticket: int = 0
    serving: int = 0
    cancelled: bool = False


def fetch(version: int, k: int) -> int:
    """The new value of field k. ``time.sleep(0)`` stands for the I/O that brings it (a
    query, a message): it releases the GIL, as I/O does, and asks for no time at all."""
    time.sleep(0)
    return version


def write_record(fields: list[int], version: int) -> None:
    """Store each field's new value as it arrives: the record is half old, half new while
    the writer waits for the rest."""
    for k in range(len(fields)):
        fields[k] = fetch(version, k)


def read_record(fields: list[int], ctx: ThreadContext) -> None:
    """Copy the fields one at a time and count the copy as torn if they disagree; then
    ``time.sleep(0)``, standing for the I/O a reader does with what it read (sending it to
    a client): it releases the GIL, as I/O does, and asks for no time at all."""
    copy = [fields[k] for k in range(len(fields))]
    if min(copy) != max(copy):
        ctx.data["torn"] += 1
    time.sleep(0)


# --- the three readers-writer locks: enter and leave, as functions of the record -----------


def _wait_until(rec: Record, ctx: ThreadContext, ready: Callable[[], bool]) -> None:
    """Wait on the record's condition (its lock held) until ``ready()``; give up if cancelled."""
    rec.cond.wait_for(lambda: ready() or rec.cancelled)
    ctx.check_stop()


def read_if_nobody_writes(rec: Record, ctx: ThreadContext) -> None:
    """Reader-preference readers: wait only while a writer writes (never for waiting ones),
    and say that you wait, so that writers let you in first."""
    with rec.cond:
        rec.readers_waiting += 1
        try:
            _wait_until(rec, ctx, lambda: not rec.writing)
        finally:
            rec.readers_waiting -= 1
        rec.readers += 1


def read_if_no_writer_waits(rec: Record, ctx: ThreadContext) -> None:
    """Writer-preference readers: hold back while a writer writes or waits."""
    with rec.cond:
        _wait_until(rec, ctx, lambda: not rec.writing and not rec.writers_waiting)
        rec.readers += 1


def read_in_turn(rec: Record, ctx: ThreadContext) -> None:
    with rec.cond:
        ticket = rec.next_ticket
        rec.next_ticket += 1
        _wait_until(rec, ctx, lambda: rec.serving == ticket and not rec.writing)
        rec.serving += 1  # the next in line may be a reader too: it may join us
        rec.readers += 1
        rec.cond.notify_all()


def leave_reading(rec: Record) -> None:
    with rec.cond:
        rec.readers -= 1
        if rec.readers == 0:
            rec.cond.notify_all()


def write_when_alone(rec: Record, ctx: ThreadContext) -> None:
    """Reader-preference writers: wait until nobody reads, wants to read, or writes."""
    with rec.cond:
        _wait_until(
            rec, ctx, lambda: not rec.writing and not rec.readers and not rec.readers_waiting
        )
        rec.writing = True


def write_announced(rec: Record, ctx: ThreadContext) -> None:
    """Writer-preference writers: announce yourself, so that new readers hold back."""
    with rec.cond:
        rec.writers_waiting += 1
        try:
            _wait_until(rec, ctx, lambda: not rec.writing and not rec.readers)
        finally:
            rec.writers_waiting -= 1
        rec.writing = True


def write_in_turn(rec: Record, ctx: ThreadContext) -> None:
    with rec.cond:
        ticket = rec.next_ticket
        rec.next_ticket += 1
        _wait_until(rec, ctx, lambda: rec.serving == ticket and not rec.writing and not rec.readers)
        rec.serving += 1
        rec.writing = True


def leave_writing(rec: Record) -> None:
    with rec.cond:
        rec.writing = False
        rec.cond.notify_all()


# --- the workers --------------------------------------------------------------------------


def _begin(ctx: ThreadContext) -> None:
    ctx.data["torn"] = 0


def _version(ctx: ThreadContext, i: int) -> int:
    """Every write of every writer gets its own version number, never 0 (the first)."""
    return ctx.role_index * ctx.config.iterations + i + 1


def read_unsafe(rec: Record, ctx: ThreadContext) -> None:
    _begin(ctx)
    for chunk in ctx.chunks():
        for _ in chunk:
            read_record(rec.fields, ctx)  # a writer may be half-way through it


def write_unsafe(rec: Record, ctx: ThreadContext) -> None:
    _begin(ctx)
    for chunk in ctx.chunks():
        for i in chunk:
            write_record(rec.fields, _version(ctx, i))


def _read_loop(rec: Record, ctx: ThreadContext, enter: Callable[..., None]) -> None:
    _begin(ctx)
    for chunk in ctx.chunks():
        for _ in chunk:
            ctx.begin_wait()
            enter(rec, ctx)  # then no writer is inside until we leave
            ctx.end_wait()
            read_record(rec.fields, ctx)
            leave_reading(rec)


def _write_loop(rec: Record, ctx: ThreadContext, enter: Callable[..., None]) -> None:
    _begin(ctx)
    for chunk in ctx.chunks():
        for i in chunk:
            ctx.begin_wait()
            enter(rec, ctx)  # then we are alone: no reader, no other writer
            ctx.end_wait()
            write_record(rec.fields, _version(ctx, i))
            leave_writing(rec)


def read_reader_preference(rec: Record, ctx: ThreadContext) -> None:
    _read_loop(rec, ctx, read_if_nobody_writes)


def write_reader_preference(rec: Record, ctx: ThreadContext) -> None:
    _write_loop(rec, ctx, write_when_alone)


def read_writer_preference(rec: Record, ctx: ThreadContext) -> None:
    _read_loop(rec, ctx, read_if_no_writer_waits)


def write_writer_preference(rec: Record, ctx: ThreadContext) -> None:
    _write_loop(rec, ctx, write_announced)


def read_fair(rec: Record, ctx: ThreadContext) -> None:
    _read_loop(rec, ctx, read_in_turn)


def write_fair(rec: Record, ctx: ThreadContext) -> None:
    _write_loop(rec, ctx, write_in_turn)


def write_then_read(rec: Record, ctx: ThreadContext) -> None:
    """Alone, one thread writes the record and reads it back, in turn."""
    _begin(ctx)
    for chunk in ctx.chunks():
        for i in chunk:
            write_record(rec.fields, _version(ctx, i))
            read_record(rec.fields, ctx)


def _strategy(
    name: str,
    summary: str,
    cost: str,
    safe: bool,
    read: Callable[..., None],
    write: Callable[..., None],
) -> Strategy:
    return Strategy(
        name,
        summary,
        cost,
        safe,
        {"reader": read, "writer": write, "writer+reader": write_then_read},
    )


class ReadersWritersScenario(Scenario[Record]):
    name = "readers-writers"
    # at 2, a search of some strategy ran 15 s to minutes (or stopped at --limit); at 1
    # every strategy's takes about 2 s or less, and each unsafe one fails
    explore_preemptions = 1
    summary = "Readers copy a record while writers rewrite it: torn reads, or starved writers."
    explanation = (
        f"A third of the threads (at least one) are writers, each writing --iterations new "
        f"versions of a record of {FIELDS} fields, storing each field as its new value arrives "
        "(a fetch: I/O); the rest are readers, each copying the record --iterations times, "
        "one field at a time, and then sending the copy on (I/O again). time.sleep(0) stands "
        "for each I/O: it releases the GIL, as I/O does, and asks for no time at all. "
        "Unsynchronized, a reader that runs while a writer waits for its next field copies "
        "fields of two versions: a torn read. A readers-writer lock admits "
        "many readers at once but a writer only alone. Reader-preference lets a reader in "
        "whenever no writer is writing, so while readers keep overlapping a writer may wait "
        "for all of them (writers starve); writer-preference holds new readers back while a "
        "writer waits (readers may starve); fair serves arrivals in ticket order (nobody "
        "starves, everybody waits a little). The report gives each role's operations and wait "
        f"percentiles, and calls a role starved when one of its threads waited more than "
        f"{STARVED_MS:.0f} ms for one access."
    )
    shared_state = (
        f"one record of {FIELDS} integer fields, and a readers-writer lock built on one "
        "threading.Condition (readers inside, writer inside, writers waiting, tickets)"
    )
    invariant = "no reader copies a half-written record"
    violation_noun = "torn reads"
    counted = ("reads", "clean reads")
    why = WhyItBreaks(
        gil=(
            "under the GIL a writer released the GIL while it fetched the next field's value "
            "(I/O), half-way through the record; a reader that ran then copied new fields and "
            "old ones together. A readers-writer lock keeps readers out while a writer writes."
        ),
        free_threaded=(
            "on this free-threaded build readers copied the record while a writer, running "
            "at the same time on another core, was half-way through it: fields of two "
            "versions in one copy. A readers-writer lock keeps readers out while a writer "
            "writes."
        ),
    )
    strategies = (
        _strategy(
            "none",
            "writers write and readers copy with nothing between them",
            "nothing, and readers see half-written records",
            False,
            read_unsafe,
            write_unsafe,
        ),
        _strategy(
            "reader-preference",
            "readers enter whenever no writer is writing, even if writers wait",
            "readers barely wait; a writer waits until no reader is inside, which, while "
            "readers keep overlapping, can be for ever (writers starve)",
            True,
            read_reader_preference,
            write_reader_preference,
        ),
        _strategy(
            "writer-preference",
            "a waiting writer holds new readers back",
            "writers wait only for the readers already inside; readers can starve while "
            "writers keep arriving",
            True,
            read_writer_preference,
            write_writer_preference,
        ),
        _strategy(
            "fair",
            "every arrival takes a ticket and enters in turn; readers in a row share",
            "nobody starves, but everybody waits for the ones ahead, and readers behind a "
            "writer cannot join the readers in front of it",
            True,
            read_fair,
            write_fair,
        ),
    )
    helpers = (
        write_record,
        fetch,
        read_record,
        _read_loop,
        _write_loop,
        read_if_nobody_writes,
        write_when_alone,
        read_if_no_writer_waits,
        write_announced,
        read_in_turn,
        write_in_turn,
        leave_reading,
        leave_writing,
        _wait_until,
    )
    default_sync = "reader-preference"
    default_threads = 6
    default_iterations = 150
    iterations_meaning = "reads or writes per thread"

    def split(self, threads: int) -> tuple[int, int]:
        """(writers, readers): a third of the threads write, at least one."""
        if threads == 1:
            return 1, 0
        writers = max(1, threads // 3)
        return writers, threads - writers

    def roles(self, config: RunConfig) -> Sequence[str]:
        writers, readers = self.split(config.threads)
        if readers == 0:
            return ["writer+reader"]
        return ["writer"] * writers + ["reader"] * readers

    def roles_note(self, config: RunConfig) -> str:
        writers, readers = self.split(config.threads)
        if readers == 0:
            return "1 thread writes the record and reads it back"
        return f"{writers} writers, {readers} readers (a third of the threads write)"

    def setup(self, config: RunConfig) -> Record:
        return Record()

    def cancel(self, state: Record) -> None:
        with state.cond:
            state.cancelled = True
            state.cond.notify_all()

    def check(self, state: Record, contexts: Sequence[ThreadContext]) -> Outcome:
        reads = sum(c.ops for c in contexts if "reader" in c.role)
        torn = sum(c.data.get("torn", 0) for c in contexts)
        details: dict[str, Scalar] = {"torn_reads": torn}
        verdicts = []
        for role in ("reader", "writer"):
            mine = [c for c in contexts if c.role == role]
            waits = [w for c in mine for w in c.waits]
            worst_ms = max(waits, default=0) / 1e6
            starved = bool(mine) and (worst_ms > STARVED_MS or any(c.ops == 0 for c in mine))
            details[f"{role}_ops"] = sum(c.ops for c in mine)
            details.update(wait_summary(role, waits))
            details[f"{role}s_starved"] = starved
            if starved:
                verdicts.append(f"{role}s (one waited {worst_ms:.1f} ms > {STARVED_MS:.0f} ms)")
        details["starvation"] = "; ".join(verdicts) if verdicts else "none"
        return Outcome(expected=reads, observed=reads - torn, violations=torn, details=details)
