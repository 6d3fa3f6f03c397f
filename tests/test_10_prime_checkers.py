"""CPU-bound work: threads take turns under the GIL, processes run in parallel.

The book checks its 20 numbers for primes sequentially, with threads and with processes fed by
a job queue and a result queue, and with one ``0`` per worker as its stop signal. Here the numbers
are sized to this machine, every speedup is a ratio of times measured in the same trial, and the
suite's control says whether the machine had the cores free to show it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import platform
import threading
import time
from collections.abc import Generator, Iterator
from typing import NamedTuple, cast

import psutil
import pytest
from claims import (
    assert_at_most,
    assert_reported_once_each,
    longest_check,
    misreported,
    needs_cores,
)

from concur import checkers, machine
from concur.testing import measure, parallel
from concur.testing.evidence import Machine, Verdict
from concur.testing.parallel import PARALLEL
from concur.testing.tolerances import HARDLY_ANY
from concur.testing.workload import BOOK_QUICK, WORK_COUNT, WORK_SECONDS, hard_numbers, ns
from concur.timeouts import JOIN_TIMEOUT

SECTION = 'prime checkers'
CORES = machine.usable_cores()

# ---- every checker reports every number once, with the right verdict -----------------------------


@pytest.mark.parametrize('model', ['sequential', 'threads', 'interpreters'])
def test_each_checker_reports_every_number_exactly_once_with_the_right_verdict(model, fast, claim):
    """A checker may finish the numbers in any order, but it must lose none and repeat none."""
    if model not in checkers.CHECKERS:
        claim.skip(
            f'{model} needs Python 3.14+ (concurrent.futures.InterpreterPoolExecutor); '
            f'this is Python {platform.python_version()}'
        )
    options = {} if model == 'sequential' else {'workers': 2}
    results = list(checkers.CHECKERS[model](ns(fast), **options))
    wrong = misreported(results, fast)
    claim.exact(
        Verdict(
            not wrong,
            measured=wrong or f'{len(results)} numbers reported, each once, each verdict right',
            expected=f'each of the {len(fast)} numbers once, with its known verdict',
            meaning='a checker lost, repeated or misjudged a number',
        )
    )


@pytest.mark.parametrize('model', checkers.PROCESS_CHECKERS)
def test_process_checkers_report_every_number_exactly_once_under_each_start_method(
    model, start_method, fast
):
    """Worker processes receive the queues and the worker function by fork, or, under spawn and
    forkserver, pickled into a fresh interpreter that imports them: the results are the same."""
    results = list(checkers.CHECKERS[model](ns(fast), 2, start_method))
    assert_reported_once_each(results, fast)


# ---- threads do not speed CPU-bound work up ------------------------------------------------------


@pytest.mark.cpu
@pytest.mark.parametrize('k', [2, 4], ids=[f'{k} threads, {machine.build()}' for k in (2, 4)])
def test_threads_take_at_least_the_time_of_one_thread_for_cpu_bound_work_only_under_the_gil(
    k, work, claim
):
    """Under the GIL only one thread runs Python code at a time, so k threads take turns at the
    work one thread would do alone; handing the GIL over only adds time. On a free-threaded build
    without the GIL, threads run in parallel, as processes do. (The baseline is one worker
    thread, not the main thread: here pure Python runs a few percent slower in the main thread.)"""
    needs_cores(2)
    threads = parallel.MODELS['threads']
    # With the GIL, processes checking the same numbers in the same trial show whether the cores
    # were there for the threads to gain from: the evidence a "no faster" needs.
    control = parallel.MODELS['processes'] if machine.gil_enabled() else None
    claim.judge(
        lambda: parallel.trial(threads, ns(work), k, control),
        parallel.verdict(threads.expect()),
        key='threads checking primes',
        pictures=parallel.charts(SECTION),
    )


# ---- processes do --------------------------------------------------------------------------------


@pytest.mark.cpu
@pytest.mark.parametrize(
    'cores', [machine.usable_cores()], ids=lambda c: f'{c} processes on {c} cores'
)
def test_processes_check_numbers_as_many_times_faster_as_there_are_free_cores(cores, work, claim):
    """Each process has its own interpreter and its own GIL, so one process per usable core keeps
    every core busy when they are free: c cores, about c times faster."""
    needs_cores(2)
    processes = parallel.MODELS['processes']
    claim.judge(
        lambda: parallel.trial(processes, ns(work), cores),
        parallel.verdict(processes.expect()),
        key='processes checking primes',
        pictures=parallel.charts(SECTION),
    )


# ---- more processes than cores buy nothing more --------------------------------------------------


@pytest.mark.cpu
@pytest.mark.parametrize('cores', [CORES], ids=[f'{2 * CORES} processes on {CORES} cores'])
def test_more_processes_than_cores_check_numbers_no_faster(cores, work, claim):
    """Past one process per core, the extra processes only wait for a core: the speedup levels
    off at the core count, as in the book's table for 1 to 20 processes."""
    procs = checkers.CHECKERS['procs']

    def trial() -> tuple[parallel.Checked, parallel.Checked]:
        # The c-worker run twice, the faster as the reference: a core lost during one of them
        # must not make the 2c run look faster.
        at_cores = parallel.run_checker(procs, ns(work), cores)
        doubled = parallel.run_checker(procs, ns(work), 2 * cores)
        again = parallel.run_checker(procs, ns(work), cores)
        return min(at_cores, again, key=lambda run: run.seconds), doubled

    def verdict(runs: tuple[parallel.Checked, parallel.Checked], _: Machine) -> Verdict:
        at_cores, doubled = runs
        # 2c processes share c cores, so they need the same CPU time. What they may gain is the
        # uneven end of c: a worker still checking its last number while the others are done,
        # one check at most (the longest of the c workers' checks, each alone on its core).
        longest = longest_check(at_cores.results)
        gained = at_cores.seconds - doubled.seconds
        return Verdict(
            gained <= longest,
            measured=f'{2 * cores} processes took {doubled.seconds:.3f} s, '
            f'{abs(gained) * 1000:.0f} ms {"less" if gained > 0 else "more"} than {cores}',
            expected=f'at most {longest * 1000:.0f} ms less: one check, the longest, that ends '
            f'{cores} workers unevenly; the extra processes only wait for a core',
            compared_with=f'{cores} processes {at_cores.seconds:.3f} s, the faster of two around '
            f'the {2 * cores}',
            meaning=f'the machine runs more than {cores} processes at once: it has more cores '
            'than machine.usable_cores() says',
        )

    claim.judge(trial, verdict)


# ---- the race the book fixed ---------------------------------------------------------------------


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


def read_slowly(results: Iterator[checkers.PrimeResult]) -> list[checkers.PrimeResult]:
    """Read the first result, then every other one only after each worker process has ended, as a
    reader slowed down by a busy machine may: the rest wait on the result queue meanwhile."""
    first = next(results)
    for child in measure.children():
        with contextlib.suppress(psutil.NoSuchProcess, ChildProcessError):  # ended and reaped
            if child.ppid() == os.getpid():  # ours: wait for its end without reaping it
                os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
            else:  # a forkserver's: the forkserver reaps it
                child.wait(JOIN_TIMEOUT)
    return [first, *results]


@pytest.mark.skipif(not hasattr(os, 'waitid'), reason='waits for its workers with os.waitid')
def test_procs_loses_no_result_however_late_its_results_are_read(start_method, fast):
    """procs reads until each worker has said it is done, not until the job queue is empty: by
    the time a slow reader looks, every job has been taken and most results still wait."""
    assert_reported_once_each(read_slowly(checkers.procs(ns(fast), 2, start_method)), fast)


@pytest.mark.parametrize('model', ['threads', 'procs', 'pool', 'interpreters'])
def test_each_checker_yields_its_results_in_the_order_the_checks_end(
    model, calibrated_prime, claim
):
    """One long check beside quick ones: whichever worker runs it, a result comes as its check
    ends, so the quick checks that ended first come first, not in the order they were handed out
    (the long one first, ``largest_first``)."""
    if model not in checkers.CHECKERS:
        claim.skip(f'{model} needs Python 3.14+; this is {machine.describe()}')
    results = list(checkers.CHECKERS[model]([calibrated_prime, *ns(BOOK_QUICK)], workers=2))
    long = next(result for result in results if result.n == calibrated_prime)
    before = {r.n for r in results[: results.index(long)]}
    ended_before = {r.n for r in results if r.started + r.elapsed < long.started + long.elapsed}
    claim.exact(
        Verdict(
            before == ended_before,
            measured=f'{len(before)} results came before the long check, '
            f'{len(ended_before)} checks ended before it',
            expected='the results that came before the long check are those that ended before it',
            meaning='results must be yielded as their checks end, not in the order handed out',
        )
    )


# ---- the executor matches the hand-made pool -----------------------------------------------------


@pytest.mark.cpu
@pytest.mark.parametrize('cores', [CORES], ids=[f'{CORES} processes'])
def test_process_pool_executor_matches_the_hand_made_process_pool(cores, work, claim):
    """ProcessPoolExecutor (the book's chapter 20) does what procs does by hand (worker
    processes, queues, a stop signal), so it gives the same results at about the same speed."""

    def trial() -> dict[str, parallel.Checked]:
        runs: dict[str, parallel.Checked] = {}
        for _ in range(2):  # interleaved, the faster of each: fair if a core is lost for a while
            for model in ('procs', 'pool'):
                run = parallel.run_checker(checkers.CHECKERS[model], ns(work), cores)
                if model not in runs or parallel.span(run.results) < parallel.span(
                    runs[model].results
                ):
                    runs[model] = run
        return runs

    def verdict(runs: dict[str, parallel.Checked], _: Machine) -> Verdict:
        procs, pool = runs['procs'], runs['pool']
        # Both hand the numbers out one at a time to the same number of processes, so their
        # checks, from the first one's start to the last one's end, take as long but for one
        # number that a worker still checks while the others are done: one check, the longest.
        # Starting and stopping the processes is left out (a pool starts them as work comes).
        longest = longest_check(procs.results, pool.results)
        spans = {model: parallel.span(run.results) for model, run in runs.items()}
        apart = spans['pool'] - spans['procs']
        return Verdict(
            abs(apart) <= longest,
            measured=f"the executor's checks took {spans['pool']:.3f} s, "
            f'{abs(apart) * 1000:.0f} ms {"more" if apart > 0 else "less"} than those of procs',
            expected=f'at most {longest * 1000:.0f} ms apart: one check, the longest',
            compared_with=f"procs' checks {spans['procs']:.3f} s, each the faster run of "
            f'two interleaved; starting the processes left out (procs {procs.seconds:.3f} s in '
            f'all, the executor {pool.seconds:.3f} s)',
            meaning='both spread the same numbers over the same number of processes: one of '
            'them used fewer processes, or waited between numbers',
        )

    # The same speed proves nothing on a busy machine, where a pool of one worker could match.
    runs = claim.judge(trial, verdict, pass_needs_quiet=True)
    assert_reported_once_each(runs['procs'].results, work)
    assert_reported_once_each(runs['pool'].results, work)


# ---- subinterpreters, parallel in one process ----------------------------------------------------


@pytest.mark.cpu
@pytest.mark.parametrize('model', parallel.models('subinterpreters'))
def test_subinterpreters_run_pure_python_work_on_several_cores_in_one_process(model, work, claim):
    """Each subinterpreter has its own GIL since Python 3.12 (PEP 684), and Python 3.14 gives
    them to Python code, in ``concurrent.interpreters`` and InterpreterPoolExecutor: their
    threads run Python code in parallel, inside one process."""
    if model.needs:
        claim.skip(f'{model.needs}; this is Python {platform.python_version()}')
    needs_cores(2)
    cores = machine.usable_cores()

    def trial() -> tuple[parallel.Checked, float]:
        with measure.Usage() as usage:
            run = parallel.run_checker(model.checker, ns(work), cores)
        return run, usage.children_cpu

    def verdict(measured: tuple[parallel.Checked, float], _: Machine) -> Verdict:
        run, children = measured
        return Verdict(
            False
            if children > HARDLY_ANY * run.seconds
            else parallel.cores_say(run.cores, cores, PARALLEL),
            measured=f'this one process used {run.cores:.2f} cores, its children '
            f'{children:.2f} CPU seconds',
            expected=f'{parallel.cores_expected(cores, PARALLEL)} in this process, its children '
            f'under {HARDLY_ANY} of its {run.seconds:.2f} s',
            unclear=parallel.CORES_SHORT,
            meaning='each subinterpreter has its own GIL, so their threads run in parallel, in '
            'threads of this process, not in children',
        )

    claim.judge(trial, verdict)


class Abandoned(NamedTuple):
    closing: float  # seconds close() took
    check: float  # seconds the first number's check took: what a worker may still finish
    left: list[str]  # workers still running after close()
    stopping: float  # seconds to start and stop the model's two workers with nothing to check


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
    stopping = parallel.run_checker(
        checkers.CHECKERS['threads' if model == 'threads' else 'procs'], [], 2
    ).seconds
    return Abandoned(closing, first.elapsed, left, stopping)


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
ABANDONED_COUNT = 3 * WORK_COUNT  # many numbers, so that finishing them all takes far longer


@pytest.fixture(scope='module')
def many() -> list[int]:
    return ns(hard_numbers(3 * WORK_SECONDS, ABANDONED_COUNT))


@pytest.mark.cpu
@pytest.mark.parametrize('model', STILL_RUNNING)
def test_a_checker_abandoned_after_its_first_result_stops_its_workers(model, many, claim):
    """A reader may stop early (an error, Ctrl-C): closing the checker stops its workers and
    waits for them, so none is left running, and it does not wait for the other numbers."""
    held, why = STILL_RUNNING[model]

    def verdict(a: Abandoned, _: Machine) -> Verdict:
        # Plus one check for numbers of uneven length, and what starting and stopping two
        # workers costs (measured with nothing to check): a process's exit and reaping.
        bound = (held + 1) * a.check + a.stopping
        everything = ABANDONED_COUNT * a.check / 2
        # The check was timed once, and a machine's speed can change by half between two checks:
        # a close() that took longer than the bound but is still nearer to it than to finishing
        # everything shows neither.
        halfway = (bound + everything) / 2
        holds: bool | None
        if a.left:
            holds = False
        elif a.closing <= bound:
            holds = True
        else:
            holds = None if a.closing < halfway else False
        return Verdict(
            holds,
            measured=f'close() took {1000 * a.closing:.0f} ms; still running: {a.left or "none"}',
            expected=f'no worker left, within {1000 * bound:.0f} ms ({why}, and '
            f'{1000 * a.stopping:.0f} ms to stop them); finishing all '
            f'{ABANDONED_COUNT} numbers on 2 workers would take about {1000 * everything:.0f} ms '
            f'(a close() nearer that than the bound, over {1000 * halfway:.0f} ms, '
            'did not stop them)',
            meaning='a checker that is closed must stop its workers, not run them to the end',
        )

    claim.judge(lambda: abandon_after_first_result(model, many), verdict)
