"""C code that lets go of the GIL: hashing and compressing large buffers, sized for this machine.

CPython's C code may release the GIL while it works on memory that no Python object can change
meanwhile: ``hashlib`` does so while it hashes more than 2 KiB at once, ``zlib`` while it
compresses. Threads doing such work run in parallel even with the GIL; threads running Python
code, such as ``is_prime``, take turns. ``calibrated_rounds`` sizes the work for the machine it
runs on, as ``primes.calibrated_prime`` does for ``is_prime``.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
import zlib
from collections.abc import Callable

from concur import arguments

# What each call hands to C at once: far above hashlib's 2 KiB, so every call releases the GIL,
# and long enough (a fraction of a millisecond) that retaking it between calls costs little.
CHUNK = 256 * 1024
# Random bytes, the same in every process: zlib finds little to shorten, and works the harder.
DATA = random.Random(19).randbytes(CHUNK)


def sha256(rounds: int) -> bytes:
    """The SHA-256 digest of ``rounds`` copies of DATA, fed to hashlib a chunk at a time."""
    digest = hashlib.sha256()
    for _ in range(arguments.positive_int('rounds', rounds)):
        digest.update(DATA)
    return digest.digest()


def compress(rounds: int) -> int:
    """Compress DATA with zlib ``rounds`` times; the bytes it gave in all."""
    return sum(len(zlib.compress(DATA)) for _ in range(arguments.positive_int('rounds', rounds)))


# The work by the name a learner sees: the library doing it.
WORK: dict[str, Callable[[int], object]] = {'sha256': sha256, 'zlib': compress}

# Calibration doubles the rounds until they take CALIBRATION_SECONDS: long enough for the clock,
# short enough to cost a few hundredths of a second.
CALIBRATION_SECONDS = 0.01


def calibrated_rounds(work: str, seconds: float) -> int:
    """The rounds of ``work`` (a name in WORK) that take about ``seconds`` here, timed now."""
    run = WORK[arguments.one_of('work', work, list(WORK))]
    seconds = arguments.positive_number('seconds', seconds)
    rounds = 1
    while _time(run, rounds) < CALIBRATION_SECONDS:
        rounds *= 2
    # The best of three: a slower timing was slowed by something else.
    measured = min(_time(run, rounds) for _ in range(3))
    return max(1, math.ceil(rounds * seconds / measured))


def _time(run: Callable[[int], object], rounds: int) -> float:
    start = time.perf_counter()
    run(rounds)
    return time.perf_counter() - start
