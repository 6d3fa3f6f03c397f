"""Concurrency is not parallelism: the notes' first section, measured.

Concurrency is dealing with many things at once; parallelism is doing many things at the same time.
Coroutines on one event loop are concurrent: while one waits, another runs, so their waits overlap
in one thread, but their CPU work takes turns. Processes on free cores run in parallel.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import NamedTuple

import psutil
import pytest
from claims import needs_cores

from concur import machine
from concur.testing import parallel
from concur.testing.evidence import Machine, Verdict
from concur.testing.pictures import counted
from concur.testing.tolerances import HARDLY_ANY
from concur.testing.workload import ns

SECTION = 'concurrency and parallelism'
# As many units as the machine has usable cores: the processes' claim needs a core each.
K = machine.usable_cores()

# ---- concurrency: coroutines wait together in one thread ---------------------------------------

SLEEP = 0.05
SLEEPERS = 10


class SleepingCoroutines(NamedTuple):
    alone: float  # seconds one coroutine took to sleep SLEEP
    together: float  # seconds SLEEPERS coroutines took, started at once
    threads: set[int]  # the threads the coroutines woke up in
    counts: tuple[int, int]  # threads of this process before, and while they all slept
    cores: float  # CPU time over wall time, alone and together


async def sleep_alone_then_together() -> SleepingCoroutines:
    me = psutil.Process()
    before = me.num_threads()

    async def sleeper() -> int:
        await asyncio.sleep(SLEEP)
        return threading.get_native_id()

    async def count_threads() -> int:
        await asyncio.sleep(SLEEP / 2)  # halfway through, all the sleepers are waiting
        return me.num_threads()

    cpu, start = time.process_time(), time.perf_counter()
    await sleeper()
    alone = time.perf_counter() - start
    *threads, during = await asyncio.gather(*(sleeper() for _ in range(SLEEPERS)), count_threads())
    elapsed = time.perf_counter() - start
    cores = (time.process_time() - cpu) / elapsed
    return SleepingCoroutines(alone, elapsed - alone, set(threads), (before, during), cores)


@pytest.mark.cpu(cores=1)
def test_coroutines_that_await_sleep_finish_together_in_one_thread_using_almost_no_cpu(claim):
    """While a coroutine awaits asyncio.sleep, the event loop runs the others, so their waits
    overlap: concurrency, in one thread and with no CPU to spare for it."""
    loop_thread = threading.get_native_id()  # asyncio.run runs its loop in the calling thread

    def verdict(run: SleepingCoroutines, machine: Machine) -> Verdict:
        bound = run.alone + SLEEP / 2
        in_loop = run.threads == {loop_thread}
        return Verdict(
            holds=run.together <= bound
            and in_loop
            and run.counts[1] == run.counts[0]
            and run.cores <= HARDLY_ANY,
            measured=f'{SLEEPERS} sleeping coroutines took {run.together:.3f} s, woke in '
            f'{counted(len(run.threads), "thread")} ({"" if in_loop else "not only "}the '
            f"loop's), the process had {counted(run.counts[0], 'thread')} before and "
            f'{run.counts[1]} while they slept, and used {run.cores:.3f} cores',
            expected=f'at most {bound:.3f} s (one alone + half a sleep: the sleeps overlap; one '
            f"after another they would take {SLEEPERS * SLEEP:.1f} s), all in the loop's thread, "
            f'no new thread, and under {HARDLY_ANY} cores (waiting costs no CPU)',
            compared_with=f'one coroutine sleeping {SLEEP} s alone: {run.alone:.3f} s',
            meaning='the coroutines did not wait side by side in one thread: a sleep that blocks '
            'the loop (time.sleep) makes them wait one after another, and one sent to a thread '
            '(asyncio.to_thread) adds threads',
            figures={
                'together': run.together,
                'alone': run.alone,
                'units': SLEEPERS,
                'threads': len(run.threads),
                'cores': run.cores,
            },
        )

    claim.judge(
        lambda: asyncio.run(sleep_alone_then_together()),
        verdict,
        key='coroutines waiting together',
    )


# ---- concurrency without parallelism: coroutines take turns at the CPU -------------------------


@pytest.mark.cpu
@pytest.mark.parametrize('model', parallel.models('coroutines on one loop'))
def test_coroutines_doing_cpu_bound_work_on_one_loop_take_turns_so_k_take_k_times_one(
    model, work, claim
):
    """A coroutine holds the loop's one thread until it awaits: is_prime_nap hands the loop over
    every few milliseconds, so k of them all make progress (concurrency), but one at a time."""
    claim.judge(
        lambda: parallel.trial(model, ns(work), K),
        parallel.verdict(model.expect()),
        key='coroutines taking turns',
    )


# ---- parallelism: processes on free cores ------------------------------------------------------


@pytest.mark.cpu
@pytest.mark.parametrize('model', parallel.models('processes'))
def test_processes_doing_the_same_work_on_k_free_cores_take_about_one_share(model, work, claim):
    """Each process has its own interpreter and its own GIL, so k of them run the work at the same
    time, one per core: parallelism."""
    needs_cores(2)
    claim.judge(
        lambda: parallel.trial(model, ns(work), K),
        parallel.verdict(model.expect()),
        key='processes in parallel',
    )
