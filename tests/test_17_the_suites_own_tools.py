"""The suite's own tools, checked on cases whose answer is known: the prime code that sizes the
work, the CPU measure, the frame log, the evidence policy, the leak guard. Not the chapter: what
the chapter's verdicts stand on.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import sys
import threading
import time

import psutil
import pytest
from claims import (
    BLOCK,
    IDLE_CORES,
    ONE_CORE,
    ROUNDING,
    WHOLE_CORE,
    assert_at_most,
    assert_between,
    chart,
    finish,
    judge_with_charts,
    skip_unless_free,
)

from concur import clocked, gil_release, primes
from concur.primes import PRIME_FIXTURE, is_prime
from concur.testing import records, units
from concur.testing.evidence import Verdict
from concur.testing.measure import Usage
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


@pytest.mark.cpu
def test_calibrated_prime_is_prime_and_takes_about_the_time_asked_here():
    """Timing is_prime on a small prime and scaling by the square root law lands near the target;
    the target is several times the calibration's own timing, so a linear scaling would fall far short."""
    asked = 0.1
    n = primes.calibrated_prime(asked)
    assert primes.miller_rabin(n), f'calibrated_prime({asked}) returned {n}, which is not prime'
    took = primes.time_is_prime(n, repeat=2)
    assert_between(
        took / asked,
        0.5,
        2.0,
        what=f'is_prime({n}) time over the {asked} s asked',
        meaning='the calibration should size the work for this machine',
    )


@pytest.mark.cpu
def test_measure_sees_almost_no_cpu_in_a_block_that_sleeps():
    """A sleeping thread is off the CPU: the kernel wakes it when the time is up."""
    with Usage() as usage:
        time.sleep(BLOCK)
    assert_between(usage.wall, BLOCK, 1.5 * BLOCK, what='wall seconds', meaning='the block slept')
    assert_at_most(
        usage.cores, IDLE_CORES, what='cores used while sleeping', meaning='sleeping costs no CPU'
    )


@pytest.mark.cpu
def test_measure_sees_about_one_core_in_a_block_that_spins():
    """A loop that never waits keeps one core busy for the whole wall time."""
    with Usage() as usage:
        units.busy(BLOCK)
    skip_unless_free(usage, WHOLE_CORE, 'a busy loop uses one core')
    assert_between(
        usage.cores,
        *ONE_CORE,
        what='cores used by a busy loop',
        meaning='one thread that never waits uses one core',
    )


def cpu_of_ended_child(pid: int) -> float:
    """Wait until the child has ended, without reaping it, and read its own counters."""
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # it stays a zombie, its counters readable
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


@pytest.mark.cpu
@pytest.mark.skipif(
    not sys.platform.startswith('linux'),
    reason='shows how Linux counts the CPU time of children, joined or not',
)
def test_measure_counts_a_child_process_once_whether_or_not_it_was_joined():
    """Linux adds a child's CPU time to its parent's counters only once the parent joins it;
    ``Usage`` also reads the children it has not joined yet, and counts each child once."""
    # spawn, whatever the default: a forkserver's children are the forkserver's, not ours to wait for
    ctx = multiprocessing.get_context('spawn')
    for join_inside in (False, True):
        child = ctx.Process(target=units.busy, args=(BLOCK,))
        with Usage() as usage:
            child.start()
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


def busy_then_wait(worked: threading.Event, may_end: threading.Event) -> None:
    units.busy(BLOCK)
    worked.set()
    may_end.wait(JOIN_TIMEOUT)  # a thread's counters vanish when it ends: stay until sampled


@pytest.mark.cpu
def test_measure_gives_each_thread_its_own_cpu_time():
    """psutil reads each OS thread's counters; a thread's id there is its ``native_id``."""
    worked, may_end = threading.Event(), threading.Event()
    worker = threading.Thread(target=busy_then_wait, args=(worked, may_end))
    with Usage() as usage:
        worker.start()
        assert worked.wait(JOIN_TIMEOUT), 'the thread never finished its work'
        usage.sample()
        may_end.set()
        finish(worker)
    skip_unless_free(usage, WHOLE_CORE, 'a busy thread uses one core')
    this = usage.threads[threading.get_native_id()]
    assert_between(
        usage.threads[worker.native_id] / BLOCK,
        *ONE_CORE,
        what="the busy thread's CPU seconds per second of work",
        meaning='a thread that never waits uses one core',
    )
    assert_at_most(
        this / usage.wall,
        IDLE_CORES,
        what='cores used by this thread, waiting',
        meaning='a thread blocked in Event.wait() uses no CPU',
    )


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


def test_judge_with_charts_records_the_charts_of_the_trial_it_returns():
    """The chart goes with the verdict: drawn from the trial judged, and recorded with its row."""
    properties: list[tuple[str, object]] = []
    drawn = chart('what releases the GIL', 'one', [('a', 1, made_up(0.0, 1.0, 1.0))])
    value = judge_with_charts(
        lambda: 42,
        lambda n, machine: Verdict(holds=n == 42, measured=f'{n}', expected='42'),
        lambda n: [dataclasses.replace(drawn, title=f'{n}')],
        report=records.Recorder(properties, 'test'),
        section='what releases the GIL',
        claim='the helper keeps its charts',
        cores=1,
    )
    kinds = [record['kind'] for _, record in properties]  # type: ignore[index]
    charts = [record for _, record in properties if record['kind'] == 'workers']  # type: ignore[index]
    assert value == 42 and 'row' in kinds and [c['title'] for c in charts] == ['42'], properties


@pytest.mark.cpu
@pytest.mark.parametrize('work', list(gil_release.WORK))
def test_calibrated_rounds_take_about_the_time_asked_here(work):
    """Timing a few rounds and scaling linearly lands near the target: each round is the same
    work on the same bytes."""
    asked = BLOCK / 4
    rounds = gil_release.calibrated_rounds(work, asked)
    took = clocked.clocked(gil_release.WORK[work], rounds).seconds
    assert_between(
        took / asked,
        0.5,
        2.0,
        what=f'{work} time for {rounds} rounds over the {asked} s asked',
        meaning='the calibration should size the work for this machine',
    )
