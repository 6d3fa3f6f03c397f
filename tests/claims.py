"""Helpers for stating claims: named timeouts and assertions whose failures teach.

Each assertion hides itself from the traceback (``__tracebackhide__``) so that a failure points
at the claim in the test, and says what was expected, what was measured, and what that means.
"""

from __future__ import annotations

# A unit that has been told to stop and is not gone after this many seconds has hung; the
# claims themselves are about tenths of a second.
JOIN_TIMEOUT = 5.0


def assert_between(measured: float, low: float, high: float, *, what: str, meaning: str) -> None:
    """Fail unless ``low <= measured <= high``; the message names the quantity and what it means."""
    __tracebackhide__ = True
    assert low <= measured <= high, (
        f'expected {what} between {low:.3g} and {high:.3g}, measured {measured:.3g}: {meaning}')


def assert_at_least(measured: float, low: float, *, what: str, meaning: str) -> None:
    __tracebackhide__ = True
    assert measured >= low, f'expected {what} of at least {low:.3g}, measured {measured:.3g}: {meaning}'


def assert_at_most(measured: float, high: float, *, what: str, meaning: str) -> None:
    __tracebackhide__ = True
    assert measured <= high, f'expected {what} of at most {high:.3g}, measured {measured:.3g}: {meaning}'
