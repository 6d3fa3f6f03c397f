"""CPU-bound work sized for the machine the suite runs on, with verdicts known in advance."""

from __future__ import annotations

import math
from collections.abc import Iterable

from concur import primes
from concur.primes import Number

# One worker's share of the work in the claims about k workers at once (K, R): six switch
# intervals, and long against a thread's or a barrier's hand-off (under a millisecond here), yet
# short enough that a test running a share a few times, alone and k at once, takes tenths of a
# second.
SHARE_SECONDS = 0.03
# The numbers of a trial of k units (``parallel.trial``) take one unit about this long: a few
# tenths of a second, so that a test runs them a few times, yet long against starting units.
WORK_SECONDS = 0.2
# Numbers in such a trial, half primes: 2 and 4 workers get equal shares.
WORK_COUNT = 8


def hard_numbers(seconds: float, count: int = 8) -> tuple[Number, ...]:
    """``count`` numbers whose ``is_prime`` check takes about ``seconds / count`` each, here.

    Half are primes; half are products of two primes near the square root, composites that trial
    division must also search up to the root. Their verdicts come from ``miller_rabin`` and from
    construction, not from the ``is_prime`` under test.
    """
    prime = primes.calibrated_prime(seconds / count)
    factor = math.isqrt(prime)
    numbers: list[Number] = []
    for _ in range(count // 2):
        low = primes.next_prime(factor + 1)
        factor = primes.next_prime(low + 1)
        numbers += [Number(prime, True), Number(low * factor, False)]
        prime = primes.next_prime(prime + 1)
    return tuple(numbers)


# The book's numbers that trial division settles at once: 2, and those with a small factor.
BOOK_QUICK = tuple(
    number
    for number in primes.PRIME_FIXTURE
    if number.n == 2 or any(number.n % d == 0 for d in range(2, 1000))
)


def ns(numbers: Iterable[Number]) -> list[int]:
    """The numbers alone, without their verdicts."""
    return [number.n for number in numbers]
