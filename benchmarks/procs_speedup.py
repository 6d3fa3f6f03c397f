"""How much faster ``procs`` checks the book's 20 numbers than ``sequential``, on this machine.

Run from the project root; on a shared machine, under its lock:

    flock /tmp/concur-machine.lock python -m benchmarks.procs_speedup [WORKERS]

It prints each run's wall time, the cores it used, and the cores the rest of the machine left free
meanwhile (psutil's count of what other programs took): a speedup below the worker count with
fewer free cores says the machine was busy, not that the processes did not run in parallel.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from concur import checkers, machine
from concur.__main__ import Parser, workers
from concur.testing import measure


def run(label: str, results: Iterator[checkers.PrimeResult]) -> float:
    with measure.Usage() as usage:
        count = sum(1 for _ in results)
    print(
        f'{label:>24}: {count} checks in {usage.wall:6.2f} s, {usage.cores:.2f} cores used, '
        f'{usage.available:.2f} free',
        flush=True,
    )
    return usage.wall


def main() -> None:
    parser = Parser(
        prog='python -m benchmarks.procs_speedup',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        'workers',
        nargs='?',
        type=workers,
        default=machine.usable_cores(),
        help='how many worker processes (default: the usable cores)',
    )
    count = parser.parse_args().workers
    print(machine.describe())
    sequential = run('sequential', checkers.sequential())
    parallel = run(f'procs, {count} workers', checkers.procs(workers=count))
    print(f'speedup of procs with {count} workers over sequential: {sequential / parallel:.2f}')


if __name__ == '__main__':
    main()
