"""How much faster ``procs`` checks the book's 20 numbers than ``sequential``, on this machine.

Run from the project root; on a shared machine, under its lock:

    flock /tmp/concur-machine.lock python -m benchmarks.procs_speedup [WORKERS]

It prints each run's wall time, the cores it used, and the cores the rest of the machine left free
meanwhile (psutil's count of what other programs took): a speedup below the worker count with
fewer free cores says the machine was busy, not that the processes did not run in parallel.
"""

from __future__ import annotations

import sys
from typing import Iterator

from concur import checkers, machine, measure


def run(label: str, results: Iterator[checkers.PrimeResult]) -> float:
    with measure.Usage() as usage:
        count = sum(1 for _ in results)
    print(f'{label:>24}: {count} checks in {usage.wall:6.2f} s, {usage.cores:.2f} cores used, '
          f'{usage.available:.2f} free', flush=True)
    return usage.wall


def main() -> None:
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else machine.usable_cores()
    print(machine.describe())
    sequential = run('sequential', checkers.sequential())
    parallel = run(f'procs, {workers} workers', checkers.procs(workers=workers))
    print(f'speedup of procs with {workers} workers over sequential: {sequential / parallel:.2f}')


if __name__ == '__main__':
    main()
