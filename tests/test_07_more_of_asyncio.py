"""More of asyncio: a lock for coroutines, and tasks that start at once.

A coroutine that awaits inside a read-modify-write lets the others in (the execution units showed
it); ``asyncio.Lock`` keeps them out until it is done. And a task usually waits for the loop's
next turn before its first step, except with the eager task factory of Python 3.12+, which runs
that first step inside ``create_task()`` itself.
"""

from __future__ import annotations

import asyncio
import functools
import platform
import sys

from claims import Stopwatch

from concur import spinner, spinner_async
from concur.testing.evidence import Verdict
from concur.testing.framelog import FrameLog

SECTION = 'the event loop'

COROUTINES = 100


async def add_one_holding(lock: asyncio.Lock, counter: list[int], waiting: list[int]) -> None:
    """Read, await, write, holding ``lock``; note how many others wait at the lock meanwhile."""
    waiting[0] += 1
    async with lock:
        waiting[0] -= 1
        seen = counter[0]
        await asyncio.sleep(0)  # every other ready coroutine runs here, and stops at the lock
        waiting[1] = max(waiting[1], waiting[0])
        counter[0] = seen + 1


async def test_coroutines_that_await_inside_the_critical_section_lose_no_update_with_asyncio_lock():
    """While one coroutine holds the lock across its ``await``, the others that the loop runs
    meanwhile stop at ``async with lock`` and wait their turn, so none reads a stale value."""
    counter, waiting = [0], [0, 0]  # waiting: at the lock now, the most seen at once
    lock = asyncio.Lock()
    await asyncio.gather(*(add_one_holding(lock, counter, waiting) for _ in range(COROUTINES)))
    assert counter[0] == COROUTINES, (
        f'expected {COROUTINES} after {COROUTINES} increments, found {counter[0]}: a coroutine '
        f'that holds the lock across its await keeps the others out until it has written (up to '
        f'{waiting[1]} waited at the lock)'
    )
    assert waiting[1] > 0, (
        'no coroutine ever waited at the lock: the await inside the critical section should '
        'have let the others run up to it, or the test shows nothing'
    )


WORK = 0.1
INTERVAL = 0.02


async def sleeping_without_await() -> int:
    """The experiment's mistake (the event loop section): time.sleep() inside a coroutine."""
    return spinner.slow(WORK)


async def supervise_eagerly(span: Stopwatch, log: FrameLog) -> int:
    if sys.version_info >= (3, 12):  # else the test is skipped
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    work = functools.partial(span.run_async, sleeping_without_await)
    return await spinner_async.supervisor(work, interval=INTERVAL, out=log)


def test_an_eager_spinner_task_shows_exactly_one_frame_before_a_blocking_coroutine_then_none(
    claim,
):
    """With the eager task factory, ``create_task(spin(...))`` runs the spinner up to its first
    ``await`` at once: one frame. Then the supervisor's work calls time.sleep() and the loop,
    blocked, never runs the spinner again until it is cancelled."""
    if sys.version_info < (3, 12):
        claim.skip(
            f'asyncio.eager_task_factory is new in Python 3.12; this is Python '
            f'{platform.python_version()}, where every task waits for the loop before its first '
            'step'
        )
    span, log = Stopwatch(), FrameLog()
    answer = asyncio.run(supervise_eagerly(span, log))
    assert answer == spinner.ANSWER, f'expected the answer 42, got {answer!r}'
    frames = log.frames()
    before = [f for f in frames if f.time < span.start]
    claim.exact(
        Verdict(
            len(before) == 1 and len(frames) == 1,
            measured=f'{len(before)} frame before the work, {len(span.during(frames))} during '
            f'its {span.seconds:.2f} s, {len(frames)} in all',
            expected=f'exactly 1 frame, before the work (a free loop would have shown '
            f'{WORK / INTERVAL:.0f} more)',
            meaning='an eager task runs its first step inside create_task(), and a blocked loop '
            'runs nothing after that',
        )
    )
