"""Stopping an execution unit: who can stop whom, and how soon.

``threading`` has no way to stop a thread from outside: it can only be asked, and it stops when
it looks at the request. A process can be ended by the operating system, in the middle of
whatever it does. A task is asked too, with ``cancel()``, and the request lands at its next
``await``. The worker here does its work in steps of a fixed length and notes when each step
ended, so that a stop shows how far the worker got: "stopped" is a worker with steps left undone,
"finished" one that did them all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import math
import multiprocessing.queues
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait

import pytest
from claims import finish, first_then

from concur import machine
from concur.primes import Number, is_prime
from concur.testing import units
from concur.testing.evidence import Machine, Verdict
from concur.testing.tolerances import WAKE_LATE
from concur.timeouts import JOIN_TIMEOUT

SECTION = 'stopping a unit'
STEP = 0.01  # seconds of busy work in each step of the worker's loop
STEPS = 10  # the work of a worker left to finish: a tenth of a second
# A worker meant to be stopped gets a second of work: far more steps than it does before the stop
# comes, however slow the machine, so that a worker that finished cannot pass for a stopped one.
MANY_STEPS = 100


@dataclass(frozen=True)
class Stopped:
    """How far a worker got around the moment it was told to stop."""

    marks: Sequence[float]  # when the work began, then when each step ended (0: not done)
    told: float  # time.perf_counter() once the worker had been told to stop
    gone: float  # ... and when join() returned: the worker had ended

    @property
    def steps(self) -> int:
        return len(self.marks) - 1

    @property
    def done(self) -> int:
        return sum(1 for mark in self.marks[1:] if mark)

    @property
    def after(self) -> int:
        """Steps that ended after the worker was told to stop."""
        return sum(1 for mark in self.marks[1:] if mark > self.told)

    @property
    def latency(self) -> float:
        return self.gone - self.told

    @property
    def step(self) -> float:
        """The longest step the worker did, measured: its loop's unit of time."""
        ends = [mark for mark in self.marks if mark]
        return max(b - a for a, b in itertools.pairwise(ends))

    def words(self) -> str:
        return (
            f'{self.done} of {self.steps} steps done, {self.after} of them after the stop, '
            f'gone {1000 * self.latency:.1f} ms after it'
        )


def stop_a_thread(steps: int, checks: bool) -> Stopped:
    """Start a worker thread, and once its first step is done, set the Event it may look at."""
    marks, under_way, stop = [0.0] * (steps + 1), threading.Event(), threading.Event()
    worker = threading.Thread(
        target=units.work_in_steps, args=(marks, STEP, under_way, stop if checks else None)
    )
    worker.start()
    assert under_way.wait(JOIN_TIMEOUT), 'the worker thread never finished its first step'
    stop.set()
    told = time.perf_counter()
    finish(worker)
    return Stopped(tuple(marks), told, time.perf_counter())


def hand_off() -> float:
    """How long the main thread may wait to run again once the worker is done: with the GIL, one
    switch interval (a thread waiting for it asks for it after that long), then the OS's wake-up."""
    return (sys.getswitchinterval() if machine.gil_enabled() else 0.0) + WAKE_LATE


@pytest.mark.cpu(cores=1)
def test_a_thread_that_checks_an_event_stops_within_one_step_of_set(claim):
    """``threading`` offers no way to stop a thread; a worker that looks at an Event before each
    step of its loop notices the request at the end of the step it is in, and returns."""
    first = stop_a_thread(MANY_STEPS, checks=True)
    claim.exact(
        Verdict(
            first.after <= 1 and first.done < first.steps,
            measured=first.words(),
            expected=f'at most the step under way after the stop, not all {first.steps}',
            meaning='a worker that looks at the Event before each step must not start another '
            'once it is set',
        )
    )

    def verdict(stopped: Stopped, _: Machine) -> Verdict:
        bound = stopped.step + hand_off()
        return Verdict(
            stopped.latency <= bound,
            measured=f'gone {1000 * stopped.latency:.1f} ms after set()',
            expected=f'at most {1000 * bound:.1f} ms: a step ({1000 * stopped.step:.1f} ms, '
            f'measured) and a hand-off ({1000 * hand_off():.1f} ms, {machine.build()})',
            meaning='the worker went on past the step it was in when the Event was set',
        )

    claim.judge(first_then(first, lambda: stop_a_thread(MANY_STEPS, checks=True)), verdict)


def test_a_thread_that_never_checks_runs_its_work_to_the_end_whatever_is_set(claim):
    """Setting an Event is only a request: a worker that never looks at it does every step of its
    work. Nor can anything else end it for sure: C code may raise an exception in a thread
    (``PyThreadState_SetAsyncExc``), but the thread sees it only when it next runs Python code, not
    while blocked in C, and it may catch it and go on."""
    stopped = stop_a_thread(STEPS, checks=False)
    claim.exact(
        Verdict(
            stopped.done == STEPS,
            measured=stopped.words(),
            expected=f'all {STEPS} steps done: finished, not stopped',
            meaning='a thread that never looks at the Event went on regardless, so something '
            'else stopped it',
        )
    )


def stop_a_process(start_method: str) -> tuple[Stopped, int | None]:
    """Start a worker process that looks at nothing, and once its first step is done, terminate
    it; also its exit code."""
    ctx = machine.context(start_method)
    marks, under_way = ctx.Array('d', MANY_STEPS + 1), ctx.Event()
    worker = ctx.Process(target=units.work_in_steps, args=(marks, STEP, under_way))
    worker.start()
    assert under_way.wait(JOIN_TIMEOUT), 'the worker process never finished its first step'
    worker.terminate()
    told = time.perf_counter()
    worker.join(JOIN_TIMEOUT)
    return Stopped(tuple(marks[:]), told, time.perf_counter()), worker.exitcode


# terminate() sends SIGTERM on POSIX, which ends a Python process that set no handler for it; on
# Windows it calls TerminateProcess, and multiprocessing reports that as -SIGTERM too.
TERMINATED = -signal.SIGTERM


@pytest.mark.cpu(cores=1)
def test_a_busy_process_is_ended_from_outside_at_once_by_terminate(start_method, claim):
    """The operating system ends the child wherever it is: it need not look at anything, unlike a
    thread, which ``threading`` cannot end from outside. It ends within the step it is in."""
    first, exitcode = stop_a_process(start_method)
    claim.exact(
        Verdict(
            exitcode == TERMINATED and first.after <= 1 and first.done < first.steps,
            measured=f'exit code {exitcode}, {first.words()}',
            expected=f'exit code {TERMINATED} (-SIGTERM), no step after the one under way, '
            f'not all {first.steps}',
            meaning='the child ran on after terminate(): it was asked, not ended',
        )
    )

    def verdict(result: tuple[Stopped, int | None], _: Machine) -> Verdict:
        stopped = result[0]
        return Verdict(
            stopped.latency <= stopped.step,
            measured=f'gone {1000 * stopped.latency:.1f} ms after terminate()',
            expected=f'under one step ({1000 * stopped.step:.1f} ms, measured): ended within '
            f'the step it is in',
            meaning='the child went on past the step it was in',
        )

    claim.judge(first_then((first, exitcode), lambda: stop_a_process(start_method)), verdict)


# ---- a pool's busy workers stopped from outside (3.14) --------------------------------------

HAS_POOL_TERMINATION = hasattr(concurrent.futures.ProcessPoolExecutor, 'terminate_workers')
POOL_WORKERS = 2
# terminate_workers() sends what terminate() sends; kill_workers() what kill() does: SIGKILL on
# POSIX, which no handler can catch (on Windows both call TerminateProcess).
POOL_STOPS = {'terminate_workers': TERMINATED, 'kill_workers': -getattr(signal, 'SIGKILL', 15)}


@dataclass(frozen=True)
class PoolStopped:
    exitcodes: list[int | None]  # of the pool's worker processes, once joined
    outcomes: list[str]  # what each busy task's future holds: its result, or its exception
    latency: float  # seconds from the call to the last worker's end


def stop_a_pool(start_method: str, stop: str) -> PoolStopped:
    """Busy a pool's every worker with a second of work, then stop them all with ``stop``."""
    ctx = machine.context(start_method)
    starts: multiprocessing.queues.Queue[int] = ctx.Queue()
    pool = concurrent.futures.ProcessPoolExecutor(
        POOL_WORKERS, mp_context=ctx, initializer=units.tell_starts, initargs=(starts,)
    )
    try:
        futures = [pool.submit(units.busy_and_tell, MANY_STEPS * STEP) for _ in range(POOL_WORKERS)]
        for _ in futures:
            starts.get(timeout=JOIN_TIMEOUT)  # every worker busy with a task
        # The pool's own processes, kept before the call: it forgets them as it shuts down.
        workers = list(pool._processes.values())
        told = time.perf_counter()
        getattr(pool, stop)()
        # Their ends are watched, not joined: the pool's own thread joins them too, and under
        # forkserver a second reader of a child's exit code may read none and report 255.
        running = {worker.sentinel for worker in workers}
        deadline = told + JOIN_TIMEOUT
        while running and time.perf_counter() < deadline:
            running -= set(wait(list(running), deadline - time.perf_counter()))
        latency = time.perf_counter() - told
        outcomes = [
            type(error).__name__ if error else 'a result'
            for error in (future.exception(JOIN_TIMEOUT) for future in futures)
        ]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        starts.close()
        starts.join_thread()
    return PoolStopped([worker.exitcode for worker in workers], outcomes, latency)


@pytest.mark.parametrize('stop', POOL_STOPS)
def test_a_pools_busy_workers_are_ended_from_outside_by_terminate_workers_or_kill_workers(
    start_method, stop, claim
):
    """Since 3.14 a ProcessPoolExecutor can do to its busy workers what terminate() and kill()
    do to one process: end them wherever they are; their tasks end with the pool broken."""
    if not HAS_POOL_TERMINATION:
        pytest.skip(
            'needs ProcessPoolExecutor.terminate_workers() and kill_workers(), new in '
            f'Python 3.14; this is {machine.describe()}'
        )
    stopped = stop_a_pool(start_method, stop)
    expected = POOL_STOPS[stop]
    claim.exact(
        Verdict(
            stopped.exitcodes == [expected] * POOL_WORKERS
            and 'a result' not in stopped.outcomes
            and stopped.latency < MANY_STEPS * STEP / 2,
            measured=f'exit codes {stopped.exitcodes}, futures: {", ".join(stopped.outcomes)}; '
            f'gone {1000 * stopped.latency:.1f} ms after {stop}()',
            expected=f'exit code {expected} for each of {POOL_WORKERS}, no result, gone well '
            f'within the {MANY_STEPS * STEP:g} s of work they had',
            meaning=f'{stop}() must end busy workers from outside, as terminate() ends one process',
        )
    )


# How long each task's work would take if nobody cancelled it: as long as the worker's.
WORK = STEPS * STEP


async def cancel_a_sleeping_task() -> tuple[bool, float]:
    """Start a task that awaits a sleep, cancel it, and give the loop one turn: is it done then,
    and how many seconds after cancel() was it gone?"""
    task = asyncio.create_task(asyncio.sleep(WORK))
    await asyncio.sleep(0)  # one turn of the loop: the task starts and waits in its sleep
    told = time.perf_counter()
    task.cancel()
    await asyncio.sleep(0)  # one turn: the cancelled task runs before this coroutine does again
    done_in_one_turn = task.cancelled()
    await asyncio.wait([task], timeout=JOIN_TIMEOUT)
    return done_in_one_turn, time.perf_counter() - told


def test_cancel_ends_a_task_that_awaits_a_sleep_within_one_turn_of_the_loop(claim):
    """cancel() on a task waiting at an ``await`` cancels what it waits for, so the task is woken
    with CancelledError at that ``await`` in the loop's next turn: at once, with the rest of its
    sleep never slept."""
    done_in_one_turn, latency = asyncio.run(cancel_a_sleeping_task())
    gone = f'gone {1e6 * latency:.0f} µs after cancel()'
    claim.exact(
        Verdict(
            done_in_one_turn,
            measured=f'cancelled after one turn of the loop, {gone}, '
            f'{1000 * (WORK - latency):.0f} ms of its sleep left unslept'
            if done_in_one_turn
            else f'still running after one turn of the loop, {gone}',
            expected='cancelled within one turn of the loop',
            meaning='the cancellation did not land at the await the task was waiting in',
        )
    )


@dataclass(frozen=True)
class Interrupted:
    """When a task running plain is_prime was asked to stop, when its work returned, when it
    ended, and whether it ended cancelled."""

    told: float
    returned: float  # math.nan: the work never returned
    gone: float
    cancelled: bool


def cancel_a_task_in_is_prime(numbers: Sequence[Number]) -> Interrupted:
    """Another thread asks the loop to cancel a task while the task checks ``numbers`` with plain
    ``is_prime``: the loop is the only way in, and the work holds it."""
    stamps = dict.fromkeys(('told', 'returned'), math.nan)
    in_work = threading.Event()

    async def check_then_sleep() -> None:
        in_work.set()
        for number in numbers:
            is_prime(number.n)  # no await: the loop runs nothing else meanwhile
        stamps['returned'] = time.perf_counter()
        await asyncio.sleep(WORK)  # the next await, where a cancellation lands

    async def supervise() -> Interrupted:
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(check_then_sleep())

        def ask() -> None:
            in_work.wait(JOIN_TIMEOUT)
            stamps['told'] = time.perf_counter()
            loop.call_soon_threadsafe(task.cancel)

        asker = threading.Thread(target=ask)
        asker.start()
        await asyncio.wait([task], timeout=JOIN_TIMEOUT)
        gone = time.perf_counter()
        finish(asker)  # it has long returned: it asked while the work ran
        return Interrupted(stamps['told'], stamps['returned'], gone, task.cancelled())

    return asyncio.run(supervise())


@pytest.mark.cpu(cores=1)
def test_cancel_reaches_a_task_running_plain_is_prime_only_after_the_work_returns(fast, claim):
    """A task gives the loop back only at an ``await``: while it runs plain is_prime the loop
    cannot even run cancel(). The request waits for the work to return, and then lands at the
    task's next ``await``."""

    def verdict(run: Interrupted, _: Machine) -> Verdict:
        ended = 'cancelled' if run.cancelled else 'not cancelled'
        holds: bool | None
        if math.isnan(run.returned):
            holds, measured = False, f'{ended} before its work returned'
        else:
            # A request that came after the work had returned shows nothing: ask again.
            holds = None if run.told >= run.returned else run.cancelled and run.gone >= run.returned
            measured = (
                f'asked {1000 * (run.returned - run.told):.1f} ms before the work returned, '
                f'{ended} {1000 * (run.gone - run.returned):.2f} ms after it returned'
            )
        return Verdict(
            holds,
            measured=measured,
            expected='cancelled after the work returned, at the await that follows it',
            meaning='a task running plain is_prime cannot be reached until it awaits, so the '
            'cancellation must neither cut the work short nor be lost',
        )

    claim.judge(lambda: cancel_a_task_in_is_prime(fast), verdict)
