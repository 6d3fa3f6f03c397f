"""The spinner shared by the thread and the process models, and the slow work it keeps company.

A frame is a carriage return, one of the characters ``\\|/-`` and the message; when told to stop
the spinner overwrites its line with blanks. ``spin`` only needs ``done.wait(timeout)``, which a
``threading.Event`` and a ``multiprocessing`` Event both have.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Iterator

from concur import arguments
from concur.protocols import Output, Settable, Unit, Waitable

FRAMES = '\\|/-'
MESSAGE = 'thinking!'
INTERVAL = 0.1
SECONDS = 3.0
ANSWER = 42


def statuses(msg: str) -> Iterator[str]:
    """Yield the spinner's frames for ``msg`` forever: ``\\r\\ msg``, ``\\r| msg``, ..."""
    for char in itertools.cycle(FRAMES):
        yield f'\r{char} {msg}'


def blanks(status: str) -> str:
    """The text that erases ``status`` and leaves the cursor at the start of the line."""
    return '\r' + ' ' * len(status) + '\r'


def show(out: Output, text: str) -> None:
    out.write(text)
    out.flush()  # without it the frames sit in a buffer and appear all at once, or never


def spin(msg: str, done: Waitable, interval: float = INTERVAL, out: Output | None = None) -> None:
    """Show a frame every ``interval`` seconds until ``done`` is set, then blank the line."""
    msg, interval = validated(msg, interval)
    out = sys.stdout if out is None else out
    for status in statuses(msg):
        show(out, status)
        if done.wait(interval):  # returns True as soon as done is set: the stop is prompt
            break
    show(out, blanks(status))


def slow(seconds: float = SECONDS) -> int:
    """Stand for slow work: sleep, then give the answer."""
    time.sleep(arguments.positive_number('seconds', seconds))
    return ANSWER


def supervise(spinner: Unit, done: Settable, work: Callable[[], int], out: Output) -> int:
    """Start ``spinner``, run ``work`` in this thread, then stop the spinner and wait for it to end,
    also when the work fails. The thread and the process supervisors differ only in their units."""
    print(f'spinner object: {spinner}', file=out)
    spinner.start()
    try:
        return work()
    finally:
        done.set()
        spinner.join()


def validated(msg: str, interval: float) -> tuple[str, float]:
    """Validate the arguments every spinner and supervisor takes."""
    return arguments.text('msg', msg), arguments.positive_number('interval', interval)
