"""Helpers for stating claims: named timeouts and assertions whose failures teach.

Each assertion hides itself from the traceback (``__tracebackhide__``) so that a failure points
at the claim in the test, and says what was expected, what was measured, and what that means.
"""

from __future__ import annotations

import collections
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Sequence, TypeVar

import pytest

from concur import checkers, machine
from concur.primes import Number
from concur.protocols import Unit
from concur.testing.framelog import Written
from concur.testing.measure import Usage
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


def assert_reported_once_each(
    results: list[checkers.PrimeResult], numbers: tuple[Number, ...]
) -> None:
    """Fail unless each of ``numbers`` was reported once, with its known verdict."""
    __tracebackhide__ = True
    times = collections.Counter(result.n for result in results)
    missing = [n for n in ns(numbers) if not times[n]]
    repeated = [n for n, count in times.items() if count > 1]
    strangers = [n for n in times if n not in ns(numbers)]
    assert not (missing or repeated or strangers), (
        f'expected each of the {len(numbers)} numbers reported once; missing {missing}, '
        f'reported more than once {repeated}, never asked for {strangers}'
    )
    verdicts = dict(numbers)
    wrong = [result.n for result in results if result.prime != verdicts[result.n]]
    assert not wrong, f'wrong verdict for {wrong}'


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
