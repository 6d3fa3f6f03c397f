"""The GIL: the notes' three questions, answered by counting frames, and what follows from them.

Put ``is_prime(n)``, pure CPU work, where ``slow()`` slept. In CPython only the thread that holds
the Global Interpreter Lock runs Python code: a child process has a GIL of its own, a thread is
made to hand the GIL over every switch interval, and a coroutine hands the event loop over only
where it awaits. The prime is calibrated at run time to take a few tenths of a second here.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Iterator, TypeVar

import pytest
from claims import (
    Span,
    assert_at_most,
    assert_between,
    assert_spun_at_full_rate,
    run_together,
    switch_delay,
)

from concur import machine, primes, spinner_async, spinner_proc, spinner_thread
from concur.primes import is_prime
from concur.testing.framelog import FrameLog
from concur.timeouts import JOIN_TIMEOUT

T = TypeVar('T')

INTERVAL = 0.03  # the spinner's; about ten frames while the calibrated is_prime runs


def assert_found_prime(answer: object, n: int) -> None:
    __tracebackhide__ = True
    assert answer is True, f'expected is_prime({n}) to answer True (it is prime), got {answer!r}'


# --- The work: is_prime, checked, and sized for this machine -----------------------------------


# --- The three questions ----------------------------------------------------------------------


@pytest.mark.cpu
def test_process_spinner_keeps_full_rate_while_the_parent_runs_is_prime(
    start_method, calibrated_prime, table
):
    """Question 1. The child process runs its own interpreter with its own GIL, so is_prime in
    the parent cannot hold it back: a frame every interval, from another PID, however started."""
    sink = multiprocessing.get_context(start_method).SimpleQueue()
    try:
        log, span = FrameLog(sink), Span()
        answer = spinner_proc.supervisor(
            partial(span.run, partial(is_prime, calibrated_prime)),
            interval=INTERVAL,
            out=log,
            start_method=start_method,
        )
        frames = log.frames()
    finally:
        sink.close()
    assert_found_prime(answer, calibrated_prime)
    pids = {f.pid for f in frames}
    assert pids and os.getpid() not in pids, (
        f'expected every frame from the child process, got PIDs {pids} (this process is {os.getpid()})'
    )
    during = span.during(frames)
    # Counted from the first frame: a spawned child takes a while to start, and that is no GIL's doing.
    assert_spun_at_full_rate(during, span.end, INTERVAL, 'the process spinner')
    table.add(
        model='process',
        work='is_prime in parent',
        frames=len(during),
        wall_s=span.seconds,
        note=f'{start_method}: spinner at full rate, its own GIL',
    )


@pytest.mark.cpu
def test_thread_spinner_still_spins_while_the_main_thread_runs_is_prime(calibrated_prime, table):
    """Question 2. The threads share one GIL, but a thread that waits for it asks the holder to
    drop it after one switch interval, and CPython makes the holder obey: the spinner still gets
    its turns, each about a switch interval late."""
    log, span = FrameLog(), Span()
    answer = spinner_thread.supervisor(
        partial(span.run, partial(is_prime, calibrated_prime)), interval=INTERVAL, out=log
    )
    assert_found_prime(answer, calibrated_prime)
    during = span.during(log.frames())
    writers = {(f.pid, f.thread) for f in during}
    assert all(pid == os.getpid() and thread != threading.get_ident() for pid, thread in writers), (
        f'expected the frames from another thread of this process, got (pid, thread) {writers}'
    )
    gap = INTERVAL + switch_delay()
    assert_spun_at_full_rate(
        during,
        span.end,
        gap,
        f'the thread spinner (a frame every interval + switch interval, {machine.build()})',
        started=span.start,
    )
    table.add(
        model='thread',
        work='is_prime in main thread',
        frames=len(during),
        wall_s=span.seconds,
        note=f'spins: switch interval {1000 * sys.getswitchinterval():g} ms ({machine.build()})',
    )


@pytest.mark.cpu
async def test_coroutine_spinner_shows_no_frame_until_is_prime_returns_inside_a_coroutine(
    calibrated_prime, table
):
    """Question 3. A coroutine that calls plain is_prime never awaits, so the event loop cannot run
    the spinner task until the work is over; by then the supervisor cancels it. The answer is right."""
    log, span = FrameLog(), Span()
    work = partial(span.run_async, partial(primes.is_prime_blocking, calibrated_prime))
    answer = await spinner_async.supervisor(work, interval=INTERVAL, out=log)
    assert_found_prime(answer, calibrated_prime)
    frames = log.frames()
    early = [f for f in frames if f.time <= span.end]
    assert_at_most(
        len(early),
        0,
        what=f'frames before is_prime returned ({span.seconds:.2f} s)',
        meaning=f'a spinner free to run would have shown about {span.seconds / INTERVAL:.0f}; '
        'a coroutine that never awaits blocks the whole event loop',
    )
    table.add(
        model='async',
        work='is_prime in a coroutine',
        frames=len(early),
        wall_s=span.seconds,
        note=f'frozen; {len(frames)} frames after the work',
    )


# --- The switch interval ------------------------------------------------------------------------

GAP_INTERVAL = 0.05  # the spinner's interval when measuring the gap between its frames
GAPS = 4  # gaps measured per switch interval: the median of four shrugs off one late wake


@pytest.fixture
def switch_interval(request: pytest.FixtureRequest) -> Iterator[float]:
    """Set the interpreter's switch interval for one test, and put the old one back after it."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(request.param)
    try:
        yield request.param
    finally:
        sys.setswitchinterval(before)


@pytest.mark.cpu
@pytest.mark.parametrize(
    'switch_interval', [0.005, 0.2], ids=['switch 5ms', 'switch 200ms'], indirect=True
)
def test_thread_spinner_frame_gap_is_interval_plus_switch_interval_beside_a_busy_thread(
    switch_interval, table
):
    """The spinner's wait ends after one interval; then it waits for the GIL, which the busy
    thread only drops when asked, and the asking comes one switch interval later."""
    log = FrameLog()

    def busy() -> int:
        # Pure Python and C calls that keep the GIL: it only changes hands when CPython forces it.
        # The deadline only ends a spinner that never writes; the gaps are checked below.
        deadline = time.perf_counter() + JOIN_TIMEOUT
        while len(log.frames()) <= GAPS and time.perf_counter() < deadline:
            pass
        return GAPS

    spinner_thread.supervisor(busy, interval=GAP_INTERVAL, out=log)
    frames = log.frames()[: GAPS + 1]
    assert len(frames) > GAPS, (
        f'expected {GAPS + 1} frames beside the busy thread, the spinner wrote '
        f'{len(frames)} in {JOIN_TIMEOUT} s: it never got the GIL back'
    )
    gap = statistics.median(b.time - a.time for a, b in zip(frames, frames[1:]))
    expected = GAP_INTERVAL + switch_delay()
    # A wake-up on a shared machine comes a few milliseconds late, never early.
    assert_between(
        gap,
        0.9 * GAP_INTERVAL + 0.5 * switch_delay(),
        1.3 * expected + 0.01,
        what=f'median gap in s between frames (interval {GAP_INTERVAL} s + switch interval '
        f'{switch_interval} s, {machine.build()})',
        meaning='a thread that wants the GIL from a busy thread waits one switch interval'
        if machine.gil_enabled()
        else 'without the GIL the spinner never waits for the busy thread',
    )
    table.add(
        model='thread',
        work='busy loop',
        frames=len(frames),
        wall_s=frames[-1].time - frames[0].time,
        note=f'switch {1000 * switch_interval:g} ms: median gap {1000 * gap:.0f} ms ({machine.build()})',
    )


# --- The fixes for the coroutine ----------------------------------------------------------------


async def in_a_thread(n: int) -> bool:
    return await asyncio.to_thread(is_prime, n)


async def in_a_process(n: int) -> bool:
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=1) as pool:  # is_prime and n pickle, so spawn works too
        return await loop.run_in_executor(pool, is_prime, n)


FIXES = {'nap': primes.is_prime_nap, 'to_thread': in_a_thread, 'process pool': in_a_process}


@pytest.mark.cpu
@pytest.mark.parametrize('fix', FIXES)
async def test_coroutine_spinner_spins_when_is_prime_naps_or_runs_in_a_thread_or_a_process(
    fix, calibrated_prime, table
):
    """Each fix gives the event loop turns while is_prime works: the nap awaits asyncio.sleep(0)
    every few milliseconds, to_thread and run_in_executor leave the loop's thread free."""
    log, span = FrameLog(), Span()
    answer = await spinner_async.supervisor(
        partial(span.run_async, partial(FIXES[fix], calibrated_prime)), interval=INTERVAL, out=log
    )
    assert_found_prime(answer, calibrated_prime)
    during = span.during(log.frames())
    # Only beside a thread does the loop's own thread wait for the GIL before each frame.
    gap = INTERVAL + (switch_delay() if fix == 'to_thread' else 0.0)
    assert_spun_at_full_rate(
        during, span.end, gap, f'the coroutine spinner with the {fix} fix', started=span.start
    )
    table.add(model='async', work=f'is_prime, {fix}', frames=len(during), wall_s=span.seconds)


# --- Waiting releases the GIL ------------------------------------------------------------------

SLEEP = 0.1
SLEEPERS = 10


def sleep_in_threads(k: int, seconds: float) -> float:
    """Wall time for k threads that each sleep ``seconds``, started together."""
    threads = [
        threading.Thread(target=time.sleep, args=(seconds,), name=f'sleeper-{i}') for i in range(k)
    ]
    start = time.perf_counter()
    run_together(threads)
    return time.perf_counter() - start


def test_threads_that_sleep_finish_together_because_sleeping_releases_the_gil(table):
    """time.sleep, like a read from a socket, lets go of the GIL while it waits, so k waits overlap:
    threads suit I/O-bound work."""
    alone = sleep_in_threads(1, SLEEP)
    together = sleep_in_threads(SLEEPERS, SLEEP)
    assert_at_most(
        together / alone,
        1.5,
        what=f'time of {SLEEPERS} threads sleeping {SLEEP} s over one thread doing it',
        meaning=f'the sleeps should overlap; one after another they would take '
        f'{SLEEPERS} times as long',
    )
    table.add(
        model='thread',
        work=f'time.sleep({SLEEP}) x{SLEEPERS}',
        wall_s=together,
        speedup=SLEEPERS * alone / together,
        note=f'one sleeper alone: {alone:.2f} s',
    )
