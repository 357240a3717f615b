"""Where a controlled thread may be switched: the switch points of each granularity.

They come from the granularity and the code alone, never from what the tracker saw, and
form a lattice, ``gil`` ⊆ ``line`` ⊆ ``opcode``:

- ``gil``: where the running CPython can hand the GIL to another thread, in *any* Python
  code a controlled thread runs (the scenario's files, the user's other modules, the
  standard library, syncdemo's harness), but not in the explorer's own machinery. CPython
  switches threads only where its interpreter loop checks the "eval breaker":

  - **3.10** (``Python/ceval.c``): at the top of ``_PyEval_EvalFrameDefault`` (a function
    starts, a generator or coroutine resumes), after every ``CALL_FUNCTION``,
    ``CALL_FUNCTION_KW``, ``CALL_FUNCTION_EX`` and ``CALL_METHOD`` returns, whatever was
    called (``CHECK_EVAL_BREAKER()`` follows each), and at ``JUMP_ABSOLUTE`` and the
    ``POP_JUMP_IF_*`` / ``JUMP_IF_*`` jumps when taken. Taken forward jumps are counted
    too: more switch points than CPython has only add schedules, never hide one.
  - **3.11** (``Python/ceval.c``): ``RESUME`` (function start, resume after a yield),
    ``JUMP_BACKWARD`` and the backward ``POP_JUMP_BACKWARD_IF_*``, and after a ``CALL`` of
    anything but a Python function (a C function, a type, a bound C method): a call of a
    Python function pushes its frame in place and the ``RETURN_VALUE`` goes straight back
    to the caller, so a return from Python code is no longer a switch point.
  - **3.12, 3.13** (``Python/bytecodes.c``): ``RESUME`` (start and resume),
    ``JUMP_BACKWARD``, and after ``CALL`` / ``CALL_FUNCTION_EX`` of anything but a Python
    function (the specialised ``CALL_BUILTIN_*`` / ``CALL_METHOD_DESCRIPTOR_*`` forms check
    it too; a few, such as ``CALL_LEN``, do not, and counting them anyway only adds
    schedules).

  Blocking calls that release the GIL (``time.sleep``, a lock that is held) are switch
  points too (reported by patching.py and primitives.py).
- ``line``: every ``gil`` point, plus the start of each source line of the scenario's own
  files, plus every lock operation.
- ``opcode``: every ``line`` point, plus every bytecode instruction of the scenario's own
  files (what a free-threaded build can interleave: ``self.n += 1`` splits into its read,
  add and write).

Two backends: ``sys.settrace`` (3.10, 3.11: ``f_trace_opcodes`` for instructions, which
is where the call and jump rules are read) and ``sys.monitoring`` (3.12+: ``PY_START``,
``PY_RESUME``, backward ``JUMP``, ``C_RETURN``, ``LINE`` and ``INSTRUCTION``), because
instruction stepping through settrace gave nondeterministic replays or crashed
3.12.1/3.13.0.
"""

from __future__ import annotations

import dis
import os
import sys
import types
from collections.abc import Iterable, Iterator
from typing import Any

from syncdemo.explore import bytecode, scheduler

GRANULARITIES = ("line", "opcode", "gil")

#: The explorer's own machinery: never split, never a switch point (in a real run it
#: does not exist: the scheduler, the tracker's containers and the controlled locks
#: stand for C code or for nothing).
MACHINERY = os.path.dirname(os.path.abspath(__file__)) + os.sep

#: syncdemo's harness around a worker (its ThreadContext, the engine's TracedLock, the
#: loop that calls a user class's worker): it touches only the thread's own context and
#: the engine's bookkeeping, never what the workers share, so it runs unsplit, with
#: whatever it calls outside the scenario's code.
_PACKAGE = os.path.dirname(MACHINERY.rstrip(os.sep))

HARNESS = frozenset(
    os.path.join(_PACKAGE, *where)
    for where in (("engine", "context.py"), ("engine", "locks.py"), ("scenarios", "user.py"))
)

#: The frames where the machinery or the harness hands a thread over to code it did not
#: write (file, function name): what they call is run as a thread's own code would be
#: (the gil rule, in any file), not as theirs: a scenario's worker (explore/target.py), a
#: user class's worker or plain function (scenarios/user.py), a built-in lesson called
#: once an iteration (engine/context.py), a thread a worker started (explore/patching.py).
HANDS_OVER = frozenset(
    {
        (os.path.join(MACHINERY, "target.py"), "body"),
        (os.path.join(MACHINERY, "patching.py"), "body"),
        (os.path.join(_PACKAGE, "scenarios", "user.py"), "call_worker"),
        (os.path.join(_PACKAGE, "scenarios", "user.py"), "call_function"),
        (os.path.join(_PACKAGE, "engine", "context.py"), "call_lesson"),
    }
)


def hands_over(frame: types.FrameType) -> bool:
    """Whether ``frame`` is one where the harness hands over (:data:`HANDS_OVER`)."""
    code = frame.f_code
    return (code.co_filename, code.co_name) in HANDS_OVER


_GENERATOR_FLAGS = 0x20 | 0x80 | 0x200  # CO_GENERATOR, CO_COROUTINE, CO_ASYNC_GENERATOR

SKIP, OTHER, OWN = 0, 1, 2


def code_objects(
    modules: Iterable[types.ModuleType], files: frozenset[str], roots: Iterable[Any] = ()
) -> list[types.CodeType]:
    """Every code object defined in ``modules`` (and in ``roots``: classes, functions)
    whose file is one of ``files``: module-level functions, methods (also static/class
    methods and properties), nested functions and lambdas."""
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
    for root in roots:
        add(root, 0)
    return list(found.values())


def line_starts(code: types.CodeType) -> frozenset[int]:
    """Offsets where a line begins, and jump targets: where a LINE event may come."""
    starts = {offset for offset, _ in dis.findlinestarts(code)}
    starts.update(i.offset for i in dis.get_instructions(code) if i.is_jump_target)
    return frozenset(starts)


def make_tracer(granularity: str, files: frozenset[str], codes: list[types.CodeType]) -> Any:
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}")
    if sys.version_info >= (3, 12):
        return MonitoringTracer(granularity, files, codes)
    return SettraceTracer(granularity, files, codes)


class _Scope:
    """Which code is the scenario's own, which is machinery, and which is other code."""

    def __init__(
        self, granularity: str, files: frozenset[str], codes: Iterable[types.CodeType] = ()
    ) -> None:
        self.granularity = granularity
        self.files = files
        self.codes = frozenset(codes)
        """The scenario's own code objects: where its file is no file ("<string>" for
        `python -c`, "<stdin>"), what else has that name (a dataclass's generated methods,
        any exec'd text) is not the scenario's."""
        self._kinds: dict[types.CodeType, int] = {}

    def kind(self, code: types.CodeType) -> int:
        kind = self._kinds.get(code)
        if kind is None:
            name = code.co_filename
            if name in self.files and (code in self.codes or not name.startswith("<")):
                kind = OWN
            elif name.startswith(MACHINERY) or name in HARNESS:
                kind = SKIP
            else:
                kind = OTHER
            self._kinds[code] = kind
        return kind

    def called(self, code: types.CodeType, caller: types.FrameType | None) -> int:
        """The kind of ``code`` run from ``caller``: what the machinery or the harness
        calls outside the scenario's code is theirs too (a dataclass's generated
        ``__init__``, a ``Thread`` and the Event it makes), however deep: the callers are
        followed up to the first frame of the scenario's own code or of the machinery."""
        kind = self.kind(code)
        depth = 0
        while kind == OTHER and caller is not None and depth < 64:
            caller_kind = self.kind(caller.f_code)
            if caller_kind == SKIP:
                if hands_over(caller):
                    break
                return SKIP
            if caller_kind == OWN:
                break
            caller, depth = caller.f_back, depth + 1
        return kind


class _Code:
    """What the settrace backend needs to know of one code object's instructions."""

    __slots__ = ("branches", "calls", "code", "jumps", "kind")

    def __init__(self, code: types.CodeType, kind: int) -> None:
        self.code = code
        self.kind = kind
        self.calls = bytecode.calls(code)
        self.jumps, self.branches = bytecode.jumps(code)


class _Frame:
    """The local trace function of one traced frame (settrace backend)."""

    __slots__ = ("code", "info", "opcode", "prev", "python_callee", "tracer")

    def __init__(self, tracer: SettraceTracer, code: types.CodeType, info: _Code) -> None:
        self.tracer = tracer
        self.code = code
        self.info = info
        self.opcode = tracer.granularity == "opcode" and info.kind == OWN
        self.prev = -1
        self.python_callee = False

    def __call__(self, frame: types.FrameType, event: str, arg: Any) -> _Frame:
        ctrl = scheduler.active()
        if ctrl is None:
            return self
        if event == "line":
            if self.info.kind == OWN:
                here = (id(frame), self.code, frame.f_lasti)
                prev = self.prev
                if prev > frame.f_lasti and prev in self.info.jumps:
                    # a loop's jump back lands on a line start: one switch point, the loop's
                    self.prev = -2
                    ctrl.loop((self.code, prev), (self.code.co_filename, frame.f_lineno), here)
                else:
                    ctrl.line(self.code.co_filename, frame.f_lineno, here)
            return self
        if event != "opcode":
            return self
        info = self.info
        offset = frame.f_lasti
        prev, self.prev = self.prev, offset
        if prev == -2:
            return self  # the line event of this instruction was its loop point
        where = None if info.kind == OWN else (self.code.co_filename, frame.f_lineno)
        if offset in info.calls:
            self.python_callee = False
        here = (id(frame), self.code, offset)
        if self.opcode:
            ctrl.point(None, here)
            return self
        if prev < 0:
            return self
        if prev in info.calls:
            if self.tracer.every_call or not self.python_callee:
                ctrl.point(where, here)
        elif prev in info.jumps:
            if offset < prev:
                ctrl.loop((self.code, prev), where, here)
            elif (
                self.tracer.every_call
                and prev in info.branches
                and offset != bytecode.after(info.code, prev)
            ):
                ctrl.point(where, here)  # 3.10: a taken branch checks the eval breaker
        return self


class SettraceTracer:
    """``sys.settrace`` in each controlled thread: every frame outside the explorer's
    machinery gets a local trace function with instruction events."""

    def __init__(
        self, granularity: str, files: frozenset[str], codes: list[types.CodeType]
    ) -> None:
        self.granularity = granularity
        self.scope = _Scope(granularity, files, codes)
        self.every_call = sys.version_info < (3, 11)
        """3.10 checks the eval breaker after every call, Python functions' included."""
        self._codes: dict[types.CodeType, _Code] = {}

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def _global(self, frame: types.FrameType, event: str, arg: Any) -> _Frame | None:
        if event != "call":
            return None
        code = frame.f_code
        back = frame.f_back
        untraced = back is not None and not isinstance(back.f_trace, _Frame)
        if untraced and self.scope.kind(code) != OWN and not hands_over(back):  # type: ignore[arg-type]
            return None  # called by the machinery, the harness, or what they called
        info = self._codes.get(code)
        if info is None:
            info = self._codes[code] = _Code(code, self.scope.kind(code))
        if info.kind == SKIP:
            return None
        if back is not None and not code.co_flags & _GENERATOR_FLAGS:
            caller = back.f_trace
            if isinstance(caller, _Frame) and not code.co_name.startswith("__"):
                caller.python_callee = True  # called in place (3.11): no switch at its return
        frame.f_trace_opcodes = True
        local = _Frame(self, code, info)
        ctrl = scheduler.active()
        if ctrl is not None:
            ctrl.entered()
        fresh = frame.f_lasti <= 0
        if ctrl is not None and not (info.kind == OWN and fresh and self.granularity != "gil"):
            # a function starts or a generator resumes (at line granularity, a fresh frame
            # of the scenario's own code reaches its first line at once: that is the point)
            where = None if info.kind == OWN else (code.co_filename, frame.f_lineno)
            ctrl.point(where, (id(frame), code, 0) if fresh else None)
        return local

    def enter_thread(self) -> None:
        sys.settrace(self._global)

    def leave_thread(self) -> None:
        sys.settrace(None)


class MonitoringTracer:
    """``sys.monitoring`` (3.12+): PY_START, PY_RESUME, JUMP, CALL/C_RETURN and LINE as
    global events (returning DISABLE where a location can never be a switch point), and
    INSTRUCTION as a local event on the scenario's own code objects for ``opcode``."""

    def __init__(
        self, granularity: str, files: frozenset[str], codes: list[types.CodeType]
    ) -> None:
        self.granularity = granularity
        self.scope = _Scope(granularity, files, codes)
        self.codes = codes
        self.starts = {c: line_starts(c) for c in codes}
        self._last: dict[int, tuple[types.CodeType, int, int]] = {}
        self.tool: int | None = None
        self._events: list[int] = []

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
        callbacks = {
            ev.PY_START: self._start,
            ev.PY_RESUME: self._resume,
            ev.JUMP: self._jump,
            ev.CALL: self._call,
            ev.C_RETURN: self._c_return,
            ev.C_RAISE: self._c_return,  # set together with C_RETURN (3.12 insists)
            ev.PY_RETURN: self._py_return,
            ev.LINE: self._line,
        }
        events = 0
        self._events = list(callbacks)
        try:
            for event, callback in callbacks.items():
                mon.register_callback(tool, event, callback)
                events |= event
            mon.set_events(tool, events)
        except BaseException:
            self.stop()
            raise
        if self.granularity == "opcode":
            mon.register_callback(tool, ev.INSTRUCTION, self._instruction)
            self._events.append(ev.INSTRUCTION)
            for code in self.codes:
                mon.set_local_events(tool, code, ev.INSTRUCTION)
        mon.restart_events()

    def stop(self) -> None:
        mon: Any = getattr(sys, "monitoring")  # noqa: B009
        tool = self.tool
        if tool is None:
            return
        mon.set_events(tool, 0)
        for code in self.codes:
            mon.set_local_events(tool, code, 0)
        for event in self._events:
            mon.register_callback(tool, event, None)
        mon.free_tool_id(tool)
        self.tool = None

    def enter_thread(self) -> None:
        pass

    def leave_thread(self) -> None:
        pass

    def _kind_here(self, code: types.CodeType) -> int:
        """The kind of the code an event came from (its frame is the callback's caller)."""
        kind = self.scope.kind(code)
        if kind != OTHER:
            return kind
        return self.scope.called(code, sys._getframe(2).f_back)

    @staticmethod
    def _disable() -> Any:
        return getattr(sys, "monitoring").DISABLE  # noqa: B009

    def _where(self, code: types.CodeType, kind: int) -> tuple[str, int] | None:
        if kind == OWN:
            return None
        return (code.co_filename, sys._getframe(2).f_lineno)

    # Events are global: they come from every thread, the driver's too (building the
    # state, checking it). Each callback first asks whether the thread is a controlled
    # one holding the turn (:func:`_controlled`), before any walk up the stack.

    def _start(self, code: types.CodeType, offset: int) -> Any:
        kind = self.scope.kind(code)
        if kind == SKIP:
            return self._disable()
        ctrl = _controlled()
        if ctrl is None or self.scope.called(code, sys._getframe(1).f_back) == SKIP:
            return None  # not a controlled thread, or called from the harness this time
        frame = sys._getframe(1)
        self._last.pop(id(frame), None)  # a new frame, perhaps where an ended one was
        ctrl.entered()
        if kind == OWN and self.granularity != "gil":
            return None  # its first line is the switch point
        ctrl.point(self._where(code, kind), (id(frame), code, 0))
        return None

    def _resume(self, code: types.CodeType, offset: int) -> Any:
        if self.scope.kind(code) == SKIP:
            return self._disable()
        ctrl = _controlled()
        if ctrl is None:
            return None
        kind = self._kind_here(code)
        if kind != SKIP:
            ctrl.point(self._where(code, kind))  # (no ``here``: nothing to compare with)
        return None

    def _jump(self, code: types.CodeType, offset: int, destination: int) -> Any:
        if destination > offset or self.scope.kind(code) == SKIP:
            return self._disable()  # forward jumps never check the eval breaker
        ctrl = _controlled()
        if ctrl is None:
            return None
        kind = self._kind_here(code)
        if kind != SKIP:
            here = (id(sys._getframe(1)), code, destination)
            ctrl.loop((code, offset), self._where(code, kind), here)
        return None

    def _call(self, code: types.CodeType, offset: int, callable: Any, arg0: Any) -> Any:
        # enabled only so that C_RETURN comes; in the machinery it never matters
        return self._disable() if self.scope.kind(code) == SKIP else None

    def _c_return(self, code: types.CodeType, offset: int, callable: Any, arg0: Any) -> Any:
        if self.scope.kind(code) == SKIP:
            return None  # (C_RETURN cannot be disabled)
        ctrl = _controlled()
        if ctrl is None:
            return None
        kind = self._kind_here(code)
        if kind != SKIP:
            here = (id(sys._getframe(1)), code, bytecode.after(code, offset))
            ctrl.point(self._where(code, kind), here)
        return None

    def _py_return(self, code: types.CodeType, offset: int, value: Any) -> Any:
        """A return from the machinery to the code that called it with a CALL: the
        machinery stands for a C function there (a tracked container's method, a lock's
        acquire), and CPython checks the eval breaker after a C call returns."""
        if self.scope.kind(code) != SKIP:
            return self._disable()  # a return from Python code is never a switch point
        ctrl = _controlled()
        if ctrl is None:
            return None
        caller = sys._getframe(1).f_back
        if caller is None:
            return None
        kind = self.scope.called(caller.f_code, caller.f_back)
        at = bytecode.start_of(caller.f_code, caller.f_lasti)
        if kind == SKIP or at not in bytecode.calls(caller.f_code):
            return None
        here = (id(caller), caller.f_code, bytecode.after(caller.f_code, at))
        where = None if kind == OWN else (caller.f_code.co_filename, caller.f_lineno)
        ctrl.point(where, here)
        return None

    def _line(self, code: types.CodeType, line: int) -> Any:
        kind = self.scope.kind(code)
        if kind != OWN:
            return self._disable()
        ctrl = _controlled()
        if ctrl is None:
            return None
        # 3.12.1 sometimes reports a LINE event for a forward jump within one line, and
        # not in every run. As settrace does: a new line, or a jump back, counts.
        frame = sys._getframe(1)
        offset = frame.f_lasti
        key = id(frame)
        last = self._last.get(key)
        self._last[key] = (code, line, offset)
        if last is not None and last[0] is code and last[1] == line and offset > last[2]:
            return None
        starts = self.starts.get(code)
        if starts is None:
            starts = self.starts[code] = line_starts(code)
        if offset in starts:
            ctrl.line(code.co_filename, line, (key, code, offset))
        return None

    def _instruction(self, code: types.CodeType, offset: int) -> Any:
        ctrl = _controlled()
        if ctrl is not None:
            ctrl.point(None, (id(sys._getframe(1)), code, offset))
        return None


def _controlled() -> scheduler.Controller | None:
    """The controller, when the thread an event comes from is one of its threads (and not
    inside the machinery's quiet work): the only threads whose events count."""
    ctrl = scheduler.active()
    if ctrl is None or ctrl.current() is None:
        return None
    return ctrl


def iter_modules(files: Iterable[str]) -> Iterator[types.ModuleType]:
    """The loaded modules whose file is one of ``files``."""
    wanted = set(files)
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) in wanted:
            yield module
