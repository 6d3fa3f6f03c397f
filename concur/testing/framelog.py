"""A stream that remembers each write: when, from which process and thread, and what.

The spec gives it to a spinner instead of ``sys.stdout`` to see where and when each frame was
written. For a spinner in a child process pass a ``multiprocessing`` ``SimpleQueue`` as the sink:
the log is then pickled into the child and its writes travel back through the queue.
"""

from __future__ import annotations

import os
import queue
import re
import threading
import time
from typing import NamedTuple

from concur.protocols import Queue
from concur.spinner import FRAMES


class Written(NamedTuple):
    time: float  # time.perf_counter(): one clock for every process of the machine
    pid: int
    thread: int  # threading.get_ident() of the writer
    text: str


FRAME = re.compile('\r[' + re.escape(FRAMES) + '] ')


class FrameLog:
    """A write-only text stream that keeps every write as a ``Written`` record."""

    def __init__(self, sink: Queue[Written] | None = None) -> None:
        self._sink: Queue[Written] = queue.SimpleQueue() if sink is None else sink
        self._kept: list[Written] = []

    def write(self, text: str) -> int:
        self._sink.put(Written(time.perf_counter(), os.getpid(), threading.get_ident(), text))
        return len(text)

    def flush(self) -> None:
        """Nothing to flush: each write is already in the sink."""

    def writes(self) -> list[Written]:
        """Every write so far, oldest first."""
        while not self._sink.empty():
            self._kept.append(self._sink.get())
        return list(self._kept)

    def frames(self) -> list[Written]:
        """The writes that are spinner frames (not the blanking, not other prints)."""
        return [w for w in self.writes() if FRAME.match(w.text)]


def count_frames(text: str) -> int:
    """How many spinner frames a captured output holds."""
    return len(FRAME.findall(text))
