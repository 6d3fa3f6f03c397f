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
import multiprocessing.queues
import os
import threading
import time
from collections.abc import Callable

import pytest
from claims import Spun, first_then, judge_frames, spin

from concur import spinner, spinner_async, supervisors
from concur.protocols import Queue
from concur.testing import units
from concur.testing.evidence import Machine, Verdict
from concur.testing.framelog import FrameLog, Written, count_frames
from concur.timeouts import JOIN_TIMEOUT

WORK = 0.2  # seconds of slow() in each run
# The book's frames, message and answer, written out here: the spinner's own constants cannot
# vouch for themselves.
BOOK_FRAMES = '\\|/-'
BOOK_MESSAGE = 'thinking!'
BOOK_ANSWER = 42
INTERVAL = 0.03  # so a run shows about WORK / INTERVAL = 7 frames
SECTION = 'spinners'


def run(model: str, start_method: str | None = None) -> Spun:
    """Run a supervisor around slow(), noting when the work ran and what the spinner wrote."""
    return spin(
        model,
        functools.partial(spinner.slow, WORK),
        functools.partial(spinner_async.slow, WORK),
        interval=INTERVAL,
        start_method=start_method,
    )


@pytest.fixture(scope='module')
def spun() -> Callable[[str], Spun]:
    """One run per model, shared by the tests that read it from different angles."""
    runs: dict[str, Spun] = {}

    def get(model: str) -> Spun:
        if model not in runs:
            runs[model] = run(model)
        return runs[model]

    return get


@pytest.mark.cpu(cores=1)
@pytest.mark.parametrize('model', supervisors.MODELS)
def test_spinner_shows_a_frame_every_interval_while_slow_works_then_answers_42(model, spun, claim):
    """slow() only sleeps, so whichever unit runs the spinner gets to run every interval."""
    result = judge_frames(
        claim,
        first_then(spun(model), functools.partial(run, model)),
        title=f'{model} spinner while slow() sleeps',
        interval=INTERVAL,
    )
    assert result.answer == BOOK_ANSWER, f'expected the answer 42, got {result.answer!r}'


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


@pytest.mark.cpu(cores=1)
def test_process_spinner_spins_at_full_rate_once_started_under_every_start_method(
    start_method, claim
):
    """fork copies the parent; spawn and forkserver start a fresh interpreter that imports concur
    and receives pickled arguments, so their first frame comes later. Once started, the child
    spins on its own, with its own PID, a frame every interval."""
    result = judge_frames(
        claim,
        functools.partial(run, 'process', start_method),
        title=f'process spinner started by {start_method}',
        interval=INTERVAL,
        from_first_frame=True,
    )
    assert result.answer == BOOK_ANSWER, f'expected the answer 42, got {result.answer!r}'
    assert os.getpid() not in {w.pid for w in result.frames}, 'a frame came from the parent process'


def test_coroutine_spinner_writes_from_the_supervisors_own_thread(spun):
    """A task is no new thread: the event loop runs it in the thread that called asyncio.run()."""
    result = spun('async')
    writers = {(w.pid, w.thread) for w in result.frames}
    assert writers == {(os.getpid(), threading.get_ident())}, (
        f'expected every frame from this very thread, got (pid, thread) {writers}'
    )


@pytest.mark.parametrize('model', supervisors.MODELS)
def test_spinner_frames_turn_through_backslash_bar_slash_dash_in_order(model, spun):
    """Each frame shows the next character of \\|/- and the message, so the line seems to turn."""
    shown = [w.text for w in spun(model).frames]
    turning = [f'\r{BOOK_FRAMES[i % 4]} {BOOK_MESSAGE}' for i in range(len(shown))]
    assert shown == turning, (
        f'expected the frames {turning[:5]} ..., the spinner wrote {shown[:5]} ...'
    )


@pytest.mark.parametrize('model', supervisors.MODELS)
def test_spinner_blanks_its_line_when_it_stops(model, spun):
    """The last write overwrites the last frame with spaces and returns to the line's start."""
    result = spun(model)
    last_frame, last = result.frames[-1].text, result.writes[-1].text
    assert last == '\r' + ' ' * len(last_frame) + '\r', (
        f'expected the spinner to end with {len(last_frame)} blanks between carriage returns, '
        f'its last write was {last!r}'
    )


@pytest.mark.parametrize('model', supervisors.MODELS)
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
        # Still before the supervisor stops the spinner. A spawned child may not have started by
        # the end of the work on a busy machine: its output is
        # read until a frame comes, for as long as a unit is given to start; a frame left in a
        # buffer would not come before the spinner stops, however long this waited.
        deadline = time.perf_counter() + JOIN_TIMEOUT
        read_output()
        while not count_frames(''.join(seen)) and time.perf_counter() < deadline:
            spinner.slow(INTERVAL)
            read_output()
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
        supervisors.supervise(model, work, interval=INTERVAL, start_method='spawn')
    else:
        with open(path, 'w', encoding='utf-8') as out:
            supervisors.supervise(model, work, async_work, interval=INTERVAL, out=out)
    frames = count_frames(''.join(seen))
    assert frames >= 1, (
        f'expected frames in the real output before the work ended, found {frames}: '
        'unflushed frames sit in the buffer until the spinner stops'
    )


# The stop test's interval: long, so that a spinner that waits it out cannot pass for a prompt one.
STOP_INTERVAL = 1.0


def seconds_to_stop(model: str) -> float:
    """Start a spinner, wait for its first frame, signal the stop, and time until it is gone."""
    if model == 'async':

        async def stop_after_first_frame() -> float:
            task = asyncio.create_task(spinner_async.spin('', STOP_INTERVAL, FrameLog()))
            await asyncio.sleep(0)  # one turn of the loop: the task writes its first frame
            start = time.perf_counter()
            task.cancel()
            await asyncio.wait([task], timeout=JOIN_TIMEOUT)
            return time.perf_counter() - start

        return asyncio.run(stop_after_first_frame())
    made = units.kind(model)
    sink: Queue[Written] = made.queue()
    done = made.event()
    unit = made.unit(target=spinner.spin, args=('', done, STOP_INTERVAL, FrameLog(sink)))
    unit.start()
    sink.get()  # the first frame: the spinner is now waiting out its interval
    start = time.perf_counter()
    done.set()
    unit.join(JOIN_TIMEOUT)
    stopped = time.perf_counter() - start
    if isinstance(sink, multiprocessing.queues.SimpleQueue):
        sink.close()
    return stopped


@pytest.mark.cpu(cores=1)
@pytest.mark.parametrize('model', supervisors.MODELS)
def test_spinner_is_gone_at_once_when_told_to_stop(model, claim):
    """Event.wait() returns as soon as the event is set, and cancel() wakes the sleeping task,
    so the stop takes a small fraction of the interval, not a whole one."""
    # A quarter of the interval: the thread and the task stop in well under a millisecond, a
    # process also exits and is reaped (a few milliseconds); waiting out the interval takes it all.
    bound = STOP_INTERVAL / 4

    def verdict(stopped: float, _: Machine) -> Verdict:
        return Verdict(
            stopped <= bound,
            measured=f'gone {1000 * stopped:.1f} ms after the stop signal',
            expected=f'at most {1000 * bound:.0f} ms, '
            f'a quarter of the {STOP_INTERVAL:g} s interval',
            meaning='a spinner that only looks for the stop signal after each interval keeps its '
            'supervisor waiting',
        )

    claim.judge(functools.partial(seconds_to_stop, model), verdict)
