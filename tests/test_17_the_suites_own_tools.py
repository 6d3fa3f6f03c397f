"""The suite's own tools, checked on cases whose answer is known: the prime code that sizes the
work, the CPU measure, the frame log, the evidence policy, the leak guard. Not the chapter: what
the chapter's verdicts stand on.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Final, cast

import psutil
import pytest
from claims import (
    BLOCK,
    IDLE_CORES,
    ONE_CORE,
    ROUNDING,
    assert_at_most,
    assert_between,
    chart,
    finish,
    frames_verdict,
)

from concur import clocked, gil_release, machine, primes
from concur.primes import PRIME_FIXTURE, is_prime
from concur.testing import evidence, measure, units
from concur.testing.evidence import Machine, Verdict, exact, judge
from concur.testing.framelog import Written
from concur.testing.measure import Usage
from concur.testing.records import Recorder, Row, load
from concur.timeouts import JOIN_TIMEOUT


def test_is_prime_finds_exactly_the_25_primes_below_100():
    """Trial division is the definition at work: no divisor from 2 up to the square root."""
    found = [n for n in range(-3, 100) if is_prime(n)]
    assert found == [
        2,
        3,
        5,
        7,
        11,
        13,
        17,
        19,
        23,
        29,
        31,
        37,
        41,
        43,
        47,
        53,
        59,
        61,
        67,
        71,
        73,
        79,
        83,
        89,
        97,
    ], f'is_prime found {found}'


def test_miller_rabin_agrees_with_is_prime_below_20_000_and_on_strong_pseudoprimes():
    """The fast test stands in for is_prime where is_prime would take minutes, so it must give
    the same verdicts; 2047 and 3_215_031_751 fool a test with fewer witnesses."""
    numbers = [*range(-2, 20_000), 2047, 1_373_653, 25_326_001, 3_215_031_751]
    differ = [n for n in numbers if primes.miller_rabin(n) != is_prime(n)]
    assert not differ, f'miller_rabin and is_prime disagree on {differ}'


def test_the_book_fixture_verdicts_agree_with_miller_rabin():
    """The 20 numbers of the book take is_prime a minute; Miller-Rabin checks them in a blink."""
    wrong = [x for x in PRIME_FIXTURE if primes.miller_rabin(x.n) != x.prime]
    assert not wrong, f'the fixture gives verdicts that Miller-Rabin contradicts: {wrong}'


def test_is_prime_rejects_the_book_composites_that_have_a_small_factor():
    """These stop at their first divisor; the fixture's other composites are squares or products
    of large primes, which is_prime only finds after millions of divisions."""
    quick = [x.n for x in PRIME_FIXTURE if not x.prime and any(x.n % p == 0 for p in (2, 3, 5, 7))]
    assert len(quick) == 6, (
        f'expected six composites with a factor below 10 in the fixture, got {quick}'
    )
    called_prime = [n for n in quick if is_prime(n)]
    assert not called_prime, f'is_prime called composites prime: {called_prime}'


TOOLS = "the suite's own tools"


@pytest.mark.cpu(cores=1)
def test_calibrated_prime_is_prime_and_takes_about_the_time_asked_here(report):
    """Timing is_prime on a small prime and scaling by the square root law lands near the target;
    the target is several times the calibration's own timing, so a linear scaling would fall far
    short."""
    asked = 0.1

    def trial() -> tuple[int, float]:
        n = primes.calibrated_prime(asked)
        return n, primes.time_is_prime(n, repeat=2)

    n, _ = judge(
        trial,
        lambda m, _: Verdict(
            0.5 <= m[1] / asked <= 2.0,
            measured=f'is_prime({m[0]}) took {m[1]:.3f} s',
            expected=f'{asked / 2:g} to {2 * asked:g} s, '
            f'within a factor of 2 of the {asked} s asked',
            meaning='the calibration should size the work for this machine',
        ),
        report=report,
        section=TOOLS,
        claim='calibrated_prime sizes the work for this machine',
        cores=1,
    )
    assert primes.miller_rabin(n), f'calibrated_prime({asked}) returned {n}, which is not prime'


@pytest.mark.cpu(cores=1)
def test_measure_sees_almost_no_cpu_in_a_block_that_sleeps():
    """A sleeping thread is off the CPU: the kernel wakes it when the time is up."""
    with Usage() as usage:
        time.sleep(BLOCK)
    assert usage.wall >= BLOCK, f'the block slept {BLOCK} s but measured {usage.wall:.3f} s'
    assert_at_most(
        usage.cores, IDLE_CORES, what='cores used while sleeping', meaning='sleeping costs no CPU'
    )


# What a slow reading of the other processes costs: a block that counted it on both sides would
# read 60 ms of CPU, far past the counters' rounding (ROUNDING) that an empty block may show.
SLOW_READING = 0.03


@pytest.mark.cpu(cores=1)
def test_measure_leaves_its_own_reading_out_of_the_blocks_cpu(monkeypatch):
    """Reading the other processes' counters takes time (one file of /proc each on Linux, and on
    free-threaded 3.13 a slow close of each), so the tool reads this process's CPU last on entering
    and first on leaving: an empty block costs nothing, however slow the reading."""
    reading = measure._child_times

    def slow_reading() -> dict[int, float]:
        # CPU time, not wall time: on a busy machine a loop of wall time gets less of it
        end = time.thread_time() + SLOW_READING
        while time.thread_time() < end:
            pass
        return reading()

    monkeypatch.setattr(measure, '_child_times', slow_reading)
    with Usage() as usage:
        pass
    assert_at_most(
        usage.cpu,
        ROUNDING,
        what='CPU seconds of an empty block measured with a reading that took '
        f'{1000 * SLOW_READING:.0f} ms of CPU on each side (a tick each for user and system time)',
        meaning="the tool counted its own reading as the block's CPU",
    )


def test_measure_reads_no_cpu_below_zero_where_its_float_counters_cancel():
    """CPU times added and taken away as floats can leave a hair under zero where a block used
    none; the cores read are then none, not "-0.00"."""
    usage = Usage()
    usage.wall, usage.cpu, usage.children_cpu = 0.2, 0.3 - 0.1 - 0.2, 0.0
    assert f'{usage.cores:.2f}' == '0.00', usage.cores


def spin_block() -> Usage:
    with Usage() as usage:
        units.busy(BLOCK)
    return usage


@pytest.mark.cpu(cores=1)
def test_measure_sees_about_one_core_in_a_block_that_spins(report):
    """A loop that never waits keeps one core busy for the whole wall time."""
    judge(
        spin_block,
        lambda usage, _: Verdict(
            ONE_CORE[0] <= usage.cores <= ONE_CORE[1],
            measured=f'{usage.cores:.2f} cores',
            expected=f'{ONE_CORE[0]} to {ONE_CORE[1]} cores',
            meaning='one thread that never waits uses one core',
        ),
        report=report,
        section=TOOLS,
        claim='Usage sees one core in a block that spins',
        cores=1,
    )


def cpu_of_ended_child(pid: int) -> float:
    """Wait until the child has ended, without reaping it, and read its own counters."""
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # it stays a zombie, its counters readable
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


# The start method of the children whose CPU time the tests read: fork, whatever the default. A
# forkserver's children are the forkserver's, not ours to wait for; a spawned child needs
# multiprocessing's resource tracker, a process whose start-up goes on after ensure_running()
# returns and would be counted with the child's time when it is the first (seen: 0.03 s).
CHILD_OF_OURS: Final = 'fork'


@pytest.mark.cpu(cores=1)
@pytest.mark.skipif(
    not sys.platform.startswith('linux'),
    reason='shows how Linux counts the CPU time of children, joined or not',
)
def test_measure_counts_a_child_process_once_whether_or_not_it_was_joined():
    """Linux adds a child's CPU time to its parent's counters only once the parent joins it;
    ``Usage`` also reads the children it has not joined yet, and counts each child once."""
    ctx = multiprocessing.get_context(CHILD_OF_OURS)
    for join_inside in (False, True):
        child = ctx.Process(target=units.busy, args=(BLOCK,))
        with Usage() as usage:
            child.start()
            assert child.pid is not None
            own = cpu_of_ended_child(child.pid)
            usage.sample()  # reads the child's own counters: joined next, it must not count twice
            if join_inside:
                finish(child)
        finish(child)
        assert_between(
            usage.children_cpu,
            own - ROUNDING,
            own + ROUNDING,
            what=f'CPU seconds counted for a child that itself counted {own:.2f} s '
            f'({"joined" if join_inside else "not yet joined"})',
            meaning="a child's CPU time counts once, whether or not it has been joined",
        )


def this_tree_busy() -> float:
    """CPU seconds of this process and the children it has joined: the whole machine's count on a
    machine where nothing else runs."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@pytest.mark.cpu(cores=1)
@pytest.mark.skipif(
    not sys.platform.startswith('linux'),
    reason='reads a joined child through the counters Linux gives its parent',
)
def test_measure_counts_a_child_process_as_this_blocks_cpu_and_not_as_other_programs(
    monkeypatch,
):
    """On a machine whose only load is this process and its child, the child's CPU time is the
    block's: counted in its cores, and none of it in what other programs took, so a claim that
    starts processes never reads them as load."""
    monkeypatch.setattr(measure, '_machine_busy', this_tree_busy)
    ctx = multiprocessing.get_context(CHILD_OF_OURS)
    child = ctx.Process(target=units.busy, args=(BLOCK,))
    with Usage() as usage:
        child.start()
        assert child.pid is not None
        own = cpu_of_ended_child(child.pid)
        finish(child)
    assert_between(
        usage.children_cpu,
        own - ROUNDING,
        own + ROUNDING,
        what=f'CPU seconds counted for a child that itself counted {own:.2f} s',
        meaning="a child's CPU time is the block's",
    )
    assert_between(
        usage.cores * usage.wall,
        usage.cpu + own - ROUNDING,
        usage.cpu + own + ROUNDING,
        what=f'CPU seconds in the cores read (the block {usage.cpu:.2f} s, its child {own:.2f} s)',
        meaning="the cores a block used include its children's",
    )
    assert_at_most(
        usage.others,
        ROUNDING,
        what='CPU seconds of other programs, where the only other process was our child',
        meaning="a child's CPU time read as other programs' makes every claim that starts "
        'processes read a busy machine',
    )


def busy_then_wait(worked: threading.Event, may_end: threading.Event) -> None:
    units.busy(BLOCK)
    worked.set()
    may_end.wait(JOIN_TIMEOUT)  # a thread's counters vanish when it ends: stay until sampled


def busy_thread_beside_a_waiting_one() -> tuple[Usage, int]:
    worked, may_end = threading.Event(), threading.Event()
    worker = threading.Thread(target=busy_then_wait, args=(worked, may_end))
    with Usage() as usage:
        worker.start()
        assert worked.wait(JOIN_TIMEOUT), 'the thread never finished its work'
        usage.sample()
        may_end.set()
        finish(worker)
    assert worker.native_id is not None
    return usage, worker.native_id


@pytest.mark.cpu(cores=1)
def test_measure_gives_each_thread_its_own_cpu_time(report):
    """psutil reads each OS thread's counters; a thread's id there is its ``native_id``."""

    def verdict(measured: tuple[Usage, int], _: Machine) -> Verdict:
        usage, busy = measured
        working = usage.threads[busy] / BLOCK
        waiting = usage.threads[threading.get_native_id()] / usage.wall
        return Verdict(
            ONE_CORE[0] <= working <= ONE_CORE[1] and waiting <= IDLE_CORES,
            measured=f'busy thread {working:.2f} cores, waiting thread {waiting:.2f}',
            expected=f'busy {ONE_CORE[0]} to {ONE_CORE[1]}, waiting at most {IDLE_CORES:.2f}',
            meaning='a thread that never waits uses one core, one blocked in Event.wait() none',
        )

    judge(
        busy_thread_beside_a_waiting_one,
        verdict,
        report=report,
        section=TOOLS,
        claim='Usage gives each thread its own CPU time',
        cores=1,
    )


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
            report=Recorder(recorded, 'test'),
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


def test_judge_records_a_row_before_it_fails_or_skips(machine_reads):
    """The end report shows the evidence of a failure and of a skip, not only of a pass."""
    recorded: list[tuple[str, object]] = []
    machine_reads(2.0)
    with pytest.raises(pytest.fail.Exception):
        judge(
            lambda: 0,
            lambda *_: Verdict(False, 'm', 'e'),
            report=Recorder(recorded, 'test'),
            section=TOOLS,
            claim='c',
            cores=2,
        )
    assert statuses(recorded) == ['failed']


def test_judge_records_a_skipped_row_when_its_trials_run_out(machine_reads):
    """A claim the machine could not show is skipped in the report too, never shown as passed."""
    machine_reads(1.0)
    recorded: list[tuple[str, object]] = []
    with pytest.raises(pytest.skip.Exception):
        judge(
            lambda: 0,
            lambda *_: Verdict(False, 'm', 'e'),
            report=Recorder(recorded, 'test'),
            section=TOOLS,
            claim='c',
            cores=2,
        )
    assert statuses(recorded) == ['skipped']


@pytest.mark.parametrize('holds', [True, False], ids=['holds', 'contradicted'])
def test_exact_records_the_status_of_its_one_measurement_and_fails_a_contradiction(holds):
    """An exact claim has no retry: a contradiction fails the test, and its row says failed."""
    recorded: list[tuple[str, object]] = []
    said = Verdict(holds, 'measured', 'expected', meaning='it means something')
    if holds:
        exact(said, report=Recorder(recorded, 'test'), section=TOOLS, claim='c')
    else:
        with pytest.raises(pytest.fail.Exception, match='expected expected, measured measured'):
            exact(said, report=Recorder(recorded, 'test'), section=TOOLS, claim='c')
    assert statuses(recorded) == ['passed' if holds else 'failed']


def test_machine_is_quiet_only_when_both_readings_found_the_cores_free():
    """The passive reading misses a busy neighbour on a shared core; the active one misses load
    that came and went during the trial: quiet needs both."""
    assert Machine(2, others=0.1, suite=0.0, free=1.9).quiet(2)
    assert not Machine(2, others=0.1, suite=0.0, free=1.5).quiet(2)
    assert not Machine(2, others=0.5, suite=0.0, free=1.9).quiet(2)
    assert Machine(2, others=0.5, suite=0.0, free=1.9).quiet(1)
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


def test_the_control_reads_nothing_until_it_has_seen_the_machine_quiet(monkeypatch):
    """A machine busy since the run began would make a slow round its reference, and every later
    reading would look free: a round sets the reference only where psutil finds the machine
    quiet."""
    monkeypatch.setattr(evidence, '_BEST', [math.inf])
    monkeypatch.setattr(evidence, '_others_leave_free', lambda count: False)
    assert math.isnan(evidence.free_cores()), 'the control read a busy machine against itself'
    monkeypatch.setattr(evidence, '_others_leave_free', lambda count: True)
    assert evidence.free_cores() > 0, 'the control read nothing on a quiet machine'


# The most the control may read beside one spinning process per core, as a share of its reading
# just before: about half is expected, and a control that cannot see them reads all of it.
BUSY_READS = 0.75


@pytest.mark.cpu
def test_the_control_finds_cores_fewer_free_while_other_processes_spin(report):
    """The active control is plain work timed against its best: processes that keep the cores
    busy take the cores' shares away from it."""
    cores = machine.usable_cores()

    def verdict(readings: tuple[float, float], _: Machine) -> Verdict:
        alone, beside = readings
        # One spinner per core leaves each of the control's processes half a core, so the second
        # reading is about half the first, whatever the first was (measured here: 0.31 to 0.65 of
        # it, the first reading 1.22 to 2.00). A first reading of under half the cores leaves
        # too little for the spinners to take: it shows nothing.
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
        report=report,
        section=TOOLS,
        claim='the control sees cores kept busy by other processes',
        cores=cores,
    )


# ---- the leak guard -----------------------------------------------------------------------------

# An inner run's units outlive its short grace, then end on their own well within the outer
# guard's: the inner guard must report them, and the outer run must find nothing left.
LEFT_FOR = 0.3
INNER_GRACE = 0.1


@pytest.fixture
def guarded(pytester):
    """A pytest run in a scratch folder under this suite's own conftest.py (its leak guard)."""
    root = Path(__file__).parent.parent
    conftest = (root / 'conftest.py').read_text(encoding='utf-8')
    pytester.makeconftest(f'{conftest}\nLEAK_GRACE = {INNER_GRACE}\n')
    ini = (root / 'pytest.ini').read_text(encoding='utf-8')
    pytester.makeini(ini.replace('testpaths = tests\n', ''))
    return pytester


@pytest.mark.parametrize(
    'body, left',
    [
        (
            f'threading.Thread(target=time.sleep, args=({LEFT_FOR},), name="left").start()',
            "['left']",
        ),
        (f'multiprocessing.Process(target=time.sleep, args=({LEFT_FOR},)).start()', 'processes ['),
    ],
    ids=['thread', 'process'],
)
def test_the_leak_guard_fails_a_test_that_leaves_a_unit_running(guarded, body, left):
    """Every unit a test starts must be gone when it ends: the guard fails the test that left one,
    and names what it left."""
    guarded.makepyfile(
        'import multiprocessing, threading, time\n\n'
        f'def test_leaves_a_unit():\n    {body}\n\n'
        'def test_cleans_up():\n    pass\n'
    )
    result = guarded.runpytest('-p', 'no:cacheprovider')
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([f'*the test left behind*{left}*'])


# ---- the core locks under pytest-xdist ------------------------------------------------------

# A test of the inner run, and the module fixture it shares, each ask whether their worker's core
# lock is held (by them: a lock file taken twice in one process is refused too).
CORE_PROBE = """
from pathlib import Path

import pytest
from filelock import FileLock, Timeout

from concur import machine


def core_held(config):
    worker = config.workerinput
    core = int(worker['workerid'].removeprefix('gw')) % machine.usable_cores()
    lock = FileLock(Path(worker['concur_core_locks']) / f'core-{core}.lock')
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


@pytest.fixture(scope='module')
def shared(request):
    assert core_held(request.config), 'set up with the core free'
    yield
    assert core_held(request.config), 'torn down with the core free'


@pytest.mark.parametrize('n', range(4))
def test_uses_the_shared_fixture(shared, n, request):
    assert core_held(request.config), 'ran with the core free'
"""


def test_under_xdist_a_modules_shared_fixtures_run_while_its_test_holds_its_core(guarded):
    """A fixture shared by a module (a prime sized by timing it, a Dask cluster) starts within
    the turn of the module's first test and closes within its last's, holding the cores they
    hold: so it never runs beside a test that holds every core."""
    guarded.makepyfile(test_probe=CORE_PROBE)
    result = guarded.runpytest_subprocess('-p', 'no:cacheprovider', '-n', '2')
    result.assert_outcomes(passed=4)


# Each test of the inner run writes down the folder of core locks its worker was given.
FOLDER_PROBE = """
from pathlib import Path

import pytest


@pytest.mark.parametrize('n', range(8))
def test_notes_its_workers_folder(n, request):
    worker = request.config.workerinput
    Path(f"folder-{worker['workerid']}.txt").write_text(worker['concur_core_locks'])
"""


def test_under_xdist_every_worker_locks_its_cores_in_one_shared_folder(guarded):
    """A lock keeps a core only from those who look in the same folder: the run makes one, hands
    it to every worker, and removes it at the end."""
    guarded.makepyfile(test_probe=FOLDER_PROBE)
    result = guarded.runpytest_subprocess('-p', 'no:cacheprovider', '-n', '2')
    result.assert_outcomes(passed=8)
    folders = {p.name: p.read_text() for p in guarded.path.glob('folder-*.txt')}
    assert len(folders) == 2 and len(set(folders.values())) == 1, (
        f'expected both workers to name one folder, got {folders}'
    )
    assert not Path(next(iter(folders.values()))).exists(), 'the folder outlived the run'


# ---- the frame-count model ----------------------------------------------------------------------


def frames_every(gap: float, window: float = 0.3) -> list[Written]:
    return [
        Written(i * gap, 0, 0, '\r| x') for i in range(int(window / gap) + 1) if i * gap <= window
    ]


@pytest.mark.parametrize(
    'frames, delay, holds',
    [
        (frames_every(0.030), 0.0, True),
        (frames_every(0.040), 0.0, False),
        (frames_every(0.040), 0.010, True),
        (frames_every(0.010), 0.0, False),
        (frames_every(0.300), 0.0, False),
        ([], 0.0, False),
    ],
    ids=['on time', 'late', 'late by the delay allowed', 'too often', 'stalled', 'none'],
)
def test_the_frame_model_accepts_a_frame_every_interval_plus_the_delay_allowed(
    frames, delay, holds
):
    """A spinner at 30 ms over 0.3 s shows 9 to 11 frames; one held up 10 ms more each time is
    on time only where that delay is modelled; a stalled or hasty one never is."""
    said = frames_verdict(frames, 0.0, 0.3, 0.030, delay)
    assert said.holds is holds, f'{said.measured}, expected {said.expected}: holds={said.holds}'


# ---- the stepping worker of the stopping claims -------------------------------------------------

STEP = 0.005


def test_the_stepping_worker_marks_its_start_and_the_end_of_each_step_a_step_apart():
    """The stopping claims read how far a worker got from its marks: the start, then each step's
    end, in order and at least one step apart; ``under_way`` says the first step is done."""
    marks, under_way = [0.0] * 4, threading.Event()
    units.work_in_steps(marks, STEP, under_way)
    gaps = [b - a for a, b in itertools.pairwise(marks)]
    assert under_way.is_set() and all(gap >= STEP for gap in gaps), (
        f'expected 3 steps at least {STEP} s apart and under_way set, got gaps {gaps} and '
        f'under_way {"set" if under_way.is_set() else "not set"}'
    )


def test_the_stepping_worker_takes_no_step_once_its_event_is_set():
    """A worker that checks its Event looks before every step, the first one too."""
    marks, under_way, stop = [0.0] * 4, threading.Event(), threading.Event()
    stop.set()
    units.work_in_steps(marks, STEP, under_way, stop)
    assert marks[1:] == [0.0] * 3 and not under_way.is_set(), f'it took steps: marks {marks}'


# ---- the leak guard around the fixtures a module shares (the Dask cluster's) --------------------


@pytest.mark.parametrize('stops', [True, False], ids=['stopped', 'left running'])
def test_the_leak_guard_fails_a_module_whose_shared_fixture_leaves_a_unit_running(guarded, stops):
    """A fixture that a module's tests share starts its units before the first test and stops
    them after the last, where no test's own guard looks: the module's guard fails the last test
    at teardown if they are still running, and the tests themselves pass."""
    guarded.makepyfile(
        'import threading\n\nimport pytest\n\nstop = threading.Event()\n\n\n'
        "@pytest.fixture(scope='module')\n"
        'def shared():\n'
        f"    unit = threading.Thread(target=stop.wait, args=({LEFT_FOR},), name='shared')\n"
        '    unit.start()\n'
        '    yield\n'
        f'    if {stops}:\n'
        '        stop.set()\n'
        '        unit.join()\n\n\n'
        'def test_first(shared):\n    pass\n\n\n'
        'def test_last(shared):\n    pass\n'
    )
    result = guarded.runpytest('-p', 'no:cacheprovider')
    if stops:
        result.assert_outcomes(passed=2)
    else:
        result.assert_outcomes(passed=2, errors=1)
        result.stdout.fnmatch_lines(
            # the module's last test to run, whichever it is (pytest-randomly shuffles them)
            ['*ERROR at teardown of test_*', "*the module's shared fixtures left behind*"]
        )
        assert "threads ['shared']" in result.stdout.str()


# ---- work clocked side by side (concur/clocked.py), the GIL-releasing work, the K and R charts --


def test_clocked_notes_when_where_and_with_what_cpu_a_call_ran():
    """The start and end come from one clock, the place from the OS, the CPU time from the
    thread's own clock: a thread cannot spend more CPU than wall time."""
    call = clocked.clocked(units.busy, BLOCK / 10)
    assert call.seconds >= BLOCK / 10 and 0 < call.cpu <= call.seconds, call
    assert (call.pid, call.thread) == (os.getpid(), threading.get_native_id()), call


def test_in_threads_runs_every_call_at_once_each_in_a_thread_of_its_own_in_order():
    """Each call waits at a barrier that only opens when all three wait: it could not open if
    the calls ran one after another."""
    meet = threading.Barrier(3)
    calls = clocked.in_threads([(meet.wait, (JOIN_TIMEOUT,))] * 3)
    assert sorted(call.value for call in calls) == [0, 1, 2], calls  # Barrier.wait's ticket
    threads = {call.thread for call in calls}
    assert len(threads) == 3 and threading.get_native_id() not in threads, calls
    ordered = clocked.in_threads([(abs, (n,)) for n in (-1, -2, -3)])
    assert [call.value for call in ordered] == [1, 2, 3], ordered


def test_in_processes_runs_each_call_in_a_child_process_of_its_own(start_method):
    calls = clocked.in_processes([(os.getpid, ())] * 2, multiprocessing.get_context(start_method))
    pids = [call.value for call in calls]
    assert pids == [call.pid for call in calls] and len(set(pids)) == 2, calls
    assert os.getpid() not in pids, calls


@pytest.mark.filterwarnings('ignore::pytest.PytestUnhandledThreadExceptionWarning')
def test_in_threads_raises_when_a_call_fails_instead_of_waiting_for_its_result():
    with pytest.raises(RuntimeError, match='1 of 2 units failed'):
        clocked.in_threads([(int, ('7',)), (int, ('seven',))])


def made_up(start: float, end: float, cpu: float) -> clocked.Clocked:
    return clocked.Clocked(start, end, cpu, 1, 1, None)


def test_wall_and_cores_of_clocked_calls_span_from_the_first_start_to_the_last_end():
    calls = [made_up(10.0, 11.0, 1.0), made_up(10.5, 12.0, 0.5)]
    assert clocked.wall(calls) == 2.0 and clocked.cores(calls) == 0.75


@pytest.mark.parametrize(
    'spans, together',
    [
        ([(0.0, 2.0), (1.0, 3.0)], True),
        ([(0.0, 3.0), (1.0, 2.0), (1.5, 4.0)], True),
        ([(0.0, 1.0), (1.0, 2.0)], False),
        ([(0.0, 1.0), (2.0, 3.0)], False),
        ([(0.0, 2.0), (1.0, 3.0), (2.5, 4.0)], False),
    ],
    ids=['overlapping', 'nested', 'touching', 'apart', 'two of three'],
)
def test_calls_overlapped_only_when_every_one_started_before_any_ended(spans, together):
    """The K and R claims read "the units ran at once" from this: every call under way at one
    moment, so one that began as another ended, or only two of three at once, is not."""
    calls = [made_up(start, end, 0.0) for start, end in spans]
    assert clocked.overlapped(calls) is together, spans


def test_a_chart_times_the_calls_from_the_first_start():
    drawn = chart(
        'what releases the GIL',
        'two',
        [('a', 7, made_up(5.0, 6.0, 1.0)), ('b', 7, made_up(4.5, 5.5, 1.0))],
    )
    assert [(s.worker, s.n, s.start, s.end) for s in drawn.spans] == [
        ('a', 7, 0.5, 1.5),
        ('b', 7, 0.0, 1.0),
    ], drawn


@pytest.mark.cpu
@pytest.mark.parametrize('work', list(gil_release.WORK))
def test_calibrated_rounds_take_about_the_time_asked_here(work, report):
    """Timing a few rounds and scaling linearly lands near the target: each round is the same
    work on the same bytes."""
    asked = BLOCK / 4

    def trial() -> tuple[int, float]:
        rounds = gil_release.calibrated_rounds(work, asked)
        return rounds, clocked.clocked(gil_release.WORK[work], rounds).seconds

    judge(
        trial,
        lambda m, _: Verdict(
            0.5 <= m[1] / asked <= 2.0,
            measured=f'{m[0]} rounds of {work} took {m[1]:.3f} s',
            expected=f'{asked / 2:g} to {2 * asked:g} s, within a factor of 2 of the {asked} s '
            'asked',
            meaning='the calibration should size the work for this machine',
        ),
        report=report,
        section=TOOLS,
        claim='calibrated_rounds sizes the work for this machine',
        variant=work,
        cores=1,
    )


# ---- units.kind: one table of what each kind of unit is made with ------------------------------


@pytest.mark.parametrize('model', ['thread', 'process'])
def test_kind_makes_a_unit_that_passes_its_result_back_through_the_queue_of_its_kind(model):
    """A thread shares memory, so any queue will do; a process needs a queue of its own context."""
    made = units.kind(model)
    results = made.queue()
    unit = made.unit(target=units.square, args=(3, results))
    unit.start()
    finish(unit)
    assert results.get() == 9
    assert isinstance(unit, threading.Thread) == (model == 'thread')


def test_kind_refuses_a_model_that_is_neither_thread_nor_process():
    with pytest.raises(ValueError, match="'thread' or 'process', got 'async'"):
        units.kind('async')
