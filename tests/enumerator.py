"""An independent, naive enumerator of interleavings, to test the explorer against.

A corpus program is a list of operations per thread in a tiny language (read a shared
variable into a register, write one, a C call, a Python call, lock operations, ...).
:func:`render` writes it as a real user scenario file (one source line per operation),
which the explorer runs for real; :func:`outcomes` runs it here on a plain model: each
operation is a list of *actions* (a read, a write, an acquire, ...) and of *switch points*,
each point marked with the granularities at which CPython (or syncdemo's definition of
``line`` and ``opcode``) may switch threads there. The model knows nothing of the
explorer: its rules are written from the interpreter's documented behaviour (the GIL is
checked after a C call returns, at the entry of a Python function, at a backward jump; a
lock operation is a switch point everywhere; ``line`` adds each line, ``opcode`` each
instruction). The enumeration is a plain tree of every interleaving within the same
preemption bound (switching away from a thread that could go on costs one), with no
reduction of any kind.

Two results must then be equal: the set of final states the explorer reports and the set
this tree reaches.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

GIL, LINE, OPCODE = "gil", "line", "opcode"
ALL = frozenset({GIL, LINE, OPCODE})
LO = frozenset({LINE, OPCODE})
OP = frozenset({OPCODE})

#: An operation: ("read", var, reg), ("write", var, reg, const), ("incr", var, const),
#: ("ccall", reg), ("pycall", reg), ("acquire",), ("release",), ("dincr", key),
#: ("assert", var, reg). Variables: "x", "y", "_p" (a private attribute), "d:a" and
#: "d:b" (items of a dict attribute), "G" (a module global).
Op = tuple[object, ...]
VARS = ("x", "y", "_p", "d:a", "d:b", "G")


@dataclass(frozen=True)
class Point:
    at: frozenset[str]


@dataclass(frozen=True)
class Act:
    what: str  # read, write, acquire, release, assert
    var: str = ""
    reg: str = ""
    const: int = 0


Item = Point | Act


def accessor(var: str) -> str:
    if var == "G":
        return "G[0]"
    if var.startswith("d:"):
        return f"self.d[{var[2:]!r}]"
    return f"self.{var}"


def line_of(op: Op) -> str:
    kind = op[0]
    if kind == "read":
        return f"r{op[2]} = {accessor(str(op[1]))}"
    if kind == "write":
        return f"{accessor(str(op[1]))} = r{op[2]} + {op[3]}"
    if kind == "incr":
        return f"{accessor(str(op[1]))} += {op[2]}"
    if kind == "ccall":
        return f"r{op[1]} = int(r{op[1]})"
    if kind == "pycall":
        return f"r{op[1]} = _same(r{op[1]})"
    if kind == "acquire":
        return "self.lock.acquire()"
    if kind == "release":
        return "self.lock.release()"
    if kind == "dincr":
        return f"self.d[{op[1]!r}] = self.d.get({op[1]!r}, 0) + 1"
    if kind == "assert":
        return f"assert {accessor(str(op[1]))} == r{op[2]}"
    raise ValueError(op)


def items_of(op: Op) -> list[Item]:
    """The actions of one operation and the switch points around them."""
    kind = op[0]
    start = Point(LO)  # the line starts (and its first instruction)
    if kind == "read":
        return [start, Act("read", str(op[1]), f"r{op[2]}")]
    if kind == "write":
        return [start, Act("write", str(op[1]), f"r{op[2]}", int(str(op[3])))]
    if kind == "incr":
        # one line: its read and write are one step at gil and at line, two at opcode
        return [
            start,
            Act("read", str(op[1]), "t"),
            Point(OP),
            Act("write", str(op[1]), "t", int(str(op[2]))),
        ]
    if kind == "ccall":
        return [start, Point(ALL)]  # after a C function returns
    if kind == "pycall":
        return [start, Point(ALL)]  # a Python function starts (its line, at line)
    if kind == "acquire":
        return [start, Point(ALL), Act("acquire"), Point(ALL)]  # the lock's own point
    if kind == "release":
        return [start, Act("release"), Point(ALL)]  # after the call returns
    if kind == "dincr":
        key = f"d:{op[1]}"
        # dict.get is a C call: the GIL may change hands between the get and the store
        return [start, Act("read", key, "t"), Point(ALL), Act("write", key, "t", 1)]
    if kind == "assert":
        return [start, Act("read", str(op[1]), "t"), Act("assert", "", f"r{op[2]}")]
    raise ValueError(op)


def registers(ops: Sequence[Op]) -> list[int]:
    regs = set()
    for op in ops:
        if op[0] in ("read", "write", "assert"):
            regs.add(int(str(op[2])))
        elif op[0] in ("ccall", "pycall"):
            regs.add(int(str(op[1])))
    return sorted(regs)


def render(name: str, threads: Sequence[Sequence[Op]]) -> str:
    """The program as a user scenario file (each operation one source line)."""
    lines = [
        "import threading",
        "",
        "import syncdemo",
        "",
        "G = [0]",
        "",
        "",
        "def _same(value):",
        "    return value",
        "",
        "",
        f"@syncdemo.scenario(name={name!r})",
        "class Program:",
        f"    threads = {len(threads)}",
        "    iterations = 1",
        "",
        "    def setup(self):",
        "        G[0] = 0",
        "        self.x = 0",
        "        self.y = 0",
        "        self._p = 0",
        "        self.d = {'a': 0, 'b': 0}",
        "        self.lock = threading.Lock()",
        "",
        "    def worker(self, thread):",
    ]
    for i in range(len(threads)):
        lines.append(f"        {'if' if i == 0 else 'elif'} thread == {i}:")
        lines.append(f"            self.t{i}()")
    for i, ops in enumerate(threads):
        lines += ["", f"    def t{i}(self):"]
        lines += [f"        r{r} = 0" for r in registers(ops)]
        lines += [f"        {line_of(op)}" for op in ops]
        if not ops:
            lines.append("        pass")
    lines += [
        "",
        "    def outcome(self):",
        "        return (",
        '            f\'x={self.x} y={self.y} p={self._p} a={self.d["a"]} b={self.d["b"]} \'',
        "            f'g={G[0]}'",
        "        )",
        "",
        "    def check(self):",
        "        return True",
        "",
    ]
    return "\n".join(lines)


@dataclass
class _Thread:
    items: list[Item]
    pc: int = 0
    regs: dict[str, int] | None = None

    @property
    def done(self) -> bool:
        return self.pc >= len(self.items)


def outcomes(threads: Sequence[Sequence[Op]], granularity: str, bound: int | None) -> set[str]:
    """Every final state (or "deadlock", "exception (AssertionError)") reachable with at
    most ``bound`` preemptions (None: any number), switching at ``granularity``."""
    return enumerate_tree(threads, granularity, bound)[0]


class TooBig(Exception):
    """The tree has more leaves than the cap."""


def enumerate_tree(
    threads: Sequence[Sequence[Op]], granularity: str, bound: int | None, cap: int = 0
) -> tuple[set[str], int]:
    """The outcomes, and how many schedules (leaves of the tree) reach them; raises
    :class:`TooBig` past ``cap`` leaves (0: no cap)."""
    programs = [[Point(ALL)] + [i for op in ops for i in items_of(op)] for ops in threads]
    found: set[str] = set()
    leaves = [0]

    def state_text(shared: dict[str, int]) -> str:
        return (
            f"x={shared['x']} y={shared['y']} p={shared['_p']} a={shared['d:a']} "
            f"b={shared['d:b']} g={shared['G']}"
        )

    def run_step(
        t: int, shared: dict[str, int], pcs: list[int], regs: list[dict[str, int]], owner: list[int]
    ) -> str | None:
        """Run thread ``t`` from its point to the next point of the granularity (or its
        end); returns "exception" if its assert failed."""
        items = programs[t]
        pc = pcs[t] + 1  # past the point it stands at
        while pc < len(items):
            item = items[pc]
            if isinstance(item, Point):
                if granularity in item.at:
                    break
                pc += 1
                continue
            if item.what == "read":
                regs[t][item.reg] = shared[item.var]
            elif item.what == "write":
                shared[item.var] = regs[t][item.reg] + item.const
            elif item.what == "acquire":
                owner[0] = t
            elif item.what == "release":
                owner[0] = -1
            elif item.what == "assert" and regs[t]["t"] != regs[t][item.reg]:
                pcs[t] = len(items)
                return "exception"
            pc += 1
        pcs[t] = pc
        return None

    def enabled(t: int, pcs: list[int], owner: list[int]) -> bool:
        items = programs[t]
        if pcs[t] >= len(items):
            return False
        # the next action of its step: blocked if it is an acquire of a held lock
        pc = pcs[t] + 1
        while pc < len(items):
            item = items[pc]
            if isinstance(item, Point):
                if granularity in item.at:
                    return True
                pc += 1
                continue
            if item.what == "acquire":
                return owner[0] == -1
            return True
        return True

    def explore(
        shared: dict[str, int],
        pcs: list[int],
        regs: list[dict[str, int]],
        owner: list[int],
        last: int | None,
        used: int,
        failed: bool,
    ) -> None:
        live = [t for t in range(len(programs)) if pcs[t] < len(programs[t])]
        if not live:
            found.add("exception (AssertionError)" if failed else state_text(shared))
            leaves[0] += 1
            if cap and leaves[0] > cap:
                raise TooBig
            return
        choices = [t for t in live if enabled(t, pcs, owner)]
        if not choices:
            found.add("deadlock")
            leaves[0] += 1
            return
        for t in choices:
            cost = 1 if last is not None and last in choices and t != last else 0
            if bound is not None and used + cost > bound:
                continue
            s2, p2, r2, o2 = dict(shared), list(pcs), [dict(r) for r in regs], list(owner)
            bad = run_step(t, s2, p2, r2, o2) == "exception"
            explore(s2, p2, r2, o2, t, used + cost, failed or bad)

    regs0 = [{f"r{r}": 0 for r in range(10)} | {"t": 0} for _ in programs]
    shared0 = {v: 0 for v in VARS}
    explore(shared0, [0] * len(programs), regs0, [-1], None, 0, False)
    return found, leaves[0]


def python_310() -> bool:
    return sys.version_info < (3, 11)
