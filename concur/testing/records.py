"""What a test measured, kept for the end report: rows of verdicts, spinner timelines, worker
charts.

A test records through the ``recorder`` fixture: ``recorder.add(Row(...))``, and likewise a
``Timeline`` or a ``WorkerChart``. Records travel as plain dicts in the test report's
``user_properties``, so that they reach the end of the run under pytest-xdist too, and are read
back with ``load``.
Times in pictures are seconds from the start of the work, so that runs line up one above another.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# The report's sections, in the chapter's order; every record names one of them.
SECTIONS = (
    'concurrency and parallelism',
    'execution units',
    'the process boundary',
    'spinners',
    'stopping a unit',
    'the event loop',
    "the GIL's three questions",
    'what releases the GIL',
    'prime checkers',
    'executors',
    'CPU use',
    'beyond the book',
    'beyond one machine',
    'your programs',  # the reader's own scripts (pytest --concur-scripts=DIR)
    "the suite's own tools",
)
STATUSES = ('passed', 'failed', 'skipped')
KEY = 'concur-record'  # the user_properties key records travel under


@dataclass(frozen=True)
class Row:
    """One verdict: what was measured, what the claim expected, and what it was compared with."""

    section: str
    claim: str  # a few words: 'processes run CPU-bound work in parallel'
    variant: str  # the test parameter measured ('spawn', '2 threads'), or ''
    status: str  # passed, failed or skipped
    measured: str  # the figures, with units: '1.85x faster, 1.93 cores used'
    expected: str  # the bound the claim sets: 'at least 1.60x (0.8 x 2 free cores)'
    compared_with: str  # the control or baseline: 'sequential 0.41 s; 1.98 of 2 cores free'
    test: str = ''  # the test's name, for the HTML report
    # The name by which the answers to the notes and the reader's predictions find this claim's
    # figures (``concur.testing.findings``): 'question 1', 'coroutines taking turns'; or ''.
    key: str = ''
    # The verdict's figures by name, in the units their names say: {'frames': 10, 'seconds': 0.3}.
    figures: dict[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.section not in SECTIONS:
            raise ValueError(f'section must be one of {SECTIONS}, got {self.section!r}')
        if self.status not in STATUSES:
            raise ValueError(f'status must be one of {STATUSES}, got {self.status!r}')


@dataclass(frozen=True)
class Timeline:
    """One spinner run: when each frame was written, across the work."""

    section: str
    title: str  # 'question 2: a thread spinner while the main thread runs is_prime'
    end: float  # seconds the work took; the work starts at 0
    interval: float  # the spinner's interval, seconds
    frames: tuple[float, ...]  # seconds from the start of the work of each frame
    expected: str  # 'a frame every 35 ms (interval 30 ms + switch interval 5 ms)'
    test: str = ''


@dataclass(frozen=True)
class Span:
    """One piece of work done by one worker, from ``start`` to ``end`` (seconds from the start
    of the run); ``n``: the number checked, or the size of the piece."""

    worker: str
    n: int
    start: float
    end: float


@dataclass(frozen=True)
class WorkerChart:
    """One run of several workers: which worker did which piece of work, and when."""

    section: str
    title: str  # '2 threads checking 8 numbers (with the GIL)'
    spans: tuple[Span, ...] = field(default_factory=tuple)
    test: str = ''
    item: str = 'number'  # what one span is: a number checked, a call, a thread's share


Record = Row | Timeline | WorkerChart
_KINDS: dict[str, type[Any]] = {'row': Row, 'timeline': Timeline, 'workers': WorkerChart}


def dump(record: Record) -> dict[str, Any]:
    """The record as a plain dict, which pytest-xdist can send from its workers."""
    kind = next(name for name, cls in _KINDS.items() if isinstance(record, cls))
    return {'kind': kind, **dataclasses.asdict(record)}


def load(data: dict[str, Any]) -> Record:
    """The record that ``dump`` gave ``data`` for."""
    fields = dict(data)
    cls = _KINDS[fields.pop('kind')]
    if cls is Timeline:
        fields['frames'] = tuple(fields['frames'])
    if cls is WorkerChart:
        fields['spans'] = tuple(Span(**span) for span in fields['spans'])
    record: Record = cls(**fields)
    return record


class Recorder:
    """Keeps the records of one test in its report (``user_properties``), for the end report."""

    def __init__(self, user_properties: list[tuple[str, object]], test: str) -> None:
        self._properties = user_properties
        self._test = test

    def add(self, record: Record) -> None:
        self._properties.append((KEY, dump(dataclasses.replace(record, test=self._test))))
