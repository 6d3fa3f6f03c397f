"""Argument checks shared by the API and the command line: one message per mistake."""

from __future__ import annotations

import numbers


def positive_number(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a real number above zero, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f'{name} must be a number of seconds, got {value!r} ({type(value).__name__})')
    if not value > 0:  # also rejects NaN
        raise ValueError(f'{name} must be greater than 0, got {value!r}')
    return float(value)


def integer(name: str, value: object) -> int:
    """Return ``value`` if it is an int (and not a bool), else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'{name} must be an int, got {value!r} ({type(value).__name__})')
    return value


def positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int of at least 1, else raise."""
    if integer(name, value) < 1:
        raise ValueError(f'{name} must be at least 1, got {value!r}')
    return value


def text(name: str, value: object) -> str:
    """Return ``value`` if it is a str, else raise."""
    if not isinstance(value, str):
        raise TypeError(f'{name} must be a str, got {value!r} ({type(value).__name__})')
    return value
