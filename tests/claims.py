"""Helpers for stating claims: named timeouts and assertions whose failures teach.

Each assertion hides itself from the traceback (``__tracebackhide__``) so that a failure points
at the claim in the test, and says what was expected, what was measured, and what that means.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from concur import machine
from concur.clocked import Clocked
from concur.protocols import Unit
from concur.testing.evidence import Machine, Verdict, judge
from concur.testing.framelog import Written
from concur.testing.measure import Usage
from concur.testing.records import Recorder, WorkerChart
from concur.testing.records import Span as ChartSpan
from concur.timeouts import DEMO_TIMEOUT, JOIN_TIMEOUT

T = TypeVar('T')


@dataclass
class Span:
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


def assert_at_least(measured: float, low: float, *, what: str, meaning: str) -> None:
    __tracebackhide__ = True
    assert measured >= low, (
        f'expected {what} of at least {low:.3g}, measured {measured:.3g}: {meaning}'
    )


def assert_at_most(measured: float, high: float, *, what: str, meaning: str) -> None:
    __tracebackhide__ = True
    assert measured <= high, (
        f'expected {what} of at most {high:.3g}, measured {measured:.3g}: {meaning}'
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


def assert_spun_at_full_rate(
    frames: list[Written], ended: float, interval: float, who: str, started: float | None = None
) -> None:
    """About one frame per interval, from ``started`` (by default the spinner's first frame) until
    the work ``ended``."""
    __tracebackhide__ = True
    assert frames, f'{who} wrote no frame at all while the work ran'
    span = ended - (frames[0].time if started is None else started)
    expected = span / interval + 1  # a frame at once, then one per interval until the stop
    # A wait overshoots its timeout by a millisecond or two here, more on a loaded machine, so the
    # count may fall short of the ideal; 20 % covers that and still fails a spinner that stalls.
    assert_between(
        len(frames),
        0.8 * expected - 1,
        expected + 1,
        what=f'frames from {who} ({span:.2f} s / {interval} s + 1)',
        meaning='the spinner should wake once per interval for as long as the work runs',
    )


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
# A claim about one busy core needs a core to itself: other programs must have left all but a
# few hundredths of one free. With less, the busy thread shares a core, and 0.8 of one means
# nothing (seen here: 0.79 while another program and another test worker ran).
WHOLE_CORE = 0.95


def skip_unless_free(usage: Usage, cores: float, claim: str) -> None:
    """Skip when other programs left fewer than ``cores`` free while ``usage`` was measured."""
    if usage.available < cores:
        pytest.skip(
            f'other programs kept the cores busy: only {usage.available:.2f} of '
            f'{machine.usable_cores()} cores were free while this ran, so the machine '
            f'could not show that {claim}'
        )


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
# barrier and collecting them costs a millisecond of a share's 40, and two hardware threads of a
# virtual machine share one core's caches (measured here: two threads hashing, 1.82x faster).
PARALLEL_SHARE = 0.8
# Units taking turns at one core take at least this share of the time one after another would:
# taking turns only adds hand-offs, and 0.9 leaves room for the noise of the baseline itself.
TAKING_TURNS = 0.9
# Units that take turns keep at most this many cores busy: a thread waiting for the GIL sleeps,
# and its CPU clock ticks only for the microseconds of each hand-off.
ONE_CORE_AT_MOST = 1.1
# A run cannot be faster than the cores it used: a speedup above this many times those cores
# means its baseline was slowed by something else, and the run shows nothing.
CORES_EXPLAIN_SPEEDUP = 1.1


def chart(section: str, title: str, calls: Sequence[tuple[str, int, Clocked]]) -> WorkerChart:
    """A worker chart of clocked calls, each ``(worker, work item, call)``, timed from the first
    call's start, so that charts of different runs line up one above another."""
    origin = min(call.start for _, _, call in calls)
    return WorkerChart(
        section,
        title,
        tuple(
            ChartSpan(worker, n, call.start - origin, call.end - origin)
            for worker, n, call in calls
        ),
    )


def judge_with_charts(
    trial: Callable[[], T],
    verdict: Callable[[T, Machine], Verdict],
    charts: Callable[[T], Sequence[WorkerChart]],
    *,
    report: Recorder,
    **judging: Any,
) -> T:
    """``judge`` a claim, then add the worker charts of its last trial to the report, whether the
    claim passed, failed or skipped: the picture shows what the figures say."""
    last: list[T] = []

    def kept() -> T:
        last[:] = [trial()]
        return last[0]

    try:
        return judge(kept, verdict, report=report, **judging)
    finally:
        for drawn in charts(last[0]) if last else ():
            report.add(drawn)


def assert_ran_apart(calls: Sequence[Clocked], unit: str, *, exclude: int, answer: object) -> None:
    """Each call ran in a ``unit`` ('pid' or 'thread') of its own, none of them ``exclude`` (the
    caller's), and returned ``answer``: evidence that the k units really did the work."""
    __tracebackhide__ = True
    where = [getattr(call, unit) for call in calls]
    assert len(set(where)) == len(calls) and exclude not in where, (
        f"expected {len(calls)} calls in as many {unit}s other than the caller's ({exclude}), "
        f'they ran in {where}'
    )
    wrong = [call.value for call in calls if call.value != answer]
    assert not wrong, f'expected every call to answer {answer!r}, got {wrong}'


def switch_delay() -> float:
    """How late a thread that wants the GIL gets it from a busy thread: one switch interval, or
    nothing on a free-threaded build running without the GIL."""
    return sys.getswitchinterval() if machine.gil_enabled() else 0.0
