"""Executors: ``concurrent.futures`` runs the book's prime checks in a pool of threads or processes.

From the book's next chapter, 20 (concurrent executors): ``Executor.map`` gives the results back in
the order the jobs were submitted, whatever order they finish in, as the book's ``proc_pool.py``
shows; ``as_completed`` gives each future back as soon as it has finished. Here each job first waits
for its turn, an Event that the test shares with the pool's workers (through a ``Manager`` for
processes), so the order the jobs finish in is set by the test, not left to luck.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeAlias

import pytest

from concur import machine
from concur.checkers import PrimeResult
from concur.primes import Number
from concur.protocols import Settable, Waitable
from concur.testing import units
from concur.testing.evidence import Verdict
from concur.timeouts import JOIN_TIMEOUT

SECTION = 'executors'
JOBS = 3  # one worker each: every job waits for its turn at once, none waits for a worker
POOLS = ['thread', 'process']


class Event(Settable, Waitable, Protocol):
    """A threading.Event, or a Manager's Event for processes."""


Pool: TypeAlias = tuple[concurrent.futures.Executor, Callable[[], Event]]


@contextlib.contextmanager
def pool(kind: str) -> Iterator[Pool]:
    """An executor of JOBS workers, and how to make an Event that its workers can wait for."""
    if kind == 'thread':
        with concurrent.futures.ThreadPoolExecutor(JOBS) as executor:
            yield executor, threading.Event
        return
    ctx = machine.context(None)
    # A plain multiprocessing Event cannot be pickled into a pool's job; a Manager's can.
    with (
        ctx.Manager() as manager,
        concurrent.futures.ProcessPoolExecutor(JOBS, mp_context=ctx) as executor,
    ):
        yield executor, manager.Event


def numbered(numbers: Sequence[int], order: Sequence[int]) -> list[int]:
    """``order`` (numbers) as the places, from 1, that the numbers had when they were submitted."""
    return [numbers.index(n) + 1 for n in order]


def finish_order(numbers: Sequence[int], results: Sequence[PrimeResult]) -> list[int]:
    """The submitted places of the numbers in the order their checks ended."""
    return numbered(numbers, [r.n for r in sorted(results, key=lambda r: r.started + r.elapsed)])


def assert_checked(numbers: Sequence[Number], results: Sequence[PrimeResult]) -> None:
    __tracebackhide__ = True
    got = {r.n: r.prime for r in results}
    assert got == {number.n: number.prime for number in numbers}, f'wrong verdicts: {got}'


@pytest.mark.parametrize('kind', POOLS)
def test_executor_map_yields_results_in_the_order_submitted_whatever_order_they_finish(
    kind, fast, claim
):
    """map() submits every job at once, then waits for the first one's result, then the second's:
    a result that comes early waits behind those submitted before it."""
    chosen = fast[-JOBS:]
    numbers = [number.n for number in chosen]
    with pool(kind) as (executor, make_event):
        turns = [make_event() for _ in numbers]
        # The last job submitted goes first; each job, once checked, lets the one before it go.
        turns[-1].set()
        thens = [None, *turns[:-1]]
        results = list(
            executor.map(units.check_in_turn, numbers, turns, thens, timeout=JOIN_TIMEOUT)
        )
    assert_checked(chosen, results)
    yielded, finished = numbered(numbers, [r.n for r in results]), finish_order(numbers, results)
    claim.exact(
        Verdict(
            yielded == [1, 2, 3] and finished == [3, 2, 1],
            measured=f'yielded {yielded}, finished {finished}',
            expected='[1, 2, 3], the order submitted, though they finished [3, 2, 1]',
            compared_with='jobs numbered as submitted; the order they finish set by the test',
            meaning='map() hands each result back in its place in the submitted order, whenever '
            'it finished',
        )
    )


@pytest.mark.parametrize('kind', POOLS)
def test_as_completed_yields_futures_in_the_order_they_finish(kind, fast, claim):
    """as_completed() waits for whichever future finishes next. The test lets the jobs go one at a
    time, each after the one before has come out, last submitted first: no two finish together."""
    chosen = fast[-JOBS:]
    numbers = [number.n for number in chosen]
    let_go = [2, 1, 0]  # the jobs, by index, in the order they may finish
    with pool(kind) as (executor, make_event):
        turns = [make_event() for _ in numbers]
        futures = [
            executor.submit(units.check_in_turn, n, turn)
            for n, turn in zip(numbers, turns, strict=True)
        ]
        turns[let_go[0]].set()
        came_out: list[concurrent.futures.Future[PrimeResult]] = []
        for future in concurrent.futures.as_completed(futures, timeout=JOIN_TIMEOUT):
            came_out.append(future)
            if len(came_out) < JOBS:
                turns[let_go[len(came_out)]].set()
        results = [future.result(JOIN_TIMEOUT) for future in came_out]
    assert_checked(chosen, results)
    yielded, finished = numbered(numbers, [r.n for r in results]), finish_order(numbers, results)
    claim.exact(
        Verdict(
            yielded == finished == [3, 2, 1],
            measured=f'yielded {yielded}, finished {finished}',
            expected='[3, 2, 1], the order they finished, not [1, 2, 3] as submitted',
            compared_with='jobs numbered as submitted; the order they finish set by the test',
            meaning='as_completed() hands each future back as soon as it is done, whatever its '
            'place in the submitted order',
        )
    )
