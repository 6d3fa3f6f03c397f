"""Shutting a queue down (Python 3.13+): consumers end without a poison pill.

The book's checkers tell each worker to stop with a ``0`` in the job queue, one per worker, put
after the real jobs. Since 3.13, ``queue.Queue.shutdown()`` and ``asyncio.Queue.shutdown()`` say it
once, to every consumer: ``get()`` hands out what is left, then raises ``ShutDown`` (at once, the
rest thrown away, after ``shutdown(immediate=True)``), a consumer waiting in ``get()`` on an empty
queue is woken with it, and ``put()`` raises it from then on. ``multiprocessing`` queues have no
``shutdown()``, so the process checkers keep the book's ``0``.
"""

from __future__ import annotations

import asyncio
import platform
import queue
import sys
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

from concur.timeouts import JOIN_TIMEOUT

T = TypeVar('T')

HAS_SHUTDOWN = sys.version_info >= (3, 13)
NEEDS = 'Queue.shutdown(), new in Python 3.13'
if sys.version_info >= (3, 13):
    SHUT_DOWN: tuple[type[Exception], ...] = (queue.ShutDown, asyncio.QueueShutDown)
else:
    SHUT_DOWN = ()


@dataclass(frozen=True)
class Consumed(Generic[T]):
    """What a consumer took, and how it ended."""

    items: list[T]
    shut_down: bool  # ended by ShutDown; False: still waiting when its bound ran out
    waited: float  # seconds from its last call of get() to its end


def consume(jobs: queue.Queue[T], timeout: float = JOIN_TIMEOUT) -> Consumed[T]:
    """Take items until the queue is shut down, waiting at most ``timeout`` for each."""
    items: list[T] = []
    while True:
        asked = time.perf_counter()
        try:
            items.append(jobs.get(timeout=timeout))
        except queue.Empty:
            return Consumed(items, False, time.perf_counter() - asked)
        except SHUT_DOWN:
            return Consumed(items, True, time.perf_counter() - asked)


async def consume_async(jobs: asyncio.Queue[T], timeout: float = JOIN_TIMEOUT) -> Consumed[T]:
    """``consume`` for a task: take items until the queue is shut down."""
    items: list[T] = []
    while True:
        asked = time.perf_counter()
        try:
            items.append(await asyncio.wait_for(jobs.get(), timeout))
        except asyncio.TimeoutError:
            return Consumed(items, False, time.perf_counter() - asked)
        except SHUT_DOWN:
            return Consumed(items, True, time.perf_counter() - asked)


def shut_down(jobs: queue.Queue[T] | asyncio.Queue[T], immediate: bool = False) -> None:
    """Shut ``jobs`` down: one call where the book puts a ``0`` per worker."""
    if sys.version_info >= (3, 13):
        jobs.shutdown(immediate=immediate)
    else:
        raise RuntimeError(f'needs {NEEDS}; this is Python {platform.python_version()}')


def refuses_put(jobs: queue.Queue[int] | asyncio.Queue[int]) -> bool:
    """True when ``put()`` raises ShutDown: a shut-down queue takes nothing more."""
    try:
        jobs.put_nowait(0)
    except SHUT_DOWN:
        return True
    return False
