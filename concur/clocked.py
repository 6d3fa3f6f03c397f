"""When a call ran, where, and what CPU it took: the evidence of work run side by side or in turns.

``clocked(func, *args)`` runs one call and notes its start and end on ``time.perf_counter()``, one
clock for every process of a machine, the process and thread that ran it, and that thread's CPU
time (``time.thread_time()``, which the kernel keeps to the nanosecond). ``in_threads`` and
``in_processes`` start one unit per call, let them pass a barrier together, and return each call
clocked: their spans show whether the units ran at the same time, and their CPU time over the wall
time how many cores they used.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from concur import machine
from concur.protocols import Queue, Unit
from concur.timeouts import DEMO_TIMEOUT, JOIN_TIMEOUT


class Clocked(NamedTuple):
    start: float  # time.perf_counter() when the call began
    end: float
    cpu: float  # CPU seconds of the thread that ran the call, meanwhile
    pid: int
    thread: int  # the native id of that thread
    value: Any  # what the call returned

    @property
    def seconds(self) -> float:
        return self.end - self.start


def clocked(func: Callable[..., Any], *args: Any) -> Clocked:
    """Run ``func(*args)`` in this thread, clocked."""
    start = time.perf_counter()
    cpu = time.thread_time()  # read inside the wall time's window, so never more than it
    value = func(*args)
    cpu = time.thread_time() - cpu
    end = time.perf_counter()
    return Clocked(start, end, cpu, os.getpid(), threading.get_native_id(), value)


def alone(func: Callable[..., Any], *args: Any) -> Clocked:
    """Run ``func(*args)`` in a thread of its own, clocked: the baseline for calls that run in
    threads, not the main thread, whose speed at pure Python may differ by a few percent."""
    return in_threads([(func, args)])[0]


def wall(calls: Sequence[Clocked]) -> float:
    """Seconds from the first start to the last end."""
    return max(call.end for call in calls) - min(call.start for call in calls)


def cores(calls: Sequence[Clocked]) -> float:
    """Cores the calls kept busy: their CPU seconds over the wall time they spanned."""
    return sum(call.cpu for call in calls) / wall(calls)


def lateness(calls: Sequence[Clocked]) -> float:
    """Seconds from the first call's start to the last call's start."""
    return max(call.start for call in calls) - min(call.start for call in calls)


def overlapped(calls: Sequence[Clocked]) -> bool:
    """Every call started before any ended: they were all under way at once."""
    return max(call.start for call in calls) < min(call.end for call in calls)


def handoff(calls: Sequence[Clocked]) -> float:
    """The lateness of calls handed out together and all under way at once, which is start-up,
    not work; 0 for calls that ran one after another, whose lateness is the work before."""
    return lateness(calls) if overlapped(calls) else 0.0


Call = tuple[Callable[..., Any], tuple[Any, ...]]
Indexed = tuple[int, Clocked]  # a call clocked, with its place among the calls


def in_threads(calls: Sequence[Call], *, warm_up: bool = False) -> list[Clocked]:
    """Run each call in a thread of its own, all started together (see ``in_processes`` for
    ``warm_up``)."""
    barrier = threading.Barrier(len(calls))
    out: queue.SimpleQueue[Indexed] = queue.SimpleQueue()
    return _together(
        [
            threading.Thread(
                target=_after, args=(barrier, out, i, call, warm_up), name=f'clocked-{i}'
            )
            for i, call in enumerate(calls)
        ],
        out,
    )


def in_processes(
    calls: Sequence[Call], ctx: machine.Context, *, warm_up: bool = False
) -> list[Clocked]:
    """Run each call in a child process of its own, started by ``ctx``, all released together.

    With ``warm_up`` each unit first makes its call once, unclocked, before the others are
    released: units that were busy together have been spread over the cores by the OS. Units
    just started, or woken together, may share one core for a few milliseconds. Under
    ``spawn`` and ``forkserver`` the calls' functions and arguments must pickle."""
    barrier = ctx.Barrier(len(calls))
    out = ctx.SimpleQueue()
    process = ctx.Process
    try:
        return _together(
            [
                process(target=_after, args=(barrier, out, i, call, warm_up), name=f'clocked-{i}')
                for i, call in enumerate(calls)
            ],
            out,
        )
    finally:
        out.close()


def _after(
    barrier: threading.Barrier, out: Queue[Indexed], index: int, call: Call, warm_up: bool
) -> None:
    """Wait until every unit has started (and warmed up), then run the call and hand it back
    clocked."""
    func, args = call
    if warm_up:
        func(*args)
    barrier.wait(JOIN_TIMEOUT)
    out.put((index, clocked(func, *args)))


def _together(units: Sequence[Unit], out: Queue[Indexed]) -> list[Clocked]:
    for unit in units:
        unit.start()
    # The work of a demo or a test ends well within DEMO_TIMEOUT; a unit still running is hung.
    for unit in units:
        unit.join(DEMO_TIMEOUT)
    running = [unit for unit in units if unit.is_alive()]
    if running:
        raise RuntimeError(f'{running} still running {DEMO_TIMEOUT} s after they started')
    results: dict[int, Clocked] = {}
    while not out.empty():
        index, call = out.get()
        results[index] = call
    if len(results) < len(units):
        raise RuntimeError(f'{len(units) - len(results)} of {len(units)} units failed (see above)')
    return [results[i] for i in range(len(units))]
