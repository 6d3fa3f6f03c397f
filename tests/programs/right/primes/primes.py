"""Trial division, and numbers with their verdicts (the spec puts its own in their place)."""

import math

PRIME_FIXTURE = [
    (2, True),
    (1_000_000_007, True),
    (1_000_000_011, False),
    (999_999_999_989, True),
    (3_333_333_333_333_333, False),
    (9_999_999_999_999_999, False),
]

NUMBERS = [n for n, _ in PRIME_FIXTURE]


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    for divisor in range(3, math.isqrt(n) + 1, 2):
        if n % divisor == 0:
            return False
    return True
