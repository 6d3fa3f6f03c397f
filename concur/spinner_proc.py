"""The spinner in a child process: the parent works while the child spins.

The child is started with the start method asked for (``fork``, ``spawn``, ``forkserver``) or the
platform's default. Its frames go to its own standard output (the parent's, or under
``forkserver`` that of the server, which the first process that needed it started) unless ``out``
is given: then ``out`` must be picklable, since under ``spawn`` the child receives a copy of its
arguments.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from concur import machine
from concur.protocols import Output
from concur.spinner import INTERVAL, MESSAGE, slow, spin, supervise, validated


def supervisor(
    work: Callable[[], int] = slow,
    msg: str = MESSAGE,
    interval: float = INTERVAL,
    out: Output | None = None,
    start_method: str | None = None,
) -> int:
    """Run ``work`` in this process while a spinner process shows frames; return its result."""
    msg, interval = validated(msg, interval)
    ctx = machine.context(start_method)
    done = ctx.Event()
    spinner = ctx.Process(target=spin, args=(msg, done, interval, out), name='spinner')
    return supervise(spinner, done, work, sys.stdout if out is None else out)
