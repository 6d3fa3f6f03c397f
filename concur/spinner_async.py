"""The spinner as an asyncio task: one thread, and the coroutines take turns at each ``await``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from concur import arguments
from concur.protocols import Output
from concur.spinner import ANSWER, INTERVAL, MESSAGE, SECONDS, blanks, show, statuses, validated


async def spin(msg: str, interval: float = INTERVAL, out: Output | None = None) -> None:
    """Show a frame every ``interval`` seconds until cancelled, then blank the line."""
    msg, interval = validated(msg, interval)
    out = sys.stdout if out is None else out
    for status in statuses(msg):
        show(out, status)
        try:
            await asyncio.sleep(interval)  # the only place where other coroutines get to run
        except asyncio.CancelledError:
            break
    show(out, blanks(status))


async def slow(seconds: float = SECONDS) -> int:
    """Stand for slow work that waits without blocking the event loop."""
    await asyncio.sleep(arguments.positive_number('seconds', seconds))
    return ANSWER


async def supervisor(
    work: Callable[[], Awaitable[int]] = slow,
    msg: str = MESSAGE,
    interval: float = INTERVAL,
    out: Output | None = None,
) -> int:
    """Await ``work`` while a spinner task shows frames; return its result."""
    msg, interval = validated(msg, interval)
    out = sys.stdout if out is None else out
    spinner = asyncio.create_task(spin(msg, interval, out))
    print(f'spinner object: {spinner}', file=out)
    try:
        return await work()
    finally:
        spinner.cancel()
        # wait() rather than await: a task cancelled before its first step ends cancelled,
        # and that must not turn into an error here.
        await asyncio.wait([spinner])
