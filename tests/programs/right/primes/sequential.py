"""The baseline: check each number in turn, in the main thread."""

from time import perf_counter

from primes import NUMBERS, is_prime


def main() -> None:
    print(f'Checking {len(NUMBERS)} numbers one after another:')
    t0 = perf_counter()
    for n in NUMBERS:
        start = perf_counter()
        prime = is_prime(n)
        print(f'{n:16}  {"P" if prime else " "} {perf_counter() - start:9.6f}s')
    print(f'Total time: {perf_counter() - t0:.2f}s')


if __name__ == '__main__':
    main()
