"""Tiny jobs for execution units, importable by name so that a child process can run them.

Under the ``spawn`` and ``forkserver`` start methods a child process starts a fresh interpreter,
imports the target's module and calls the target by name: a function defined in a test file or
a lambda would not do. The same functions serve threads, and the ``_async`` ones coroutines.
"""

from __future__ import annotations

import multiprocessing.synchronize
import threading
import time
from collections.abc import Iterable
from multiprocessing.connection import Connection
from typing import TypeVar

from concur.protocols import Queue, Settable, Waitable
from concur.timeouts import JOIN_TIMEOUT

T = TypeVar('T')

# A module global: each process has its own copy, the threads of one process share it.
value = 'set at import'


def change_value(new: str, seen: Queue[str]) -> None:
    """Set the module global ``value`` and report the value this unit now sees."""
    global value
    value = new
    seen.put(value)


def square(n: int, results: Queue[int]) -> None:
    """Hand ``n * n`` back through a channel: a Thread or a Process drops what its target
    returns, so its result must travel some other way."""
    results.put(n * n)


def produce(items: Iterable[T], out: Queue[T]) -> None:
    """Put ``items`` into ``out`` one by one, in order."""
    for item in items:
        out.put(item)


def busy(seconds: float, started: Settable | None = None) -> None:
    """Set ``started``, then keep one core busy for ``seconds`` of wall time: the plainest CPU
    work, a load on the machine."""
    if started is not None:
        started.set()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def idle(
    ready: threading.Semaphore | multiprocessing.synchronize.Semaphore, go: Waitable, timeout: float
) -> None:
    """Say this unit is up, then do nothing until told to finish: a unit that only exists."""
    ready.release()
    go.wait(timeout)


def count_down(steps: int) -> None:
    """Plain Python work of a fixed size: the control's yardstick."""
    while steps:
        steps -= 1


def timed_count_down(steps: int, ready: threading.Barrier, out: Connection) -> None:
    """Wait until every control process is ready, count down ``steps``, and send the seconds it
    took: processes that started at different moments still work at the same time."""
    ready.wait(JOIN_TIMEOUT)
    start = time.perf_counter()
    count_down(steps)
    out.send(time.perf_counter() - start)
