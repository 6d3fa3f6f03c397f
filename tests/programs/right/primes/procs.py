"""Check the numbers in N processes fed by a job queue; a 0 tells a process to stop."""

import os
import sys
from multiprocessing import Process, SimpleQueue
from time import perf_counter
from typing import NamedTuple

from primes import NUMBERS, is_prime


class Checked(NamedTuple):
    n: int
    prime: bool
    elapsed: float


def worker(jobs: 'SimpleQueue[int]', results: 'SimpleQueue[Checked]') -> None:
    while n := jobs.get():
        start = perf_counter()
        results.put(Checked(n, is_prime(n), perf_counter() - start))
    results.put(Checked(0, False, 0.0))


def main() -> None:
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else os.cpu_count() or 1
    print(f'Checking {len(NUMBERS)} numbers with {workers} processes:')
    t0 = perf_counter()
    jobs: SimpleQueue[int] = SimpleQueue()
    results: SimpleQueue[Checked] = SimpleQueue()
    for n in NUMBERS:
        jobs.put(n)
    for _ in range(workers):
        Process(target=worker, args=(jobs, results)).start()
        jobs.put(0)
    checked = done = 0
    while done < workers:
        n, prime, elapsed = results.get()
        if n == 0:
            done += 1
            continue
        checked += 1
        print(f'{n:16}  {"P" if prime else " "} {elapsed:9.6f}s')
    print(f'{checked} checks in {perf_counter() - t0:.2f}s')


if __name__ == '__main__':
    main()
