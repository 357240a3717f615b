"""Which instructions a thread can run without touching anything another thread could see.

Two switch points of one thread with only such instructions between them (in the same
frame, straight on) are the same point for every other thread: whatever runs at one runs
at the other with the same effect. The scheduler offers only the first of them as a
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

_Table = tuple[dict[int, int], list[int], list[int]]
_TABLES: dict[types.CodeType, _Table] = {}


def _table(code: types.CodeType) -> _Table:
    """For each instruction offset, its index; how many non-local instructions come
    before each index (a prefix count, one longer than the instructions); the offsets."""
    table = _TABLES.get(code)
    if table is None:
        index: dict[int, int] = {}
        before = [0]
        offsets = []
        for i, instruction in enumerate(dis.get_instructions(code)):
            index[instruction.offset] = i
            offsets.append(instruction.offset)
            before.append(before[-1] + (instruction.opname not in LOCAL))
        table = _TABLES[code] = (index, before, offsets)
    return table


def quiet(code: types.CodeType, start: int, end: int) -> bool:
    """Whether every instruction from offset ``start`` up to (not including) ``end`` is
    local, so a thread that ran from one to the other did nothing others could see."""
    if end < start:
        return False
    index, before, _ = _table(code)
    a, b = index.get(start), index.get(end)
    if a is None or b is None:
        return False
    return before[b] == before[a]


def after(code: types.CodeType, offset: int) -> int:
    """The offset of the instruction after the one at ``offset`` (-1 at the end)."""
    index, _, offsets = _table(code)
    i = index.get(offset)
    if i is None or i + 1 >= len(offsets):
        return -1
    return offsets[i + 1]


def start_of(code: types.CodeType, offset: int) -> int:
    """The offset of the instruction that ``offset`` is in (3.12 may report a frame's
    ``f_lasti`` inside the inline cache that follows a CALL)."""
    index, _, offsets = _table(code)
    if offset in index:
        return offset
    i = bisect.bisect_right(offsets, offset) - 1
    return offsets[i] if i >= 0 else offset


_CALL_OFFSETS: dict[types.CodeType, frozenset[int]] = {}


def calls(code: types.CodeType) -> frozenset[int]:
    """Offsets of the instructions of ``code`` that call something."""
    found = _CALL_OFFSETS.get(code)
    if found is None:
        found = _CALL_OFFSETS[code] = frozenset(
            i.offset for i in dis.get_instructions(code) if i.opname in CALLS
        )
    return found
