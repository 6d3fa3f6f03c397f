"""Tiny jobs for execution units, importable by name so that a child process can run them.

Under the ``spawn`` and ``forkserver`` start methods a child process starts a fresh interpreter,
imports the target's module and calls the target by name: a function defined in a test file or
a lambda would not do. The same functions serve threads, and the ``_async`` ones coroutines.
"""

from __future__ import annotations

import asyncio
import multiprocessing.synchronize
import threading
import time
from collections.abc import Iterable
from typing import TypeVar

from concur.protocols import Queue, Settable, Waitable

T = TypeVar('T')

# A module global: each process has its own copy, the threads of one process share it.
value = 'set at import'


def change_value(new: str, seen: Queue[str]) -> None:
    """Set the module global ``value`` and report the value this unit now sees."""
    global value
    value = new
    seen.put(value)


def square(n: int, results: Queue[int]) -> None:
    """Hand ``n * n`` back the only way a thread or a process can: through a channel."""
    results.put(n * n)


async def square_async(n: int) -> int:
    """A coroutine simply returns its result: the awaiting coroutine gets it as the value."""
    return n * n


def produce(items: Iterable[T], out: Queue[T]) -> None:
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


def idle(
    ready: threading.Semaphore | multiprocessing.synchronize.Semaphore, go: Waitable, timeout: float
) -> None:
    """Say this unit is up, then do nothing until told to finish: a unit that only exists."""
    ready.release()
    go.wait(timeout)


async def idle_async(ready: asyncio.Semaphore, go: asyncio.Event) -> None:
    ready.release()
    await go.wait()
