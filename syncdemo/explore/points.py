"""Where a controlled thread may be switched: the switch points of each granularity.

- ``line``: before each source line of the scenario's own code.
- ``opcode``: before each bytecode instruction of it (what a free-threaded build can
  interleave: ``self.n += 1`` splits into its read, add and write).
- ``gil``: only where CPython 3.10+'s GIL can change hands in it: function entry, right
  after a call returns, a backward jump (the interpreter looks at its "eval breaker" only
  there). A schedule found at this granularity can happen on a GIL build.

Primitive operations and ``time.sleep`` are switch points at every granularity; they are
reported by primitives.py, not here. Only code objects of the traced files are split:
syncdemo's harness and the standard library run between two switch points unsplit.

Two backends: ``sys.settrace`` (3.10, 3.11; ``f_trace_opcodes`` for instructions) and
``sys.monitoring`` (3.12+, local events on the scenario's code objects only), because
opcode stepping through settrace gave nondeterministic replays or crashed 3.12.1/3.13.0.
"""

from __future__ import annotations

import dis
import sys
import types
from collections.abc import Iterable, Iterator
from typing import Any

from syncdemo.explore import scheduler

GRANULARITIES = ("line", "opcode", "gil")

_CALLS = frozenset(
    {"CALL", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_FUNCTION_EX", "CALL_METHOD", "CALL_KW"}
)


def code_objects(
    modules: Iterable[types.ModuleType], files: frozenset[str]
) -> list[types.CodeType]:
    """Every code object defined in ``modules`` whose file is one of ``files``: module-level
    functions, methods (also static/class methods and properties), nested functions and
    lambdas."""
    found: dict[int, types.CodeType] = {}

    def add_code(code: types.CodeType) -> None:
        if code.co_filename not in files or id(code) in found:
            return
        found[id(code)] = code
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                add_code(const)

    def add(obj: Any, depth: int) -> None:
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        if isinstance(obj, property):
            for f in (obj.fget, obj.fset, obj.fdel):
                if f is not None:
                    add(f, depth)
            return
        code = getattr(obj, "__code__", None)
        if isinstance(code, types.CodeType):
            add_code(code)
        elif isinstance(obj, type) and depth < 3:
            for value in vars(obj).values():
                add(value, depth + 1)

    for module in modules:
        for value in vars(module).values():
            add(value, 0)
    return list(found.values())


def call_offsets(code: types.CodeType) -> frozenset[int]:
    """Offsets of the instructions that call something."""
    return frozenset(i.offset for i in dis.get_instructions(code) if i.opname in _CALLS)


def after_call_offsets(code: types.CodeType) -> frozenset[int]:
    """Offsets of the instructions right after a call (where the call has returned)."""
    out = set()
    previous = None
    for i in dis.get_instructions(code):
        if previous is not None and previous in _CALLS:
            out.add(i.offset)
        previous = i.opname
    return frozenset(out)


def line_starts(code: types.CodeType) -> frozenset[int]:
    """Offsets where a line begins, and jump targets: where a LINE event may come."""
    starts = {offset for offset, _ in dis.findlinestarts(code)}
    starts.update(i.offset for i in dis.get_instructions(code) if i.is_jump_target)
    return frozenset(starts)


def make_tracer(granularity: str, codes: list[types.CodeType]) -> Any:
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}")
    if sys.version_info >= (3, 12):
        return MonitoringTracer(granularity, codes)
    return SettraceTracer(granularity, codes)


class _Frame:
    """The local trace function of one traced frame (settrace backend)."""

    __slots__ = ("calls", "granularity", "prev")

    def __init__(self, granularity: str, calls: frozenset[int]) -> None:
        self.granularity = granularity
        self.calls = calls
        self.prev = -1

    def __call__(self, frame: types.FrameType, event: str, arg: Any) -> _Frame:
        ctrl = scheduler.active()
        if ctrl is None:
            return self
        if event == "line":
            ctrl.line(frame.f_code.co_filename, frame.f_lineno)
        elif event == "opcode":
            if self.granularity == "opcode":
                ctrl.point()
            else:
                offset = frame.f_lasti
                prev = self.prev
                self.prev = offset
                if prev >= 0 and (prev in self.calls or offset < prev):
                    ctrl.point()
        return self


class SettraceTracer:
    """``sys.settrace`` in each controlled thread; only the traced code gets a local
    trace function (and, for opcode and gil, instruction events)."""

    def __init__(self, granularity: str, codes: list[types.CodeType]) -> None:
        self.granularity = granularity
        self.calls = {c: call_offsets(c) for c in codes}

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def _global(self, frame: types.FrameType, event: str, arg: Any) -> _Frame | None:
        if event != "call":
            return None
        calls = self.calls.get(frame.f_code)
        if calls is None:
            return None
        if self.granularity != "line":
            frame.f_trace_opcodes = True
        if self.granularity == "gil":
            ctrl = scheduler.active()
            if ctrl is not None:
                ctrl.point()  # function entry
        return _Frame(self.granularity, calls)

    def enter_thread(self) -> None:
        sys.settrace(self._global)

    def leave_thread(self) -> None:
        sys.settrace(None)


class MonitoringTracer:
    """``sys.monitoring`` (3.12+): LINE, and INSTRUCTION / PY_START / JUMP events, set as
    local events on the traced code objects only."""

    def __init__(self, granularity: str, codes: list[types.CodeType]) -> None:
        self.granularity = granularity
        self.codes = codes
        self.after_call = {c: after_call_offsets(c) for c in codes}
        self.starts = {c: line_starts(c) for c in codes}
        self._last: dict[int, tuple[types.CodeType, int, int]] = {}
        self.tool: int | None = None

    def start(self) -> None:
        mon: Any = getattr(sys, "monitoring")  # noqa: B009 (3.12+ only; mypy runs on 3.11)
        for tool in (4, 3, 2, 1, 0):
            if mon.get_tool(tool) is None:
                mon.use_tool_id(tool, "syncdemo explore")
                self.tool = tool
                break
        else:
            raise RuntimeError("every sys.monitoring tool id is taken")
        ev = mon.events
        events = ev.LINE
        mon.register_callback(tool, ev.LINE, self._line)
        if self.granularity == "opcode":
            events |= ev.INSTRUCTION
            mon.register_callback(tool, ev.INSTRUCTION, self._instruction)
        elif self.granularity == "gil":
            events |= ev.INSTRUCTION | ev.PY_START | ev.JUMP
            mon.register_callback(tool, ev.INSTRUCTION, self._after_call)
            mon.register_callback(tool, ev.PY_START, self._start)
            mon.register_callback(tool, ev.JUMP, self._jump)
        for code in self.codes:
            mon.set_local_events(tool, code, events)
        mon.restart_events()

    def stop(self) -> None:
        mon: Any = getattr(sys, "monitoring")  # noqa: B009
        tool = self.tool
        if tool is None:
            return
        for code in self.codes:
            mon.set_local_events(tool, code, 0)
        for event in (
            mon.events.LINE,
            mon.events.INSTRUCTION,
            mon.events.PY_START,
            mon.events.JUMP,
        ):
            mon.register_callback(tool, event, None)
        mon.free_tool_id(tool)
        self.tool = None

    def enter_thread(self) -> None:
        pass

    def leave_thread(self) -> None:
        pass

    def _line(self, code: types.CodeType, line: int) -> None:
        # 3.12.1 sometimes reports a LINE event for a forward jump within one line, and
        # not in every run. As settrace does: a new line, or a jump back, counts.
        frame = sys._getframe(1)
        offset = frame.f_lasti
        key = id(frame)
        last = self._last.get(key)
        self._last[key] = (code, line, offset)
        if last is not None and last[0] is code and last[1] == line and offset > last[2]:
            return
        if offset not in self.starts.get(code, ()):
            return
        ctrl = scheduler.active()
        if ctrl is not None:
            ctrl.line(code.co_filename, line)

    @staticmethod
    def _instruction(code: types.CodeType, offset: int) -> None:
        ctrl = scheduler.active()
        if ctrl is not None:
            ctrl.point()

    def _after_call(self, code: types.CodeType, offset: int) -> Any:
        if offset not in self.after_call.get(code, ()):
            return getattr(sys, "monitoring").DISABLE  # noqa: B009
        ctrl = scheduler.active()
        if ctrl is not None:
            ctrl.point()
        return None

    @staticmethod
    def _start(code: types.CodeType, offset: int) -> None:
        ctrl = scheduler.active()
        if ctrl is not None:
            ctrl.point()

    @staticmethod
    def _jump(code: types.CodeType, offset: int, destination: int) -> None:
        if destination < offset:
            ctrl = scheduler.active()
            if ctrl is not None:
                ctrl.point()


def iter_modules(files: Iterable[str]) -> Iterator[types.ModuleType]:
    """The loaded modules whose file is one of ``files``."""
    wanted = set(files)
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) in wanted:
            yield module
