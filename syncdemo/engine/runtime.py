"""Interpreter facts: whether the same code races depends on the interpreter it runs on."""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager

from syncdemo.results import RuntimeInfo


def gil_enabled() -> bool:
    """True when a global interpreter lock serialises bytecode right now.

    Free-threaded builds (3.13t, 3.14t) can still switch the GIL on at run time
    (``PYTHON_GIL=1`` or an extension that needs it), so ask the interpreter, not the build.
    """
    probe = getattr(sys, "_is_gil_enabled", None)
    if probe is None:
        return True
    return bool(probe())


def free_threaded_build() -> bool:
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def cpu_count() -> int:
    if hasattr(os, "process_cpu_count"):
        n = os.process_cpu_count()
    elif hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:
        n = os.cpu_count()
    return n or 1


def runtime_info(switch_interval_default: float | None = None) -> RuntimeInfo:
    """Describe this interpreter as it is at this moment (call it inside the run)."""
    current = round(sys.getswitchinterval(), 9)  # 1e-4 reads back as 9.999999999999999e-05
    return RuntimeInfo(
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        gil=gil_enabled(),
        free_threaded_build=free_threaded_build(),
        switch_interval=current,
        switch_interval_default=(
            current if switch_interval_default is None else round(switch_interval_default, 9)
        ),
        cpus=cpu_count(),
        platform=f"{platform.system()} {platform.machine()}",
    )


@contextmanager
def switch_interval(seconds: float | None) -> Iterator[float]:
    """Run a block with ``sys.setswitchinterval(seconds)``; always restore the old value.

    Yields the interpreter's previous interval so reports can say what was changed.
    """
    previous = round(sys.getswitchinterval() * 1e6) / 1e6
    if seconds is not None:
        _set_switch_interval(seconds)
    try:
        yield previous
    finally:
        _set_switch_interval(previous)


def _set_switch_interval(seconds: float) -> None:
    """Set it to the whole microsecond nearest ``seconds``.

    CPython stores whole microseconds and truncates ``1e6 * seconds``: 0.000249 s would
    become 248 µs and 100 µs, read back as 9.999999999999999e-05, 99 µs. Half a
    microsecond on top makes the truncation land on the intended value.
    """
    sys.setswitchinterval((round(seconds * 1e6) + 0.5) / 1e6)
