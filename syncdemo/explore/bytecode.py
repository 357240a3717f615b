"""Which instructions a thread can run without touching anything another thread could see.

Two switch points of one thread with only such instructions between them (in the same
frame, forward: on every path the code could have taken from one to the other, a branch
skipped over included) are the same point for every other thread: whatever runs at one
runs at the other with the same effect. The scheduler offers only the first of them as a
choice. This is the one reduction the explorer makes, and it needs nothing from the
tracker: it reads the bytecode alone, and any instruction that might call code, read an
attribute, an item, a global or a cell, or test an object's truth is outside the set.
"""

from __future__ import annotations

import bisect
import dis
import sys
import types

#: Instructions that only move values between the frame's stack, its locals and its
#: constants, or jump: none reads or writes an object's contents or runs other code.
LOCAL = frozenset(
    {
        "NOP",
        "RESUME",
        "CACHE",
        "EXTENDED_ARG",
        "POP_TOP",
        "END_FOR",
        "LOAD_FAST",
        "LOAD_FAST_CHECK",
        "LOAD_FAST_AND_CLEAR",
        "LOAD_FAST_LOAD_FAST",
        "STORE_FAST",
        "STORE_FAST_LOAD_FAST",
        "STORE_FAST_STORE_FAST",
        "DELETE_FAST",
        "LOAD_CONST",
        "COPY",
        "SWAP",
        "PUSH_NULL",
        "DUP_TOP",
        "DUP_TOP_TWO",
        "ROT_TWO",
        "ROT_THREE",
        "ROT_FOUR",
        "ROT_N",
        "JUMP_FORWARD",
        "KW_NAMES",
        "PRECALL",
        "MAKE_CELL",
        "COPY_FREE_VARS",
        "IS_OP",
        "POP_JUMP_IF_NONE",
        "POP_JUMP_IF_NOT_NONE",
        "POP_JUMP_FORWARD_IF_NONE",
        "POP_JUMP_FORWARD_IF_NOT_NONE",
        "BUILD_TUPLE",
        "SETUP_FINALLY",
        "POP_BLOCK",
    }
    # 3.13 tests truth in TO_BOOL (not local), and its jumps take an exact bool
    | ({"POP_JUMP_IF_TRUE", "POP_JUMP_IF_FALSE"} if sys.version_info >= (3, 13) else set())
)

#: The instructions that call something (each version's names).
CALLS = frozenset(
    {"CALL", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_FUNCTION_EX", "CALL_METHOD", "CALL_KW"}
)

#: Instructions after which the next one does not run (the code jumps, returns or raises).
_ENDS = frozenset(
    {
        "JUMP_FORWARD",
        "JUMP_ABSOLUTE",
        "JUMP_BACKWARD",
        "JUMP_BACKWARD_NO_INTERRUPT",
        "JUMP",
        "JUMP_NO_INTERRUPT",
        "RETURN_VALUE",
        "RETURN_CONST",
        "RAISE_VARARGS",
        "RERAISE",
    }
)

_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


class _Code:
    """One code object's instructions, read once: each offset's index, whether each
    instruction is local, where each can go next."""

    def __init__(self, code: types.CodeType) -> None:
        instructions = list(dis.get_instructions(code))
        self.offsets = [i.offset for i in instructions]
        self.index = {offset: n for n, offset in enumerate(self.offsets)}
        self.local = [i.opname in LOCAL for i in instructions]
        self.next: list[tuple[int, ...]] = []
        for n, instruction in enumerate(instructions):
            going: list[int] = []
            if instruction.opname not in _ENDS and n + 1 < len(instructions):
                going.append(n + 1)
            if instruction.opcode in _JUMPS and isinstance(instruction.argval, int):
                target = self.index.get(instruction.argval)
                if target is not None:
                    going.append(target)
            self.next.append(tuple(going))
        # where an instruction that raises goes on (3.11+: the exception table)
        for entry in getattr(dis.Bytecode(code), "exception_entries", ()):
            target = self.index.get(entry.target)
            if target is None:
                continue
            for n, offset in enumerate(self.offsets):
                if entry.start <= offset < entry.end:
                    self.next[n] = (*self.next[n], target)
        calls = self.calls = frozenset(i.offset for i in instructions if i.opname in CALLS)
        #: Offsets of the jumps, and of the conditional ones among them.
        self.jumps = frozenset(i.offset for i in instructions if "JUMP" in i.opname)
        self.branches = frozenset(
            o for o in self.jumps if "IF" in instructions[self.index[o]].opname
        )
        lines = frozenset(offset for offset, _ in dis.findlinestarts(code))
        #: Instructions no path between two switch points runs through, since each makes
        #: a switch point of its own: a call (a point after it, or in the callee), and
        #: where granularity ``line`` stops, the start of each line.
        self.through = {
            False: frozenset(self.index[o] for o in calls),
            True: frozenset(self.index[o] for o in calls | lines if o in self.index),
        }
        self.quiet: dict[tuple[int, int, bool], bool] = {}


_CODES: dict[types.CodeType, _Code] = {}


def _code(code: types.CodeType) -> _Code:
    found = _CODES.get(code)
    if found is None:
        found = _CODES[code] = _Code(code)
    return found


def quiet(code: types.CodeType, start: int, end: int, lines: bool = False) -> bool:
    """Whether a thread that ran from offset ``start`` to ``end`` (not including it) of
    ``code``, with no switch point between, ran only local instructions, whichever way it
    went: every instruction on a forward path from one to the other is local. A path
    through a switch point is not one it can have taken: a backward jump, a call, and with
    ``lines`` (granularity ``line`` in the scenario's own files) a line's start."""
    if end < start:
        return False
    table = _code(code)
    known = table.quiet.get((start, end, lines))
    if known is None:
        a, b = table.index.get(start), table.index.get(end)
        known = a is not None and b is not None and _all_local(table, a, b, lines)
        table.quiet[(start, end, lines)] = known
    return known


def _all_local(table: _Code, a: int, b: int, lines: bool) -> bool:
    # the instructions reachable from a (forward, before b, through no switch point),
    # then those of them from which b can be reached: all of those must be local
    blocked = table.through[lines]
    reached = {a}
    stack = [a]
    while stack:
        n = stack.pop()
        for m in table.next[n]:
            if a <= m < b and m not in reached and m not in blocked:
                reached.add(m)
                stack.append(m)
    leads = {n for n in reached if b in table.next[n]}
    changed = True
    while changed:
        changed = False
        for n in reached - leads:
            if any(m in leads for m in table.next[n]):
                leads.add(n)
                changed = True
    return bool(leads) and all(table.local[n] for n in leads)


def after(code: types.CodeType, offset: int) -> int:
    """The offset of the instruction after the one at ``offset`` (-1 at the end)."""
    table = _code(code)
    i = table.index.get(offset)
    if i is None or i + 1 >= len(table.offsets):
        return -1
    return table.offsets[i + 1]


def start_of(code: types.CodeType, offset: int) -> int:
    """The offset of the instruction that ``offset`` is in (3.12 may report a frame's
    ``f_lasti`` inside the inline cache that follows a CALL)."""
    table = _code(code)
    if offset in table.index:
        return offset
    i = bisect.bisect_right(table.offsets, offset) - 1
    return table.offsets[i] if i >= 0 else offset


def calls(code: types.CodeType) -> frozenset[int]:
    """Offsets of the instructions of ``code`` that call something."""
    return _code(code).calls


def jumps(code: types.CodeType) -> tuple[frozenset[int], frozenset[int]]:
    """Offsets of the jumps of ``code``, and of its conditional jumps."""
    table = _code(code)
    return table.jumps, table.branches
