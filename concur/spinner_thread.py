"""The spinner in a thread: the main thread works while a second thread spins."""

from __future__ import annotations

import sys
from collections.abc import Callable
from threading import Event, Thread

from concur.protocols import Output
from concur.spinner import INTERVAL, MESSAGE, slow, spin, supervise, validated


def supervisor(
    work: Callable[[], int] = slow,
    msg: str = MESSAGE,
    interval: float = INTERVAL,
    out: Output | None = None,
) -> int:
    """Run ``work`` in this thread while a spinner thread shows frames; return its result."""
    msg, interval = validated(msg, interval)
    out = sys.stdout if out is None else out
    done = Event()
    spinner = Thread(target=spin, args=(msg, done, interval, out), name='spinner')
    return supervise(spinner, done, work, out)
