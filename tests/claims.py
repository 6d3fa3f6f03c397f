"""Helpers for stating claims: named timeouts and assertions whose failures teach.

Each assertion hides itself from the traceback (``__tracebackhide__``) so that a failure points
at the claim in the test, and says what was expected, what was measured, and what that means.
"""

from __future__ import annotations

import collections
import functools
import math
import multiprocessing
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pytest

from concur import checkers, machine, supervisors
from concur.clocked import Clocked
from concur.primes import Number
from concur.protocols import Unit
from concur.testing.claim import Claim
from concur.testing.evidence import Verdict
from concur.testing.framelog import FrameLog, Written
from concur.testing.records import Timeline
from concur.testing.tolerances import EARLY, WAKE_LATE
from concur.testing.workload import ns
from concur.timeouts import DEMO_TIMEOUT, JOIN_TIMEOUT

T = TypeVar('T')

# Why a claim about a Dask cluster skips where Dask's distributed package is missing.
NO_DASK = (
    "Dask's distributed package is not installed for this Python, so there is no cluster to run "
    'the checker on (python -m pip install distributed; a free-threaded build may lack a wheel '
    'of a package it needs)'
)


@dataclass
class Stopwatch:
    """When the work ran, read on time.perf_counter(), the clock the FrameLog stamps writes with."""

    start: float = math.nan
    end: float = math.nan

    def run(self, work: Callable[[], T]) -> T:
        self.start = time.perf_counter()
        try:
            return work()
        finally:
            self.end = time.perf_counter()

    async def run_async(self, work: Callable[[], Awaitable[T]]) -> T:
        self.start = time.perf_counter()
        try:
            return await work()
        finally:
            self.end = time.perf_counter()

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def during(self, frames: list[Written]) -> list[Written]:
        return [f for f in frames if self.start <= f.time <= self.end]


def assert_between(measured: float, low: float, high: float, *, what: str, meaning: str) -> None:
    """Fail unless ``low <= measured <= high``; the message names the quantity and what it means."""
    __tracebackhide__ = True
    assert low <= measured <= high, (
        f'expected {what} between {low:.3g} and {high:.3g}, measured {measured:.3g}: {meaning}'
    )


def assert_at_most(measured: float, high: float, *, what: str, meaning: str) -> None:
    __tracebackhide__ = True
    assert measured <= high, (
        f'expected {what} of at most {high:.3g}, measured {measured:.3g}: {meaning}'
    )


def needs_cores(count: int) -> None:
    """Skip a claim that needs more cores than this process may use."""
    usable = machine.usable_cores()
    if usable < count:
        pytest.skip(
            f'this machine gives this process {usable} usable {machine.cores_word(usable)}; '
            f'the claim needs at least {count}'
        )


def assert_reported_once_each(
    results: list[checkers.PrimeResult], numbers: tuple[Number, ...]
) -> None:
    """Fail unless each of ``numbers`` was reported once, with its known verdict."""
    __tracebackhide__ = True
    wrong = misreported(results, numbers)
    assert not wrong, f'expected each of the {len(numbers)} numbers reported once: {wrong}'


def misreported(results: list[checkers.PrimeResult], numbers: tuple[Number, ...]) -> str:
    """What a checker's ``results`` got wrong about ``numbers``, in words; '' if nothing."""
    times = collections.Counter(result.n for result in results)
    missing = [n for n in ns(numbers) if not times[n]]
    repeated = [n for n, count in times.items() if count > 1]
    strangers = [n for n in times if n not in ns(numbers)]
    if missing or repeated or strangers:
        return f'missing {missing}, reported more than once {repeated}, never asked for {strangers}'
    verdicts = dict(numbers)
    wrong = [result.n for result in results if result.prime != verdicts[result.n]]
    return f'wrong verdict for {wrong}' if wrong else ''


def longest_check(*runs: Sequence[checkers.PrimeResult]) -> float:
    """Seconds of the longest single check in ``runs``: how unevenly workers handed numbers one
    at a time may end, one still checking its last while the others are done."""
    return max(r.elapsed for results in runs for r in results)


def counter_at(total: int, expected: int, increments: int, why: str, meaning: str) -> Verdict:
    """What a shared counter ``total`` after ``increments`` says, against the ``expected`` total
    (``why``: the reason for it)."""
    return Verdict(
        total == expected,
        measured=f'the counter at {total} after {increments} increments',
        expected=f'{expected}: {why}',
        meaning=meaning,
        figures={'total': total, 'units': increments},
    )


def finish(unit: Unit) -> None:
    """Wait for a started thread or process to end; fail if it hung, or if a process crashed."""
    __tracebackhide__ = True
    unit.join(JOIN_TIMEOUT)
    assert not unit.is_alive(), f'{unit!r} was still running {JOIN_TIMEOUT} s after it was joined'
    assert getattr(unit, 'exitcode', 0) == 0, f'{unit!r} failed (its traceback is above)'


def run_together(units: Sequence[Unit]) -> None:
    """Start every unit, then wait for each to end (see ``finish``): they run at the same time."""
    __tracebackhide__ = True
    for unit in units:
        unit.start()
    for unit in units:
        finish(unit)


def frames_verdict(
    frames: Sequence[Written],
    start: float,
    end: float,
    interval: float,
    delay: float = 0.0,
    why: str = '',
) -> Verdict:
    """What a spinner's frames between ``start`` and ``end`` say about "a frame every interval".

    A spinner asks to wake each ``interval``; it may be held up by at most ``delay`` more (the
    modelled part: a switch interval, chunks of work that run first, ...; ``why`` says which) and
    by the OS's WAKE_LATE. So each gap lies between the interval and the interval + delay +
    WAKE_LATE, and a window of W seconds holds between W / longest gap and W / interval + 1 frames.
    """
    window = end - start
    shown = [f for f in frames if start <= f.time <= end]
    low = math.floor(window / (interval + delay + WAKE_LATE))
    high = math.floor(window / (EARLY * interval)) + 1
    count = len(shown)
    gaps = [b.time - a.time for a, b in zip(shown, shown[1:], strict=False)]
    return Verdict(
        low <= count <= high,
        measured=f'{count} frames in {window:.2f} s',
        expected=f'{low} to {high} frames: one every {1000 * interval:g} ms{why}',
        meaning='too few means the spinner was kept from running each interval (it stalled); '
        'too many means it did not wait its interval',
        figures=frame_figures(count, window, interval, statistics.median(gaps) if gaps else None),
    )


def frame_figures(
    frames: int, seconds: float, interval: float, gap: float | None = None
) -> dict[str, float]:
    """A spinner claim's figures for its row: the frames it wrote over ``seconds`` of work, its
    interval, the median gap between its frames (where it wrote two) and the switch interval."""
    figures = {'frames': frames, 'seconds': seconds, 'interval': interval}
    figures['switch'] = sys.getswitchinterval()
    return figures | ({'gap': gap} if gap is not None else {})


def frames_timeline(
    section: str,
    title: str,
    frames: Sequence[Written],
    start: float,
    end: float,
    interval: float,
    expected: str,
) -> Timeline:
    """The frames written while the work ran, in seconds from its start, for the end report."""
    times = tuple(f.time - start for f in frames if start <= f.time <= end)
    return Timeline(section, title, end - start, interval, times, expected)


@dataclass(frozen=True)
class Spun:
    """One run of a supervisor: its answer, when its work ran, and what its spinner wrote."""

    answer: object
    span: Stopwatch
    writes: list[Written]  # everything written, oldest first
    frames: list[Written]  # of those, the spinner's frames


def spin(
    model: str,
    work: Callable[[], object],
    async_work: Callable[[], Awaitable[object]] | None,
    *,
    interval: float,
    start_method: str | None = None,
) -> Spun:
    """Run ``model``'s supervisor around ``work`` (for ``async``: ``async_work``, or ``work``
    called inside the coroutine), its spinner writing to a FrameLog: a child process's through a
    queue, which spawn can pickle."""
    sink = multiprocessing.get_context(start_method).SimpleQueue() if model == 'process' else None
    log, span = FrameLog(sink), Stopwatch()
    options = {'start_method': start_method} if model == 'process' else {}
    try:
        answer = supervisors.supervise(
            model,
            functools.partial(span.run, work),
            async_work and functools.partial(span.run_async, async_work),
            interval=interval,
            out=log,
            **options,
        )
        return Spun(answer, span, log.writes(), log.frames())
    finally:
        if sink is not None:
            sink.close()


def judge_frames(
    claim: Claim,
    trial: Callable[[], Spun],
    *,
    title: str,
    key: str = '',
    interval: float,
    delay: Callable[[Spun], float] = lambda _: 0.0,
    why: str = '',
    from_first_frame: bool = False,
) -> Spun:
    """Judge "a frame every interval (+ ``delay``) while the work runs" on runs of ``trial``:
    counted from the start of the work, or from the first frame where the spinner's start-up is
    not the claim. The cores the spinner and the work need free are the test's cpu marker's."""

    def window(r: Spun) -> tuple[float, float]:
        first = r.frames[0].time if r.frames else r.span.end
        return (max(r.span.start, first) if from_first_frame else r.span.start), r.span.end

    def expected(r: Spun) -> str:
        return f'a frame every {1000 * (interval + delay(r)):.0f} ms'

    return claim.judge(
        trial,
        lambda r, _: frames_verdict(r.frames, *window(r), interval, delay(r), why),
        key=key,
        pictures=lambda r: [
            frames_timeline(
                claim.section, title, r.frames, r.span.start, r.span.end, interval, expected(r)
            )
        ],
    )


def first_then(value: T, again: Callable[[], T]) -> Callable[[], T]:
    """A trial that uses a run already made (shared by a module's tests) first, then new ones."""
    runs = [value]
    return lambda: runs.pop() if runs else again()


# The end report's section of the tests of the suite's own tools.
TOOLS = "the suite's own tools"


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m concur ARGS`` as a learner would, within DEMO_TIMEOUT."""
    result = subprocess.run(
        [sys.executable, '-m', 'concur', *args], capture_output=True, timeout=DEMO_TIMEOUT
    )
    # decoded by hand: text=True would turn the spinner's carriage returns into newlines
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode().replace('\r\n', '\n'),
        result.stderr.decode(),
    )


def assert_ran_elsewhere(
    calls: Sequence[Clocked], unit: str, *, exclude: int, answer: object, meaning: str
) -> None:
    """No call ran in ``exclude``, the caller's ``unit`` ('pid' or 'thread'), and each returned
    ``answer``: evidence that the units really did the work, and did it right."""
    __tracebackhide__ = True
    where = [getattr(call, unit) for call in calls]
    assert exclude not in where, (
        f"expected {len(calls)} calls in {unit}s other than the caller's ({exclude}), they ran "
        f'in {where}: {meaning}'
    )
    wrong = [call.value for call in calls if call.value != answer]
    assert not wrong, f'expected every call to answer {answer!r}, got {wrong}'


def apart(calls: Sequence[Clocked], unit: str) -> bool:
    """Each call ran in a ``unit`` ('pid' or 'thread') of its own."""
    return len({getattr(call, unit) for call in calls}) == len(calls)


def switch_delay() -> float:
    """How late a thread that wants the GIL gets it from a busy thread: one switch interval, or
    nothing on a free-threaded build running without the GIL."""
    return sys.getswitchinterval() if machine.gil_enabled() else 0.0
