"""Tiny jobs for execution units, importable by name so that a child process can run them.

Under the ``spawn`` and ``forkserver`` start methods a child process starts a fresh interpreter,
imports the target's module and calls the target by name: a function defined in a test file or
a lambda would not do. The same functions serve threads, and the ``_async`` ones coroutines.
"""

from __future__ import annotations

import asyncio
import multiprocessing.synchronize
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, MutableSequence
from contextlib import AbstractContextManager
from multiprocessing.connection import Connection
from typing import Any, NamedTuple, TypeVar

from concur import machine, spinner_async
from concur.checkers import PrimeResult, check
from concur.protocols import Queue, Settable, Unit, Waitable
from concur.spinner import ANSWER
from concur.timeouts import JOIN_TIMEOUT

T = TypeVar('T')


class Kind(NamedTuple):
    """What one kind of unit is made with: its class, and a queue and an event it can share with
    the code that starts it (a process needs those of its start method's context)."""

    unit: Callable[..., Unit]
    queue: Callable[[], Queue[Any]]
    event: Callable[[], Settable]


def kind(model: str, start_method: str | None = None) -> Kind:
    """The unit class, queue and event of ``model``: ``'thread'`` or ``'process'``."""
    if model == 'thread':
        return Kind(threading.Thread, queue.SimpleQueue, threading.Event)
    if model == 'process':
        ctx = machine.context(start_method)
        return Kind(ctx.Process, ctx.SimpleQueue, ctx.Event)
    raise ValueError(f"model must be 'thread' or 'process', got {model!r}")


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


def count_down_on_call(calls: Connection, cpu: int | None = None) -> None:
    """Count down as many steps as each message on ``calls`` asks, answering each with the wall
    and CPU seconds it took, until a message of None; on core ``cpu`` only, if given (Linux)."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    while (steps := calls.recv()) is not None:
        wall, cpu_time = time.perf_counter(), time.process_time()
        count_down(steps)
        calls.send((time.perf_counter() - wall, time.process_time() - cpu_time))


def append_and_send(items: list[T], item: T, back: Queue[list[T]]) -> None:
    """Append ``item`` to the list this unit was given, then send that list back through ``back``.

    A thread is given the caller's own list; a child process a copy of it (pickled, or copied with
    the parent's memory by fork), and what it sends back is pickled again.
    """
    items.append(item)
    back.put(items)


def add_one(
    counter: MutableSequence[int],
    lock: AbstractContextManager[object],
    between: Callable[[], object] | None = None,
) -> None:
    """Read ``counter[0]``, let ``between`` run, write the value read plus one, all under ``lock``.

    ``counter`` is a list that threads share, or a ``multiprocessing.Array`` that processes share.
    """
    with lock:
        seen = counter[0]
        if between is not None:
            between()
        counter[0] = seen + 1


def add_one_together(
    door: threading.Barrier,
    counter: MutableSequence[int],
    lock: AbstractContextManager[object],
    between: Callable[[], object],
) -> None:
    """Wait at ``door`` (a barrier) until every unit is there, then ``add_one``: units that start
    one after another, as processes do, still reach the counter at the same moment."""
    door.wait(JOIN_TIMEOUT)
    add_one(counter, lock, between)


def work_in_steps(
    marks: MutableSequence[float],
    step: float,
    under_way: Settable,
    stop: threading.Event | None = None,
) -> None:
    """Do ``len(marks) - 1`` steps of busy work of ``step`` seconds each, noting in ``marks`` when
    the work began and when each step ended; set ``under_way`` after the first step.

    With a ``stop`` event, look at it before each step and return once it is set: the only way to
    stop a thread. Without one, nothing but the end of the work, or of the process, stops it.
    """
    marks[0] = time.perf_counter()
    for i in range(1, len(marks)):
        if stop is not None and stop.is_set():
            return
        busy(step)
        marks[i] = time.perf_counter()
        if i == 1:
            under_way.set()


def check_in_turn(n: int, turn: Waitable, then: Settable | None = None) -> PrimeResult:
    """Wait for ``turn``, check ``n``, then set ``then``: a prime check whose end the caller
    orders, with events it shares with the pool's workers."""
    if not turn.wait(JOIN_TIMEOUT):
        raise TimeoutError(f'the turn to check {n} did not come within {JOIN_TIMEOUT} s')
    result = check(n)
    if then is not None:
        then.set()
    return result


def append_and_return(items: list[T], item: T) -> list[T]:
    """Append ``item`` to the list this unit was given, and return that list."""
    items.append(item)
    return items


# The queue on which a pool's worker process says that a task of it has started (see
# ``tell_starts``): set in each worker by the pool's initializer, since a pool's task cannot be
# handed a multiprocessing queue as an argument.
_STARTS: list[Queue[int]] = []


def tell_starts(starts: Queue[int]) -> None:
    """A pool's initializer: keep ``starts`` in this worker process for ``busy_and_tell``."""
    _STARTS[:] = [starts]


def busy_and_tell(seconds: float) -> int:
    """A pool's task: put this worker's pid on the queue given to ``tell_starts``, then keep a core
    busy for ``seconds``; return the pid."""
    _STARTS[0].put(os.getpid())
    busy(seconds)
    return os.getpid()


async def block(seconds: float, blocking: Settable) -> int:
    """The experiment's mistake in a task: set ``blocking``, then sleep without awaiting."""
    blocking.set()
    time.sleep(seconds)  # the line at which the loop is stuck: what asyncio pstree names
    return ANSWER


BLOCKER = 'blocker'  # the name of the task that runs ``block``


def block_the_loop(seconds: float, blocking: Settable) -> None:
    """Run the coroutine spinner's supervisor around ``block`` in a task of its own, the frames
    thrown away: a program whose event loop is stuck for ``seconds``, for another process to
    look at."""

    def work() -> asyncio.Task[int]:
        return asyncio.create_task(block(seconds, blocking), name=BLOCKER)

    with open(os.devnull, 'w') as out:
        asyncio.run(spinner_async.supervisor(work, out=out))
