"""The evidence policy: when a measurement may pass a claim, fail it, or say nothing.

The machines that run the spec are shared and differ in speed, so a timing on its own proves
little. Every claim that depends on time or on free cores goes through ``judge``:

- A **trial** measures the claim once, with the code under test; a **verdict** reads the trial's
  figures and says whether they agree with the claim (``holds=True``), contradict it (``False``),
  or disagree with each other so that the run shows nothing (``None``: a speedup above the cores
  the run used means the baseline was slowed, not that the claim holds).
- The **control** reads the machine over the same window: during the trial, psutil's count of the
  CPU time that other programs took (passive, free); right after it, plain processes doing a fixed
  piece of work at once, one per usable core, each timed in wall time and in CPU time (active:
  what the cores gave plain work in the moment after the trial, not an average over it). A core
  that runs slower just now stretches both times alike; a core shared with another program
  leaves the process a share of its wall time. A machine is **quiet** for a claim that needs
  ``c`` cores when both readings found ``c`` of them free.
- A pass needs a verdict that holds; a claim of the form "no faster" or "one core at most" also
  needs a quiet machine, which could have shown the opposite (and so at least two usable cores).
  A fail needs two contradicting trials on a quiet machine. Anything else is tried again,
  ``ATTEMPTS`` times in all, then skipped with every trial's figures and the control's readings.

Every verdict leaves a ``Row`` for the end report, passed, failed or skipped, before the test ends.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeVar

import pytest
from filelock import FileLock

from concur import machine
from concur.testing import units
from concur.testing.measure import Usage
from concur.testing.records import Record, Recorder, Row
from concur.timeouts import JOIN_TIMEOUT

T = TypeVar('T')

# Trials of one claim at most: enough to outlast another program's burst of a second or two.
ATTEMPTS = 3
# Contradicting trials on a quiet machine before a claim fails: one could still be a burst that
# started after the control looked, two in a row are the claim's own doing.
CONTRADICTIONS_TO_FAIL = 2
# A machine counts as quiet for a claim needing c cores when at least QUIET_SHARE of each was
# free. A core that another busy program shares gives a process half of it or less (two thirds
# when two of ours share two cores with one such program), while the readings of a quiet machine
# fall short of all the cores by a few hundredths.
QUIET_SHARE = 0.8
# The control's piece of work per process: long against the scheduler's time slices (a few ms),
# short for a test.
CONTROL_SECONDS = 0.04
# The control asks at most this many cores: enough for every claim of the suite.
CONTROL_CORES = 4


@dataclass(frozen=True)
class Machine:
    """The control's reading of the machine over one trial."""

    usable: int  # cores this process may run on
    others: float  # cores that other programs used during the trial (passive reading)
    suite: float  # of those, the cores taken by the other workers of this test run (xdist)
    free: float = math.nan  # cores free right after the trial (active control); nan if not run

    def quiet(self, cores: float, active: bool = True) -> bool:
        """True when both readings found ``cores`` of the usable cores free; with ``active``
        false, when the passive one did (the active control not asked). The passive reading
        cannot tell which cores the other programs ran on: spread over all of them, they take a
        share of each, so it asks that every core was mostly free, whatever the claim needs."""
        return (self.free >= self.need(cores) or not active) and self.others <= self.spare()

    def need(self, cores: float) -> float:
        """The free cores the active control must find for a claim needing ``cores``."""
        return QUIET_SHARE * min(cores, self.usable)

    def spare(self) -> float:
        """The most cores other programs may take, by the passive reading, on a quiet machine."""
        return (1 - QUIET_SHARE) * self.usable

    def words(self) -> str:
        taken = f'other programs took {self.others:.2f} cores'
        if self.suite >= 0.05:
            taken += f" ({self.suite:.2f} of them the suite's other workers)"
        if math.isnan(self.free):
            return taken
        return f'{taken}; the control found {self.free:.2f} of {self.usable} cores free'


@dataclass(frozen=True)
class Verdict:
    """What one trial's figures say about the claim."""

    holds: bool | None  # agree, contradict, or say nothing (figures that disagree with each other)
    measured: str  # the figures in words, with units
    expected: str  # the bound the claim sets, with its reason
    compared_with: str = ''  # the baseline the figures were compared with
    meaning: str = ''  # what a contradiction means, for the failure message
    unclear: str = ''  # with holds None: which figures disagreed, so that the trial shows nothing
    figures: dict[str, float] = field(default_factory=dict)  # the row's figures, by name
    # A claim of the form "no faster" whose trial carried no evidence that faster was possible:
    # it passes only where the machine was quiet (as ``judge``'s ``pass_needs_quiet``).
    needs_quiet: bool = False


def judge(
    trial: Callable[[], T],
    verdict: Callable[[T, Machine], Verdict],
    *,
    recorder: Recorder,
    section: str,
    claim: str,
    variant: str = '',
    key: str = '',
    cores: float,
    pass_needs_quiet: bool = False,
    reads_cpu_time: bool = False,
    pictures: Callable[[T], Iterable[Record]] = lambda _: (),
) -> T:
    """Measure a claim until the evidence passes it, fails it, or runs out; return the passing
    trial's value. ``cores``: the free cores the claim needs the machine to have. ``pictures``:
    the timelines or worker charts of a trial, recorded for the last trial whatever its end.
    ``key``: the name by which the answers to the notes find its rows (``Row.key``).
    ``reads_cpu_time``: the claim's figures are CPU time, not work done. A core that a neighbour
    on the host slows down still gives its CPU time, so the passive reading alone (other
    programs' CPU time, steal included) says whether the cores were free.
    """
    __tracebackhide__ = True
    if pass_needs_quiet and machine.usable_cores() < 2:
        skip(
            f'this machine cannot show that {claim}: it gives this process one usable core, and '
            'units that gain nothing from running at once prove it only where a second core '
            'was there for them to gain',
            recorder=recorder,
            section=section,
            claim=claim,
            variant=variant,
        )
    tried: list[tuple[Verdict, Machine]] = []
    contradictions = 0
    for _ in range(ATTEMPTS):
        with Usage() as usage:
            value = trial()
        reading = Machine(machine.usable_cores(), usage.others / usage.wall, _suite_cores(usage))
        said = verdict(value, reading)
        needs_quiet = pass_needs_quiet or said.needs_quiet
        if said.holds and (not needs_quiet or reads_cpu_time and reading.quiet(cores, False)):
            # The machine's readings decided nothing unless the pass needed a quiet machine.
            shown = reading if needs_quiet else None
            return _passed(recorder, section, claim, variant, said, shown, value, pictures, key)
        reading = Machine(reading.usable, reading.others, reading.suite, free_cores())
        said = verdict(value, reading)
        tried.append((said, reading))
        quiet = reading.quiet(cores, active=not reads_cpu_time)
        if said.holds and quiet:
            return _passed(recorder, section, claim, variant, said, reading, value, pictures, key)
        if said.holds is False and quiet:
            contradictions += 1
            if contradictions == CONTRADICTIONS_TO_FAIL:
                _record(recorder, section, claim, variant, 'failed', said, reading, key)
                record_pictures(recorder, pictures(value))
                pytest.fail(
                    f'expected {said.expected}, measured {said.measured}'
                    f'{_compared(said)}: {said.meaning} '
                    f'({contradictions} trials agreed on a quiet machine: '
                    f'{reading.words()})',
                    pytrace=False,
                )
    said, reading = tried[-1]
    _record(recorder, section, claim, variant, 'skipped', said, reading, key)
    record_pictures(recorder, pictures(value))
    decided = [
        _undecided(s, r, cores, pass_needs_quiet or s.needs_quiet, reads_cpu_time) for s, r in tried
    ]
    pytest.skip(
        f'this machine could not show that {claim} just now, in {len(tried)} trials. '
        + '; '.join(
            f'trial {i}: {s.measured} (expected {s.expected}{_compared(s)}): {why}'
            for i, (why, (s, r)) in enumerate(zip(decided, tried, strict=True), 1)
        )
    )


def _undecided(
    said: Verdict, reading: Machine, cores: float, pass_needs_quiet: bool, reads_cpu_time: bool
) -> str:
    """Why a trial neither passed nor failed the claim, in words."""
    seen = reading.words()
    busy = (
        f'it needs {reading.need(cores):.2f} of {cores:g} {machine.cores_word(cores)} free and '
        f'other programs on {reading.spare():.2f} cores at most, and {seen}'
    )
    if said.holds is None:
        return f'this shows nothing either way, {said.unclear or "its figures disagree"}'
    if said.holds and pass_needs_quiet:
        return (
            'this agrees, but a claim that units gain nothing from running at once passes only '
            f'where the cores were free for them to gain: {busy}'
        )
    if said.holds:  # a verdict that reads the machine agreed only once the control had looked
        return f'this agrees, but the machine was busy: {busy}'
    if reading.quiet(cores, active=not reads_cpu_time):
        return (
            f'this contradicts the claim on a quiet machine ({seen}), '
            f'but a fail needs {CONTRADICTIONS_TO_FAIL} such trials'
        )
    return f'this contradicts the claim, but the machine was busy: {busy}'


def skip(why: str, *, recorder: Recorder, section: str, claim: str, variant: str = '') -> None:
    """Skip a claim that this run cannot measure at all, leaving its row: ``why`` says the
    condition that decided it."""
    __tracebackhide__ = True
    recorder.add(Row(section, claim, variant, 'skipped', f'not measured: {why}', '', ''))
    pytest.skip(why)


def record_pictures(recorder: Recorder, pictures: Iterable[Record]) -> None:
    for picture in pictures:
        recorder.add(picture)


def _passed(
    recorder: Recorder,
    section: str,
    claim: str,
    variant: str,
    said: Verdict,
    reading: Machine | None,
    value: T,
    pictures: Callable[[T], Iterable[Record]],
    key: str,
) -> T:
    _record(recorder, section, claim, variant, 'passed', said, reading, key)
    record_pictures(recorder, pictures(value))
    return value


def _compared(said: Verdict) -> str:
    return f', compared with {said.compared_with}' if said.compared_with else ''


def _record(
    recorder: Recorder,
    section: str,
    claim: str,
    variant: str,
    status: str,
    said: Verdict,
    reading: Machine | None,
    key: str,
) -> None:
    """Record a verdict's row; ``reading``: the machine's readings, where they decided it."""
    machine_words = reading.words() if reading is not None else ''
    compared = '; '.join(part for part in (said.compared_with, machine_words) if part)
    recorder.add(
        Row(
            section,
            claim,
            variant,
            status,
            said.measured,
            said.expected,
            compared,
            key=key,
            figures=said.figures,
        )
    )


def _suite_cores(usage: Usage) -> float:
    """Cores the other pytest-xdist workers of this run used during ``usage``'s block: they are
    the siblings of this worker, children of the same controller process."""
    if 'PYTEST_XDIST_WORKER' not in os.environ:
        return 0.0
    return min(usage.others, usage.siblings_cpu / usage.wall)


def free_cores() -> float:
    """The active control: how many cores plain Python work gets right now.

    One process per usable core (at most CONTROL_CORES) counts down the same number at once,
    timing itself in wall time and in CPU time. A process that had its core to itself ran for all
    of its wall time; one that shared the core with another program ran for a share of it. The
    host's own speed does not enter: a core that runs slower just now (the host drifts by tens of
    percent within seconds) stretches both times alike.
    """
    return free_in(_round(min(machine.usable_cores(), CONTROL_CORES), _control_steps()))


def free_in(times: Iterable[tuple[float, float]]) -> float:
    """The cores free in one round of the control, from each process's wall and CPU seconds: the
    sum of the shares of their wall time that they ran. A process that never answered (infinite
    times) adds nothing; nan when none answered."""
    shares = [cpu / wall for wall, cpu in times if math.isfinite(wall)]
    return sum(min(1.0, share) for share in shares) if shares else math.nan


# Under pytest-xdist, the file through which the run's workers share the control's size (set by
# guards.py): the first worker to need the control times its steps and writes them there; the
# others read them rather than time them again.
SHARED_START: list[Path] = []


@cache
def _control_steps() -> int:
    """How many steps of ``units.count_down`` take about CONTROL_SECONDS here; found by the first
    process of the run that needs them (``_start_control``)."""
    if not SHARED_START:
        return _start_control()
    file = SHARED_START[0]
    with FileLock(file.with_name(f'{file.name}.lock')):
        if file.exists():
            return int(json.loads(file.read_text(encoding='utf-8')))
        steps = _start_control()
        file.write_text(json.dumps(steps), encoding='utf-8')
        return steps


def _start_control() -> int:
    """How many steps of ``units.count_down`` take about CONTROL_SECONDS here, timed in this
    process."""
    steps = 100_000
    while True:
        took = min(_time_count_down(steps) for _ in range(3))
        if took >= CONTROL_SECONDS / 4:
            break
        steps *= 4
    return int(steps * CONTROL_SECONDS / took)


def _time_count_down(steps: int) -> float:
    start = time.perf_counter()
    units.count_down(steps)
    return time.perf_counter() - start


def _round(count: int, steps: int, cpu: int | None = None) -> list[tuple[float, float]]:
    """One round of ``count`` processes counting down ``steps`` at once (on core ``cpu`` only,
    if given, on Linux): the wall and CPU seconds each took, infinite for one that did not answer.
    Each starts counting when asked, so its start-up is not in its times."""
    ctx = multiprocessing.get_context()
    pipes = [ctx.Pipe() for _ in range(count)]
    workers = [
        ctx.Process(target=units.count_down_on_call, args=(child, cpu), name='control')
        for _, child in pipes
    ]
    for worker in workers:
        worker.start()
    calls = [parent for parent, _ in pipes]
    try:
        for call in calls:
            call.send(steps)
        return [call.recv() if call.poll(JOIN_TIMEOUT) else (math.inf, math.inf) for call in calls]
    finally:
        for call in calls:
            with suppress(OSError):  # a process that died has closed its end
                call.send(None)
        for worker in workers:
            worker.join(JOIN_TIMEOUT)
            if worker.is_alive():
                worker.kill()
                worker.join(JOIN_TIMEOUT)
        for parent, child in pipes:
            parent.close()
            child.close()


def exact(
    said: Verdict,
    *,
    recorder: Recorder,
    section: str,
    claim: str,
    variant: str = '',
    key: str = '',
    pictures: Iterable[Record] = (),
) -> None:
    """Record and assert a claim whose figures do not depend on the machine's speed or load (a
    count of frames that must be 0, an order, a value): one measurement is the evidence."""
    __tracebackhide__ = True
    status = 'passed' if said.holds else 'failed'
    _record(recorder, section, claim, variant, status, said, None, key)
    record_pictures(recorder, pictures)
    if not said.holds:
        pytest.fail(
            f'expected {said.expected}, measured {said.measured}{_compared(said)}: {said.meaning}',
            pytrace=False,
        )
