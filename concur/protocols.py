"""What the code needs of the objects each model provides, so that one function serves all models.

A ``threading.Event`` and a ``multiprocessing`` Event are both ``Waitable`` and ``Settable``; a
``Thread`` and a ``Process`` are both a ``Unit``; ``queue``, ``multiprocessing`` and the
``SimpleQueue`` of each are all a ``Queue`` here.
"""

from __future__ import annotations

from typing import Protocol


class Waitable(Protocol):
    def wait(self, timeout: float | None = None) -> bool: ...


class Settable(Protocol):
    def set(self) -> None: ...


class Releasable(Protocol):
    def release(self) -> None: ...


class Unit(Protocol):
    """A ``threading.Thread`` or a ``multiprocessing`` process."""

    def start(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...
    def is_alive(self) -> bool: ...


class Queue(Protocol):
    def put(self, item: object) -> None: ...
    def get(self) -> object: ...
    def empty(self) -> bool: ...
