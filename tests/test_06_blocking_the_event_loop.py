"""The experiment: a coroutine that calls time.sleep() blocks the whole event loop.

Coroutines take turns only at ``await``. A coroutine that sleeps with ``time.sleep()`` never gives
the turn away, so the spinner task gets no chance to run; ``await asyncio.sleep()`` does give it.
asyncio's debug mode watches for such hogs and names them.
"""

from __future__ import annotations

import asyncio
import logging
import time

from claims import assert_spun_at_full_rate

from concur import spinner, spinner_async
from concur.testing.framelog import FrameLog

WORK = 0.5
INTERVAL = 0.05


async def blocking_slow() -> int:
    """The mistake of the experiment: a coroutine that sleeps without awaiting."""
    time.sleep(WORK)
    return spinner.ANSWER


async def awaiting_slow() -> int:
    return await spinner_async.slow(WORK)


def test_coroutine_spinner_prints_nothing_while_a_coroutine_calls_time_sleep(table):
    """time.sleep() holds the only thread, so the loop never runs the spinner task; by the time
    it could, the supervisor has cancelled it, and a task cancelled before its first step never runs."""
    log = FrameLog()
    answer = asyncio.run(spinner_async.supervisor(blocking_slow, interval=INTERVAL, out=log))
    assert answer == spinner.ANSWER
    frames = log.frames()
    table.add(model='async', work=f'time.sleep {WORK} s', frames=len(frames), note='loop blocked')
    assert not frames, (
        f'expected no frame while time.sleep({WORK}) blocked the event loop, counted '
        f'{len(frames)}: the spinner task ran although the loop had no free turn'
    )


def test_coroutine_spinner_spins_when_the_coroutine_awaits_asyncio_sleep(table):
    """await asyncio.sleep() hands the loop back, so the spinner task runs every interval."""
    log = FrameLog()
    answer = asyncio.run(spinner_async.supervisor(awaiting_slow, interval=INTERVAL, out=log))
    ended = time.perf_counter()
    assert answer == spinner.ANSWER
    table.add(model='async', work=f'asyncio.sleep {WORK} s', frames=len(log.frames()))
    assert_spun_at_full_rate(log.frames(), ended, INTERVAL, 'the coroutine spinner')


async def test_a_task_cancelled_before_its_first_step_never_runs_its_body():
    """create_task() only schedules a coroutine; cancel() before the loop gets to it ends it unstarted."""
    started = []

    async def body() -> None:
        started.append(True)

    task = asyncio.create_task(body())
    task.cancel()
    await asyncio.wait([task])
    assert task.cancelled() and not started, (
        f'expected a cancelled task whose body never ran, got {task!r} with body run: {bool(started)}'
    )


def test_asyncio_debug_mode_names_the_coroutine_that_blocks_the_loop(caplog):
    """In debug mode the loop times each step of each task and logs those slower than
    slow_callback_duration (0.1 s): the blocking supervisor is logged, the awaiting one is not."""
    logged = {}
    for work in (blocking_slow, awaiting_slow):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger='asyncio'):
            asyncio.run(
                spinner_async.supervisor(work, interval=INTERVAL, out=FrameLog()), debug=True
            )
        logged[work.__name__] = [
            r.getMessage()
            for r in caplog.records
            if r.name == 'asyncio' and r.getMessage().startswith('Executing')
        ]
    assert any('supervisor()' in m and ' took ' in m for m in logged['blocking_slow']), (
        f'expected asyncio to log "Executing <Task ... supervisor() ...> took ... seconds" for a step '
        f'that blocked for {WORK} s, it logged {logged["blocking_slow"]}'
    )
    assert not logged['awaiting_slow'], (
        f'expected no slow step when the work awaits asyncio.sleep(), asyncio logged {logged["awaiting_slow"]}'
    )
