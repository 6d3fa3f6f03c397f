"""Check the numbers in a ProcessPoolExecutor of N workers."""

import sys
from concurrent.futures import ProcessPoolExecutor
from time import perf_counter

from primes import NUMBERS, is_prime


def check(n: int) -> tuple[int, bool, float]:
    start = perf_counter()
    return n, is_prime(n), perf_counter() - start


def main() -> None:
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else None
    t0 = perf_counter()
    with ProcessPoolExecutor(workers) as executor:
        print(f'Checking {len(NUMBERS)} numbers with {executor._max_workers} processes:')
        for n, prime, elapsed in executor.map(check, sorted(NUMBERS, reverse=True)):
            print(f'{n:16}  {"P" if prime else " "} {elapsed:9.6f}s')
    print(f'Total time: {perf_counter() - t0:.2f}s')


if __name__ == '__main__':
    main()
