"""The experiment: a coroutine that calls time.sleep() blocks the whole event loop.

Coroutines take turns only at ``await``. A coroutine that sleeps with ``time.sleep()`` never gives
the turn away, so the spinner task gets no chance to run; ``await asyncio.sleep()`` does give it.
asyncio's debug mode watches for such hogs and names them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import NamedTuple

import pytest
from claims import Stopwatch, frame_figures, frames_timeline, frames_verdict

from concur import spinner, spinner_async
from concur.testing.evidence import Verdict, exact, judge
from concur.testing.framelog import FrameLog, Written
from concur.testing.records import Timeline

WORK = 0.2
INTERVAL = 0.03
SECTION = 'the event loop'


async def blocking_slow() -> int:
    """The mistake of the experiment: a coroutine that sleeps without awaiting."""
    time.sleep(WORK)
    return spinner.ANSWER


async def awaiting_slow() -> int:
    return await spinner_async.slow(WORK)


class Run(NamedTuple):
    answer: int
    span: Stopwatch
    frames: list[Written]


def spin_around(work: Callable[[], Awaitable[int]]) -> Run:
    """Run the coroutine supervisor around ``work`` with its frames in a FrameLog."""
    log, span = FrameLog(), Stopwatch()
    answer = asyncio.run(
        spinner_async.supervisor(
            functools.partial(span.run_async, work), interval=INTERVAL, out=log
        )
    )
    return Run(answer, span, log.frames())


def timeline(title: str, run: Run) -> Timeline:
    return frames_timeline(
        SECTION,
        title,
        run.frames,
        run.span.start,
        run.span.end,
        INTERVAL,
        f'a frame every {1000 * INTERVAL:g} ms if the loop is free',
    )


def test_coroutine_spinner_prints_nothing_while_a_coroutine_calls_time_sleep(report):
    """time.sleep() holds the only thread, so the loop never runs the spinner task; by the time
    it could, the supervisor has cancelled it, and a task cancelled before its first step never
    runs. No frame at all, however fast or busy the machine."""
    run = spin_around(blocking_slow)
    assert run.answer == spinner.ANSWER, f'expected the answer 42, got {run.answer!r}'
    exact(
        Verdict(
            not run.frames,
            measured=f'{len(run.frames)} frames in {run.span.seconds:.2f} s of time.sleep',
            expected=f'no frame (a free loop would have shown {WORK / INTERVAL:.0f})',
            meaning='the spinner task ran although the loop had no free turn',
            figures=frame_figures(len(run.frames), run.span.seconds, INTERVAL),
        ),
        report=report,
        section=SECTION,
        claim='time.sleep() in a coroutine blocks the whole event loop',
        key='the experiment',
        pictures=[timeline('a coroutine calls time.sleep()', run)],
    )


@pytest.mark.cpu(cores=1)
def test_coroutine_spinner_spins_when_the_coroutine_awaits_asyncio_sleep(report):
    """await asyncio.sleep() hands the loop back, so the spinner task runs every interval."""
    run = judge(
        functools.partial(spin_around, awaiting_slow),
        lambda r, _: frames_verdict(r.frames, r.span.start, r.span.end, INTERVAL),
        report=report,
        section=SECTION,
        claim='await asyncio.sleep() lets the spinner task run every interval',
        cores=1,
        pictures=lambda r: [timeline('a coroutine awaits asyncio.sleep()', r)],
    )
    assert run.answer == spinner.ANSWER, f'expected the answer 42, got {run.answer!r}'


async def test_a_task_cancelled_before_its_first_step_never_runs_its_body():
    """create_task() only schedules a coroutine; cancel() before the loop gets to it ends it
    unstarted."""
    started = []

    async def body() -> None:
        started.append(True)

    task = asyncio.create_task(body())
    task.cancel()
    await asyncio.wait([task])
    assert task.cancelled() and not started, (
        f'expected a cancelled task whose body never ran, got {task!r} '
        f'with body run: {bool(started)}'
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
        'expected asyncio to log "Executing <Task ... supervisor() ...> took ... seconds" '
        'for a step '
        f'that blocked for {WORK} s, it logged {logged["blocking_slow"]}'
    )
    assert not logged['awaiting_slow'], (
        'expected no slow step when the work awaits asyncio.sleep(), '
        f'asyncio logged {logged["awaiting_slow"]}'
    )
