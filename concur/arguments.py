"""Argument checks shared by the API and the command line: one message per mistake."""

from __future__ import annotations

import multiprocessing
import numbers
import threading
from collections.abc import Sequence


def positive_number(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a number of seconds above zero that a wait can take."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f'{name} must be a number of seconds, got {value!r} ({type(value).__name__})'
        )
    if value != value or value <= 0:  # NaN, the one number unequal to itself, is not above 0
        raise ValueError(f'{name} must be greater than 0, got {value!r}')
    if not value <= threading.TIMEOUT_MAX:  # also rejects inf: no clock can wait that long
        raise ValueError(f'{name} must be at most {threading.TIMEOUT_MAX:g} seconds, got {value!r}')
    return float(value)


def integer(name: str, value: object) -> int:
    """Return ``value`` if it is an int (and not a bool), else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'{name} must be an int, got {value!r} ({type(value).__name__})')
    return value


def positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int of at least 1, else raise."""
    number = integer(name, value)
    if number < 1:
        raise ValueError(f'{name} must be at least 1, got {value!r}')
    return number


def start_method(name: str, value: object) -> str | None:
    """Return ``value`` if it is None (the platform's default) or one of this platform's start
    methods."""
    return None if value is None else one_of(name, value, multiprocessing.get_all_start_methods())


def one_of(name: str, value: object, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of the str ``choices``, else raise."""
    chosen = text(name, value)
    if chosen not in choices:
        raise ValueError(f'{name} must be one of {list(choices)} here, got {value!r}')
    return chosen


def text(name: str, value: object) -> str:
    """Return ``value`` if it is a str, else raise."""
    if not isinstance(value, str):
        raise TypeError(f'{name} must be a str, got {value!r} ({type(value).__name__})')
    return value
