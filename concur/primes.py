"""The CPU-bound work of the chapter: checking whether a number is prime, the slow way on purpose."""

from __future__ import annotations

import math
from typing import NamedTuple

from concur import check


class Number(NamedTuple):
    n: int
    prime: bool


# The book's numbers, 2 to 9_999_999_999_999_999, with their verdicts.
PRIME_FIXTURE: tuple[Number, ...] = (
    Number(2, True),
    Number(142_702_110_479_723, True),
    Number(299_593_572_317_531, True),
    Number(3_333_333_333_333_301, True),
    Number(3_333_333_333_333_333, False),
    Number(3_333_335_652_092_209, False),
    Number(4_444_444_444_444_423, True),
    Number(4_444_444_444_444_444, False),
    Number(4_444_444_488_888_889, False),
    Number(5_555_553_133_149_889, False),
    Number(5_555_555_555_555_503, True),
    Number(5_555_555_555_555_555, False),
    Number(6_666_666_666_666_666, False),
    Number(6_666_666_666_666_719, True),
    Number(6_666_667_141_414_921, False),
    Number(7_777_777_536_340_681, False),
    Number(7_777_777_777_777_753, True),
    Number(7_777_777_777_777_777, False),
    Number(9_999_999_999_999_917, True),
    Number(9_999_999_999_999_999, False),
)

# The prime of the notes' three questions: about 3 s of pure-Python work on a laptop.
BOOK_PRIME = 5_000_111_000_222_021


def is_prime(n: int) -> bool:
    """Trial division by every odd number up to the square root: pure Python, all CPU."""
    check.integer('n', n)
    if n < 2:
        return False
    if n == 2:
        return True
    if n % 2 == 0:
        return False
    root = math.isqrt(n)
    for i in range(3, root + 1, 2):
        if n % i == 0:
            return False
    return True
