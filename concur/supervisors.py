"""The three supervisors by model name, one table for the command line and the spec.

``thread`` and ``process`` run the work in this thread while the spinner runs in a thread or a
child process; ``async`` runs an event loop in this thread and awaits the work while the spinner
runs as a task. Their work differs in kind: a function for the first two, a coroutine function for
the third. Given only a function, the ``async`` supervisor calls it inside a coroutine, which
blocks the event loop, as in the notes' third question.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from concur import spinner_async, spinner_proc, spinner_thread

MODELS = ('thread', 'process', 'async')


def supervise(
    model: str,
    work: Callable[[], Any],
    async_work: Callable[[], Awaitable[Any]] | None = None,
    **options: Any,
) -> Any:
    """Run ``model``'s supervisor around ``work`` (or, for ``async``, ``async_work``) to its end,
    with its options (``msg``, ``interval``, ``out``, and for ``process`` ``start_method``)."""
    if model == 'thread':
        return spinner_thread.supervisor(work, **options)
    if model == 'process':
        return spinner_proc.supervisor(work, **options)
    if model == 'async':

        async def blocking() -> Any:
            return work()

        return asyncio.run(spinner_async.supervisor(async_work or blocking, **options))
    raise ValueError(f'model must be one of {MODELS}, got {model!r}')
