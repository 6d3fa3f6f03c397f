"""Concurrency is not parallelism: the notes' first section, measured.

Concurrency is dealing with many things at once; parallelism is doing many things at the same time.
Coroutines on one event loop are concurrent: while one waits, another runs, so their waits overlap
in one thread, but their CPU work takes turns. Processes on free cores run in parallel.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from typing import NamedTuple

import psutil
import pytest
from claims import (
    CORES_EXPLAIN_SPEEDUP,
    CORES_SLOWED,
    ONE_CORE_AT_MOST,
    PARALLEL_SHARE,
    SLOWED_BASELINE,
    TAKING_TURNS,
    assert_ran_elsewhere,
    cores_slowed_each_other,
    needs_cores,
)

from concur import clocked, machine
from concur.clocked import Clocked
from concur.primes import is_prime, is_prime_nap
from concur.testing.evidence import Machine, Verdict, judge
from concur.testing.pictures import counted

SECTION = 'concurrency and parallelism'
# As many units as the machine has usable cores: the processes' claim needs a core each.
K = machine.usable_cores()

# ---- concurrency: coroutines wait together in one thread ---------------------------------------

SLEEP = 0.05
SLEEPERS = 10
# Waiting costs no CPU: the loop's bookkeeping for a few coroutines takes microseconds, so even a
# tenth of a core (read on the kernel's CPU clock, to the microsecond) is far above it, and far
# below the one core of busy work.
IDLE_CORES = 0.1


class Sleepers(NamedTuple):
    alone: float  # seconds one coroutine took to sleep SLEEP
    together: float  # seconds SLEEPERS coroutines took, started at once
    threads: set[int]  # the threads the coroutines woke up in
    counts: tuple[int, int]  # threads of this process before, and while they all slept
    cores: float  # CPU time over wall time, alone and together


async def sleep_alone_then_together() -> Sleepers:
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
    return Sleepers(alone, elapsed - alone, set(threads), (before, during), cores)


def test_coroutines_that_await_sleep_finish_together_in_one_thread_using_almost_no_cpu(report):
    """While a coroutine awaits asyncio.sleep, the event loop runs the others, so their waits
    overlap: concurrency, in one thread and with no CPU to spare for it."""
    loop_thread = threading.get_native_id()  # asyncio.run runs its loop in the calling thread

    def verdict(run: Sleepers, machine: Machine) -> Verdict:
        bound = run.alone + SLEEP / 2
        in_loop = run.threads == {loop_thread}
        return Verdict(
            holds=run.together <= bound
            and in_loop
            and run.counts[1] == run.counts[0]
            and run.cores <= IDLE_CORES,
            measured=f'{SLEEPERS} sleeping coroutines took {run.together:.3f} s, woke in '
            f'{counted(len(run.threads), "thread")} ({"" if in_loop else "not only "}the '
            f"loop's), the process had {counted(run.counts[0], 'thread')} before and "
            f'{run.counts[1]} while they slept, and used {run.cores:.3f} cores',
            expected=f'at most {bound:.3f} s (one alone + half a sleep: the sleeps overlap; one '
            f"after another they would take {SLEEPERS * SLEEP:.1f} s), all in the loop's thread, "
            f'no new thread, and under {IDLE_CORES} cores (waiting costs no CPU)',
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

    judge(
        lambda: asyncio.run(sleep_alone_then_together()),
        verdict,
        report=report,
        section=SECTION,
        claim='coroutines wait together in one thread',
        key='coroutines waiting together',
        variant=f'{SLEEPERS} coroutines',
        cores=1,
    )


# ---- concurrency without parallelism: coroutines take turns at the CPU -------------------------


class Turns(NamedTuple):
    alone: float  # seconds of one share alone, the better of one before and one after
    spans: list[tuple[float, float]]  # when each of the K coroutines started and ended
    cores: float  # the process's CPU time over wall time while the K ran


async def shares_alone_and_together(n: int) -> Turns:
    async def share() -> tuple[float, float]:
        start = time.perf_counter()
        assert await is_prime_nap(n), f'is_prime_nap({n}) said it is not prime'
        return start, time.perf_counter()

    first = await share()
    cpu = time.process_time()
    spans = await asyncio.gather(*(share() for _ in range(K)))
    cpu = time.process_time() - cpu
    second = await share()
    alone = min(end - start for start, end in (first, second))
    return Turns(alone, spans, cpu / _wall(spans))


def _wall(spans: list[tuple[float, float]]) -> float:
    return max(end for _, end in spans) - min(start for start, _ in spans)


@pytest.mark.cpu
def test_coroutines_doing_cpu_bound_work_on_one_loop_take_turns_so_k_take_k_times_one(
    share_prime, report
):
    """A coroutine holds the loop's one thread until it awaits: is_prime_nap hands the loop over
    every few milliseconds, so k of them all make progress (concurrency), but one at a time."""

    def verdict(run: Turns, machine: Machine) -> Verdict:
        together = _wall(run.spans)
        ratio = together / (K * run.alone)
        # Taking turns, not waiting in line: every coroutine started before the first one ended.
        interleaved = max(start for start, _ in run.spans) < min(end for _, end in run.spans)
        return Verdict(
            holds=ratio >= TAKING_TURNS and run.cores <= ONE_CORE_AT_MOST and interleaved,
            measured=f'{K} coroutines took {together:.3f} s, {ratio:.2f} times {K} shares one '
            f'after another, on {run.cores:.2f} cores, '
            f'{"interleaved" if interleaved else "one after another"}',
            expected=f'at least {TAKING_TURNS} times {K} shares (one loop runs one coroutine at '
            f'a time), at most {ONE_CORE_AT_MOST} cores, and all started before any ended',
            compared_with=f'one share alone {run.alone:.3f} s, the better of one before and one '
            f'after',
            meaning='coroutines of one event loop share its one thread: if k shares took less '
            'than k times one, the work ran elsewhere (an executor); if one ended before the '
            'next started, the coroutine never handed the loop over',
            figures={'ratio': ratio, 'units': K, 'cores': run.cores},
        )

    judge(
        lambda: asyncio.run(shares_alone_and_together(share_prime)),
        verdict,
        report=report,
        section=SECTION,
        claim='coroutines take turns at the CPU',
        key='coroutines taking turns',
        variant=f'{K} coroutines',
        # A "no faster" claim: only evidence where K cores were free to show the opposite.
        cores=K,
        pass_needs_quiet=True,
    )


# ---- parallelism: processes on free cores ------------------------------------------------------


class Parallel(NamedTuple):
    alone: (
        float  # seconds of one share in one child process, the better of one before and one after
    )
    calls: list[Clocked]  # the K shares, each in a child process


@pytest.mark.cpu
def test_processes_doing_the_same_work_on_k_free_cores_take_about_one_share(
    default_start_method, share_prime, report
):
    """Each process has its own interpreter and its own GIL, so k of them run the work at the same
    time, one per core: parallelism."""
    needs_cores(2)
    ctx = multiprocessing.get_context(default_start_method)

    def trial() -> Parallel:
        # One share alone in one process, the same kind of unit, before and after; all of them
        # warmed up first, so that the OS has spread them over the cores.
        first = clocked.in_processes([(is_prime, (share_prime,))], ctx, warm_up=True)[0]
        calls = clocked.in_processes([(is_prime, (share_prime,))] * K, ctx, warm_up=True)
        second = clocked.in_processes([(is_prime, (share_prime,))], ctx, warm_up=True)[0]
        assert_ran_elsewhere(
            calls, 'pid', exclude=os.getpid(), answer=True, meaning='each share runs in a child'
        )
        return Parallel(min(first.seconds, second.seconds), calls)

    def verdict(run: Parallel, machine: Machine) -> Verdict:
        together, used = clocked.wall(run.calls), clocked.cores(run.calls)
        # Released together, the children still wake a little apart (a millisecond or two here):
        # that is hand-off, not work, and is left out, as long as they were all under way at once.
        late = clocked.handoff(run.calls)
        speedup = K * run.alone / (together - late)
        # A speedup beyond the cores used means a slowed baseline: the run shows nothing. (Both
        # over the whole run: the start-up spread left out would shorten one window only.)
        consistent = K * run.alone / together <= CORES_EXPLAIN_SPEEDUP * used
        at_once = clocked.overlapped(run.calls)
        return Verdict(
            # Shares that were not under way at once ran one after another, whatever the cores.
            holds=False
            if not at_once
            else None
            if not consistent or cores_slowed_each_other(speedup, used, K)
            else speedup >= PARALLEL_SHARE * K,
            measured=f'{K} processes took {together:.3f} s, '
            + (
                f'the last starting {1000 * late:.1f} ms after the first (left out)'
                if at_once
                else 'one starting only after another had ended'
            )
            + f': {speedup:.2f} times as fast as one after another, on {used:.2f} cores',
            unclear=SLOWED_BASELINE if not consistent else CORES_SLOWED,
            expected=f'at least {PARALLEL_SHARE * K:.2f} times as fast ({PARALLEL_SHARE} x {K} '
            f'cores: one share each, at the same time), all under way at once',
            compared_with=f'one share in one child process {run.alone:.3f} s, the better of one '
            f'before and one after',
            meaning='processes on free cores run in parallel; shares that took longer together '
            'ran one after another, as threads or coroutines would',
            figures={'speedup': speedup, 'units': K, 'cores': used},
        )

    judge(
        trial,
        verdict,
        report=report,
        section=SECTION,
        claim='processes run CPU-bound work in parallel',
        key='processes in parallel',
        variant=default_start_method,
        cores=K,
    )
