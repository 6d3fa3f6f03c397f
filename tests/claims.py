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
from concur.testing.evidence import Verdict, judge
from concur.testing.framelog import FrameLog, Written
from concur.testing.records import Recorder, Span, Timeline, WorkerChart
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


def checks_span(results: Sequence[checkers.PrimeResult]) -> float:
    """Seconds from the start of the first check to the end of the last, as the workers timed
    them: a run's work without the starting and stopping of its units."""
    return max(r.started + r.elapsed for r in results) - min(r.started for r in results)


def longest_check(*runs: Sequence[checkers.PrimeResult]) -> float:
    """Seconds of the longest single check in ``runs``: how unevenly workers handed numbers one
    at a time may end, one still checking its last while the others are done."""
    return max(r.elapsed for results in runs for r in results)


def worker_chart(
    section: str, title: str, results: Sequence[checkers.PrimeResult], began: float
) -> WorkerChart:
    """Which worker checked which number, and when: seconds from ``began``, when the run began."""
    spans = tuple(
        Span(r.worker, r.n, r.started - began, r.started - began + r.elapsed) for r in results
    )
    return WorkerChart(section, title, spans)


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


# A wake-up on a quiet machine comes this much after the time it asked for, at most on average:
# the OS's timer slack and scheduler (measured here: the gaps between a sleeping spinner's frames
# were its interval plus 0.2 ms (thread), 0.4 ms (process), 0.3 ms (task), median over 5 runs).
WAKE_LATE = 0.002


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
    high = math.floor(window / (0.98 * interval)) + 1  # a timed wait may end a hair early
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
    report: Recorder,
    trial: Callable[[], Spun],
    *,
    section: str,
    claim: str,
    title: str,
    variant: str = '',
    key: str = '',
    interval: float,
    delay: Callable[[Spun], float] = lambda _: 0.0,
    why: str = '',
    cores: float,
    from_first_frame: bool = False,
) -> Spun:
    """Judge "a frame every interval (+ ``delay``) while the work runs" on runs of ``trial``:
    counted from the start of the work, or from the first frame where the spinner's start-up is
    not the claim. ``cores``: what the spinner and the work need free for the claim to show."""

    def window(r: Spun) -> tuple[float, float]:
        first = r.frames[0].time if r.frames else r.span.end
        return (max(r.span.start, first) if from_first_frame else r.span.start), r.span.end

    def expected(r: Spun) -> str:
        return f'a frame every {1000 * (interval + delay(r)):.0f} ms'

    return judge(
        trial,
        lambda r, _: frames_verdict(r.frames, *window(r), interval, delay(r), why),
        report=report,
        section=section,
        claim=claim,
        variant=variant,
        key=key,
        cores=cores,
        pictures=lambda r: [
            frames_timeline(
                section, title, r.frames, r.span.start, r.span.end, interval, expected(r)
            )
        ],
    )


def first_then(value: T, again: Callable[[], T]) -> Callable[[], T]:
    """A trial that uses a run already made (shared by a module's tests) first, then new ones."""
    runs = [value]
    return lambda: runs.pop() if runs else again()


# The end report's section of the tests of the suite's own tools.
TOOLS = "the suite's own tools"
BLOCK = 0.2  # seconds each measuring-tool test spends in its block
# The kernel counts user and system time in hundredths of a second, each rounded on its own.
ROUNDING = 0.021
# A block that sleeps is on the CPU only for the milliseconds of reading the counters, but the
# kernel charges a whole 10 ms tick to whatever runs when its clock ticks: one or two such ticks
# show in a sleeping block now and then (measured here: 0.02 s in 1 run of 20), so a third is
# allowed. Still far below the 0.8 core of a busy block.
IDLE_CORES = (ROUNDING + 0.01) / BLOCK
# A busy thread gets a whole core when one is free; the counters' 10 ms ticks make the measured
# value wobble by a few hundredths either way.
ONE_CORE = (0.8, 1.15)


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


# ---- work in k units at once: the bounds of the K and R claims --------------------------------

# k units on k free cores reach at least this share of a k-fold speedup: releasing them at a
# barrier and collecting them costs a millisecond of a share's 30, and two hardware threads of a
# virtual machine share one core's caches (measured here: two threads hashing, 1.82x faster).
PARALLEL_SHARE = 0.8


def cores_slowed_each_other(speedup: float, cores_used: float, k: int) -> bool:
    """True when k units kept about k cores busy together yet fell short of a k-fold speedup: they
    did less work per CPU-second than one alone, so the cores slowed each other (two hardware
    threads of one core, a neighbour on the host), which says nothing about the claim either way.
    Seen here: 2 processes 1.33x faster on 1.99 cores, the control finding 1.90 cores free; 2
    shares on 3.13t, 1.33x on 1.59 cores."""
    return cores_used >= PARALLEL_SHARE * k and speedup < PARALLEL_SHARE * k


# Units taking turns at one core take at least this share of the time one after another would:
# taking turns only adds hand-offs, but a share of a few hundredths of a second varies by a tenth
# from one run to the next here (a core that has been idle speeds up over its first tenths of a
# second of work; seen: two to_thread calls under the GIL 1.13x as fast as one alone, twice).
# Units running in parallel come near k-fold, far past it.
TAKING_TURNS = 0.8
# Units that take turns keep at most this many cores busy: a thread waiting for the GIL sleeps,
# and its CPU clock ticks only for the microseconds of each hand-off.
ONE_CORE_AT_MOST = 1.1
# A run cannot be faster than the cores it used: a speedup above this many times those cores
# means its baseline was slowed by something else, and the run shows nothing.
CORES_EXPLAIN_SPEEDUP = 1.1
# Why such a trial shows nothing, in the words of a skip.
SLOWED_BASELINE = 'a speedup above the cores the run used, which only a slowed baseline gives'
CORES_SLOWED = (
    'the units kept the cores busy together yet fell short of the speedup: the cores slowed '
    'each other'
)


def chart(
    section: str, title: str, calls: Sequence[tuple[str, int, Clocked]], item: str = 'call'
) -> WorkerChart:
    """A worker chart of clocked calls, each ``(worker, work item, call)``, timed from the first
    call's start, so that charts of different runs line up one above another. ``item``: what a
    call is, in the chart's words."""
    origin = min(call.start for _, _, call in calls)
    return WorkerChart(
        section,
        title,
        tuple(Span(worker, n, call.start - origin, call.end - origin) for worker, n, call in calls),
        item=item,
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
