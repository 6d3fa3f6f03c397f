"""Work clocked side by side (concur/clocked.py): when, where and with what CPU a call ran,
and what the K and R claims read from it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest

from concur import clocked
from concur.testing import parallel, units
from concur.testing.tolerances import BLOCK
from concur.timeouts import JOIN_TIMEOUT

pytestmark = pytest.mark.selfcheck


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


def test_a_trials_chart_times_its_units_from_the_first_start():
    """The chart of a trial of clocked calls puts its first start at 0, so that the charts of
    different trials line up one above another."""
    calls = [made_up(5.0, 6.0, 1.0), made_up(4.5, 5.5, 1.0)]
    run = parallel.from_calls('threads', calls, 1.0, handed_out=True, baseline='')
    (drawn,) = parallel.charts('what releases the GIL')(run)
    assert [(s.worker, s.start, s.end) for s in drawn.spans] == [
        ('unit 1', 0.5, 1.5),
        ('unit 2', 0.0, 1.0),
    ], drawn
