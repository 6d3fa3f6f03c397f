"""The CPU-bound work of the chapter: checking whether a number is prime, the slow way on purpose.

``is_prime`` tries every odd divisor up to the square root, so its time grows as ``sqrt(n)``;
``calibrated_prime`` uses that to find, on the running machine, a prime that takes a chosen time.
``miller_rabin`` answers the same question in microseconds, to find and vouch for such primes.
The coroutines put ``is_prime`` inside an event loop: ``is_prime_blocking`` never awaits (the
notes' third question), ``is_prime_nap`` lets other tasks run every so many divisions (a fix).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import NamedTuple

from concur import arguments


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

# The prime of the notes' three questions. How long is_prime takes on it depends on the machine
# and the Python: the run's header says it for this one (``seconds_to_check``).
BOOK_PRIME = 5_000_111_000_222_021


def is_prime(n: int) -> bool:
    """Trial division by every odd number up to the square root: pure Python, all CPU."""
    arguments.integer('n', n)
    if n < 3 or n % 2 == 0:
        return n == 2
    return not _odd_divisor_in(n, 3, math.isqrt(n) + 1)


def _odd_divisor_in(n: int, start: int, stop: int) -> bool:
    """True if an odd number of ``range(start, stop)`` (``start`` odd) divides ``n``."""
    for i in range(start, stop, 2):
        if n % i == 0:
            return True
    return False


# Odd divisors is_prime_nap tries between two naps: a few milliseconds of work (test_08 times a
# chunk in the run, in its nap fix).
NAP_EVERY = 50_000


async def is_prime_nap(n: int, every: int = NAP_EVERY) -> bool:
    """``is_prime`` as a coroutine that naps: after each ``every`` divisors it awaits
    ``asyncio.sleep(0)``, which hands the event loop to the other tasks for a turn."""
    arguments.integer('n', n)
    arguments.positive_int('every', every)
    if n < 3 or n % 2 == 0:
        return n == 2
    stop = math.isqrt(n) + 1
    step = 2 * every  # divisors are odd: every divisors span 2 * every integers
    for start in range(3, stop, step):
        if _odd_divisor_in(n, start, min(start + step, stop)):
            return False
        await asyncio.sleep(0)
    return True


async def is_prime_blocking(n: int) -> bool:
    """``is_prime`` called inside a coroutine: it never awaits, so the event loop runs nothing
    else, not even a spinner task, until it returns."""
    return is_prime(n)


# With these witnesses, the primes up to 37, Miller-Rabin is exact for every n below
# 318_665_857_834_031_151_167_461 (Jiang and Deng, 2014; 41 as well would reach 3.3e24); above
# it, a number that passes is a strong probable prime.
_WITNESSES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


def miller_rabin(n: int) -> bool:
    """The fast primality test: a dozen modular powers instead of sqrt(n) / 2 divisions.

    Exact below 3.18e23 (far above the chapter's numbers); beyond, a strong probable prime.
    """
    arguments.integer('n', n)
    if n < 2:
        return False
    for p in _WITNESSES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in _WITNESSES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False  # a is a witness that n is composite
    return True


def next_prime(n: int) -> int:
    """The smallest prime at least ``n``."""
    n = max(arguments.integer('n', n), 2)
    while not miller_rabin(n):
        n += 1
    return n


# Calibration times is_prime on primes from CALIBRATION_START up, a hundred times larger each
# step (ten times the divisions), until one check takes CALIBRATION_SECONDS: long enough for the
# clock, short enough that calibrating costs well under 0.1 s.
CALIBRATION_START = 10**8
CALIBRATION_SECONDS = 0.01


def time_is_prime(n: int, repeat: int = 3) -> float:
    """The shortest of ``repeat`` timings of ``is_prime(n)``: the others were slowed by something
    else."""
    best = math.inf
    for _ in range(arguments.positive_int('repeat', repeat)):
        start = time.perf_counter()
        is_prime(n)
        best = min(best, time.perf_counter() - start)
    return best


def calibrated_prime(seconds: float) -> int:
    """A prime whose ``is_prime`` check takes about ``seconds`` on this machine.

    ``is_prime`` is timed on a smaller prime (``timed_prime``), then scaled: ``seconds`` k times
    longer needs a number k**2 times larger, since the divisions tried grow as the square root of
    ``n``.
    """
    seconds = arguments.positive_number('seconds', seconds)
    n, measured = timed_prime()
    return next_prime(int(n * (seconds / measured) ** 2))


def seconds_to_check(n: int) -> float:
    """About how long ``is_prime(n)`` takes on this machine for a prime ``n``: a smaller prime is
    timed (``timed_prime``), and its time scaled by the square root of ``n`` over it."""
    small, measured = timed_prime()
    return measured * math.sqrt(arguments.integer('n', n) / small)


# The timing that sizes work here: taken once per process, when first needed, or handed over by
# another process on this machine that took it (``use_timing``).
_TIMING: list[tuple[int, float]] = []


def timed_prime() -> tuple[int, float]:
    """The first prime from CALIBRATION_START up, a hundred times larger each step, whose check
    takes CALIBRATION_SECONDS, and the seconds it took: timed once per process."""
    if not _TIMING:
        _TIMING.append(_time_prime())
    return _TIMING[0]


def use_timing(n: int, seconds: float) -> None:
    """Size work in this process by a timing of ``is_prime(n)`` taken by another (``timed_prime``
    there), rather than timing it again."""
    _TIMING[:] = [(arguments.integer('n', n), arguments.positive_number('seconds', seconds))]


def _time_prime() -> tuple[int, float]:
    n = next_prime(CALIBRATION_START)
    measured = time_is_prime(n)
    while measured < CALIBRATION_SECONDS:
        n = next_prime(n * 100)
        measured = time_is_prime(n)
    return n, measured


def copies(n: int, k: int) -> list[int]:
    """``k`` int objects equal to ``n``: one for each thread that checks it.

    Each use of an object changes its reference count. With the GIL that costs nothing more when
    threads share the object; on a free-threaded build, threads sharing one object take turns at
    its count, so each thread gets an object of its own."""
    return [int(str(n)) for _ in range(arguments.positive_int('k', k))]  # int() parses anew
