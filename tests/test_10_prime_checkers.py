"""CPU-bound work: threads take turns under the GIL, processes run in parallel.

The book checks its 20 numbers for primes sequentially, with threads and with processes fed by
a job queue and a result queue, and with one ``0`` per worker as its stop signal. Here the numbers
are sized to this machine, every speedup is a ratio of times measured in the same trial, and the
suite's control says whether the machine had the cores free to show it.
"""

from __future__ import annotations

import collections
import multiprocessing
import threading
import time
from collections.abc import Generator
from typing import NamedTuple, cast

import pytest
from claims import assert_at_most

from concur import checkers, machine
from concur.primes import Number
from concur.testing import measure
from concur.testing.evidence import Machine, Verdict, judge
from concur.testing.records import Span, WorkerChart
from concur.testing.workload import hard_numbers, ns

# Every test here keeps cores busy, checking primes or starting processes: under pytest-xdist they
# take turns with the other cpu tests, so that none disturbs a timing.
pytestmark = pytest.mark.cpu

SECTION = 'prime checkers'
# The claims' numbers are checked in about this many seconds, each number taking 1/COUNT of it:
# a few tenths of a second, so that a test takes one or two, yet long against starting processes.
WORK_SECONDS = 0.3
COUNT = 8  # numbers per list, half primes: 2 and 4 workers get equal shares
# With c free cores, c workers reach at least this share of a c-fold speedup: the numbers are
# handed out one at a time through a queue, and the last ones do not split evenly.
SHARE_OF_CORES = 0.8
# A run's CPU time over its wall time says how many cores it used; the counters tick in 10 ms,
# so over a few tenths of a second they may read a few percent high or low.
CPU_READING = 0.1


@pytest.fixture(scope='module')
def work() -> tuple[Number, ...]:
    return hard_numbers(WORK_SECONDS, COUNT)


class Checked(NamedTuple):
    """One run of a checker: its results, its wall time, and the cores it used (psutil)."""

    results: list[checkers.PrimeResult]
    seconds: float
    cores: float
    began: float  # time.perf_counter() when it began

    def workers(self) -> collections.Counter[str]:
        """How many numbers each worker checked."""
        return collections.Counter(result.worker for result in self.results)


def check(model: str, numbers: list[int], **options: object) -> Checked:
    """Run a checker to its end, measuring its wall time and CPU use."""
    with measure.Usage() as usage:
        began = time.perf_counter()
        results = list(checkers.CHECKERS[model](numbers, **options))
    return Checked(results, usage.wall, usage.cores, began)


def chart(title: str, run: Checked) -> WorkerChart:
    """Which worker checked which number, and when, for the end report."""
    spans = tuple(
        Span(r.worker, r.n, r.started - run.began, r.started - run.began + r.elapsed)
        for r in run.results
    )
    return WorkerChart(SECTION, title, spans)


def shares(run: Checked, k: int) -> str:
    counts = run.workers()
    return f'{len(counts)} of {k} workers took a share ({", ".join(map(str, counts.values()))})'


def needs_cores(count: int) -> None:
    if machine.usable_cores() < count:
        pytest.skip(
            f'this machine gives this process {machine.usable_cores()} usable core(s); '
            f'the claim needs at least {count}'
        )


def assert_reported_once_each(
    results: list[checkers.PrimeResult], numbers: tuple[Number, ...]
) -> None:
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


class Versus(NamedTuple):
    """A run of k workers against the sequential checker, timed before and after it."""

    sequential: float  # the faster of the two sequential runs
    run: Checked
    k: int

    @property
    def speedup(self) -> float:
        return self.sequential / self.run.seconds


def against_sequential(model: str, numbers: list[int], k: int) -> Versus:
    """Sequential, then k workers, then sequential again, the faster as the baseline: a core
    taken by another program during one sequential run cannot make the workers look faster."""
    first = check('sequential', numbers).seconds
    run = check(model, numbers, workers=k)
    return Versus(min(first, check('sequential', numbers).seconds), run, k)


@pytest.mark.parametrize('k', [2, 4], ids=['2 threads', '4 threads'])
def test_threads_take_at_least_the_sequential_time_for_cpu_bound_work(k, work, report):
    """Under the GIL only one thread runs Python code at a time, so k threads take turns at the
    work one thread would do alone; handing the GIL over only adds time. On a free-threaded build
    without the GIL, threads run in parallel, as processes do."""
    cores = machine.usable_cores()
    gil = machine.gil_enabled()
    if not gil:
        needs_cores(2)
    # Without the GIL, k threads get min(k, cores) cores, as processes would.
    least = SHARE_OF_CORES * min(k, cores)

    def verdict(v: Versus, _: Machine) -> Verdict:
        everyone = len(v.run.workers()) == k  # a checker that used one thread proves nothing
        if gil:
            holds = v.speedup <= 1 / 0.9 and v.run.cores <= 1 + CPU_READING
            expected = 'at most 1.11x (at least 0.9 of the sequential time), on one core'
            meaning = 'with the GIL threads take turns, so they cannot beat one thread'
        else:
            holds = v.speedup >= least
            expected = f'at least {least:.2f}x: {SHARE_OF_CORES} x {min(k, cores)} cores'
            meaning = 'without the GIL, threads run Python code in parallel, as processes do'
        return Verdict(
            holds and everyone,
            measured=f'{v.speedup:.2f}x the sequential speed, {v.run.cores:.2f} cores used; '
            + shares(v.run, k),
            expected=f'{expected} ({machine.build()}), every thread taking a share',
            compared_with=f'sequential {v.sequential:.2f} s, the faster of two around the threads',
            meaning=meaning if everyone else 'the checker did not spread the work over its threads',
        )

    judge(
        lambda: against_sequential('threads', ns(work), k),
        verdict,
        report=report,
        section=SECTION,
        claim='threads do not speed up CPU-bound work' if gil else 'threads run in parallel',
        variant=f'{k} threads',
        cores=cores,
        # Threads looking slow on a busy machine prove nothing: the pass needs cores that
        # processes would have used.
        pass_needs_quiet=gil,
        pictures=lambda v: [
            chart(f'{k} threads checking {COUNT} numbers ({machine.build()})', v.run)
        ],
    )


# ---- P3: processes do ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    'cores', [machine.usable_cores()], ids=lambda c: f'{c} processes on {c} cores'
)
def test_processes_check_numbers_as_many_times_faster_as_there_are_free_cores(cores, work, report):
    """Each process has its own interpreter and its own GIL, so one process per usable core keeps
    every core busy when they are free: c cores, about c times faster."""
    needs_cores(2)
    least = SHARE_OF_CORES * cores

    def trial() -> tuple[Versus, float]:
        # Starting and stopping the processes costs the same whatever they check: a few
        # milliseconds with fork, a tenth of a second with spawn. The book's 40-second run hides
        # it; these tenths of a second would not, so it is measured and left out of the speedup.
        return against_sequential('procs', ns(work), cores), check(
            'procs', [], workers=cores
        ).seconds

    def verdict(measured: tuple[Versus, float], _: Machine) -> Verdict:
        v, starting = measured
        speedup = v.sequential / max(v.run.seconds - starting, 1e-9)
        everyone = len(v.run.workers()) == cores
        # The speedup cannot exceed the cores the run used: if it does, the baseline was slowed.
        consistent = speedup <= v.run.cores + CPU_READING * cores
        return Verdict(
            (speedup >= least and everyone) if consistent else None,
            measured=f'{speedup:.2f}x faster using {v.run.cores:.2f} cores; '
            + shares(v.run, cores),
            expected=f'at least {least:.2f}x ({SHARE_OF_CORES} x {cores} cores) and no more than '
            'the cores used, every process taking a share',
            compared_with=f'sequential {v.sequential:.2f} s, the faster of two around the '
            f'processes; {starting:.2f} s of starting them left out',
            meaning='the work was not spread over the cores, as if it ran in one process',
        )

    judge(
        trial,
        verdict,
        report=report,
        section=SECTION,
        claim='processes check numbers as many times faster as there are free cores',
        variant=f'{cores} processes on {cores} cores',
        cores=cores,
        pictures=lambda m: [chart(f'{cores} processes checking {COUNT} numbers', m[0].run)],
    )


# ---- P4: more processes than cores buy nothing more ---------------------------------------------


def test_more_processes_than_cores_check_numbers_no_faster(work, report):
    """Past one process per core, the extra processes only wait for a core: the speedup levels
    off at the core count, as in the book's table for 1 to 20 processes."""
    cores = machine.usable_cores()

    def trial() -> tuple[float, float]:
        # The c-worker run twice, the faster as the reference: a core lost during one of them
        # must not make the 2c run look faster.
        at_cores = check('procs', ns(work), workers=cores).seconds
        doubled = check('procs', ns(work), workers=2 * cores).seconds
        return min(at_cores, check('procs', ns(work), workers=cores).seconds), doubled

    def verdict(times: tuple[float, float], _: Machine) -> Verdict:
        at_cores, doubled = times
        # 2c processes share c cores; what they may gain is the uneven end of the last numbers.
        return Verdict(
            at_cores / doubled <= 1.15,
            measured=f'{2 * cores} processes were {at_cores / doubled:.2f}x as fast as {cores}',
            expected='at most 1.15x: the extra processes only wait for a core',
            compared_with=f'{cores} processes {at_cores:.2f} s, the faster of two around the '
            f'{2 * cores}',
            meaning=f'the machine runs more than {cores} processes at once: it has more cores '
            'than machine.usable_cores() says',
        )

    judge(
        trial,
        verdict,
        report=report,
        section=SECTION,
        claim='more processes than cores check numbers no faster',
        variant=f'{2 * cores} processes on {cores} cores',
        cores=cores,
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


def test_process_pool_executor_matches_the_hand_made_process_pool(work, report):
    """ProcessPoolExecutor does what procs does by hand (worker processes, queues, a stop
    signal), so it gives the same results at about the same speed."""
    cores = machine.usable_cores()

    def trial() -> dict[str, Checked]:
        runs: dict[str, Checked] = {}
        for _ in range(2):  # interleaved, the faster of each: fair if a core is lost for a while
            for model in ('procs', 'pool'):
                run = check(model, ns(work), workers=cores)
                if model not in runs or run.seconds < runs[model].seconds:
                    runs[model] = run
        return runs

    def verdict(runs: dict[str, Checked], _: Machine) -> Verdict:
        ratio = runs['procs'].seconds / runs['pool'].seconds
        # Both start the same processes and hand them the same numbers; the pool's futures and
        # the hand-made queues cost about the same.
        return Verdict(
            1 / 1.2 <= ratio <= 1.2,
            measured=f'the executor ran at {ratio:.2f}x the speed of procs '
            f'({runs["pool"].seconds:.2f} s)',
            expected='between 0.83x and 1.2x',
            compared_with=f'procs {runs["procs"].seconds:.2f} s, the faster of two interleaved',
            meaning='both spread the same numbers over the same number of processes',
        )

    runs = judge(
        trial,
        verdict,
        report=report,
        section=SECTION,
        claim='ProcessPoolExecutor matches the hand-made process pool',
        variant=f'{cores} processes',
        cores=cores,
        # The same speed proves nothing on a busy machine, where a pool of one worker could match.
        pass_needs_quiet=True,
    )
    assert_reported_once_each(runs['procs'].results, work)
    assert_reported_once_each(runs['pool'].results, work)


# ---- F3: subinterpreters, parallel in one process ------------------------------------------------


def test_subinterpreters_run_pure_python_work_on_several_cores_in_one_process(work, report):
    """Since Python 3.14 each subinterpreter of InterpreterPoolExecutor has its own GIL: its
    threads run Python code in parallel, inside one process."""
    if not checkers.HAS_INTERPRETERS:
        pytest.skip(
            'needs concurrent.futures.InterpreterPoolExecutor (Python 3.14+); '
            f'this is {machine.describe()}'
        )
    needs_cores(2)
    cores = machine.usable_cores()
    least = SHARE_OF_CORES * cores

    def trial() -> tuple[Checked, float]:
        with measure.Usage() as usage:
            run = check('interpreters', ns(work), workers=cores)
        return run, usage.children_cpu

    def verdict(measured: tuple[Checked, float], _: Machine) -> Verdict:
        run, children = measured
        return Verdict(
            run.cores >= least and children <= 0.05 * run.cores * run.seconds,
            measured=f'this one process used {run.cores:.2f} cores, its children '
            f'{children:.2f} CPU seconds',
            expected=f'at least {least:.2f} cores ({SHARE_OF_CORES} x {cores}) in this process, '
            'none in children',
            meaning='each subinterpreter has its own GIL, so their threads run in parallel, in '
            'threads of this process, not in children',
        )

    judge(
        trial,
        verdict,
        report=report,
        section='beyond the book',
        claim='subinterpreters run Python code on several cores in one process',
        variant=f'{cores} interpreters',
        cores=cores,
    )


class Abandoned(NamedTuple):
    closing: float  # seconds close() took
    check: float  # seconds the first number's check took: what a worker may still finish
    left: list[str]  # workers still running after close()


def abandon_after_first_result(model: str, numbers: list[int]) -> Abandoned:
    results = cast(
        Generator[checkers.PrimeResult, None, None], checkers.CHECKERS[model](numbers, 2)
    )
    first = next(results)
    start = time.perf_counter()
    results.close()
    closing = time.perf_counter() - start
    names = [t.name for t in threading.enumerate()] + [
        p.name for p in multiprocessing.active_children()
    ]
    workers = ('prime-worker', 'SpawnProcess', 'ForkProcess', 'ForkServerProcess')
    left = [name for name in names if name.startswith(workers)]
    return Abandoned(closing, first.elapsed, left)


# What a closed checker may still finish, in checks of a number per worker, and why.
STILL_RUNNING = {
    'threads': (1, 'a thread finishes the number it holds'),
    'procs': (0, 'a process is terminated'),
    'pool': (
        2,
        'a process finishes the number it holds and the one the executor has already '
        'queued for it, which cancel_futures cannot take back',
    ),
}
ABANDONED_COUNT = 3 * COUNT  # many numbers, so that finishing them all takes far longer


@pytest.fixture(scope='module')
def many() -> list[int]:
    return ns(hard_numbers(3 * WORK_SECONDS, ABANDONED_COUNT))


@pytest.mark.parametrize('model', STILL_RUNNING)
def test_a_checker_abandoned_after_its_first_result_stops_its_workers(model, many, report):
    """A reader may stop early (an error, Ctrl-C): closing the checker stops its workers and
    waits for them, so none is left running, and it does not wait for the other numbers."""
    held, why = STILL_RUNNING[model]

    def verdict(a: Abandoned, _: Machine) -> Verdict:
        # Plus one check for joining the workers and for numbers of uneven length.
        bound = (held + 1) * a.check
        everything = ABANDONED_COUNT * a.check / 2
        return Verdict(
            not a.left and a.closing <= bound,
            measured=f'close() took {1000 * a.closing:.0f} ms; still running: {a.left or "none"}',
            expected=f'no worker left, within {1000 * bound:.0f} ms ({why}); finishing all '
            f'{ABANDONED_COUNT} numbers on 2 workers would take about {1000 * everything:.0f} ms',
            meaning='a checker that is closed must stop its workers, not run them to the end',
        )

    judge(
        lambda: abandon_after_first_result(model, many),
        verdict,
        report=report,
        section=SECTION,
        claim='a checker closed early stops its workers',
        variant=model,
        cores=2,
    )
