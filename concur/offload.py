"""CPU-bound work sent away from the event loop: to a thread, or to a process pool.

``asyncio.to_thread`` runs a call in a thread, and the event loop serves its other tasks
meanwhile; but the thread needs the GIL to run Python code, so two such calls take turns at the
CPU as any two threads do. ``loop.run_in_executor`` with a ``ProcessPoolExecutor`` runs each call in
a process of its own, with its own GIL: in parallel, where cores are free. ``gathered`` runs calls
at once and counts the loop's ticks meanwhile, to show the loop was free either way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from concur.clocked import Clocked, clocked
from concur.timeouts import JOIN_TIMEOUT

# The ticker's sleep: a free loop ticks about once per TICK.
TICK = 0.01


class Gathered(NamedTuple):
    calls: list[Clocked]
    wall: float  # seconds from the gather's start to its end
    ticks: int  # how often the loop ran the ticker task meanwhile


async def in_thread(func: Callable[..., Any], *args: Any) -> Clocked:
    """``func(*args)`` in a thread, through ``asyncio.to_thread``."""
    return await asyncio.to_thread(clocked, func, *args)


def in_process(pool: concurrent.futures.ProcessPoolExecutor) -> Callable[..., Awaitable[Clocked]]:
    """A coroutine function running ``func(*args)`` in ``pool``, through ``run_in_executor``."""

    async def call(func: Callable[..., Any], *args: Any) -> Clocked:
        return await asyncio.get_running_loop().run_in_executor(pool, clocked, func, *args)

    return call


def start_processes(pool: concurrent.futures.ProcessPoolExecutor, workers: int) -> None:
    """Have ``pool`` start its ``workers`` processes now, so that no call waits for one to start.

    A pool starts a process when a call finds none idle; ``workers`` calls at once start them
    all, since a process takes a moment to start and none is idle meanwhile."""
    for future in [pool.submit(os.getpid) for _ in range(workers)]:
        future.result(JOIN_TIMEOUT)


async def gathered(
    offload: Callable[..., Awaitable[Clocked]], calls: list[tuple[Any, ...]]
) -> Gathered:
    """Await ``offload(func, *args)`` for each ``(func, *args)`` of ``calls`` at once, with a ticker
    task beside them."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(TICK)
            ticks += 1

    task = asyncio.create_task(ticker())
    start = time.perf_counter()
    done = await asyncio.gather(*(offload(*call) for call in calls))
    elapsed = time.perf_counter() - start
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return Gathered(list(done), elapsed, ticks)
