"""What the running interpreter and machine are: the facts a claim's expectation depends on."""

from __future__ import annotations

import multiprocessing
import os
import platform
import sys
import sysconfig
from typing import TYPE_CHECKING, TypeAlias, cast

from concur import arguments

if TYPE_CHECKING:
    from multiprocessing.context import (
        DefaultContext,
        ForkContext,
        ForkServerContext,
        SpawnContext,
    )

    # What get_context returns: typeshed calls each of them by their common base, BaseContext,
    # which lacks the Process class that each of them has. (No ForkContext on Windows.)
    Context: TypeAlias = DefaultContext | SpawnContext | ForkContext | ForkServerContext


def usable_cores() -> int:
    """The cores this process may run on (not how many are free right now)."""
    if hasattr(os, 'process_cpu_count'):  # 3.13+
        count = os.process_cpu_count()
    elif hasattr(os, 'sched_getaffinity'):  # Linux
        count = len(os.sched_getaffinity(0))
    else:
        count = os.cpu_count()
    return count or 1


def context(start_method: str | None) -> Context:
    """The ``multiprocessing`` context of ``start_method``, checked; None is the default one."""
    method = arguments.start_method('start_method', start_method)
    return cast('Context', multiprocessing.get_context(method))


def free_threaded_build() -> bool:
    """True for a CPython built to run without the GIL (3.13t, 3.14t)."""
    return bool(sysconfig.get_config_var('Py_GIL_DISABLED'))


def gil_enabled() -> bool:
    """True when the GIL serializes Python threads right now, as on every default build."""
    is_enabled = getattr(sys, '_is_gil_enabled', None)  # 3.13+
    return True if is_enabled is None else bool(is_enabled())


def build() -> str:
    """The build in words, for test output."""
    if not free_threaded_build():
        return 'with the GIL'
    return (
        'free-threaded, GIL disabled' if not gil_enabled() else 'free-threaded, GIL enabled again'
    )


def describe() -> str:
    """One line: interpreter, build, default start method, usable cores."""
    return (
        f'{platform.python_implementation()} {platform.python_version()} ({build()}), '
        f'start method {multiprocessing.get_start_method()}, '
        f'{usable_cores()} usable {cores_word(usable_cores())}, '
        f'switch interval {sys.getswitchinterval() * 1000:g} ms'
    )


def cores_word(count: float) -> str:
    """'core' or 'cores', as ``count`` asks."""
    return 'core' if count == 1 else 'cores'
