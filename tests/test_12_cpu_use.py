"""CPU use matches each model, read from the kernel with psutil.

Sleeping costs no CPU; pure-Python work costs one core-second per wall second. Threads under the
GIL share one core, however many there are; processes use as many cores as are free. The measuring
tool itself (``concur.testing.measure.Usage``) is checked at the end of the run, with the suite's
other tools.
"""

from __future__ import annotations

import io
import multiprocessing
import threading
from collections.abc import Callable

import psutil
import pytest
from claims import needs_cores, run_together

from concur import machine, primes, spinner, supervisors
from concur.protocols import Unit
from concur.testing import measure, parallel
from concur.testing.evidence import Machine, Verdict
from concur.testing.framelog import FrameLog
from concur.testing.measure import Usage
from concur.testing.pictures import counted
from concur.testing.tolerances import BLOCK, IDLE_CORES, ONE_CORE, ROUNDING

SECTION = 'CPU use'
# Threads or processes working at once in the claims below: one per usable core, at least two
# (the claims compare one core with several), at most four (to stay quick on big machines).
WORKERS = min(max(2, machine.usable_cores()), 4)


def cores_words(usage: Usage) -> str:
    return f'{usage.cores:.2f} cores over {usage.wall:.2f} s'


@pytest.mark.cpu(cores=1)
def test_slow_work_that_sleeps_uses_almost_no_cpu(claim):
    """``slow()`` stands for waiting on I/O: ``time.sleep`` hands the CPU back to the OS, however
    busy the machine is."""
    with Usage() as usage:
        answer = spinner.slow(BLOCK)
    assert answer == spinner.ANSWER, f'expected the answer 42, got {answer!r}'
    claim.exact(
        Verdict(
            usage.cores <= IDLE_CORES,
            measured=cores_words(usage),
            expected=f'at most {IDLE_CORES:.2f} cores: a few clock ticks',
            meaning='a sleeping thread is off the CPU until its time is up',
        )
    )


def about_one_core(usage: Usage, _: Machine) -> Verdict:
    # The counters tick in hundredths of a second: over a short run, a tick more or less.
    low, high = ONE_CORE[0], ONE_CORE[1] + ROUNDING / usage.wall
    return Verdict(
        low <= usage.cores <= high,
        measured=cores_words(usage),
        expected=f'{low} to {high:.2f} cores (a clock tick either way)',
        meaning='pure-Python work keeps exactly one core busy',
    )


@pytest.mark.cpu(cores=1)
def test_is_prime_uses_about_one_core_second_per_wall_second(calibrated_prime, claim):
    """``is_prime`` only computes: it never waits, so it keeps one core busy while it runs."""

    def trial() -> Usage:
        with Usage() as usage:
            assert primes.is_prime(calibrated_prime), f'{calibrated_prime} is prime'
        return usage

    claim.judge(trial, about_one_core)


def check_primes_in(make_unit: Callable[..., Unit], n: int) -> Usage:
    """Check ``n`` for primality in WORKERS units made by ``make_unit``, all at once; sample each
    thread's CPU time before they end, so that every unit's share can be read."""
    workers = [make_unit(target=primes.is_prime, args=(n,)) for _ in range(WORKERS)]
    with Usage() as usage:
        run_together(workers)
    return usage


def cores_of(model: parallel.Model, children: bool = False) -> Callable[[Usage, Machine], Verdict]:
    """The verdict on the cores WORKERS units of ``model`` kept busy: this process's, with the
    threads' CPU time in it whether or not they have ended, or its ``children``'s."""
    expect = model.expect()

    def verdict(usage: Usage, _: Machine) -> Verdict:
        cores = usage.children_cpu / usage.wall if children else usage.cores
        return Verdict(
            parallel.cores_say(cores, WORKERS, expect),
            measured=f'{WORKERS} {model.name} used {cores:.2f} cores over {usage.wall:.2f} s',
            expected=f'{parallel.cores_expected(WORKERS, expect)} ({machine.build()})',
            meaning=parallel.CORES_MEANINGS[expect],
            unclear=parallel.CORES_SHORT,
        )

    return verdict


@pytest.mark.cpu
@pytest.mark.parametrize('model', parallel.models('threads'))
def test_threads_doing_cpu_bound_work_use_one_core_at_most_only_under_the_gil(
    calibrated_prime, claim, model
):
    """Only the thread holding the GIL runs Python code; the others wait for it, so k busy
    threads share one core. A free-threaded build without the GIL runs them on several cores."""
    claim.judge(
        lambda: check_primes_in(threading.Thread, calibrated_prime),
        cores_of(model),
        # One core on a busy machine proves nothing: the pass needs cores processes would use.
        pass_needs_quiet=model.expect() == parallel.TURNS,
        reads_cpu_time=True,
    )


@pytest.mark.cpu
@pytest.mark.parametrize('model', parallel.models('processes'))
def test_processes_doing_cpu_bound_work_use_as_many_cores_as_are_free(
    default_start_method, calibrated_prime, claim, model
):
    """Each process has its own interpreter and its own GIL, so k busy processes run on k cores,
    as far as the machine has k free."""
    needs_cores(2)
    process = multiprocessing.get_context(default_start_method).Process
    claim.judge(lambda: check_primes_in(process, calibrated_prime), cores_of(model, children=True))


def thread_named(name: str) -> threading.Thread:
    __tracebackhide__ = True
    found = [t for t in threading.enumerate() if t.name == name]
    assert found, (
        f'expected a thread named {name!r} in this process, found only '
        f'{[t.name for t in threading.enumerate()]}'
    )
    return found[0]


def spinner_beside_is_prime(n: int) -> tuple[float, float]:
    """The cores used by the spinner thread and by the main thread running ``is_prime(n)``."""
    spinning: list[threading.Thread] = []

    def work() -> int:
        assert primes.is_prime(n), f'{n} is prime'
        spinning.append(thread_named('spinner'))
        usage.sample()  # while the spinner thread is still there to be read
        return spinner.ANSWER

    with Usage() as usage:
        supervisors.supervise('thread', work, out=io.StringIO())
    worker = usage.threads[threading.get_native_id()] / usage.wall
    native_id = spinning[0].native_id
    assert native_id is not None, 'the spinner thread had ended before it was read'
    return usage.threads[native_id] / usage.wall, worker


def spinner_and_worker(cores: tuple[float, float], _: Machine) -> Verdict:
    spinning, working = cores
    return Verdict(
        spinning <= IDLE_CORES and ONE_CORE[0] <= working <= ONE_CORE[1],
        measured=f'spinner thread {spinning:.2f} cores, main thread {working:.2f}',
        expected=f'spinner at most {IDLE_CORES:.2f}, main thread {ONE_CORE[0]} to {ONE_CORE[1]}',
        meaning='between frames the spinner waits on its Event, off the CPU, while pure-Python '
        'work keeps its thread on one core',
    )


@pytest.mark.cpu(cores=1)
def test_the_spinner_thread_uses_almost_no_cpu_while_the_main_thread_uses_a_core(
    calibrated_prime, claim
):
    """The spinner thread sleeps in ``Event.wait`` between frames; the main thread runs
    ``is_prime`` and never waits. psutil's per-thread counters tell the two apart."""
    claim.judge(lambda: spinner_beside_is_prime(calibrated_prime), spinner_and_worker)


def units_now() -> tuple[set[int], set[int]]:
    """The ids of this process's threads and of its child processes, as the OS lists them."""
    return {t.id for t in psutil.Process().threads()}, {p.pid for p in measure.children()}


@pytest.mark.parametrize(
    'model, threads, processes',
    [('thread', 1, 0), ('process', 0, 1), ('async', 0, 0)],
    ids=supervisors.MODELS,
)
def test_the_spinner_adds_one_thread_one_process_or_nothing_as_its_model_says(
    model, threads, processes, claim
):
    """A task lives inside the event loop's thread; a Thread is one more OS thread of this
    process; a Process is one more OS process. Counted by psutil while the spinner runs."""
    threads_before, children_before = units_now()
    during = []

    def work() -> int:
        during.append(units_now())
        return spinner.ANSWER

    frames = multiprocessing.get_context().SimpleQueue()  # picklable, for any start method
    try:
        answer = supervisors.supervise(model, work, out=FrameLog(frames))
    finally:
        frames.close()
    assert answer == spinner.ANSWER, f'expected the answer 42, got {answer!r}'
    new_threads = len(during[0][0] - threads_before)
    new_children = len(during[0][1] - children_before)
    claim.exact(
        Verdict(
            (new_threads, new_children) == (threads, processes),
            measured=f'+{counted(new_threads, "thread")}, +{counted(new_children, "process")}',
            expected=f'+{counted(threads, "thread")}, +{counted(processes, "process")}',
            meaning='a task is no thread and a thread no process: psutil counts what each '
            'model really started',
        )
    )
