"""What this run measured for a claim, read from the figures its row recorded (``Row.key``,
``Row.figures``), in the words of the questions' choices (``concur.questions``).

One reading serves both readers of the run's figures: the answers to the notes and the marking
of the reader's predictions. A claim the run skipped or did not run has no outcome: its finding
says so, and which command measures it again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from concur.questions import (
    BACKGROUND,
    BOTH,
    FASTER,
    FROZEN,
    FULL_RATE,
    LATE,
    LOOP,
    NEITHER,
    NO_FASTER,
    SLOWER,
    TYPE_ERROR,
)
from concur.testing.records import Record, Row

NOT_RUN = 'not run'
# Units this many times as fast as one, or slower, ran faster or slower; nearer 1, no faster.
# The geometric middle between 1 and 2: two units at once are 2x, two taking turns 1x.
CLEARLY = math.sqrt(2)


@dataclass(frozen=True)
class Finding:
    claim: str  # the claim's ``Row.key``
    status: str  # its row's status (passed, failed, skipped), or NOT_RUN
    outcome: str | None  # what its figures show, in the choices' words; None if not measured
    figure: str  # the figures in words, or why there are none
    rerun: str = ''  # the command that measures it again, where this run did not


def _ms(seconds: float) -> str:
    return f'{1000 * seconds:.1f} ms'


def spinner(f: dict[str, float]) -> tuple[str, str]:
    """A spinner's frames: frozen without one; late where the median gap between frames is
    longer than the interval by more than half a switch interval (the least a thread waiting for
    the GIL is held up); full rate otherwise."""
    frames, seconds, interval = int(f['frames']), f['seconds'], f['interval']
    if not frames:
        return FROZEN, (
            f'no frame in {seconds:.2f} s of work, where a free spinner writes one every '
            f'{_ms(interval)}'
        )
    gap = f.get('gap', seconds / frames)
    outcome = LATE if gap > interval + f['switch'] / 2 else FULL_RATE
    return outcome, (
        f'{1 / gap:.1f} frames a second against a full rate of {1 / interval:.1f}: {frames} '
        f'frames in {seconds:.2f} s, {_ms(gap)} apart at the median, for an interval of '
        f'{_ms(interval)} and a switch interval of {_ms(f["switch"])}'
    )


def _speed(speedup: float) -> str:
    return FASTER if speedup >= CLEARLY else SLOWER if speedup <= 1 / CLEARLY else NO_FASTER


def units(name: str, of: str) -> Callable[[dict[str, float]], tuple[str, str]]:
    """k units doing CPU-bound work, against one: faster, no faster or slower."""

    def read(f: dict[str, float]) -> tuple[str, str]:
        return _speed(f['speedup']), (
            f'{int(f["units"])} {name} {f["speedup"]:.2f}x as fast as {of}, on '
            f'{f["cores"]:.2f} cores'
        )

    return read


def waiting(name: str) -> Callable[[dict[str, float]], tuple[str, str]]:
    """k units that wait: waits that overlap end about when one alone does, faster than one
    after another."""

    def read(f: dict[str, float]) -> tuple[str, str]:
        speedup = f['units'] * f['alone'] / f['together']
        where = f', woken in {int(f["threads"])} thread(s)' if 'threads' in f else ''
        return _speed(speedup), (
            f'{int(f["units"])} {name} waiting {f["alone"]:.3f} s each took {f["together"]:.3f} '
            f's together{where}'
        )

    return read


def await_is_prime(f: dict[str, float]) -> tuple[str, str]:
    raised = bool(f['raised'])
    return (TYPE_ERROR, 'TypeError raised') if raised else (BACKGROUND, 'no TypeError')


def to_thread(f: dict[str, float]) -> tuple[str, str]:
    if not f['loop_free']:
        outcome = NEITHER
    else:
        outcome = BOTH if f['threads_speedup'] >= CLEARLY else LOOP
    return outcome, (
        f'the loop ticked {int(f["ticks"])} times while two to_thread calls ran '
        f'{f["threads_speedup"]:.2f}x as fast as two in a row, on {f["threads_cores"]:.2f} cores '
        f'(two process-pool calls: {f["processes_speedup"]:.2f}x)'
    )


def counter(f: dict[str, float]) -> tuple[str, str]:
    total = int(f['total'])
    return str(total), f'the counter at {total} after {int(f["units"])} increments'


READINGS: dict[str, Callable[[dict[str, float]], tuple[str, str]]] = {
    'question 1': spinner,
    'question 2': spinner,
    'question 3': spinner,
    'the experiment': spinner,
    'question 3 as written': await_is_prime,
    'threads checking primes': units('threads', 'one thread'),
    'processes checking primes': units('processes', 'one process'),
    'processes in parallel': units('processes', 'one share alone'),
    'coroutines taking turns': units('coroutines', 'their shares one after another'),
    'coroutines waiting together': waiting('coroutines'),
    'threads waiting together': waiting('threads'),
    'to_thread': to_thread,
    'threads losing updates': counter,
    'coroutines losing updates': counter,
}


# The test file that measures each claim, for a run that did not.
TESTS = {
    'question 1': 'tests/test_08_the_gil.py',
    'question 2': 'tests/test_08_the_gil.py',
    'question 3': 'tests/test_08_the_gil.py',
    'question 3 as written': 'tests/test_08_the_gil.py',
    'threads waiting together': 'tests/test_08_the_gil.py',
    'the experiment': 'tests/test_06_blocking_the_event_loop.py',
    'threads checking primes': 'tests/test_10_prime_checkers.py',
    'processes checking primes': 'tests/test_10_prime_checkers.py',
    'processes in parallel': 'tests/test_01_concurrency_is_not_parallelism.py',
    'coroutines taking turns': 'tests/test_01_concurrency_is_not_parallelism.py',
    'coroutines waiting together': 'tests/test_01_concurrency_is_not_parallelism.py',
    'to_thread': 'tests/test_09_what_releases_the_gil.py',
    'threads losing updates': 'tests/test_02_execution_units.py',
    'coroutines losing updates': 'tests/test_02_execution_units.py',
}


def find(records: Sequence[Record], claim: str) -> Finding:
    """What the run measured for ``claim`` (a ``Row.key``): the first of its rows that the run
    judged, else the first it skipped."""
    rows = [r for r in records if isinstance(r, Row) and r.key == claim]
    judged = [r for r in rows if r.status != 'skipped']
    if not rows:
        return Finding(claim, NOT_RUN, None, 'not measured in this run', f'pytest {TESTS[claim]}')
    row = (judged or rows)[0]
    if not judged:
        return Finding(
            claim,
            row.status,
            None,
            'skipped: this run could not show it (its row and the skip say why)',
            f"pytest '{row.test.split('[')[0]}'",  # every variant: a skip may be any of them
        )
    outcome, figure = READINGS[claim](row.figures)
    return Finding(claim, row.status, outcome, figure)
