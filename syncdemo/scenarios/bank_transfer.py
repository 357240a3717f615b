"""bank-transfer: tellers move money between accounts; it must neither appear nor vanish.

A transfer checks that the source account has enough, has the transfer approved (I/O),
debits the source and credits the target. Unsynchronized, two tellers both see enough
money in one account and both debit it (an overdraft), and a teller switched out between
reading a balance and writing it back overwrites another teller's change (money created or
destroyed). Per-account locks fix it only if every teller takes them in the same order;
taken in whatever order a transfer names its accounts, they deadlock, and the instrumented
locks let the watchdog show the cycle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from syncdemo.engine.context import ThreadContext
from syncdemo.engine.locks import TracedLock, Watched, Who, member, one_by_one
from syncdemo.engine.watchdog import Stuck
from syncdemo.results import Outcome, RunConfig, Scalar
from syncdemo.scenarios.base import Scenario, Strategy, WhyItBreaks

ACCOUNTS = 8
OPENING_BALANCE = 100
#: The largest single transfer: as much as an account holds at the start.
MAX_AMOUNT = OPENING_BALANCE


@dataclass(eq=False)
class Bank:
    balances: list[int] = field(default_factory=lambda: [OPENING_BALANCE] * ACCOUNTS)
    watched: Watched = field(default_factory=Watched)
    locks: list[TracedLock] = field(default_factory=list)
    """One instrumented lock per account."""
    vault: threading.Lock = field(default_factory=lambda: threading.Lock())
    """The one lock of the global-lock strategy."""

    def __post_init__(self) -> None:
        self.locks = [self.watched.graph.lock(f"account {i}") for i in range(ACCOUNTS)]


def pick_transfer(ctx: ThreadContext) -> tuple[int, int, int]:
    """(from, to, amount), from this thread's own seeded random numbers (--seed)."""
    source, target = ctx.rng.sample(range(ACCOUNTS), 2)
    return source, target, ctx.rng.randint(1, MAX_AMOUNT)


def approve(source: int, target: int, amount: int) -> None:
    """Have the transfer approved (a fraud check, an audit log). ``time.sleep(0)`` stands for
    that I/O: it releases the GIL, as I/O does, and asks for no time at all."""
    time.sleep(0)


def _checked(balance: int, amount: int) -> int:
    return balance - amount


def move(bank: Bank, ctx: ThreadContext, source: int, target: int, amount: int) -> None:
    """Debit, then credit: each a read, a call, a write; note overdrafts and the move."""
    debited = _checked(bank.balances[source], amount)  # read, call ...
    bank.balances[source] = debited  # ... write: may overwrite another teller's change
    bank.balances[target] = _checked(bank.balances[target], -amount)
    if debited < 0:
        ctx.data["overdrafts"] += 1
    ctx.data["moves"].append((source, target, amount))


def transfer(bank: Bank, ctx: ThreadContext, source: int, target: int, amount: int) -> None:
    """Check, approve, then act: correct only if nobody else touches the two accounts."""
    if bank.balances[source] >= amount:  # check ...
        approve(source, target, amount)  # ... I/O: other tellers run meanwhile ...
        move(bank, ctx, source, target, amount)  # ... act on a balance that may have dropped
    else:
        ctx.data["declined"] += 1


def _open(ctx: ThreadContext) -> Who:
    ctx.data.update(overdrafts=0, declined=0, moves=[])
    return member(f"teller {ctx.index}", ctx)


def transfer_unsafe(bank: Bank, ctx: ThreadContext) -> None:
    _open(ctx)
    for chunk in ctx.chunks():
        for _ in chunk:
            transfer(bank, ctx, *pick_transfer(ctx))


def transfer_global_lock(bank: Bank, ctx: ThreadContext) -> None:
    _open(ctx)
    for chunk in ctx.chunks():
        for _ in chunk:
            source, target, amount = pick_transfer(ctx)
            ctx.begin_wait()
            with bank.vault:  # one transfer at a time, in the whole bank
                ctx.end_wait()
                transfer(bank, ctx, source, target, amount)


def _locked_transfer(bank: Bank, ctx: ThreadContext, me: Who, ordered: bool) -> None:
    source, target, amount = pick_transfer(ctx)
    first, second = sorted((source, target)) if ordered else (source, target)
    ctx.begin_wait()
    bank.locks[first].acquire(me)
    bank.locks[second].acquire(me)  # the holder of this one may be waiting for ours
    ctx.end_wait()
    transfer(bank, ctx, source, target, amount)
    bank.locks[second].release(me)
    bank.locks[first].release(me)


def transfer_account_locks(bank: Bank, ctx: ThreadContext) -> None:
    me = _open(ctx)
    for _ in one_by_one(ctx):
        _locked_transfer(bank, ctx, me, ordered=True)  # lower account number first


def transfer_account_locks_unordered(bank: Bank, ctx: ThreadContext) -> None:
    me = _open(ctx)
    for _ in one_by_one(ctx):
        _locked_transfer(bank, ctx, me, ordered=False)  # source first, then target


class BankTransferScenario(Scenario[Bank]):
    name = "bank-transfer"
    # at 2, a search of some strategy ran 15 s to minutes (or stopped at --limit); at 1
    # every strategy's takes about 2 s or less, and each unsafe one fails
    explore_preemptions = 1
    summary = "Tellers move money between accounts: overdrafts, money lost, or a deadlock."
    explanation = (
        f"{ACCOUNTS} accounts open with {OPENING_BALANCE} each. Every thread is a teller making "
        "--iterations random transfers (accounts and amounts from its own --seed'ed random "
        "numbers): check that the source holds enough, have the transfer approved "
        "(time.sleep(0), standing for that I/O: it releases the GIL and asks for no time at all), "
        "then debit the source and credit the target, each a read, a call and a write. "
        "Unsynchronized, two tellers both pass the check on one account during their "
        "approvals and both debit it: an overdraft. And a teller switched out between "
        "reading a balance and writing it back overwrites what other tellers did meanwhile: "
        "money created or destroyed. One global lock fixes both by serialising every "
        "transfer. Per-account locks let transfers between other accounts go on in parallel, "
        "but only if every teller takes them in one order (lower account number first): in "
        "source-then-target order, a teller holding account 3 and waiting for account 5 "
        "meets one holding 5 and waiting for 3, and the watchdog reports the deadlock."
    )
    shared_state = (
        f"{ACCOUNTS} account balances in a list, one instrumented lock per account, "
        "and one global lock"
    )
    invariant = "money conserved, no overdraft, every transfer done"
    violation_noun = "money misplaced + overdrafts + transfers never done"
    counted = ("money at start", "money at end")
    violation_share = False  # a sum of money and counts of transfers, not a part of the total
    why = WhyItBreaks(
        gil=(
            "under the GIL a teller's approval (I/O) released the GIL between its balance "
            "check and its debit, so other tellers debited the same account meanwhile and "
            "the debit overdrew it (see overdrafts); a switch at the call between reading a "
            "balance and writing it back, rarer under the GIL, makes the write undo other "
            "tellers' work (see misplaced). Holding the accounts' locks, taken in one global "
            "order, from check to credit makes each transfer one step."
        ),
        free_threaded=(
            "on this free-threaded build tellers ran at once: several passed the balance "
            "check on one account before any debited it (overdrafts), and read-modify-writes "
            "of one balance overlapped and overwrote each other (money misplaced). Holding the "
            "accounts' locks, taken in one global order, from check to credit makes each "
            "transfer one step."
        ),
    )
    strategies = (
        Strategy(
            "none",
            "check, approve, debit, credit, with nothing around them",
            "nothing, and money goes missing or accounts are overdrawn",
            False,
            {"teller": transfer_unsafe},
        ),
        Strategy(
            "global-lock",
            "one lock around every whole transfer",
            "transfers between unrelated accounts wait for each other, approval I/O included: "
            "the bank does one transfer at a time",
            True,
            {"teller": transfer_global_lock},
        ),
        Strategy(
            "account-locks",
            "lock both accounts, lower account number first, around the transfer",
            "two acquires per transfer, and the code must know both accounts up front; in "
            "exchange transfers between other accounts go on meanwhile",
            True,
            {"teller": transfer_account_locks},
        ),
        Strategy(
            "account-locks-unordered",
            "lock the source account, then the target, around the transfer",
            "as account-locks, until two transfers in opposite directions meet: a deadlock",
            False,
            {"teller": transfer_account_locks_unordered},
        ),
    )
    helpers = (pick_transfer, transfer, approve, move, _checked, _locked_transfer)
    explore_seed = 5  # the tellers pick random accounts; at seed 5 two take them in opposite orders
    default_sync = "none"
    default_threads = 4
    default_iterations = 500
    iterations_meaning = "transfers per teller"

    def roles(self, config: RunConfig) -> Sequence[str]:
        return ["teller"] * config.threads

    def setup(self, config: RunConfig) -> Bank:
        return Bank()

    def verdict(self, ok: bool, config: RunConfig, gil: bool) -> str:
        if ok or config.threads == 1 or config.sync != "account-locks-unordered":
            return super().verdict(ok, config, gil)
        how = (
            "under the GIL, while one teller waited for a lock or did its approval I/O, others "
            "ran and locked accounts too"
            if gil
            else "on this free-threaded build tellers locked accounts at the same moment"
        )
        return (
            f"The invariant broke with --sync account-locks-unordered: {how}. Each locked the "
            "source account of its transfer and waited for the target, which another teller "
            "held while waiting for theirs; nobody could go on. No money was misplaced (the "
            "locks come before any change), but transfers were never done. The watchdog found "
            "the cycle (see the report) and stopped them. Taking the two locks lower account "
            "number first (--sync account-locks) makes a cycle impossible."
        )

    def deadlock(self, state: Bank) -> str | None:
        return state.watched.graph.deadlock()

    def stuck(self, state: Bank, stuck: Stuck) -> None:
        state.watched.record(stuck)

    def kept_ops(self, outcome: Outcome, ops: int) -> int:
        """Transfers done that broke no rule: none once money was misplaced (which transfer
        a lost write undid is not known), else those that did not overdraw."""
        if outcome.details.get("misplaced"):
            return 0
        overdrafts = outcome.details.get("overdrafts", 0)
        return max(0, ops - (overdrafts if isinstance(overdrafts, int) else 0))

    def check(self, state: Bank, contexts: Sequence[ThreadContext]) -> Outcome:
        ledger = [OPENING_BALANCE] * ACCOUNTS
        for c in contexts:
            for source, target, amount in c.data.get("moves", []):
                ledger[source] -= amount
                ledger[target] += amount
        misplaced = sum(abs(real - kept) for real, kept in zip(state.balances, ledger, strict=True))
        overdrafts = sum(c.data.get("overdrafts", 0) for c in contexts)
        undone = 0
        if state.watched.stuck is not None:
            undone = sum(c.config.iterations - c.ops for c in contexts)
        details: dict[str, Scalar] = {
            "misplaced": misplaced,
            "overdrafts": overdrafts,
            "negative_accounts": sum(1 for b in state.balances if b < 0),
            "transfers": sum(len(c.data.get("moves", [])) for c in contexts),
            "declined": sum(c.data.get("declined", 0) for c in contexts),
            **state.watched.details(),
        }
        if state.watched.stuck is not None:
            details["transfers_never_done"] = undone
        return Outcome(
            expected=OPENING_BALANCE * ACCOUNTS,
            observed=sum(state.balances),
            violations=misplaced + overdrafts + undone,
            details=details,
        )
