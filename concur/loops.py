"""An event loop per thread: each thread runs ``asyncio.run`` on its own share of the work.

One event loop runs one task at a time, so CPU-heavy handlers in one loop take turns however many
tasks there are. Several threads, each with a loop of its own, are as parallel as threads are:
in parallel on a free-threaded build without the GIL, taking turns with it (the pattern of
CPython 3.14's guide to asyncio on free-threaded builds).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from time import perf_counter

from concur.checkers import PrimeResult, check, join_all, valid_numbers, worker_count
from concur.primes import is_prime_nap


async def handle(n: int) -> PrimeResult:
    """A CPU-heavy handler: it checks ``n`` without awaiting anything."""
    return check(n)


async def serve(numbers: Iterable[int]) -> list[PrimeResult]:
    """Run a handler task per number in this thread's loop; the results as they were done."""
    return list(await asyncio.gather(*(handle(n) for n in numbers)))


def loops(numbers: Iterable[int], threads: int | None = None) -> list[PrimeResult]:
    """Check the numbers in ``threads`` threads (default: the usable cores), each running an
    event loop of its own over every ``threads``-th number."""
    numbers, threads = valid_numbers(numbers), worker_count(threads)
    shares: list[list[PrimeResult]] = [[] for _ in range(threads)]

    def run(i: int) -> None:
        shares[i] = asyncio.run(serve(numbers[i::threads]))

    units = [threading.Thread(target=run, args=(i,), name=f'loop-{i}') for i in range(threads)]
    for unit in units:
        unit.start()
    join_all(units)
    return [result for share in shares for result in share]


async def _napping(numbers: Iterable[int], name: str) -> list[PrimeResult]:
    """Check the numbers one after another with ``is_prime_nap``, which hands the loop over every
    few milliseconds."""
    done = []
    for n in numbers:
        start = perf_counter()
        prime = await is_prime_nap(n)
        done.append(PrimeResult(n, prime, perf_counter() - start, name, start))
    return done


def coroutines(numbers: Iterable[int], tasks: int | None = None) -> list[PrimeResult]:
    """Check the numbers in ``tasks`` coroutines (default: the usable cores) on one event loop in
    this thread, each over every ``tasks``-th number: concurrency without parallelism."""
    numbers, tasks = valid_numbers(numbers), worker_count(tasks)

    async def gathered() -> list[list[PrimeResult]]:
        return await asyncio.gather(
            *(_napping(numbers[i::tasks], f'task-{i}') for i in range(tasks))
        )

    return [result for share in asyncio.run(gathered()) for result in share]
