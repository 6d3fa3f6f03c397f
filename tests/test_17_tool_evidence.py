"""The evidence policy (concur/testing/evidence.py): when a measurement may pass a claim,
fail it, or say nothing, checked on machines of our choosing; and the control's reading.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from typing import Any, cast

import pytest
from claims import (
    TOOLS,
)

from concur import machine
from concur.testing import evidence, units
from concur.testing.evidence import Machine, Verdict, exact, judge
from concur.testing.records import Recorder, Row, load
from concur.testing.tolerances import ONE_CORE
from concur.timeouts import JOIN_TIMEOUT

pytestmark = pytest.mark.selfcheck


# ---- the evidence policy ------------------------------------------------------------------------


class StillMachine:
    """Stands in for ``Usage`` in ``judge``: a machine where other programs use ``others`` cores."""

    others_cores = 0.0

    def __enter__(self) -> StillMachine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.others, self.siblings_cpu = 1.0, self.others_cores, 0.0


@pytest.fixture
def machine_reads(monkeypatch):
    """Make the control read a machine of our choosing: ``machine_reads(free, others, usable)``."""

    def set_reading(free: float, others: float = 0.0, usable: int = 2) -> None:
        monkeypatch.setattr(evidence, 'free_cores', lambda: free)
        monkeypatch.setattr(StillMachine, 'others_cores', others)
        monkeypatch.setattr(evidence, 'Usage', StillMachine)
        monkeypatch.setattr(machine, 'usable_cores', lambda: usable)

    return set_reading


def statuses(recorded: list[tuple[str, object]]) -> list[str]:
    """The statuses of the rows that a Recorder kept in ``recorded``."""
    rows = [load(cast(dict[str, Any], data)) for _, data in recorded]
    return [row.status for row in rows if isinstance(row, Row)]


def judged(
    verdicts: list[bool | None], *, quiet_pass: bool = False, cpu_time: bool = False
) -> tuple[list[str], list[int]]:
    """Run ``judge`` on trials whose verdicts are ``verdicts`` in turn; return the statuses it
    recorded and the trials it ran."""
    recorded: list[tuple[str, object]] = []
    ran: list[int] = []

    def trial() -> int:
        ran.append(len(ran))
        return ran[-1]

    def verdict(i: int, _: Machine) -> Verdict:
        return Verdict(verdicts[i], f'trial {i}', 'the claim', meaning='it means something')

    try:
        judge(
            trial,
            verdict,
            recorder=Recorder(recorded, 'test'),
            section=TOOLS,
            claim='a claim',
            cores=2,
            pass_needs_quiet=quiet_pass,
            reads_cpu_time=cpu_time,
        )
    finally:
        kept = statuses(recorded)
    return kept, ran


@pytest.mark.parametrize(
    'free, others',
    [(2.0, 0.0), (0.9, 0.0), (2.0, 1.1)],
    ids=['quiet', 'control found a core busy', 'others used a core'],
)
def test_judge_passes_a_claim_whose_first_trial_agrees_on_any_machine(machine_reads, free, others):
    """A trial whose figures agree with the claim is evidence, however busy the machine was."""
    machine_reads(free, others)
    assert judged([True]) == (['passed'], [0])


def test_judge_fails_a_claim_only_after_two_contradictions_on_a_quiet_machine(machine_reads):
    """One contradiction could be a burst of load that started after the control looked."""
    machine_reads(2.0)
    with pytest.raises(pytest.fail.Exception, match='expected the claim, measured trial 1.*means'):
        judged([False, False, True])
    machine_reads(2.0)
    assert judged([False, True]) == (['passed'], [0, 1])


@pytest.mark.parametrize(
    'free, others',
    [(1.5, 0.0), (2.0, 0.5)],
    ids=['control found a core busy', 'others used half a core'],
)
def test_judge_skips_a_contradicted_claim_on_a_busy_machine_with_its_figures(
    machine_reads, free, others
):
    """A contradiction on a busy machine says nothing about the claim: tried again, then skipped,
    with every trial's figures and the control's readings."""
    machine_reads(free, others)
    with pytest.raises(pytest.skip.Exception, match='trial 1: trial 0 .*trial 3: trial 2'):
        judged([False, False, False])


def test_judge_retries_figures_that_disagree_with_each_other(machine_reads):
    """``holds=None`` (a speedup above the cores used) is no evidence either way."""
    machine_reads(2.0)
    assert judged([None, None, True]) == (['passed'], [0, 1, 2])
    with pytest.raises(pytest.skip.Exception):
        judged([None, None, None])


def test_judge_passes_a_no_faster_claim_only_on_a_quiet_machine(machine_reads):
    """ "Threads are no faster" on a busy machine would also hold for processes: no evidence."""
    machine_reads(1.0)
    with pytest.raises(pytest.skip.Exception):
        judged([True, True, True], quiet_pass=True)
    machine_reads(2.0)
    assert judged([True], quiet_pass=True) == (['passed'], [0])


def test_judge_skips_a_no_faster_claim_on_a_machine_of_one_core_without_a_trial(machine_reads):
    """On one core, k units could not have run at once: "no faster" is all such a machine can
    show, so it is no evidence, however quiet the core."""
    machine_reads(1.0, usable=1)
    with pytest.raises(pytest.skip.Exception, match='one usable core'):
        judged([True], quiet_pass=True)
    machine_reads(1.0, usable=1)
    assert judged([True]) == (['passed'], [0])


def test_judge_asks_only_other_programs_cpu_time_of_a_no_faster_claim_read_in_cpu_time(
    machine_reads,
):
    """A core that a neighbour on the host slows still gives its CPU time: for a claim read in CPU
    time, only the CPU that other programs took keeps the cores from being free."""
    machine_reads(1.0)
    assert judged([True], quiet_pass=True, cpu_time=True) == (['passed'], [0])
    machine_reads(2.0, others=1.0)
    with pytest.raises(pytest.skip.Exception):
        judged([True, True, True], quiet_pass=True, cpu_time=True)


@pytest.mark.parametrize(
    'free, outcome, status',
    [(2.0, pytest.fail.Exception, 'failed'), (1.0, pytest.skip.Exception, 'skipped')],
    ids=['fails on a quiet machine', 'skips on a busy one'],
)
def test_judge_records_a_row_before_it_fails_or_skips(machine_reads, free, outcome, status):
    """The end report shows the evidence of a failure and of a skip, not only of a pass, each
    with its own status: a claim the machine could not show is never shown as passed."""
    recorded: list[tuple[str, object]] = []
    machine_reads(free)
    with pytest.raises(outcome):
        judge(
            lambda: 0,
            lambda *_: Verdict(False, 'm', 'e'),
            recorder=Recorder(recorded, 'test'),
            section=TOOLS,
            claim='c',
            cores=2,
        )
    assert statuses(recorded) == [status]


@pytest.mark.parametrize('holds', [True, False], ids=['holds', 'contradicted'])
def test_exact_records_the_status_of_its_one_measurement_and_fails_a_contradiction(holds):
    """An exact claim has no retry: a contradiction fails the test, and its row says failed."""
    recorded: list[tuple[str, object]] = []
    said = Verdict(holds, 'measured', 'expected', meaning='it means something')
    if holds:
        exact(said, recorder=Recorder(recorded, 'test'), section=TOOLS, claim='c')
    else:
        with pytest.raises(pytest.fail.Exception, match='expected expected, measured measured'):
            exact(said, recorder=Recorder(recorded, 'test'), section=TOOLS, claim='c')
    assert statuses(recorded) == ['passed' if holds else 'failed']


def test_machine_is_quiet_only_when_both_readings_found_the_cores_free():
    """The passive reading misses a busy neighbour on a shared core; the active one misses load
    that came and went during the trial: quiet needs both. The passive reading cannot tell which
    cores others took, so a claim on one core of two needs the other mostly free too: a core of
    load spread over two processes leaves about two thirds of a core to each of three."""
    assert Machine(2, others=0.1, suite=0.0, free=1.9).quiet(2)
    assert not Machine(2, others=0.1, suite=0.0, free=1.5).quiet(2)
    assert not Machine(2, others=0.5, suite=0.0, free=1.9).quiet(2)
    assert Machine(2, others=0.3, suite=0.0, free=1.0).quiet(1)
    assert not Machine(2, others=1.18, suite=0.3, free=1.9).quiet(1)
    assert not Machine(2, others=0.0, suite=0.0).quiet(1)  # the control never ran
    assert Machine(2, others=0.1, suite=0.0).quiet(2, active=False)  # not asked
    assert not Machine(2, others=0.5, suite=0.0, free=1.9).quiet(2, active=False)


def cores_kept_busy() -> tuple[float, float]:
    """The control's reading of this machine, then again while one child process per usable core
    spins: they spin until they are stopped, however long the control's own processes take to
    start (a forkserver's take tens of milliseconds), and wherever the OS first places them."""
    alone = evidence.free_cores()
    ctx = multiprocessing.get_context()
    started = [ctx.Event() for _ in range(machine.usable_cores())]
    hogs = [ctx.Process(target=units.busy, args=(JOIN_TIMEOUT, flag)) for flag in started]
    for hog in hogs:
        hog.start()
    try:
        assert all(flag.wait(JOIN_TIMEOUT) for flag in started), 'a busy child never started'
        beside = evidence.free_cores()
    finally:
        for hog in hogs:
            hog.terminate()
            hog.join(JOIN_TIMEOUT)
    return alone, beside


@pytest.mark.parametrize(
    'times, free',
    [
        ([(0.04, 0.04), (0.06, 0.06)], 2.0),  # a slower core: both times stretched alike
        ([(0.04, 0.04), (0.08, 0.04)], 1.5),  # a core shared with another program
        ([(0.08, 0.04), (0.08, 0.04)], 1.0),
        ([(0.04, 0.0401), (0.04, 0.04)], 2.0),  # clocks a hair apart: a core at most
        ([(0.04, 0.04), (math.inf, math.inf)], 1.0),  # a process that never answered
    ],
    ids=['slower core', 'shared core', 'both shared', 'clocks apart', 'no answer'],
)
def test_the_control_counts_the_share_of_its_wall_time_each_process_ran(times, free):
    """Free cores are the shares of their wall time that the control's processes ran: a machine
    that is slower just now is not busy, a core shared with another program is."""
    assert evidence.free_in(times) == pytest.approx(free)


def test_the_control_reads_nothing_where_no_process_answered():
    """No answer is no reading: a control that read it as free cores would pass claims."""
    assert math.isnan(evidence.free_in([(math.inf, math.inf)] * 2))


# The most that processes sharing one core may read: one core, and the clocks' wobble.
ONE_CORE_READS = ONE_CORE[1]


@pytest.mark.skipif(not hasattr(os, 'sched_setaffinity'), reason='needs sched_setaffinity')
def test_the_control_reads_one_core_where_its_processes_share_one():
    """Two of the control's processes held to one core share it, whatever the machine's speed
    and load: together they read one core at most. An instrument that read wall time for CPU time,
    or one process's CPU time for another's, would read two."""
    core = min(os.sched_getaffinity(0))
    free = evidence.free_in(evidence._round(2, evidence._control_steps(), core))
    assert free <= ONE_CORE_READS, (
        f'expected at most {ONE_CORE_READS} cores free from two processes on core {core}, '
        f'measured {free:.2f}: the control does not see a core shared by its processes'
    )


# The most the control may read beside one spinning process per core, as a share of its reading
# just before: about half is expected, and a control that cannot see them reads all of it.
BUSY_READS = 0.75


@pytest.mark.cpu
def test_the_control_finds_cores_fewer_free_while_other_processes_spin(recorder):
    """The active control is plain work timed against its best: processes that keep the cores
    busy take the cores' shares away from it."""
    cores = machine.usable_cores()

    def verdict(readings: tuple[float, float], _: Machine) -> Verdict:
        alone, beside = readings
        # One spinner per core leaves each of the control's processes half a core, so the second
        # reading is about half the first, whatever the first was. A first reading of under half
        # the cores leaves too little for the spinners to take: it shows nothing.
        return Verdict(
            beside <= BUSY_READS * alone if alone >= cores / 2 else None,
            measured=f'{alone:.2f} cores free, {beside:.2f} beside {cores} spinning processes',
            expected=f'at most {BUSY_READS} of the first reading beside them (each of the '
            "control's processes shares its core with a spinner: about half)",
            meaning='the control must see cores that other programs keep busy',
        )

    judge(
        cores_kept_busy,
        verdict,
        recorder=recorder,
        section=TOOLS,
        claim='the control sees cores kept busy by other processes',
        cores=cores,
    )
