"""An independent, naive enumerator of interleavings, to test the explorer against.

A corpus program is a list of operations per thread in a tiny language (read a shared
variable into a register, write one, a C call, a Python call, lock operations, an ``if``
on a register, ...). :func:`render` writes it as a real user scenario file (one source line
per operation, plus the helpers some operations call, and for some a second module next to
it); :func:`outcomes` runs it here on a plain model: each operation is a list of *actions*
(a read, a write, an acquire, ...), of *switch points*, each marked with the granularities
at which CPython (or syncdemo's definition of ``line`` and ``opcode``) may switch threads
there, and of *branches*. The model knows nothing of the explorer: its rules are written
from the interpreter's documented behaviour, per version where versions differ:

- the GIL can change hands at the entry of a Python function and where a generator
  resumes (whoever calls it: a C function calling a key function, ``Counter.__missing__``,
  a property's getter), at a backward jump, after a call of C code returns, and on 3.10
  also after *any* call returns (a Python function's too) and after a conditional jump that
  is taken (the jump past an ``if`` body whose condition is false, the jump past the raise
  of an ``assert`` that holds);
- a lock operation is a switch point everywhere;
- ``line`` adds the start of each line of the scenario's own file (not of other modules:
  the helper module next to it is split only where the GIL can change hands), ``opcode``
  each instruction of that file;
- C code runs unsplit: ``sum(d.values())``, ``list.sort()`` of ints, ``deque.popleft()``,
  ``defaultdict(int)`` filling a missing key; a Python function it calls is a switch point
  (``list.sort(key=...)`` empties the list while the key runs and raises ValueError if it
  was appended to meanwhile; a ``defaultdict`` whose factory is Python code stores the
  factory's value after it ran, overwriting what another thread stored meanwhile, except
  on the free-threaded build, where it keeps the value already there, as ``setdefault``
  does).

The enumeration is a plain tree of every interleaving within the same preemption bound
(switching away from a thread that could go on costs one), with no reduction of any kind.

Two results must then be equal: the set of final states the explorer reports and the set
this tree reaches.
"""

from __future__ import annotations

import operator
import sys
import sysconfig
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

GIL, LINE, OPCODE = "gil", "line", "opcode"
ALL = frozenset({GIL, LINE, OPCODE})
LO = frozenset({LINE, OPCODE})
OP = frozenset({OPCODE})
NONE: frozenset[str] = frozenset()


def python_310() -> bool:
    return sys.version_info < (3, 11)


def free_threaded() -> bool:
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


V310 = python_310()
#: After a call of a Python function returns to the scenario's code: 3.10 checks the eval
#: breaker after every call; 3.11+ returns in place (only ``opcode`` stops there, at the
#: caller's next instruction).
PY_RETURN = ALL if V310 else OP
#: A conditional jump that is taken: 3.10's POP_JUMP_IF_* check the eval breaker; 3.11+'s
#: forward jumps never do.
TAKEN = ALL if V310 else NONE

#: An operation, one line of a thread's method (an ``if`` is several). ``var`` is a name of
#: STORES, ``reg`` a register number (r0..r9, 0 at the start), ``c`` a constant:
#:
#: - ("read", var, reg), ("write", var, reg, c): ``var = reg + c``, ("incr", var, c): ``+=``
#: - ("ccall", reg): ``reg = int(reg)``, ("pycall", reg): a function of the file that
#:   returns its argument, ("pyread", var, reg): one that reads ``var`` and returns it
#: - ("acquire"[, lock]), ("release"[, lock]): ``lock``, ``lock2`` or ``lock3``
#: - ("dincr", key): ``d[key] = d.get(key, 0) + 1``
#: - ("assert", var, reg): ``assert var == reg``; ("check", expr): ``assert expr``, an
#:   expression of registers with no ``and``/``or``/chained comparison (one jump on 3.10)
#: - ("if", reg or var, cmp, c, [ops], [else ops]): ``cmp`` one of ==, !=, <, >=
#: - ("fadd",): ``self.total = self.total + self.step`` (fractions.Fraction)
#: - ("genbump",): a generator of the file reads x, yields, writes x + 1 (run by list())
#: - ("mapbump",): ``map`` calls a function of the file, ``obj.x += 1``, twice
#: - ("cget", reg), ("cset", reg, c), ("cinc",): closures over a cell ``n``
#: - ("hbump",), ("hbumpc",), ("hgen",): methods of a class in a second module (a read and
#:   a write; with int() between; a generator that yields between)
#: - ("dsum", reg): ``reg = sum(self.d.values())``
#: - ("append", c), ("sort",), ("sortkey",), ("lpop", reg), ("llen", reg): a list ``L``
#: - ("qappend", c), ("qpop", reg) (popleft), ("qlen", reg): a collections.deque ``q``
Op = tuple[Any, ...]


# --- the shared state a program can use ----------------------------------------------


@dataclass(frozen=True)
class Store:
    """One shared variable: how the scenario file reaches it and how the model reads and
    writes it. ``key`` is its slot in the model's state (two stores can be two ways to one
    variable: a property and its backing attribute)."""

    name: str
    expr: str  # the Python expression in the scenario's methods
    key: str
    kind: str = "plain"  # plain, counter, pydefault, intdefault, property
    init: Any = 0


STORES: dict[str, Store] = {
    s.name: s
    for s in (
        Store("x", "self.x", "x"),
        Store("y", "self.y", "y"),
        Store("_p", "self._p", "_p"),
        Store("d:a", "self.d['a']", "d:a"),
        Store("d:b", "self.d['b']", "d:b"),
        Store("G", "G[0]", "G"),
        # collections.Counter: a present key is a C lookup; a missing one calls the
        # Python __missing__ (which returns 0 and stores nothing)
        Store("c:a", "self.c['a']", "c:a", "counter", 0),
        Store("c:m", "self.c['m']", "c:m", "counter", None),
        # collections.defaultdict: with a Python factory, and with int (C)
        Store("dd:k", "self.dd['k']", "dd:k", "pydefault", None),
        Store("di:k", "self.di['k']", "di:k", "intdefault", None),
        Store("ns.a", "self.ns.a", "ns.a"),  # types.SimpleNamespace
        Store("t0.v", "self.pair[0].v", "t0.v"),  # objects held in a tuple
        Store("t1.v", "self.pair[1].v", "t1.v"),
        Store("s.n", "self.sl.n", "s.n"),  # a class with __slots__
        Store("pv", "self.value", "pv", "property"),  # a property (Python getter, setter)
        Store("_pv", "self._pv", "pv"),  # the attribute behind it
        Store("h.v", "self.h.value", "h.v"),  # an object of a class from a second module
    )
}
BASE_KEYS = ("x", "y", "_p", "d:a", "d:b", "G")
#: Keys shown in the outcome when a program uses them, in this order, with the Python
#: expression that shows each and its initial value.
EXTRA_KEYS: dict[str, tuple[str, Any]] = {
    "c:a": ("self.c.get('a')", 0),
    "c:m": ("self.c.get('m')", None),
    "dd:k": ("self.dd.get('k')", None),
    "di:k": ("self.di.get('k')", None),
    "ns.a": ("self.ns.a", 0),
    "t0.v": ("self.pair[0].v", 0),
    "t1.v": ("self.pair[1].v", 0),
    "s.n": ("self.sl.n", 0),
    "pv": ("self._pv", 0),
    "h.v": ("self.h.value", 0),
    "n": ("self.cget()", 0),  # a closure's cell
    "f": ("self.total", Fraction(0)),  # a fractions.Fraction
    "L": ("list(self.L)", ()),  # a list
    "q": ("list(self.q)", ()),  # a collections.deque
}
LOCKS = ("lock", "lock2", "lock3")
FREE, DRIVER = -1, -2
#: Fraction's step (``self.total = self.total + self.step``).
STEP = Fraction(1, 3)


@dataclass(frozen=True)
class Program:
    """Threads' operations, with the initial values that differ from the defaults, the
    locks the setup holds (by the driver: any thread may release them), the bounds the
    corpus test compares it at (None: every schedule), and for some granularities the most
    preemptions it is compared at there (the finer ones have the big trees)."""

    threads: tuple[tuple[Op, ...], ...]
    init: tuple[tuple[str, Any], ...] = ()
    held: tuple[str, ...] = ()
    bounds: tuple[int | None, ...] = ()
    caps: tuple[tuple[str, int], ...] = ()

    @staticmethod
    def of(program: Program | Sequence[Sequence[Op]]) -> Program:
        if isinstance(program, Program):
            return program
        return Program(tuple(tuple(ops) for ops in program))


def program(
    *threads: Sequence[Op],
    init: dict[str, Any] | None = None,
    held: Sequence[str] = (),
    bounds: Sequence[int | None] = (),
    caps: dict[str, int] | None = None,
) -> Program:
    return Program(
        tuple(tuple(ops) for ops in threads),
        tuple((init or {}).items()),
        tuple(held),
        tuple(bounds),
        tuple((caps or {}).items()),
    )


# --- the model's items ---------------------------------------------------------------

Regs = dict[str, Any]
State = dict[str, Any]


@dataclass(frozen=True)
class Point:
    """A switch point at the granularities ``at``; with ``when``, only if that register of
    the thread is true when it gets there (a missing key's ``__missing__``)."""

    at: frozenset[str]
    when: str = ""


@dataclass(frozen=True)
class Act:
    """An action: ``run(state, regs, thread)`` returns the name of the exception it
    raises, or None. ``lock`` is set for an acquire (which blocks while the lock is held)."""

    run: Callable[[State, Regs, int], str | None]
    lock: str = ""


@dataclass(frozen=True)
class Branch:
    """If ``test(regs)`` is false, skip the next ``skip`` items; a taken jump is a switch
    point at ``taken``."""

    test: Callable[[Regs], bool]
    skip: int
    taken: frozenset[str] = NONE


@dataclass(frozen=True)
class Jump:
    skip: int


Item = Point | Act | Branch | Jump


def _read(key: str, reg: str) -> Act:
    def run(state: State, regs: Regs, t: int) -> None:
        regs[reg] = state[key]

    return Act(run)


def _write(key: str, reg: str, const: Any) -> Act:
    def run(state: State, regs: Regs, t: int) -> None:
        state[key] = regs[reg] + const

    return Act(run)


def read_items(store: Store, reg: str) -> list[Item]:
    """A read of ``store`` into ``reg`` in the scenario's own code."""
    key = store.key
    if store.kind == "counter":
        # dict's lookup in C; a missing key calls Counter.__missing__ (Python: its entry is
        # a switch point), which returns 0
        def lookup(state: State, regs: Regs, t: int) -> None:
            value = state[key]
            regs["_miss"] = value is None
            regs[reg] = 0 if value is None else value

        return [Act(lookup), Point(ALL, "_miss")]
    if store.kind == "pydefault":
        # defaultdict.__missing__ (C) calls the factory (Python: a switch point), then
        # stores what it returned and returns it (free-threaded: setdefault, which keeps a
        # value another thread stored meanwhile and returns that)
        def probe(state: State, regs: Regs, t: int) -> None:
            value = state[key]
            regs["_miss"] = value is None
            regs[reg] = value

        def fill(state: State, regs: Regs, t: int) -> None:
            if not regs["_miss"]:
                return
            if free_threaded() and state[key] is not None:
                regs[reg] = state[key]
            else:
                state[key] = regs[reg] = 0

        return [Act(probe), Point(ALL, "_miss"), Act(fill)]
    if store.kind == "intdefault":

        def filled(state: State, regs: Regs, t: int) -> None:
            if state[key] is None:
                state[key] = 0  # int() called from C: no switch point
            regs[reg] = state[key]

        return [Act(filled)]
    if store.kind == "property":
        # the getter starts (a switch point; at line its line, at opcode its instructions),
        # reads, returns (LOAD_ATTR is no call: no switch point after it on 3.10 either)
        return [Point(ALL), _read(key, reg), Point(OP)]
    return [_read(key, reg)]


def write_items(store: Store, reg: str, const: Any) -> list[Item]:
    """A write of ``reg + const`` to ``store`` in the scenario's own code."""
    if store.kind == "property":
        return [Point(ALL), _write(store.key, reg, const), Point(OP)]  # the setter
    # a C store (Counter and defaultdict have no __setitem__ of their own)
    return [_write(store.key, reg, const)]


def _error(name: str, test: Callable[[State, Regs], bool]) -> Act:
    def run(state: State, regs: Regs, t: int) -> str | None:
        return None if test(state, regs) else name

    return Act(run)


def _check(expr: str) -> Callable[[State, Regs], bool]:
    code = compile(expr, "<check>", "eval")

    def test(state: State, regs: Regs) -> bool:
        return bool(eval(code, {"__builtins__": {}}, dict(regs)))

    return test


CMP: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">=": operator.ge,
}


def reg(n: Any) -> str:
    return f"r{n}"


# --- every operation: its source lines and its items ------------------------------------


def lines_of(op: Op) -> list[str]:
    """The operation's source lines (relative indentation) in a thread's method."""
    kind = op[0]
    if kind == "read":
        return [f"r{op[2]} = {STORES[op[1]].expr}"]
    if kind == "write":
        return [f"{STORES[op[1]].expr} = r{op[2]} + {op[3]}"]
    if kind == "incr":
        return [f"{STORES[op[1]].expr} += {op[2]}"]
    if kind == "ccall":
        return [f"r{op[1]} = int(r{op[1]})"]
    if kind == "pycall":
        return [f"r{op[1]} = _same(r{op[1]})"]
    if kind == "pyread":
        return [f"r{op[2]} = _get_{_ident(op[1])}(self)"]
    if kind == "acquire":
        return [f"self.{_lock(op)}.acquire()"]
    if kind == "release":
        return [f"self.{_lock(op)}.release()"]
    if kind == "dincr":
        return [f"self.d[{op[1]!r}] = self.d.get({op[1]!r}, 0) + 1"]
    if kind == "assert":
        return [f"assert {STORES[op[1]].expr} == r{op[2]}"]
    if kind == "check":
        return [f"assert {op[1]}"]
    if kind == "if":
        _, lhs, cmp, const, then, orelse = _if(op)
        left = f"r{lhs}" if isinstance(lhs, int) else STORES[lhs].expr
        out = [f"if {left} {cmp} {const!r}:"]
        out += ["    " + line for o in then for line in lines_of(o)]
        if orelse:
            out.append("else:")
            out += ["    " + line for o in orelse for line in lines_of(o)]
        return out
    if kind == "fadd":
        return ["self.total = self.total + self.step"]
    if kind == "genbump":
        return ["list(_gen_x(self))"]
    if kind == "mapbump":
        return ["list(map(_bump_x, (self, self)))"]
    if kind == "cget":
        return [f"r{op[1]} = self.cget()"]
    if kind == "cset":
        return [f"self.cset(r{op[1]} + {op[2]})"]
    if kind == "cinc":
        return ["self.cinc()"]
    if kind == "hbump":
        return ["self.h.bump()"]
    if kind == "hbumpc":
        return ["self.h.bump_call()"]
    if kind == "hgen":
        return ["list(self.h.steps())"]
    if kind == "dsum":
        return [f"r{op[1]} = sum(self.d.values())"]
    if kind == "append":
        return [f"self.L.append({op[1]})"]
    if kind == "sort":
        return ["self.L.sort()"]
    if kind == "sortkey":
        return ["self.L.sort(key=_key)"]
    if kind == "lpop":
        return [f"r{op[1]} = self.L.pop()"]
    if kind == "llen":
        return [f"r{op[1]} = len(self.L)"]
    if kind == "qappend":
        return [f"self.q.append({op[1]})"]
    if kind == "qpop":
        return [f"r{op[1]} = self.q.popleft()"]
    if kind == "qlen":
        return [f"r{op[1]} = len(self.q)"]
    raise ValueError(op)


def _lock(op: Op) -> str:
    name = str(op[1]) if len(op) > 1 else "lock"
    if name not in LOCKS:
        raise ValueError(op)
    return name


def _if(op: Op) -> tuple[str, Any, str, Any, tuple[Op, ...], tuple[Op, ...]]:
    """("if", lhs, cmp, const, then_ops[, else_ops]); lhs: a register number or a store."""
    _, lhs, cmp, const, then, *rest = op
    orelse = tuple(rest[0]) if rest else ()
    if not then or cmp not in CMP:
        raise ValueError(op)
    return "if", lhs, cmp, const, tuple(then), orelse


def _ident(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def items_of(op: Op) -> list[Item]:
    """The actions of one operation and the switch points and branches among them."""
    kind = op[0]
    start = Point(LO)  # the line starts (and its first instruction)
    if kind == "read":
        return [start, *read_items(STORES[op[1]], reg(op[2]))]
    if kind == "write":
        return [start, *write_items(STORES[op[1]], reg(op[2]), op[3])]
    if kind == "incr":
        # one line: its read and write are one step at gil and at line, two at opcode
        store = STORES[op[1]]
        return [start, *read_items(store, "t"), Point(OP), *write_items(store, "t", op[2])]
    if kind == "ccall":
        return [start, Point(ALL)]  # after a C function returns
    if kind == "pycall":
        return [start, Point(ALL)]  # a Python function starts (its line, at line)
    if kind == "pyread":
        # a function of the scenario's file starts, reads, returns into this line
        return [start, Point(ALL), *read_items(STORES[op[1]], reg(op[2])), Point(PY_RETURN)]
    if kind == "acquire":
        name = _lock(op)

        def acquire(state: State, regs: Regs, t: int) -> None:
            state["lock:" + name] = t

        # the lock's own point; after the call returns
        return [start, Point(ALL), Act(acquire, name), Point(ALL)]
    if kind == "release":
        name = _lock(op)

        def release(state: State, regs: Regs, t: int) -> str | None:
            if state["lock:" + name] == FREE:
                return "RuntimeError"  # release unlocked lock
            state["lock:" + name] = FREE
            return None

        return [start, Act(release), Point(ALL)]  # after the call returns
    if kind == "dincr":
        key = f"d:{op[1]}"
        # dict.get is a C call: the GIL may change hands between the get and the store
        return [start, _read(key, "t"), Point(ALL), _write(key, "t", 1)]
    if kind == "assert":
        # a passing assert jumps past its raise (taken: a switch point on 3.10)
        test = _equal_to(reg(op[2]))
        read = read_items(STORES[op[1]], "t")
        return [start, *read, _error("AssertionError", test), Point(TAKEN)]
    if kind == "check":
        return [start, _error("AssertionError", _check(op[1])), Point(TAKEN)]
    if kind == "if":
        _, lhs, cmp, const, then, orelse = _if(op)
        body = [i for o in then for i in items_of(o)]
        other = [i for o in orelse for i in items_of(o)]
        test_reg = reg(lhs) if isinstance(lhs, int) else "t"
        head: list[Item] = [start]
        if not isinstance(lhs, int):
            head += read_items(STORES[lhs], "t")
        compare = CMP[cmp]

        def test(regs: Regs) -> bool:
            return compare(regs[test_reg], const)

        # the false condition's jump over the body is taken (3.10: a switch point); the
        # body's own end jumps over the else forward, which is never one
        if other:
            return [*head, Branch(test, len(body) + 1, TAKEN), *body, Jump(len(other)), *other]
        return [*head, Branch(test, len(body), TAKEN), *body]
    if kind == "fadd":
        # Fraction.__add__ is Python code: its entry (and the calls it makes) are switch
        # points between the read of self.total and the write
        def add(state: State, regs: Regs, t: int) -> None:
            state["f"] = regs["t"] + STEP

        return [start, _read("f", "t"), Point(ALL), Act(add)]
    if kind == "genbump":
        # list() (C) runs the generator of this file: it starts, reads x, yields; list
        # resumes it (a switch point), it writes x + 1; list returns
        return [
            start,
            Point(ALL),
            _read("x", "t"),
            Point(LO),  # the yield's line
            Point(ALL),  # resumed
            Point(LO),  # the write's line
            _write("x", "t", 1),
            Point(ALL),
        ]
    if kind == "mapbump":
        # map (C) calls a function of this file twice: each call starts (a switch point),
        # reads x and writes x + 1 in one line (split at opcode only); list returns
        once: list[Item] = [Point(ALL), _read("x", "t"), Point(OP), _write("x", "t", 1), Point(OP)]
        return [start, *once, *once, Point(ALL)]
    if kind == "cget":  # def cget(): return n  (a closure of setup's)
        return [start, Point(ALL), _read("n", reg(op[1])), Point(PY_RETURN)]
    if kind == "cset":  # def cset(v): nonlocal n; n = v
        return [start, Point(ALL), _write("n", reg(op[1]), op[2]), Point(PY_RETURN)]
    if kind == "cinc":  # def cinc(): nonlocal n; n += 1
        return [
            start,
            Point(ALL),
            _read("n", "t"),
            Point(OP),
            _write("n", "t", 1),
            Point(PY_RETURN),
        ]
    if kind == "hbump":
        # the second module's lines are not the scenario's: only its entry is a point
        return [start, Point(ALL), _read("h.v", "t"), _write("h.v", "t", 1), Point(PY_RETURN)]
    if kind == "hbumpc":  # with a C call (int) between its read and its write
        return [
            start,
            Point(ALL),
            _read("h.v", "t"),
            Point(ALL),
            _write("h.v", "t", 1),
            Point(PY_RETURN),
        ]
    if kind == "hgen":  # the second module's generator: reads, yields, is resumed, writes
        resumed = [_read("h.v", "t"), Point(ALL), _write("h.v", "t", 1)]
        return [start, Point(ALL), *resumed, Point(ALL)]
    if kind == "dsum":
        # d.values() (C) returns; sum (C) reads every value at once; it returns
        def total(state: State, regs: Regs, t: int) -> None:
            regs[reg(op[1])] = state["d:a"] + state["d:b"]

        return [start, Point(ALL), Act(total), Point(ALL)]
    if kind in ("append", "qappend"):
        key = "L" if kind == "append" else "q"
        value = op[1]

        def append(state: State, regs: Regs, t: int) -> None:
            state[key] = (*state[key], value)
            if key == "L":
                state["L:emptied"] = False  # it grew: no longer as a running sort left it

        return [start, Act(append), Point(ALL)]
    if kind == "sort":  # ints compare in C: the sort is one step

        def sort(state: State, regs: Regs, t: int) -> None:
            state["L"] = tuple(sorted(state["L"]))

        return [start, Act(sort), Point(ALL)]
    if kind == "sortkey":
        # list.sort empties the list while it calls the key (Python: a switch point, once
        # per item: one is as good as many, nothing of this thread's runs between them);
        # then puts the sorted items back, and raises ValueError if the list was appended
        # to meanwhile (what was appended is dropped)
        def begin(state: State, regs: Regs, t: int) -> None:
            regs["_saved"] = (state["L"], state["L:emptied"])
            regs["_items"] = bool(state["L"])
            state["L"], state["L:emptied"] = (), True

        def end(state: State, regs: Regs, t: int) -> str | None:
            modified = not state["L:emptied"]
            saved, flag = regs["_saved"]
            state["L"], state["L:emptied"] = tuple(sorted(saved)), flag
            return "ValueError" if modified else None

        return [start, Act(begin), Point(ALL, "_items"), Act(end), Point(ALL)]
    if kind in ("lpop", "qpop"):
        key = "L" if kind == "lpop" else "q"
        into = reg(op[1])

        def pop(state: State, regs: Regs, t: int) -> str | None:
            items = state[key]
            if not items:
                return "IndexError"
            if key == "L":
                regs[into], state[key] = items[-1], items[:-1]
                state["L:emptied"] = False
            else:
                regs[into], state[key] = items[0], items[1:]
            return None

        return [start, Act(pop), Point(ALL)]
    if kind in ("llen", "qlen"):
        key = "L" if kind == "llen" else "q"
        into = reg(op[1])

        def length(state: State, regs: Regs, t: int) -> None:
            regs[into] = len(state[key])

        return [start, Act(length), Point(ALL)]
    raise ValueError(op)


def _equal_to(name: str) -> Callable[[State, Regs], bool]:
    def test(state: State, regs: Regs) -> bool:
        return bool(regs["t"] == regs[name])

    return test


# --- what a program uses ------------------------------------------------------------


def walk(ops: Sequence[Op]) -> list[Op]:
    """Every operation, those inside ``if`` bodies too."""
    found: list[Op] = []
    for op in ops:
        found.append(op)
        if op[0] == "if":
            _, _, _, _, then, orelse = _if(op)
            found += walk(then) + walk(orelse)
    return found


def keys_used(prog: Program) -> set[str]:
    keys: set[str] = set()
    for ops in prog.threads:
        for op in walk(ops):
            kind = op[0]
            if kind in ("read", "write", "incr", "assert", "pyread", "if"):
                if not isinstance(op[1], int):  # (an if on a register reads nothing)
                    keys.add(STORES[op[1]].key)
            elif kind == "fadd":
                keys.add("f")
            elif kind in ("cget", "cset", "cinc"):
                keys.add("n")
            elif kind in ("hbump", "hbumpc", "hgen"):
                keys.add("h.v")
            elif kind in ("append", "sort", "sortkey", "lpop", "llen"):
                keys.add("L")
            elif kind in ("qappend", "qpop", "qlen"):
                keys.add("q")
    return keys


def kinds_used(prog: Program) -> set[str]:
    return {op[0] for ops in prog.threads for op in walk(ops)}


def registers(ops: Sequence[Op]) -> list[int]:
    regs = set()
    for op in walk(ops):
        kind = op[0]
        if kind in ("read", "write", "assert", "pyread"):
            regs.add(int(op[2]))
        elif kind in ("ccall", "pycall", "cget", "cset", "dsum", "lpop", "llen", "qpop", "qlen"):
            regs.add(int(op[1]))
        elif kind == "if" and isinstance(op[1], int):
            regs.add(op[1])
        elif kind == "check":
            regs.update(int(w[1:]) for w in _words(op[1]) if w[:1] == "r" and w[1:].isdigit())
    return sorted(regs)


def _words(expr: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in expr).split()


def initial(prog: Program) -> State:
    state: State = {store.key: store.init for store in STORES.values()}
    state.update({k: v for k, (_, v) in EXTRA_KEYS.items()})
    state["L:emptied"] = False
    for name, value in prog.init:
        state[STORES[name].key if name in STORES else name] = value
    for name in LOCKS:
        state["lock:" + name] = DRIVER if name in prog.held else FREE
    return state


def label(state: State, keys: set[str]) -> str:
    text = (
        f"x={state['x']} y={state['y']} p={state['_p']} a={state['d:a']} "
        f"b={state['d:b']} g={state['G']}"
    )
    for key in EXTRA_KEYS:
        if key in keys:
            value = state[key]
            text += f" {key}={list(value) if isinstance(value, tuple) else value}"
    return text


# --- the scenario file --------------------------------------------------------------


def helper_module(name: str) -> str:
    return f"{name}_helper"


HELPER = '''\
"""The second module: a class whose methods the scenario's workers call."""


class Helper:
    def __init__(self, value):
        self.value = value

    def bump(self):
        v = self.value
        self.value = v + 1

    def bump_call(self):
        v = self.value
        v = int(v)
        self.value = v + 1

    def steps(self):
        v = self.value
        yield v
        self.value = v + 1
'''


def files(name: str, prog: Program | Sequence[Sequence[Op]]) -> dict[str, str]:
    """The scenario file and the modules next to it: file stem -> source."""
    prog = Program.of(prog)
    found = {name: render(name, prog)}
    if "h.v" in keys_used(prog):
        found[helper_module(name)] = HELPER
    return found


def render(name: str, prog: Program | Sequence[Sequence[Op]]) -> str:
    """The program as a user scenario file (each operation one source line)."""
    prog = Program.of(prog)
    keys = keys_used(prog)
    kinds = kinds_used(prog)
    start = initial(prog)
    locks = [n for n in LOCKS if n == "lock" or _uses_lock(prog, n)]
    imports = ["import collections", "import threading", "import types"]
    imports += ["from fractions import Fraction", "", "import syncdemo"]
    if "h.v" in keys:
        imports.append(f"import {helper_module(name)}")
    lines = [*imports, "", f"G = [{start['G']!r}]", "", "", "def _same(value):", "    return value"]
    pyread = sorted({op[1] for ops in prog.threads for op in walk(ops) if op[0] == "pyread"})
    for store in pyread:
        lines += ["", "", f"def _get_{_ident(store)}(self):", f"    return {STORES[store].expr}"]
    if "dd:k" in keys:
        lines += ["", "", "def _zero():", "    return 0"]
    if "sortkey" in kinds:
        lines += ["", "", "def _key(value):", "    return value"]
    if "mapbump" in kinds:
        lines += ["", "", "def _bump_x(obj):", "    obj.x += 1"]
    if "genbump" in kinds:
        lines += ["", "", "def _gen_x(obj):", "    v = obj.x", "    yield v", "    obj.x = v + 1"]
    if keys & {"t0.v", "t1.v"}:
        lines += ["", "", "class Box:", "    def __init__(self, v):", "        self.v = v"]
    if "s.n" in keys:
        lines += ["", "", "class Slotted:", '    __slots__ = ("n",)', ""]
        lines += ["    def __init__(self, n):", "        self.n = n"]
    lines += [
        "",
        "",
        f"@syncdemo.scenario(name={name!r})",
        "class Program:",
        f"    threads = {len(prog.threads)}",
        "    iterations = 1",
        "",
        "    def setup(self):",
        f"        G[0] = {start['G']!r}",
        f"        self.x = {start['x']!r}",
        f"        self.y = {start['y']!r}",
        f"        self._p = {start['_p']!r}",
        f"        self.d = {{'a': {start['d:a']!r}, 'b': {start['d:b']!r}}}",
    ]
    if keys & {"c:a", "c:m"}:
        present = {k[2:]: start[k] for k in ("c:a", "c:m") if k in keys and start[k] is not None}
        lines.append(f"        self.c = collections.Counter({present!r})")
    for key, attr, factory in (("dd:k", "dd", "_zero"), ("di:k", "di", "int")):
        if key in keys:
            there = {} if start[key] is None else {"k": start[key]}
            lines.append(f"        self.{attr} = collections.defaultdict({factory}, {there!r})")
    if "ns.a" in keys:
        lines.append(f"        self.ns = types.SimpleNamespace(a={start['ns.a']!r})")
    if keys & {"t0.v", "t1.v"}:
        lines.append(f"        self.pair = (Box({start['t0.v']!r}), Box({start['t1.v']!r}))")
    if "s.n" in keys:
        lines.append(f"        self.sl = Slotted({start['s.n']!r})")
    if "pv" in keys:
        lines.append(f"        self._pv = {start['pv']!r}")
    if "h.v" in keys:
        lines.append(f"        self.h = {helper_module(name)}.Helper({start['h.v']!r})")
    if "f" in keys:
        lines.append(f"        self.total = Fraction({str(start['f'])!r})")
        lines.append(f"        self.step = Fraction({str(STEP)!r})")
    if "L" in keys:
        lines.append(f"        self.L = {list(start['L'])!r}")
    if "q" in keys:
        lines.append(f"        self.q = collections.deque({list(start['q'])!r})")
    for lock in locks:
        lines.append(f"        self.{lock} = threading.Lock()")
    for lock in prog.held:
        lines.append(f"        self.{lock}.acquire()")
    if "n" in keys:
        lines += textwrap.indent(CLOSURES.format(n=start["n"]), " " * 8).splitlines()
    if "pv" in keys:
        lines += ["", *textwrap.indent(PROPERTY, " " * 4).splitlines()]
    lines += ["", "    def worker(self, thread):"]
    for i in range(len(prog.threads)):
        lines.append(f"        {'if' if i == 0 else 'elif'} thread == {i}:")
        lines.append(f"            self.t{i}()")
    for i, ops in enumerate(prog.threads):
        lines += ["", f"    def t{i}(self):"]
        lines += [f"        r{r} = 0" for r in registers(ops)]
        lines += [f"        {line}" for op in ops for line in lines_of(op)]
        if not ops:
            lines.append("        pass")
    extras = "".join(
        f'\n            f" {key}={{{expr}}}"'
        for key, (expr, _) in EXTRA_KEYS.items()
        if key in keys
    )
    lines += [
        "",
        "    def outcome(self):",
        "        return (",
        '            f\'x={self.x} y={self.y} p={self._p} a={self.d["a"]} b={self.d["b"]} \'',
        f"            f'g={{G[0]}}'{extras}",
        "        )",
        "",
        "    def check(self):",
        "        return True",
        "",
    ]
    return "\n".join(lines)


CLOSURES = """\
n = {n}

def cget():
    return n

def cset(v):
    nonlocal n
    n = v

def cinc():
    nonlocal n
    n += 1

self.cget, self.cset, self.cinc = cget, cset, cinc
"""

PROPERTY = """\
@property
def value(self):
    return self._pv

@value.setter
def value(self, v):
    self._pv = v
"""


def _uses_lock(prog: Program, name: str) -> bool:
    return name in prog.held or any(
        op[0] in ("acquire", "release") and _lock(op) == name
        for ops in prog.threads
        for op in walk(ops)
    )


# --- the tree ---------------------------------------------------------------------------


def outcomes(
    threads: Program | Sequence[Sequence[Op]], granularity: str, bound: int | None
) -> set[str]:
    """Every final state (or "deadlock", "exception (AssertionError)") reachable with at
    most ``bound`` preemptions (None: any number), switching at ``granularity``."""
    return enumerate_tree(threads, granularity, bound)[0]


class TooBig(Exception):
    """The tree has more leaves than the cap."""


def enumerate_tree(
    threads: Program | Sequence[Sequence[Op]], granularity: str, bound: int | None, cap: int = 0
) -> tuple[set[str], int]:
    """The outcomes, and how many schedules (leaves of the tree) reach them; raises
    :class:`TooBig` past ``cap`` leaves (0: no cap)."""
    prog = Program.of(threads)
    keys = keys_used(prog)
    programs: list[list[Item]] = [
        [Point(ALL)] + [i for op in ops for i in items_of(op)] for ops in prog.threads
    ]
    found: set[str] = set()
    leaves = [0]

    def active(item: Item, regs: Regs) -> bool:
        return (
            isinstance(item, Point)
            and granularity in item.at
            and (not item.when or bool(regs.get(item.when)))
        )

    def run_step(
        t: int, state: State, pcs: list[int], regs: list[Regs], errors: dict[int, str]
    ) -> None:
        """Run thread ``t`` from the point it stands at to the next point of the
        granularity (or its end, or an exception, which ends it)."""
        items = programs[t]
        pc = pcs[t]
        if pc < len(items) and active(items[pc], regs[t]):
            pc += 1  # past the point it stands at
        while pc < len(items):
            item = items[pc]
            if isinstance(item, Point):
                if active(item, regs[t]):
                    break
                pc += 1
            elif isinstance(item, Branch):
                if item.test(regs[t]):
                    pc += 1
                else:
                    pc += 1 + item.skip
                    if granularity in item.taken:
                        break
            elif isinstance(item, Jump):
                pc += 1 + item.skip
            else:
                error = item.run(state, regs[t], t)
                if error is not None:
                    errors[t] = error
                    pc = len(items)
                    break
                pc += 1
        pcs[t] = pc

    def enabled(t: int, state: State, pcs: list[int], regs: list[Regs]) -> bool:
        """Whether the next action of its step is not an acquire of a held lock."""
        items = programs[t]
        pc = pcs[t]
        mine = regs[t]
        if pc < len(items) and active(items[pc], mine):
            pc += 1
        while pc < len(items):
            item = items[pc]
            if isinstance(item, Point):
                if active(item, mine):
                    return True
                pc += 1
            elif isinstance(item, Branch):
                if item.test(mine):
                    pc += 1
                else:
                    pc += 1 + item.skip
                    if granularity in item.taken:
                        return True
            elif isinstance(item, Jump):
                pc += 1 + item.skip
            else:
                return not item.lock or state["lock:" + item.lock] == FREE
        return True

    def explore(
        state: State,
        pcs: list[int],
        regs: list[Regs],
        errors: dict[int, str],
        last: int | None,
        used: int,
    ) -> None:
        live = [t for t in range(len(programs)) if pcs[t] < len(programs[t])]
        if not live:
            if errors:
                found.add(f"exception ({errors[min(errors)]})")
            else:
                found.add(label(state, keys))
            leaves[0] += 1
            if cap and leaves[0] > cap:
                raise TooBig
            return
        choices = [t for t in live if enabled(t, state, pcs, regs)]
        if not choices:
            found.add("deadlock")
            leaves[0] += 1
            return
        for t in choices:
            cost = 1 if last is not None and last in choices and t != last else 0
            if bound is not None and used + cost > bound:
                continue
            s2, p2, r2, e2 = dict(state), list(pcs), [dict(r) for r in regs], dict(errors)
            run_step(t, s2, p2, r2, e2)
            explore(s2, p2, r2, e2, t, used + cost)

    regs0: list[Regs] = [{f"r{r}": 0 for r in range(10)} | {"t": 0} for _ in programs]
    explore(initial(prog), [0] * len(programs), regs0, {}, None, 0)
    return found, leaves[0]
