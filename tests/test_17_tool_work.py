"""The work the claims run, checked on cases whose answer is known: the prime code that
finds and sizes it, and the rounds of GIL-releasing work sized for this machine.
"""

from __future__ import annotations

import pytest
from claims import TOOLS

from concur import clocked, gil_release, primes
from concur.primes import PRIME_FIXTURE, is_prime
from concur.testing.evidence import Verdict, judge
from concur.testing.tolerances import BLOCK, CALIBRATED

pytestmark = pytest.mark.selfcheck


def test_is_prime_finds_exactly_the_25_primes_below_100():
    """Trial division is the definition at work: no divisor from 2 up to the square root."""
    found = [n for n in range(-3, 100) if is_prime(n)]
    assert found == [
        2,
        3,
        5,
        7,
        11,
        13,
        17,
        19,
        23,
        29,
        31,
        37,
        41,
        43,
        47,
        53,
        59,
        61,
        67,
        71,
        73,
        79,
        83,
        89,
        97,
    ], f'is_prime found {found}'


def test_miller_rabin_agrees_with_is_prime_below_20_000_and_on_strong_pseudoprimes():
    """The fast test stands in for is_prime where is_prime would take minutes, so it must give
    the same verdicts; 2047 and 3_215_031_751 fool a test with fewer witnesses."""
    numbers = [*range(-2, 20_000), 2047, 1_373_653, 25_326_001, 3_215_031_751]
    differ = [n for n in numbers if primes.miller_rabin(n) != is_prime(n)]
    assert not differ, f'miller_rabin and is_prime disagree on {differ}'


def test_the_book_fixture_verdicts_agree_with_miller_rabin():
    """The 20 numbers of the book take is_prime a minute; Miller-Rabin checks them in a blink."""
    wrong = [x for x in PRIME_FIXTURE if primes.miller_rabin(x.n) != x.prime]
    assert not wrong, f'the fixture gives verdicts that Miller-Rabin contradicts: {wrong}'


def test_is_prime_rejects_the_book_composites_that_have_a_small_factor():
    """These stop at their first divisor; the fixture's other composites are squares or products
    of large primes, which is_prime only finds after millions of divisions."""
    quick = [x.n for x in PRIME_FIXTURE if not x.prime and any(x.n % p == 0 for p in (2, 3, 5, 7))]
    assert len(quick) == 6, (
        f'expected six composites with a factor below 10 in the fixture, got {quick}'
    )
    called_prime = [n for n in quick if is_prime(n)]
    assert not called_prime, f'is_prime called composites prime: {called_prime}'


def sized(what: str, took: float, asked: float) -> Verdict:
    """Work sized for this machine took ``took`` seconds where ``asked`` were asked for."""
    return Verdict(
        1 / CALIBRATED <= took / asked <= CALIBRATED,
        measured=f'{what} took {took:.3f} s',
        expected=f'{asked / CALIBRATED:g} to {CALIBRATED * asked:g} s, within a factor of '
        f'{CALIBRATED:g} of the {asked} s asked',
        meaning='the calibration should size the work for this machine',
    )


@pytest.mark.cpu(cores=1)
def test_calibrated_prime_is_prime_and_takes_about_the_time_asked_here(recorder):
    """Timing is_prime on a small prime and scaling by the square root law lands near the target;
    the target is several times the calibration's own timing, so a linear scaling would fall far
    short."""
    asked = 0.1

    def trial() -> tuple[int, float]:
        n = primes.calibrated_prime(asked)
        return n, primes.time_is_prime(n, repeat=2)

    n, _ = judge(
        trial,
        lambda m, _: sized(f'is_prime({m[0]})', m[1], asked),
        recorder=recorder,
        section=TOOLS,
        claim='calibrated_prime sizes the work for this machine',
        cores=1,
    )
    assert primes.miller_rabin(n), f'calibrated_prime({asked}) returned {n}, which is not prime'


@pytest.mark.cpu
@pytest.mark.parametrize('work', list(gil_release.WORK))
def test_calibrated_rounds_take_about_the_time_asked_here(work, recorder):
    """Timing a few rounds and scaling linearly lands near the target: each round is the same
    work on the same bytes."""
    asked = BLOCK / 4

    def trial() -> tuple[int, float]:
        rounds = gil_release.calibrated_rounds(work, asked)
        return rounds, clocked.clocked(gil_release.WORK[work], rounds).seconds

    judge(
        trial,
        lambda m, _: sized(f'{m[0]} rounds of {work}', m[1], asked),
        recorder=recorder,
        section=TOOLS,
        claim='calibrated_rounds sizes the work for this machine',
        variant=work,
        cores=1,
    )
