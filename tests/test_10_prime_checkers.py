"""CPU-bound work: threads take turns under the GIL, processes run in parallel.

The book checks its 20 numbers for primes sequentially, with threads and with processes fed by
a job queue and a result queue, and with one ``0`` per worker as its stop signal. Here the numbers
are sized to this machine, and every speedup is a ratio of times measured in the same test; when
a claim needs free cores, a control measures them first, without the code under test.
"""

from __future__ import annotations

import math
import multiprocessing
import threading
import time
from typing import Callable, Iterator, NamedTuple, TypeVar

import pytest
from claims import (
    assert_at_least,
    assert_at_most,
    assert_between,
    assert_reported_once_each,
    run_together,
)

from concur import checkers, machine, primes
from concur.primes import Number
from concur.testing import measure
from concur.testing.workload import hard_numbers, ns

T = TypeVar('T')

# Every test here keeps cores busy, checking primes or starting processes: under pytest-xdist they
# take turns with the other cpu tests, so that none disturbs a timing.
pytestmark = pytest.mark.cpu

# The claims' numbers are checked in about this many seconds, each number taking 1/COUNT of it:
# a few tenths of a second, so that a test takes one or two, yet long against starting processes.
WORK_SECONDS = 0.4
COUNT = 8  # numbers per list, half primes: 2 and 4 workers get equal shares
# The control's busy work, per process: long against starting a process, short for the test.
CONTROL_SECONDS = 0.15
# The control must find this close to all usable cores free before a speedup is asked for.
FREE_SLACK = 0.2
# With c free cores, c workers must reach this share of a c-fold speedup: starting the workers
# and handing numbers over costs a little, and the last numbers do not split evenly.
SHARE_OF_CORES = 0.8
ATTEMPTS = 2


@pytest.fixture(scope='module')
def work() -> tuple[Number, ...]:
    return hard_numbers(WORK_SECONDS)


@pytest.fixture(scope='module')
def control_prime() -> int:
    return primes.calibrated_prime(CONTROL_SECONDS)


def timed(results: Iterator[checkers.PrimeResult], expected: int) -> float:
    """Seconds to read every result; fails if some were missing."""
    __tracebackhide__ = True
    start = time.perf_counter()
    count = sum(1 for _ in results)
    elapsed = time.perf_counter() - start
    assert count == expected, f'expected {expected} results, got {count}'
    return elapsed


def _wall_of_busy_processes(count: int, prime: int) -> float:
    ctx = multiprocessing.get_context()
    busy = [
        ctx.Process(target=primes.is_prime, args=(prime,), name='control') for _ in range(count)
    ]
    start = time.perf_counter()
    run_together(busy)
    return time.perf_counter() - start


def free_cores(prime: int) -> float:
    """How many cores this test can use right now, measured without the code under test: plain
    processes checking ``prime``, one per usable core at once, against one process alone."""
    cores = machine.usable_cores()
    return cores * _wall_of_busy_processes(1, prime) / _wall_of_busy_processes(cores, prime)


def on_a_quiet_machine(
    measure_: Callable[[], T], holds: Callable[[T], bool], shown: Callable[[T], str], prime: int
) -> tuple[T, float]:
    """Measure the free cores with the control, then the claim, at most ATTEMPTS times; return the
    first measurement where the claim ``holds``, with the free cores the control found before it.

    Another program may take a core for a second or two, and then a timing says nothing. So each
    try starts with the control, and a try that fails is followed by another. When a try failed
    with all usable cores free, that try is returned for the caller's assertion to fail on; when
    every failed try found the machine busy, the test skips, saying what was measured.
    """
    tries: list[tuple[T, float]] = []
    need = machine.usable_cores() - FREE_SLACK
    for _ in range(ATTEMPTS):
        free = free_cores(prime)
        value = measure_()
        if holds(value):
            return value, free
        tries.append((value, free))
    quiet = [(value, free) for value, free in tries if free >= need]
    if quiet:
        return quiet[-1]
    pytest.skip(
        f'{"; ".join(shown(value) for value, _ in tries)}, but other programs were using '
        f'the cores meanwhile: the control (plain processes checking a prime, '
        f'{machine.usable_cores()} at once against 1 alone), run before each try, found '
        f'{" and ".join(f"{free:.2f}" for _, free in tries)} free cores of '
        f'{machine.usable_cores()}; the claim needs {need:.1f}'
    )


def free_note(free: float) -> str:
    return f', {free:.2f} free cores'


def needs_cores(count: int) -> None:
    if machine.usable_cores() < count:
        pytest.skip(
            f'this machine gives this process {machine.usable_cores()} usable core(s); '
            f'the claim needs at least {count}'
        )


# ---- P1: every checker reports every number once, with the right verdict -----------------------


@pytest.mark.parametrize('model', ['sequential', 'threads', 'interpreters'])
def test_each_checker_reports_every_number_exactly_once_with_the_right_verdict(model, fast):
    """A checker may finish the numbers in any order, but it must lose none and repeat none."""
    if model not in checkers.CHECKERS:
        pytest.skip(
            f'{model} needs Python 3.14+ (concurrent.futures.InterpreterPoolExecutor); '
            f'this is {machine.describe()}'
        )
    options = {} if model == 'sequential' else {'workers': 2}
    assert_reported_once_each(list(checkers.CHECKERS[model](ns(fast), **options)), fast)


@pytest.mark.parametrize('model', checkers.PROCESS_CHECKERS)
def test_process_checkers_report_every_number_exactly_once_under_each_start_method(
    model, start_method, fast
):
    """Worker processes receive the queues and the worker function by fork, or, under spawn and
    forkserver, pickled into a fresh interpreter that imports them: the results are the same."""
    results = list(checkers.CHECKERS[model](ns(fast), 2, start_method))
    assert_reported_once_each(results, fast)


# ---- P2: threads do not speed CPU-bound work up ------------------------------------------------


def test_threads_take_at_least_the_sequential_time_for_cpu_bound_work(work, control_prime, table):
    """Under the GIL only one thread runs Python code at a time, so k threads take turns at the
    work one thread would do alone; handing the GIL over only adds time."""
    ks = (2, 4)
    cores = machine.usable_cores()

    def measure_() -> dict[int, float]:
        """The time of k threads over the sequential time, for each k."""
        sequential = timed(checkers.sequential(ns(work)), COUNT)
        threaded = {k: timed(checkers.threads(ns(work), k), COUNT) for k in ks}
        # Sequential again, the faster as the reference: a core taken from one of the two runs by
        # another program must not make the threads look faster.
        sequential = min(sequential, timed(checkers.sequential(ns(work)), COUNT))
        return {k: seconds / sequential for k, seconds in threaded.items()}

    def shown(ratios: dict[int, float]) -> str:
        return ', '.join(
            f'{k} threads took {ratio:.2f} of the sequential time' for k, ratio in ratios.items()
        )

    if machine.gil_enabled():
        ratios, free = on_a_quiet_machine(
            measure_, lambda r: min(r.values()) >= 0.9, shown, control_prime
        )
        note = 'GIL: threads take turns'
    else:
        needs_cores(2)
        ratios, free = on_a_quiet_machine(
            measure_,
            lambda r: all(1 / r[k] >= SHARE_OF_CORES * min(k, cores) for k in ks),
            shown,
            control_prime,
        )
        note = 'GIL disabled: threads run in parallel'
    for k, ratio in ratios.items():
        table.add(
            model='threads',
            work=f'is_prime x{COUNT}',
            speedup=1 / ratio,
            note=f'k={k}, {note}{free_note(free)}',
        )
    for k, ratio in ratios.items():
        if machine.gil_enabled():
            assert_at_least(
                ratio,
                0.9,
                what=f'time of {k} threads over the sequential time',
                meaning='with the GIL, threads take turns at CPU-bound work, so they '
                'cannot beat one thread; if they did, they ran in parallel',
            )
        else:
            assert_at_least(
                1 / ratio,
                SHARE_OF_CORES * min(k, cores),
                what=f'speedup of {k} threads on a free-threaded build ({machine.build()})',
                meaning='without the GIL threads run Python code in parallel, like processes',
            )


# ---- P3: processes do ---------------------------------------------------------------------------


class Speedup(NamedTuple):
    speedup: float
    wall: float  # seconds of the faster run
    cores: float = math.nan  # cores it used
    note: str = ''


def test_processes_check_numbers_about_c_times_faster_on_c_free_cores(work, control_prime, table):
    """Each process has its own interpreter and its own GIL, so c processes keep c cores busy."""
    needs_cores(2)
    cores = machine.usable_cores()

    def measure_() -> Speedup:
        sequential = timed(checkers.sequential(ns(work)), COUNT)
        with measure.Usage() as usage:
            parallel = timed(checkers.procs(ns(work), cores), COUNT)
        # Starting and stopping the processes costs the same whatever they check: a few
        # milliseconds with fork, a tenth of a second with spawn. The book's 40-second run hides
        # it; these tenths of a second would not, so it is measured and left out of the speedup.
        starting = timed(checkers.procs([], cores), 0)
        return Speedup(
            sequential / max(parallel - starting, 1e-9),
            parallel,
            usage.cores,
            f'{starting:.2f} s of it starting them',
        )

    run, free = on_a_quiet_machine(
        measure_,
        lambda r: r.speedup >= SHARE_OF_CORES * cores,
        lambda r: f'{cores} processes were {r.speedup:.2f} times faster',
        control_prime,
    )
    table.add(
        model='procs',
        work=f'is_prime x{COUNT}',
        wall_s=run.wall,
        cores=run.cores,
        speedup=run.speedup,
        note=f'k={cores}, {run.note}{free_note(free)}',
    )
    assert_at_least(
        run.speedup,
        SHARE_OF_CORES * cores,
        what=f'speedup of {cores} processes over sequential',
        meaning=f'the control found all cores free, but the processes used {run.cores:.2f}: '
        f'the work was not spread over the cores, as if it ran in one process',
    )


# ---- P4: more processes than cores buy nothing more ---------------------------------------------


def test_more_processes_than_cores_check_numbers_no_faster(work, control_prime, table):
    """Past one process per core, the extra processes only wait for a core: the speedup levels
    off at the core count, as in the book's table for 1 to 20 processes."""
    cores = machine.usable_cores()

    def measure_() -> Speedup:
        # The c-worker run twice, the faster as the reference: a core lost during one of them
        # must not make the 2c run look faster.
        at_cores = timed(checkers.procs(ns(work), cores), COUNT)
        doubled = timed(checkers.procs(ns(work), 2 * cores), COUNT)
        at_cores = min(at_cores, timed(checkers.procs(ns(work), cores), COUNT))
        return Speedup(at_cores / doubled, doubled)

    run, free = on_a_quiet_machine(
        measure_,
        lambda r: r.speedup <= 1.15,
        lambda r: f'{2 * cores} processes were {r.speedup:.2f} times faster than {cores}',
        control_prime,
    )
    table.add(
        model='procs',
        work=f'is_prime x{COUNT}',
        wall_s=run.wall,
        speedup=run.speedup,
        note=f'k={2 * cores} over k={cores}{free_note(free)}',
    )
    assert_at_most(
        run.speedup,
        1.15,
        what=f'speedup of {2 * cores} processes over {cores}',
        meaning=f'the machine runs at most {cores} processes at once; more speedup means '
        f'it has more cores than machine.usable_cores() says',
    )


# ---- P5: the race the book fixed ----------------------------------------------------------------


def test_a_result_loop_that_stops_when_the_job_queue_is_empty_loses_results(start_method, fast):
    """An empty job queue says every job was taken, not that every result was read: a reader that
    falls behind finds the queue empty while results still wait, and stops without them."""
    results = checkers.late_reader(ns(fast), 2, start_method, stop_when_jobs_empty=True)
    assert_at_most(
        len(results),
        len(fast) - 1,
        what='results read by the loop that stops on empty jobs',
        meaning='the reader waited for the workers to end before looking at the job queue, '
        'so it found the queue empty after its first result',
    )


def test_counting_one_sentinel_per_worker_loses_no_result(start_method, fast):
    """Each worker answers its 0 with a PrimeResult of n == 0 after its last result, so a reader
    that counts one of those per worker has read everything, however late it reads."""
    assert_reported_once_each(
        checkers.late_reader(ns(fast), 2, start_method, stop_when_jobs_empty=False), fast
    )


# ---- P6: the executor matches the hand-made pool ------------------------------------------------


def test_process_pool_executor_matches_the_hand_made_process_pool(work, control_prime, table):
    """ProcessPoolExecutor does what procs does by hand (worker processes, queues, a stop
    signal), so it gives the same results at about the same speed."""
    cores = machine.usable_cores()
    results: dict[str, list[checkers.PrimeResult]] = {}

    def measure_() -> Speedup:
        seconds = {'procs': math.inf, 'pool': math.inf}
        for _ in range(2):  # interleaved, the faster of each: fair if a core is lost for a while
            for model in seconds:
                start = time.perf_counter()
                results[model] = list(checkers.CHECKERS[model](ns(work), cores))
                seconds[model] = min(seconds[model], time.perf_counter() - start)
        return Speedup(seconds['procs'] / seconds['pool'], seconds['pool'])

    run, free = on_a_quiet_machine(
        measure_,
        lambda r: 1 / 1.2 <= r.speedup <= 1.2,
        lambda r: f'the executor was {r.speedup:.2f} times as fast as procs',
        control_prime,
    )
    table.add(
        model='pool',
        work=f'is_prime x{COUNT}',
        wall_s=run.wall,
        speedup=run.speedup,
        note=f'k={cores}, over procs{free_note(free)}',
    )
    assert_reported_once_each(results['procs'], work)
    assert_reported_once_each(results['pool'], work)
    assert_between(
        run.speedup,
        1 / 1.2,
        1.2,
        what='speedup of ProcessPoolExecutor over the hand-made pool',
        meaning='both spread the same numbers over the same number of processes',
    )


# ---- F3: subinterpreters, parallel in one process ------------------------------------------------


def test_subinterpreters_run_pure_python_work_on_several_cores_in_one_process(
    work, control_prime, table
):
    """Since Python 3.14 each subinterpreter of InterpreterPoolExecutor has its own GIL: its
    threads run Python code in parallel, inside one process."""
    if not checkers.HAS_INTERPRETERS:
        pytest.skip(
            f'needs concurrent.futures.InterpreterPoolExecutor (Python 3.14+); '
            f'this is {machine.describe()}'
        )
    needs_cores(2)
    cores = machine.usable_cores()

    def measure_() -> measure.Usage:
        with measure.Usage() as usage:
            timed(checkers.interpreters(ns(work), cores), COUNT)
        return usage

    usage, free = on_a_quiet_machine(
        measure_,
        lambda u: u.cpu / u.wall >= SHARE_OF_CORES * cores,
        lambda u: f'the process used {u.cpu / u.wall:.2f} cores',
        control_prime,
    )
    table.add(
        model='interpreters',
        work=f'is_prime x{COUNT}',
        wall_s=usage.wall,
        cores=usage.cpu / usage.wall,
        note=f'k={cores}, one process{free_note(free)}',
    )
    assert_at_most(
        usage.children_cpu,
        0.05 * usage.cpu,
        what='CPU seconds of child processes',
        meaning='the subinterpreters run in threads of this process, not in children',
    )
    assert_at_least(
        usage.cpu / usage.wall,
        SHARE_OF_CORES * cores,
        what='cores used by this one process (its CPU time over wall time)',
        meaning='each subinterpreter has its own GIL, so their threads run in parallel',
    )


# ---- the command line and bad input -------------------------------------------------------------


@pytest.mark.parametrize('model', ['threads', 'procs', 'pool'])
def test_a_checker_abandoned_after_its_first_result_stops_its_workers(model, fast):
    """A reader may stop early (an error, Ctrl-C): closing the checker stops its workers and
    waits for them, so none is left running."""
    results = checkers.CHECKERS[model](ns(fast), 2)
    next(results)
    results.close()
    left = [
        unit.name
        for unit in [*threading.enumerate(), *multiprocessing.active_children()]
        if unit.name.startswith(
            ('prime-worker', 'SpawnProcess', 'ForkProcess', 'ForkServerProcess')
        )
    ]
    assert not left, f'still running after close(): {left}'
