"""The experiment: a coroutine that calls time.sleep() blocks the whole event loop.

Coroutines take turns only at ``await``. A coroutine that sleeps with ``time.sleep()`` never gives
the turn away, so the spinner task gets no chance to run; ``await asyncio.sleep()`` does give it.
asyncio's debug mode watches for such hogs and names them once they return; since 3.14, ``python -m
asyncio ps`` and ``pstree`` name them from another process while they block.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import multiprocessing
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import pytest
from claims import Spun, frame_figures, frames_timeline, frames_verdict, spin

from concur import machine, spinner, spinner_async
from concur.testing import units
from concur.testing.evidence import Verdict
from concur.testing.framelog import FrameLog
from concur.testing.records import Timeline
from concur.timeouts import DEMO_TIMEOUT, JOIN_TIMEOUT

WORK = 0.2
INTERVAL = 0.03
SECTION = 'the event loop'


async def blocking_slow() -> int:
    """The mistake of the experiment: a coroutine that sleeps without awaiting."""
    time.sleep(WORK)
    return spinner.ANSWER


async def awaiting_slow() -> int:
    return await spinner_async.slow(WORK)


def spin_coroutine_around(work: Callable[[], Awaitable[int]]) -> Spun:
    """Run the coroutine supervisor around ``work``, its frames in a FrameLog."""
    return spin('async', spinner.slow, work, interval=INTERVAL)


def timeline(title: str, run: Spun) -> Timeline:
    return frames_timeline(
        SECTION,
        title,
        run.frames,
        run.span.start,
        run.span.end,
        INTERVAL,
        f'a frame every {1000 * INTERVAL:g} ms if the loop is free',
    )


def test_coroutine_spinner_prints_nothing_while_a_coroutine_calls_time_sleep(claim):
    """time.sleep() holds the only thread, so the loop never runs the spinner task; by the time
    it could, the supervisor has cancelled it, and a task cancelled before its first step never
    runs. No frame at all, however fast or busy the machine."""
    run = spin_coroutine_around(blocking_slow)
    assert run.answer == spinner.ANSWER, f'expected the answer 42, got {run.answer!r}'
    claim.exact(
        Verdict(
            not run.frames,
            measured=f'{len(run.frames)} frames in {run.span.seconds:.2f} s of time.sleep',
            expected=f'no frame (a free loop would have shown {WORK / INTERVAL:.0f})',
            meaning='the spinner task ran although the loop had no free turn',
            figures=frame_figures(len(run.frames), run.span.seconds, INTERVAL),
        ),
        key='the experiment',
        pictures=[timeline('a coroutine calls time.sleep()', run)],
    )


@pytest.mark.cpu(cores=1)
def test_coroutine_spinner_spins_when_the_coroutine_awaits_asyncio_sleep(claim):
    """await asyncio.sleep() hands the loop back, so the spinner task runs every interval."""
    run = claim.judge(
        functools.partial(spin_coroutine_around, awaiting_slow),
        lambda r, _: frames_verdict(r.frames, r.span.start, r.span.end, INTERVAL),
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


# ---- naming the blocker from outside (3.14) -------------------------------------------------

HAS_ASYNCIO_PS = sys.version_info >= (3, 14)


def look_from_outside() -> dict[str, subprocess.CompletedProcess[str]]:
    """Start a process whose loop is stuck in ``units.block``; once it is, run ``python -m asyncio
    ps PID`` and ``pstree PID`` on it, each within DEMO_TIMEOUT; then kill it."""
    ctx = multiprocessing.get_context()
    blocking = ctx.Event()
    child = ctx.Process(
        target=units.block_the_loop, args=(DEMO_TIMEOUT, blocking), name='blocked loop'
    )
    child.start()
    try:
        assert blocking.wait(JOIN_TIMEOUT), 'the child never reached its time.sleep'
        return {
            command: subprocess.run(
                [sys.executable, '-m', 'asyncio', command, str(child.pid)],
                capture_output=True,
                text=True,
                timeout=DEMO_TIMEOUT,
            )
            for command in ('ps', 'pstree')
        }
    finally:
        child.kill()
        child.join(JOIN_TIMEOUT)


def sleep_line() -> str:
    """Where ``units.block`` calls time.sleep, as pstree writes a place: FILE:LINE."""
    lines, first = inspect.getsourcelines(units.block)
    at = next(i for i, line in enumerate(lines) if 'time.sleep(' in line)
    return f'{inspect.getsourcefile(units.block)}:{first + at}'


def test_asyncio_ps_and_pstree_name_the_task_that_blocks_the_loop_from_another_process(claim):
    """python -m asyncio ps and pstree read a running program's tasks from outside, while its
    loop is stuck: the task in time.sleep is shown at that line, the others at an await. Debug
    mode names the blocker only once it returns; these name it while it blocks."""
    if not HAS_ASYNCIO_PS:
        pytest.skip(
            f'needs python -m asyncio ps and pstree, new in Python 3.14; this is '
            f'{machine.describe()}'
        )
    seen = look_from_outside()
    refused = [r.stderr.strip() for r in seen.values() if r.returncode and 'ermi' in r.stderr]
    if refused:
        pytest.skip(
            "this process may not read another process's memory (ptrace), which python -m "
            f'asyncio ps needs: {refused[0].splitlines()[-1]}'
        )
    ps, tree = seen['ps'].stdout, seen['pstree'].stdout
    place = sleep_line()
    # ps's columns are padded with spaces: thread, task id, task name, coroutine stack, ...
    cells = [re.split(r'\s{2,}', line.strip()) for line in ps.splitlines()[2:] if line.strip()]
    rows = {row[2]: row[3] for row in cells if len(row) > 3}
    claim.exact(
        Verdict(
            rows.get(units.BLOCKER) == 'block'
            and f'block {place}' in tree
            and 'spin' in ps
            and all(r.returncode == 0 for r in seen.values()),
            measured=f'ps: tasks {rows} (exit {seen["ps"].returncode}); pstree '
            + ('shows block at the time.sleep line' if place in tree else f'shows {tree!r}')
            + f' (exit {seen["pstree"].returncode}) {seen["pstree"].stderr.strip()}',
            expected=f'ps listing the {units.BLOCKER} task in block() beside the spinner task; '
            f'pstree showing block at {place.rsplit("/", 1)[-1]}, its time.sleep',
            meaning='a loop blocked by time.sleep can be looked at from another process, which '
            'names the task and the line that hold it',
        )
    )
