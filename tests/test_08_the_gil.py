"""The GIL: the notes' three questions, answered by counting frames, and what follows from them.

Put ``is_prime(n)``, pure CPU work, where ``slow()`` slept. In CPython only the thread that holds
the Global Interpreter Lock runs Python code. A child process has a GIL of its own. A thread that
has waited one switch interval for the GIL asks the holder to drop it, and the holder does at its
next check; with nobody waiting, nothing is handed over. A coroutine hands the event loop over only
where it awaits. The prime is calibrated at run time to take a few tenths of a second here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import NamedTuple, cast

import pytest
from claims import (
    Spun,
    frame_figures,
    frames_timeline,
    judge_frames,
    run_together,
    spin,
    switch_delay,
)

from concur import clocked, machine, primes, supervisors
from concur.primes import is_prime
from concur.testing.claim import Claim
from concur.testing.evidence import Machine, Verdict
from concur.testing.framelog import FrameLog, Written
from concur.testing.tolerances import EARLY, IDLE_CORES, WAKE_LATE
from concur.timeouts import JOIN_TIMEOUT

INTERVAL = 0.03  # the spinner's; about ten frames while the calibrated is_prime runs
SECTION = "the GIL's three questions"


def spin_around(
    model: str,
    n: int,
    async_work: Callable[[], Awaitable[object]] | None = None,
    start_method: str | None = None,
) -> Spun:
    """Run ``model``'s supervisor with ``is_prime(n)`` as the work (for ``async``: called inside
    the coroutine, unless ``async_work`` is given)."""
    return spin(
        model, partial(is_prime, n), async_work, interval=INTERVAL, start_method=start_method
    )


def judge_spinning(
    claim: Claim,
    trial: Callable[[], Spun],
    title: str,
    key: str = '',
    delay: Callable[[Spun], float] = lambda _: 0.0,
    why: str = '',
    from_first_frame: bool = False,
) -> Spun:
    """Judge "the spinner shows a frame every interval (+ ``delay``) while is_prime runs"."""
    run = judge_frames(
        claim,
        trial,
        title=title,
        key=key,
        interval=INTERVAL,
        delay=delay,
        why=why,
        from_first_frame=from_first_frame,
    )
    answer = run.answer.value if isinstance(run.answer, clocked.Clocked) else run.answer
    assert answer is True, f'expected is_prime to answer True (it is prime), got {answer!r}'
    return run


# --- The three questions ----------------------------------------------------------------------


@pytest.mark.cpu(cores=2)
def test_process_spinner_keeps_full_rate_while_the_parent_runs_is_prime(
    default_start_method, calibrated_prime, claim
):
    """Question 1. The child process runs its own interpreter with its own GIL, so is_prime in
    the parent cannot hold it back: a frame every interval, from another PID."""
    run = judge_spinning(
        claim,
        partial(spin_around, 'process', calibrated_prime, start_method=default_start_method),
        'question 1: a process spinner while the parent runs is_prime',
        key='question 1',
        # Counted from the first frame: a spawned child takes a while to start, and that is no
        # GIL's doing.
        from_first_frame=True,
    )
    pids = {f.pid for f in run.frames}
    assert pids and os.getpid() not in pids, (
        f'expected every frame from the child process, got PIDs {pids} (this is {os.getpid()})'
    )


@pytest.mark.cpu(cores=2)
def test_thread_spinner_still_spins_while_the_main_thread_runs_is_prime(calibrated_prime, claim):
    """Question 2. The threads share one GIL, but a thread that has waited one switch interval
    for it asks the holder to drop it, and CPython makes the holder obey: the spinner still gets
    its turns, each about a switch interval late."""
    switch = 1000 * sys.getswitchinterval()
    run = judge_spinning(
        claim,
        partial(spin_around, 'thread', calibrated_prime),
        'question 2: a thread spinner while the main thread runs is_prime',
        key='question 2',
        delay=lambda _: switch_delay(),
        why=f' + up to the switch interval, {switch:g} ms ({machine.build()})',
    )
    writers = {(f.pid, f.thread) for f in run.frames}
    assert all(pid == os.getpid() and thread != threading.get_ident() for pid, thread in writers), (
        f'expected the frames from another thread of this process, got (pid, thread) {writers}'
    )


@pytest.mark.cpu(cores=1)
def test_coroutine_spinner_is_frozen_until_is_prime_returns_in_a_coroutine(calibrated_prime, claim):
    """Question 3. A coroutine that calls plain is_prime never awaits, so the event loop cannot
    run the spinner task until the work is over; by then the supervisor cancels it, and a task
    cancelled before its first step never runs. The answer is still right."""
    run = spin_around('async', calibrated_prime)
    early = run.span.during(run.frames)
    free = run.span.seconds / INTERVAL
    claim.exact(
        Verdict(
            not early and run.answer is True,
            measured=f'{len(early)} frames in {run.span.seconds:.2f} s of is_prime, '
            f'answer {run.answer}',
            expected=f'no frame (a free loop would have shown {free:.0f}), answer True',
            meaning='a coroutine that never awaits blocks the whole event loop, so no other task '
            'can run until it returns',
            figures=frame_figures(len(early), run.span.seconds, INTERVAL),
        ),
        key='question 3',
        pictures=[
            frames_timeline(
                SECTION,
                'question 3: a coroutine spinner while a coroutine runs is_prime',
                run.frames,
                run.span.start,
                run.span.end,
                INTERVAL,
                'no frame: the loop is never free',
            )
        ],
    )


async def await_is_prime(n: int) -> object:
    """Question 3 as the notes write it: ``await is_prime(n)``."""
    return await is_prime(n)  # type: ignore[misc]  # the mistake under test


def test_await_is_prime_raises_type_error_because_is_prime_returns_a_bool_not_an_awaitable(
    claim,
):
    """``await`` takes an awaitable (a coroutine, a task, a future); is_prime runs to the end
    first and returns a bool, which ``await`` refuses: question 3 means a plain call."""
    try:
        asyncio.run(await_is_prime(7))
    except TypeError as error:
        raised = f'TypeError: {error}'
    else:
        raised = ''
    claim.exact(
        Verdict(
            bool(raised),
            measured=raised or 'no exception',
            expected="TypeError: a bool can't be used in an 'await' expression",
            meaning='await accepted what is_prime returned, so is_prime returned an awaitable',
            figures={'raised': float(bool(raised))},
        ),
        key='question 3 as written',
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


def frames_beside_a_busy_thread() -> list[Written]:
    """The spinner thread's first GAPS + 1 frames while the main thread never lets go of the GIL
    unless CPython forces it."""
    log = FrameLog()

    def busy() -> int:
        # Pure Python and C calls that keep the GIL: it only changes hands when CPython forces it.
        # The deadline only ends a spinner that never writes; the verdict reads the frames.
        deadline = time.perf_counter() + JOIN_TIMEOUT
        while len(log.frames()) <= GAPS and time.perf_counter() < deadline:
            pass
        return GAPS

    supervisors.supervise('thread', busy, interval=GAP_INTERVAL, out=log)
    return log.frames()[: GAPS + 1]


@pytest.mark.cpu(cores=2)
@pytest.mark.parametrize(
    'switch_interval',
    [0.005, 0.05],
    ids=[f'switch {ms}ms, {machine.build()}' for ms in (5, 50)],
    indirect=True,
)
def test_thread_spinner_frame_gap_beside_a_busy_thread_is_interval_plus_switch_only_under_the_gil(
    switch_interval, claim
):
    """The spinner's wait ends after one interval; then it waits for the GIL, which the busy
    thread only drops when asked, and the asking comes one switch interval later. (The frames go
    to memory here; a write to a terminal lets go of the GIL, and the spinner waits for it again,
    so a live spinner's frames come up to two switch intervals late.) Without the GIL (a
    free-threaded build) nothing holds the spinner up: the gap is the interval."""
    # The interval this test set, not the one read back: a setting that did not take must show.
    expected = GAP_INTERVAL + (switch_interval if machine.gil_enabled() else 0.0)
    # Never earlier than the two waits; later by at most one wake-up's lateness for each.
    low, high = expected, expected + 2 * WAKE_LATE

    def verdict(frames: list[Written], reading: Machine) -> Verdict:
        gaps = [b.time - a.time for a, b in zip(frames, frames[1:], strict=False)]
        gap = statistics.median(gaps) if len(gaps) == GAPS else math.inf
        holds: bool | None = EARLY * low <= gap <= high
        # Late frames beside another program that ran show nothing: a wake-up may wait for a core.
        if gap > high and reading.others > IDLE_CORES:
            holds = None
        return Verdict(
            holds,
            measured=f'median gap {1000 * gap:.1f} ms over {len(gaps)} gaps',
            expected=f'{1000 * low:.0f} to {1000 * high:.0f} ms: interval {1000 * GAP_INTERVAL:g} '
            f'ms + switch interval {1000 * switch_interval:g} ms ({machine.build()})',
            meaning='a thread that wants the GIL from a busy thread waits one switch interval'
            if machine.gil_enabled()
            else 'without the GIL the spinner never waits for the busy thread',
            figures={'gap': gap, 'interval': GAP_INTERVAL, 'switch': switch_interval},
            unclear=f'frames later than the bound while other programs took {reading.others:.2f} '
            'cores: a wake-up may have waited for a core',
        )

    claim.judge(frames_beside_a_busy_thread, verdict, key='switch interval')


# --- The fixes for the coroutine ----------------------------------------------------------------


async def in_a_thread(n: int) -> clocked.Clocked:
    return await asyncio.to_thread(clocked.clocked, is_prime, n)


async def in_a_process(n: int) -> clocked.Clocked:
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=1) as pool:  # these pickle, so spawn works too
        return await loop.run_in_executor(pool, clocked.clocked, is_prime, n)


def nap_chunk(run: Spun, n: int) -> float:
    """Seconds one chunk of is_prime_nap took in ``run``: its time over its number of chunks."""
    divisors = (math.isqrt(n) - 1) // 2
    return run.span.seconds / math.ceil(divisors / primes.NAP_EVERY)


@pytest.mark.cpu(cores=1)
def test_coroutine_spinner_spins_when_is_prime_naps(calibrated_prime, claim):
    """is_prime_nap awaits asyncio.sleep(0) after each chunk of divisions, and the loop runs the
    spinner there: a due frame waits for at most three chunks (the one running when the timer
    falls due, then one before the timer's callback and one before the task's wake-up)."""
    judge_spinning(
        claim,
        partial(
            spin_around, 'async', calibrated_prime, partial(primes.is_prime_nap, calibrated_prime)
        ),
        'the nap fix: is_prime awaits asyncio.sleep(0) every chunk',
        delay=lambda r: 3 * nap_chunk(r, calibrated_prime),
        why=' + up to 3 chunks of the nap, measured in the same run',
    )


# Numbers where a trial division goes wrong first: the smallest, evens, squares of primes (whose
# one divisor is the square root, the last one tried, at the edge of a chunk when chunks are a
# few divisors), and Carmichael numbers, which fool Fermat's test, not trial division.
TRICKY = (
    *range(-3, 30),
    2**61,
    *(p * p for p in (3, 5, 7, 1009, 100_003)),
    *(561, 1105, 1729, 2465, 2821, 6601, 8911, 41041, 252601, 825265, 9_999_109_081),
    *(primes.next_prime(10**k) for k in (3, 6, 9)),
)


def napping(n: int, every: int) -> tuple[bool, int]:
    """Drive ``is_prime_nap(n, every)`` by hand, as a loop would: its answer and how many times
    it napped (each ``asyncio.sleep(0)`` hands control back once)."""
    coroutine = primes.is_prime_nap(n, every)
    naps = 0
    while True:
        try:
            coroutine.send(None)
        except StopIteration as answer:
            return answer.value, naps
        naps += 1


@pytest.mark.parametrize('every', [1, 2, 3, primes.NAP_EVERY])
def test_is_prime_nap_answers_as_is_prime_does_on_small_even_square_and_carmichael_numbers(
    every, claim
):
    """Napping splits the divisions into chunks; it must not change the answer, at a chunk's
    edge least of all."""
    wrong = [n for n in TRICKY if napping(n, every)[0] != is_prime(n)]
    claim.exact(
        Verdict(
            not wrong,
            measured=f'{len(TRICKY) - len(wrong)} of {len(TRICKY)} answers agree'
            + (f'; wrong for {wrong[:5]}' if wrong else ''),
            expected="is_prime's answer for each of 0 to 29, negatives, evens, squares of "
            'primes and Carmichael numbers',
            meaning='the nap fix must check the same divisors as is_prime',
        )
    )


def test_is_prime_nap_naps_once_per_chunk_of_divisors_of_a_prime():
    """A prime is checked against every odd divisor up to its square root, ``every`` of them a
    chunk, and after each chunk the coroutine naps: no fewer naps, or the loop waits longer."""
    n = primes.next_prime(10**9)
    divisors = len(range(3, math.isqrt(n) + 1, 2))
    for every in (1, 7, primes.NAP_EVERY // 100):
        answer, naps = napping(n, every)
        assert (answer, naps) == (True, math.ceil(divisors / every)), (
            f'expected is_prime_nap({n}, {every}) to answer True after '
            f'{math.ceil(divisors / every)} naps ({divisors} divisors), got {answer} after {naps}'
        )


# The most one chunk of is_prime_nap may take: a due frame waits up to three chunks, so three
# must fit in one of the spinner's intervals, or a frame every "interval + delay" allows a stall.
CHUNK_AT_MOST = INTERVAL / 3


def chunk_seconds(n: int) -> float:
    """The median time between two naps of is_prime_nap checking the prime ``n``."""
    coroutine = primes.is_prime_nap(n)
    marks = [time.perf_counter()]
    with contextlib.suppress(StopIteration):
        while True:
            coroutine.send(None)
            marks.append(time.perf_counter())
    return statistics.median(b - a for a, b in itertools.pairwise(marks))


@pytest.mark.cpu(cores=1)
def test_is_prime_nap_naps_every_few_milliseconds(calibrated_prime, claim):
    """The nap fix works only if the naps come often: a chunk of NAP_EVERY divisions is a few
    milliseconds of work here."""
    claim.judge(
        partial(chunk_seconds, calibrated_prime),
        lambda chunk, _: Verdict(
            chunk <= CHUNK_AT_MOST,
            measured=f'a chunk of {primes.NAP_EVERY} divisions took {1000 * chunk:.1f} ms (median)',
            expected=f'at most {1000 * CHUNK_AT_MOST:.0f} ms: three chunks within the '
            f"spinner's {1000 * INTERVAL:.0f} ms interval",
            meaning='naps that far apart leave the spinner stalled between them',
        ),
    )


def where_it_ran(call: clocked.Clocked) -> str:
    """This thread, another thread of this process, or another process."""
    if call.pid != os.getpid():
        return 'another process'
    return (
        'this thread'
        if call.thread == threading.get_native_id()
        else ('another thread of this process')
    )


@pytest.mark.cpu(cores=2)
@pytest.mark.parametrize('fix', ['to_thread', 'process pool'])
def test_coroutine_spinner_spins_when_is_prime_runs_in_a_thread_or_a_process(
    fix, calibrated_prime, claim
):
    """asyncio.to_thread and run_in_executor with a process pool (the book's chapter 20) leave
    the loop's thread free; beside a busy thread the loop's thread still waits about a switch
    interval for the GIL before each frame."""
    offload = in_a_thread if fix == 'to_thread' else in_a_process
    beside_a_thread = fix == 'to_thread'
    run = judge_spinning(
        claim,
        partial(spin_around, 'async', calibrated_prime, partial(offload, calibrated_prime)),
        f'the {fix} fix',
        delay=lambda _: switch_delay() if beside_a_thread else 0.0,
        why=f' + up to the switch interval ({machine.build()})' if beside_a_thread else '',
    )
    ran = cast(clocked.Clocked, run.answer)
    where = 'another thread of this process' if beside_a_thread else 'another process'
    claim.exact(
        Verdict(
            where_it_ran(ran) == where,
            measured=f'is_prime ran in {where_it_ran(ran)} (pid {ran.pid}, thread {ran.thread})',
            expected=f'{where} (the loop runs in pid {os.getpid()}, thread '
            f'{threading.get_native_id()})',
            meaning=f'the {fix} fix runs is_prime {"beside" if beside_a_thread else "away from"} '
            "the loop's interpreter: a fix that ran it elsewhere is another fix",
        )
    )


# --- Waiting releases the GIL ------------------------------------------------------------------

SLEEP = 0.1
SLEEPERS = 10


def wall_of_threads(k: int, target: Callable[[], object]) -> float:
    """Wall time for k threads running ``target``, started together and joined."""
    threads = [threading.Thread(target=target, name=f'sleeper-{i}') for i in range(k)]
    start = time.perf_counter()
    run_together(threads)
    return time.perf_counter() - start


class SleepingThreads(NamedTuple):
    alone: float  # one thread sleeping SLEEP
    together: float  # SLEEPERS threads sleeping SLEEP each
    starting: float  # SLEEPERS threads that do nothing: the cost of starting and joining them


def sleep_in_threads() -> SleepingThreads:
    return SleepingThreads(
        wall_of_threads(1, partial(time.sleep, SLEEP)),
        wall_of_threads(SLEEPERS, partial(time.sleep, SLEEP)),
        wall_of_threads(SLEEPERS, lambda: None),
    )


@pytest.mark.cpu(cores=2)
def test_threads_that_sleep_finish_together_because_sleeping_releases_the_gil(claim):
    """time.sleep, like a read from a socket, lets go of the GIL while it waits, so k waits overlap:
    threads suit I/O-bound work."""

    def verdict(s: SleepingThreads, _: Machine) -> Verdict:
        # Overlapping sleeps end when one alone does, plus the cost of starting the others
        # (measured with threads that do nothing) and a wake-up for each, one after another,
        # as each needs the GIL to finish.
        bound = s.alone + s.starting + SLEEPERS * WAKE_LATE
        return Verdict(
            s.together <= bound,
            measured=f'{SLEEPERS} threads sleeping {SLEEP:g} s took {s.together:.3f} s',
            expected=f'at most {bound:.3f} s, as one sleeper ({s.alone:.3f} s) + starting '
            f'{SLEEPERS} threads ({s.starting:.3f} s); one after another they would take '
            f'{SLEEPERS * SLEEP:g} s',
            meaning='the sleeps did not overlap: a sleeping thread kept the GIL',
            figures={'together': s.together, 'alone': s.alone, 'units': SLEEPERS},
        )

    claim.judge(sleep_in_threads, verdict, key='threads waiting together')
