"""Subinterpreters (``concurrent.interpreters``, CPython 3.14+): several interpreters in one
process, each with its own GIL since 3.12 (PEP 684), so their threads run Python code in parallel.

They share no objects: what is passed to an interpreter, or sent through one of their queues,
arrives as a copy, as between processes.
"""

from __future__ import annotations

import importlib
import platform
import sys
import threading
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from concur.checkers import PrimeResult, check_prime, join_all, valid_numbers, worker_count
from concur.timeouts import JOIN_TIMEOUT

HAS_SUBINTERPRETERS = sys.version_info >= (3, 14)
NEEDS = 'concurrent.interpreters, new in Python 3.14'


def module() -> Any:
    """``concurrent.interpreters``, imported at run time: the type checker reads the code as
    3.10's, which lacks it."""
    if not HAS_SUBINTERPRETERS:
        raise RuntimeError(f'subinterpreters need {NEEDS}; this is {platform.python_version()}')
    found: ModuleType = importlib.import_module('concurrent.interpreters')
    return found


def check_share(numbers: tuple[int, ...]) -> list[tuple[int, bool, float, str, float]]:
    """Check ``numbers`` one after another, in whichever interpreter calls this; plain tuples, so
    that the results cross back as copies of built-in types."""
    return [tuple(check_prime(n)) for n in numbers]  # type: ignore[misc]


def check_in_interpreters(
    numbers: Iterable[int], count: int | None = None
) -> dict[str, list[PrimeResult]]:
    """Check the numbers in ``count`` subinterpreters (default: the usable cores), each called
    from a thread of its own with every ``count``-th number; the results by interpreter."""
    interpreters = module()

    numbers, count = valid_numbers(numbers), worker_count(count)
    names = [f'interpreter-{i}' for i in range(count)]
    results: dict[str, list[PrimeResult]] = {}
    made = [interpreters.create() for _ in names]
    try:
        # Each interpreter imports the checker (its first call), then they all start at once.
        ready = threading.Barrier(count)

        def run(i: int) -> None:
            made[i].call(check_share, ())
            ready.wait(JOIN_TIMEOUT)
            done = made[i].call(check_share, numbers[i::count])
            results[names[i]] = [PrimeResult(r[0], r[1], r[2], names[i], r[4]) for r in done]

        units = [threading.Thread(target=run, args=(i,), name=names[i]) for i in range(count)]
        for unit in units:
            unit.start()
        join_all(units)
    finally:
        for interpreter in made:
            interpreter.close()
    return results
