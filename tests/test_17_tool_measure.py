"""The CPU measure (concur/testing/measure.py), checked on blocks whose cost is known: a
sleep, a spin, a child process, threads side by side.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
import threading
import time
from typing import Final

import psutil
import pytest
from claims import TOOLS, assert_at_most, assert_between, finish

from concur.testing import measure, units
from concur.testing.evidence import Machine, Verdict, judge
from concur.testing.measure import Usage
from concur.testing.tolerances import BLOCK, IDLE_CORES, ONE_CORE, ROUNDING
from concur.timeouts import JOIN_TIMEOUT

pytestmark = pytest.mark.selfcheck


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
def test_measure_sees_about_one_core_in_a_block_that_spins(recorder):
    """A loop that never waits keeps one core busy for the whole wall time."""
    judge(
        spin_block,
        lambda usage, _: Verdict(
            ONE_CORE[0] <= usage.cores <= ONE_CORE[1],
            measured=f'{usage.cores:.2f} cores',
            expected=f'{ONE_CORE[0]} to {ONE_CORE[1]} cores',
            meaning='one thread that never waits uses one core',
        ),
        recorder=recorder,
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
# returns and would be counted with the child's time when it is the first.
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
def test_measure_gives_each_thread_its_own_cpu_time(recorder):
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
        recorder=recorder,
        section=TOOLS,
        claim='Usage gives each thread its own CPU time',
        cores=1,
    )


@pytest.mark.skipif(not os.path.exists('/proc/self/task'), reason="needs Linux's /proc")
def test_system_call_names_the_call_each_thread_waits_in():
    """The claim on blocked readers (test_09) tells a reader blocked in its read from one that
    polls by the system call it waits in: reading a pipe, reading a socket and waiting for a lock
    are three calls, and a thread that has ended is in none."""
    read_fd, write_fd = os.pipe()
    reader, writer = socket.socketpair()
    lock = threading.Lock()
    lock.acquire()
    waits = [
        threading.Thread(target=os.read, args=(read_fd, 1)),
        threading.Thread(target=reader.recv, args=(1,)),
        threading.Thread(target=lock.acquire),
    ]
    for wait in waits:
        wait.start()
    try:
        deadline = time.monotonic() + JOIN_TIMEOUT
        calls = [measure.system_call(wait.native_id or -1) for wait in waits]
        while None in calls and time.monotonic() < deadline:
            calls = [measure.system_call(wait.native_id or -1) for wait in waits]
    finally:
        os.write(write_fd, b'x')
        writer.sendall(b'x')
        lock.release()
        for wait in waits:
            wait.join(JOIN_TIMEOUT)
        for fd in (read_fd, write_fd):
            os.close(fd)
        reader.close()
        writer.close()
    assert None not in calls and len(set(calls)) == 3, (
        f'expected three calls, one per wait (a pipe, a socket, a lock), got {calls}'
    )
    assert measure.system_call(waits[0].native_id or -1) is None, 'an ended thread waits in none'
