"""CPU use matches each model, read from the kernel with psutil.

Sleeping costs no CPU; pure-Python work costs one core-second per wall second. Threads under the
GIL share one core, however many there are; processes use as many cores as are free. First, the
measuring tool (``concur.measure.Usage``) is checked on blocks whose CPU use is known.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import threading
from typing import Callable

import psutil
import pytest
from claims import (
    BLOCK,
    IDLE_CORES,
    ONE_CORE,
    WHOLE_CORE,
    assert_at_most,
    assert_between,
    run_together,
    skip_unless_free,
)

from concur import machine, primes, spinner, spinner_async, spinner_proc, spinner_thread
from concur.protocols import Unit
from concur.testing import measure
from concur.testing.framelog import FrameLog
from concur.testing.measure import Usage

# Threads or processes working at once in the claims below: one per usable core, at least two
# (the claims compare one core with several), at most four (to stay quick on big machines).
WORKERS = min(max(2, machine.usable_cores()), 4)
# Several cores are shown when the workers use clearly more than one: 1.5 of 2 on this kind of
# machine, where the second core is sometimes taken by another tenant.
SEVERAL = 1.5


@pytest.mark.cpu
def test_slow_work_that_sleeps_uses_almost_no_cpu(table):
    """``slow()`` stands for waiting on I/O: ``time.sleep`` hands the CPU back to the OS."""
    with Usage() as usage:
        answer = spinner.slow(BLOCK)
    assert answer == spinner.ANSWER
    assert_at_most(
        usage.cores,
        IDLE_CORES,
        what=f'cores used by slow({BLOCK})',
        meaning='a sleeping thread is off the CPU until its time is up',
    )
    table.add(model='sequential', work=f'slow({BLOCK})', wall_s=usage.wall, cores=usage.cores)


@pytest.mark.cpu
def test_is_prime_uses_about_one_core_second_per_wall_second(calibrated_prime, table):
    """``is_prime`` only computes: it never waits, so it keeps one core busy while it runs."""
    with Usage() as usage:
        assert primes.is_prime(calibrated_prime)
    skip_unless_free(usage, WHOLE_CORE, 'is_prime uses a whole core')
    assert_between(
        usage.cores,
        *ONE_CORE,
        what='cores used by is_prime',
        meaning='pure-Python work keeps exactly one core busy',
    )
    table.add(model='sequential', work='is_prime x1', wall_s=usage.wall, cores=usage.cores)


# Other programs often leave the cores free again a moment later: measure up to this many times.
ATTEMPTS = 3


def check_primes_in(make_unit: Callable[..., Unit], n: int) -> Usage:
    """Check ``n`` for primality in WORKERS units made by ``make_unit``, all at once; measure
    again while other programs left fewer than SEVERAL cores free, ATTEMPTS times at most."""
    for _ in range(ATTEMPTS):
        workers = [make_unit(target=primes.is_prime, args=(n,)) for _ in range(WORKERS)]
        with Usage() as usage:
            run_together(workers)
        if usage.available >= SEVERAL:
            break
    return usage


@pytest.mark.cpu
def test_threads_doing_cpu_bound_work_use_one_core_at_most_under_the_gil(calibrated_prime, table):
    """Only the thread holding the GIL runs Python code; the others wait for it, so k busy
    threads share one core. A free-threaded build without the GIL runs them on several cores."""
    usage = check_primes_in(threading.Thread, calibrated_prime)
    gil = machine.gil_enabled()
    table.add(
        model='thread',
        work=f'is_prime x{WORKERS}',
        wall_s=usage.wall,
        cores=usage.cores,
        note=f'{WORKERS} threads, {machine.build()}',
    )
    skip_unless_free(
        usage,
        SEVERAL,
        f'{WORKERS} busy threads {"stay on one core" if gil else "use several cores"}',
    )
    if gil:
        assert_at_most(
            usage.cores,
            ONE_CORE[1],
            what=f'cores used by {WORKERS} threads running is_prime ({machine.build()})',
            meaning='under the GIL only one thread runs Python code at a time',
        )
    else:
        assert_between(
            usage.cores,
            SEVERAL,
            WORKERS + 0.15,
            what=f'cores used by {WORKERS} threads running is_prime ({machine.build()})',
            meaning='without the GIL, threads run Python code on several cores at once',
        )


@pytest.mark.cpu
def test_processes_doing_cpu_bound_work_use_as_many_cores_as_are_free(
    start_method, calibrated_prime, table
):
    """Each process has its own interpreter and its own GIL, so k busy processes run on k cores,
    as far as the machine has k free; whichever way they were started."""
    usage = check_primes_in(multiprocessing.get_context(start_method).Process, calibrated_prime)
    children_cores = usage.children_cpu / usage.wall
    table.add(
        model='process',
        work=f'is_prime x{WORKERS}',
        wall_s=usage.wall,
        cores=children_cores,
        note=f'{WORKERS} processes ({start_method}), {usage.available:.2f} cores free',
    )
    skip_unless_free(usage, SEVERAL, f'{WORKERS} busy processes use several cores')
    assert_between(
        children_cores,
        ONE_CORE[0] * min(WORKERS, usage.available),
        WORKERS + 0.15,
        what=f'cores used by {WORKERS} child processes running is_prime '
        f'({usage.available:.2f} cores free)',
        meaning='processes run Python code in parallel, one core each',
    )


def thread_named(name: str) -> threading.Thread:
    __tracebackhide__ = True
    found = [t for t in threading.enumerate() if t.name == name]
    assert found, (
        f'expected a thread named {name!r} in this process, found only '
        f'{[t.name for t in threading.enumerate()]}'
    )
    return found[0]


@pytest.mark.cpu
def test_the_spinner_thread_uses_almost_no_cpu_while_the_main_thread_uses_a_core(
    calibrated_prime, table
):
    """The spinner thread sleeps in ``Event.wait`` between frames; the main thread runs
    ``is_prime`` and never waits. psutil's per-thread counters tell the two apart."""
    spinning: list[threading.Thread] = []

    def work() -> int:
        assert primes.is_prime(calibrated_prime)
        spinning.append(thread_named('spinner'))
        usage.sample()  # while the spinner thread is still there to be read
        return spinner.ANSWER

    with Usage() as usage:
        spinner_thread.supervisor(work, out=io.StringIO())
    worker = usage.threads[threading.get_native_id()] / usage.wall
    spinner_cores = usage.threads[spinning[0].native_id] / usage.wall
    table.add(
        model='thread',
        work='spinner + is_prime',
        wall_s=usage.wall,
        cores=usage.cores,
        note=f'spinner thread {spinner_cores:.2f} cores, worker {worker:.2f}',
    )
    assert_at_most(
        spinner_cores,
        IDLE_CORES,
        what='cores used by the spinner thread',
        meaning='between frames the spinner waits on its Event, off the CPU',
    )
    skip_unless_free(usage, WHOLE_CORE, 'the worker thread uses a whole core')
    assert_between(
        worker,
        *ONE_CORE,
        what='cores used by the main thread running is_prime',
        meaning='pure-Python work keeps its thread on one core',
    )


def units_now() -> tuple[set[int], set[int]]:
    """The ids of this process's threads and of its child processes, as the OS lists them."""
    return {t.id for t in psutil.Process().threads()}, {p.pid for p in measure.children()}


def run_spinner(model: str, work: Callable[[], int]) -> int:
    """Run ``work`` under the model's spinner supervisor, keeping the frames out of the output."""
    if model == 'thread':
        return spinner_thread.supervisor(work, out=io.StringIO())
    if model == 'process':
        frames = multiprocessing.get_context().SimpleQueue()  # picklable, for any start method
        try:
            return spinner_proc.supervisor(work, out=FrameLog(frames))
        finally:
            frames.close()

    async def awaited() -> int:
        return work()

    return asyncio.run(spinner_async.supervisor(awaited, out=io.StringIO()))


@pytest.mark.parametrize(
    'model, threads, processes',
    [('async', 0, 0), ('thread', 1, 0), ('process', 0, 1)],
    ids=['async', 'thread', 'process'],
)
def test_the_spinner_adds_one_thread_one_process_or_nothing_as_its_model_says(
    model, threads, processes, table
):
    """A task lives inside the event loop's thread; a Thread is one more OS thread of this
    process; a Process is one more OS process. Counted by psutil while the spinner runs."""
    threads_before, children_before = units_now()
    during = []

    def work() -> int:
        during.append(units_now())
        return spinner.ANSWER

    assert run_spinner(model, work) == spinner.ANSWER
    new_threads = len(during[0][0] - threads_before)
    new_children = len(during[0][1] - children_before)
    table.add(
        model=model, work='spinner', note=f'+{new_threads} threads, +{new_children} processes'
    )
    assert (new_threads, new_children) == (threads, processes), (
        f'expected the {model} spinner to add {threads} thread(s) and {processes} process(es), '
        f'psutil counted {new_threads} new thread(s) and {new_children} new process(es)'
    )
