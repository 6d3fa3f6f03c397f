"""The spinner, three ways: a thread, a process, a coroutine.

While ``slow()`` works, a spinner shows a frame every ``interval`` seconds; when the work is done
the supervisor stops the spinner (an Event for the thread and the process, ``cancel()`` for the
task), the spinner blanks its line, and the supervisor returns the answer, 42. The spinner writes
to a ``FrameLog`` that notes when, in which process and in which thread each frame was written.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import queue
import threading
import time
from typing import Callable, NamedTuple

import pytest
from claims import Span, assert_at_most, assert_spun_at_full_rate

from concur import spinner, spinner_async, spinner_proc, spinner_thread
from concur.testing.framelog import FrameLog, Written, count_frames
from concur.timeouts import JOIN_TIMEOUT

WORK = 0.5  # seconds of slow() in each run
INTERVAL = 0.05  # so a run shows about WORK / INTERVAL = 10 frames
MODELS = ['thread', 'process', 'async']


class Run(NamedTuple):
    answer: int
    started: float  # perf_counter() when the work began
    ended: float  # ... and when it returned
    frames: list[Written]
    writes: list[Written]


def supervise(
    model: str, out: FrameLog | None, start_method: str | None = None
) -> tuple[int, Span]:
    """Run the model's supervisor around slow(); return the answer and when the work ran."""
    span = Span()
    work = functools.partial(span.run, functools.partial(spinner.slow, WORK))
    if model == 'thread':
        answer = spinner_thread.supervisor(work, interval=INTERVAL, out=out)
    elif model == 'process':
        answer = spinner_proc.supervisor(
            work, interval=INTERVAL, out=out, start_method=start_method
        )
    else:
        async_work = functools.partial(span.run_async, functools.partial(spinner_async.slow, WORK))
        answer = asyncio.run(spinner_async.supervisor(async_work, interval=INTERVAL, out=out))
    return answer, span


def run(model: str, start_method: str | None = None) -> Run:
    """Run a supervisor with its spinner writing to a FrameLog (a process's through a pipe)."""
    sink = multiprocessing.get_context(start_method).SimpleQueue() if model == 'process' else None
    log = FrameLog(sink)
    answer, span = supervise(model, log, start_method)
    result = Run(answer, span.start, span.end, log.frames(), log.writes())
    if sink is not None:
        sink.close()
    return result


@pytest.fixture(scope='module')
def spun() -> Callable[[str], Run]:
    """One run per model, shared by the tests that read it from different angles."""
    runs: dict[str, Run] = {}

    def get(model: str) -> Run:
        if model not in runs:
            runs[model] = run(model)
        return runs[model]

    return get


@pytest.mark.parametrize('model', MODELS)
def test_spinner_shows_a_frame_every_interval_while_slow_works_then_answers_42(model, spun, table):
    """slow() only sleeps, so whichever unit runs the spinner gets to run every interval."""
    result = spun(model)
    assert result.answer == spinner.ANSWER
    assert_spun_at_full_rate(result.frames, result.ended, INTERVAL, f'the {model} spinner')
    table.add(
        model=model,
        work=f'sleep {WORK} s',
        frames=len(result.frames),
        wall_s=result.ended - result.started,
        note=f'first frame {1000 * abs(result.frames[0].time - result.started):.0f} ms from the start',
    )


def test_thread_spinner_writes_from_a_second_thread_of_the_same_process(spun):
    """A thread shares its process: same PID, but not the main thread's identity."""
    result = spun('thread')
    assert {w.pid for w in result.frames} == {os.getpid()}
    writers = {w.thread for w in result.frames}
    assert len(writers) == 1 and threading.get_ident() not in writers, (
        f'expected every frame from one thread other than the main thread, got thread ids {writers}'
    )


def test_process_spinner_writes_from_another_process(spun):
    """The child process has its own PID: every frame comes from it, none from the parent."""
    result = spun('process')
    pids = {w.pid for w in result.frames}
    assert len(pids) == 1 and os.getpid() not in pids, (
        f'expected every frame from one child process, got PIDs {pids} (parent is {os.getpid()})'
    )


def test_process_spinner_spins_the_same_under_every_start_method(start_method, table):
    """fork copies the parent; spawn and forkserver start a fresh interpreter that imports concur
    and receives pickled arguments. Either way the child spins on its own, with its own PID."""
    result = run('process', start_method)
    assert result.answer == spinner.ANSWER
    assert os.getpid() not in {w.pid for w in result.frames}, 'a frame came from the parent process'
    assert_spun_at_full_rate(
        result.frames, result.ended, INTERVAL, f'the {start_method} process spinner'
    )
    table.add(
        model='process',
        work=f'sleep {WORK} s',
        frames=len(result.frames),
        wall_s=result.ended - result.started,
        note=f'{start_method}: child spinning after {max(0.0, 1000 * (result.frames[0].time - result.started)):.0f} ms',
    )


def test_coroutine_spinner_writes_from_the_supervisors_own_thread(spun):
    """A task is no new thread: the event loop runs it in the thread that called asyncio.run()."""
    result = spun('async')
    writers = {(w.pid, w.thread) for w in result.frames}
    assert writers == {(os.getpid(), threading.get_ident())}, (
        f'expected every frame from this very thread, got (pid, thread) {writers}'
    )


@pytest.mark.parametrize('model', MODELS)
def test_spinner_blanks_its_line_when_it_stops(model, spun):
    """The last write overwrites the last frame with spaces and returns to the line's start."""
    result = spun(model)
    last_frame, last = result.frames[-1].text, result.writes[-1].text
    assert last == '\r' + ' ' * len(last_frame) + '\r', (
        f'expected the spinner to end with {len(last_frame)} blanks between carriage returns, '
        f'its last write was {last!r}'
    )


@pytest.mark.parametrize('model', MODELS)
def test_spinner_frames_reach_the_real_output_before_the_work_ends(
    model, tmp_path, capfd, monkeypatch
):
    """A frame has no newline, so the spinner flushes it; else it waits in a buffer until the end.

    The thread and the task write to a file; the process writes to its standard output, which
    pytest captures at the file-descriptor level, so the child's frames are read too.
    """
    path = tmp_path / 'out.txt'
    seen: list[str] = []

    def read_output() -> None:
        seen.append(
            capfd.readouterr().out if model == 'process' else path.read_bytes().decode()
        )  # keeps the \r

    def work() -> int:
        answer = spinner.slow(WORK)
        read_output()  # still before the supervisor stops the spinner
        return answer

    async def async_work() -> int:
        answer = await spinner_async.slow(WORK)
        read_output()
        return answer

    if model == 'process':
        # A forked child would write through pytest's own unbuffered sys.stdout; a spawned child
        # opens its standard output as any program does, where a missing flush would show
        # (unless PYTHONUNBUFFERED, set on some machines, turned buffering off).
        monkeypatch.delenv('PYTHONUNBUFFERED', raising=False)
        spinner_proc.supervisor(work, interval=INTERVAL, start_method='spawn')
    else:
        with open(path, 'w', encoding='utf-8') as out:
            if model == 'thread':
                spinner_thread.supervisor(work, interval=INTERVAL, out=out)
            else:
                asyncio.run(spinner_async.supervisor(async_work, interval=INTERVAL, out=out))
    frames = count_frames(seen[0])
    assert frames >= 1, (
        f'expected frames in the real output before the work ended, found {frames}: '
        'unflushed frames sit in the buffer until the spinner stops'
    )


@pytest.mark.parametrize('model', MODELS)
def test_spinner_is_gone_at_once_when_told_to_stop(model, table):
    """Event.wait() returns as soon as the event is set, and cancel() wakes the sleeping task,
    so the stop takes a small fraction of the interval, not a whole one."""
    interval = 1.0
    if model == 'async':

        async def stop_after_first_frame() -> float:
            task = asyncio.create_task(spinner_async.spin('', interval, FrameLog()))
            await asyncio.sleep(0)  # one turn of the loop: the task writes its first frame
            start = time.perf_counter()
            task.cancel()
            await asyncio.wait([task], timeout=JOIN_TIMEOUT)
            return time.perf_counter() - start

        latency = asyncio.run(stop_after_first_frame())
    else:
        if model == 'thread':
            sink, done, make = queue.SimpleQueue(), threading.Event(), threading.Thread
        else:
            sink, done, make = (
                multiprocessing.SimpleQueue(),
                multiprocessing.Event(),
                multiprocessing.Process,
            )
        unit = make(target=spinner.spin, args=('', done, interval, FrameLog(sink)))
        unit.start()
        sink.get()  # the first frame: the spinner is now waiting out its interval
        start = time.perf_counter()
        done.set()
        unit.join(JOIN_TIMEOUT)
        latency = time.perf_counter() - start
        if model == 'process':
            sink.close()
    table.add(
        model=model,
        work=f'stop, interval {interval:g} s',
        note=f'gone {1000 * latency:.1f} ms after the stop signal',
    )
    # A process also has to exit and be reaped: a few tens of milliseconds.
    assert_at_most(
        latency,
        interval / 4,
        what=f'seconds for the {model} spinner to stop',
        meaning='a spinner that only checks for the stop signal after each interval '
        'keeps the supervisor waiting',
    )
