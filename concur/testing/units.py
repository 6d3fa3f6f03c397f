"""Tiny jobs for execution units, importable by name so that a child process can run them.

Under the ``spawn`` and ``forkserver`` start methods a child process starts a fresh interpreter,
imports the target's module and calls the target by name: a function defined in a test file or
a lambda would not do. The same functions serve threads, and the ``_async`` ones coroutines.
"""

from __future__ import annotations

import asyncio
import threading
import time
from multiprocessing.connection import Connection
from typing import Iterable

from concur.protocols import Queue, Releasable, Settable, Waitable
from concur.timeouts import JOIN_TIMEOUT

# A module global: each process has its own copy, the threads of one process share it.
value = 'set at import'


def change_value(new: str, seen: Queue) -> None:
    """Set the module global ``value`` and report the value this unit now sees."""
    global value
    value = new
    seen.put(value)


def square(n: int, results: Queue) -> None:
    """Hand ``n * n`` back the only way a thread or a process can: through a channel."""
    results.put(n * n)


async def square_async(n: int) -> int:
    """A coroutine simply returns its result: the awaiting coroutine gets it as the value."""
    return n * n


def produce(items: Iterable[object], out: Queue) -> None:
    """Put ``items`` into ``out`` one by one, in order."""
    for item in items:
        out.put(item)


async def produce_async(items: Iterable[object], out: asyncio.Queue[object]) -> None:
    for item in items:
        await out.put(item)


def busy(seconds: float, done: Settable | None = None) -> None:
    """Keep one core busy for ``seconds`` of wall time, then set ``done``: the plainest CPU work."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    if done is not None:
        done.set()


def idle(ready: Releasable, go: Waitable, timeout: float) -> None:
    """Say this unit is up, then do nothing until told to finish: a unit that only exists."""
    ready.release()
    go.wait(timeout)


async def idle_async(ready: asyncio.Semaphore, go: asyncio.Event) -> None:
    ready.release()
    await go.wait()


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
