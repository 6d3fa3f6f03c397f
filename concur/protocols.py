"""What the code needs of the objects each model provides, so that one function serves all models.

A ``threading.Event`` and a ``multiprocessing`` Event are both ``Waitable`` and ``Settable``; a
``Thread`` and a ``Process`` are both a ``Unit``; ``queue``, ``multiprocessing`` and the
``SimpleQueue`` of each are all a ``Queue`` of the items they carry; ``sys.stdout`` and the
spec's frame log are both an ``Output``.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

T = TypeVar('T')


class Waitable(Protocol):
    def wait(self, timeout: float | None = None) -> bool: ...


class Settable(Protocol):
    def set(self) -> None: ...


class Unit(Protocol):
    """A ``threading.Thread`` or a ``multiprocessing`` process."""

    def start(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...
    def is_alive(self) -> bool: ...


class Queue(Protocol[T]):
    """A queue of ``T``: each kind names the item argument differently, so it is positional."""

    def put(self, item: T, /) -> None: ...
    def get(self) -> T: ...
    def empty(self) -> bool: ...


class Output(Protocol):
    """Where a spinner writes its frames."""

    def write(self, text: str, /) -> int: ...
    def flush(self) -> None: ...
