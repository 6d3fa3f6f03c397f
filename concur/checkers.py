"""The prime checkers: the same numbers checked sequentially, by threads, by processes, by
executors.

Each checker yields one ``PrimeResult(n, prime, elapsed)`` per number, in the order the checks end.
``threads`` and ``procs`` follow the book's design: a job queue holding the numbers and then one
``0`` per worker, the "poison pill" that tells a worker to stop; a worker that takes its ``0``
answers on the result queue with a ``PrimeResult`` of ``n == 0``, so the reader can count the
workers that are done. ``pool`` and ``interpreters`` let ``concurrent.futures`` do the same.
The workers get the biggest numbers first (``largest_first``), so that they finish together.
``late_reader`` replays the race the book fixed: see its docstring.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import platform
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from time import perf_counter
from typing import NamedTuple

from concur import arguments, machine
from concur.primes import PRIME_FIXTURE, is_prime
from concur.protocols import Queue, Unit
from concur.timeouts import JOIN_TIMEOUT

NUMBERS: tuple[int, ...] = tuple(number.n for number in PRIME_FIXTURE)

# Subinterpreters, each with its own GIL (since 3.12, PEP 684), run one process's threads in
# parallel; CPython 3.14 gives them to Python code (InterpreterPoolExecutor).
HAS_INTERPRETERS = hasattr(concurrent.futures, 'InterpreterPoolExecutor')


class PrimeResult(NamedTuple):
    n: int
    prime: bool
    elapsed: float
    # Who checked it and when it began (time.perf_counter(), one clock for every process of a
    # machine): what a worker chart draws, and the evidence that every worker took a share.
    worker: str = ''
    started: float = 0.0


# What a worker answers when it takes its 0: "I am done".
DONE = PrimeResult(0, False, 0.0)


class Crew(NamedTuple):
    """The workers of a checker and the two queues they share with the reader."""

    jobs: Queue[int]
    results: Queue[PrimeResult]
    units: Sequence[Unit]


Collect = Callable[[Crew], Iterator[PrimeResult]]


def check(n: int) -> PrimeResult:
    """Check one number, and time the check."""
    start = perf_counter()
    prime = is_prime(n)
    return PrimeResult(n, prime, perf_counter() - start, worker_name(), start)


def worker_name() -> str:
    """The execution unit running this code: its process's name, and its thread's unless it is
    the process's main thread (a worker process, or the sequential checker's own thread). A
    thread that this interpreter's threading did not start (one running a subinterpreter) gets a
    new dummy name at each call there: its native id names it instead."""
    process, thread = multiprocessing.current_process().name, threading.current_thread()
    if thread is threading.main_thread():
        return process
    if isinstance(thread, threading._DummyThread):
        return f'{process}/thread-{threading.get_native_id()}'
    return f'{process}/{thread.name}'


def largest_first(numbers: Iterable[int]) -> list[int]:
    """The order in which the workers get the numbers. A check may take up to ``sqrt(n)``
    divisions, so the long ones are handed out first and the last ones are short: no worker is
    left checking a big prime alone while the others have finished."""
    return sorted(numbers, reverse=True)


def worker(jobs: Queue[int], results: Queue[PrimeResult]) -> None:
    """Check the numbers taken from ``jobs`` until a 0 comes, then answer ``DONE``."""
    while n := jobs.get():
        results.put(check(n))
    results.put(DONE)


def report(crew: Crew) -> Iterator[PrimeResult]:
    """The book's result loop: read until every worker has answered ``DONE``, so every result
    is read, however late a worker delivers it."""
    done = 0
    while done < len(crew.units):
        result = crew.results.get()
        if result.n:
            yield result
        else:
            done += 1


def report_until_jobs_empty(crew: Crew, pause: Callable[[], object]) -> Iterator[PrimeResult]:
    """The book's first result loop, which had a race: it stops once the job queue is empty.

    An empty job queue only says that every job was taken, not that every result was read:
    results still waiting on the result queue are lost. ``pause`` runs between reading a result
    and looking at the job queue, where a slow reader loses the race.
    """
    while True:
        result = crew.results.get()
        if result.n:
            yield result
        pause()
        if crew.jobs.empty():
            return


def sequential(numbers: Iterable[int] = NUMBERS) -> Iterator[PrimeResult]:
    """Check the numbers one after another in this thread."""
    return map(check, valid_numbers(numbers))


def threads(numbers: Iterable[int] = NUMBERS, workers: int | None = None) -> Iterator[PrimeResult]:
    """Check the numbers in ``workers`` threads (default: the usable cores), fed by queues."""
    numbers, workers = valid_numbers(numbers), worker_count(workers)
    jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
    results: queue.SimpleQueue[PrimeResult] = queue.SimpleQueue()
    units = [
        threading.Thread(target=worker, args=(jobs, results), name=f'prime-worker-{i}')
        for i in range(workers)
    ]

    def abandon() -> None:
        # A thread cannot be killed: take its remaining jobs, and it stops after the current one.
        while True:
            try:
                jobs.get_nowait()
            except queue.Empty:
                break
        for _ in units:
            jobs.put(0)

    return _run(numbers, jobs, results, units, report, abandon)


def procs(
    numbers: Iterable[int] = NUMBERS, workers: int | None = None, start_method: str | None = None
) -> Iterator[PrimeResult]:
    """Check the numbers in ``workers`` child processes (default: the usable cores), started with
    ``start_method`` (default: the platform's), fed by ``multiprocessing`` queues."""
    ctx = machine.context(start_method)
    return _in_processes(valid_numbers(numbers), process_count(workers), ctx, report)


def late_reader(
    numbers: Iterable[int] = NUMBERS,
    workers: int | None = None,
    start_method: str | None = None,
    *,
    stop_when_jobs_empty: bool,
) -> list[PrimeResult]:
    """``procs`` with a reader that falls behind, to replay the race the book fixed.

    The reader waits until every worker has ended, as a reader slowed down by a busy machine
    may. With ``stop_when_jobs_empty`` it waits after each result, then stops once the job queue
    is empty, as the book's first ``procs.py`` did, and loses the results still waiting;
    otherwise it waits before its first result, then counts one ``DONE`` per worker, as the
    book's fixed version does, and loses none. Fine for a few hundred numbers:
    the results wait in a pipe meanwhile.
    """

    def collect(crew: Crew) -> Iterator[PrimeResult]:
        if stop_when_jobs_empty:
            return report_until_jobs_empty(crew, pause=lambda: join_all(crew.units))
        join_all(crew.units)  # just as late: every worker has ended before the first result is read
        return report(crew)

    return list(
        _in_processes(
            valid_numbers(numbers), process_count(workers), machine.context(start_method), collect
        )
    )


def pool(
    numbers: Iterable[int] = NUMBERS, workers: int | None = None, start_method: str | None = None
) -> Iterator[PrimeResult]:
    """Check the numbers with a ``concurrent.futures.ProcessPoolExecutor`` of ``workers``."""
    numbers, workers, ctx = (
        valid_numbers(numbers),
        process_count(workers),
        machine.context(start_method),
    )
    return _from_executor(
        lambda: concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx), numbers
    )


def interpreters(
    numbers: Iterable[int] = NUMBERS, workers: int | None = None
) -> Iterator[PrimeResult]:
    """Check the numbers with a ``concurrent.futures.InterpreterPoolExecutor`` (CPython 3.14+):
    threads of this one process, each running its own subinterpreter with its own GIL."""
    if not HAS_INTERPRETERS:
        raise RuntimeError(
            f'interpreters needs concurrent.futures.InterpreterPoolExecutor, new in '
            f'Python 3.14; this is Python {platform.python_version()}'
        )
    numbers, workers = valid_numbers(numbers), worker_count(workers)
    make = concurrent.futures.InterpreterPoolExecutor  # type: ignore[attr-defined,unused-ignore]
    return _from_executor(lambda: make(workers), numbers)


# The checkers by name, as the command line offers them.
CHECKERS: dict[str, Callable[..., Iterator[PrimeResult]]] = {
    'sequential': sequential,
    'threads': threads,
    'procs': procs,
    'pool': pool,
    **({'interpreters': interpreters} if HAS_INTERPRETERS else {}),
}
# The checkers that start child processes, and so take a start method.
PROCESS_CHECKERS = ('procs', 'pool')


def valid_numbers(numbers: Iterable[int]) -> tuple[int, ...]:
    """The numbers as a tuple, each an int of at least 1: 0 is the workers' stop signal."""
    if isinstance(numbers, (str, bytes)) or not isinstance(numbers, Iterable):
        raise TypeError(
            f'numbers must be an iterable of ints, got {numbers!r} ({type(numbers).__name__})'
        )
    return tuple(arguments.positive_int(f'numbers[{i}]', n) for i, n in enumerate(numbers))


def worker_count(workers: int | None) -> int:
    """``workers`` checked, or by default the usable cores."""
    return machine.usable_cores() if workers is None else arguments.positive_int('workers', workers)


# The most worker processes a checker starts, per usable core. A CPU-bound worker beyond the
# cores only waits for one, while each costs a start (tens of milliseconds under spawn) and file
# descriptors of its parent: far more (100_000) would exhaust the machine, without a word, long
# before the first number is checked, and the few the claims use (up to 4) stay far below it.
PROCESSES_PER_CORE = 32


def process_count(workers: int | None) -> int:
    """``workers`` checked as a number of worker processes this machine can start."""
    count, limit = worker_count(workers), PROCESSES_PER_CORE * machine.usable_cores()
    if count > limit:
        raise ValueError(
            f'workers must be at most {limit} for worker processes ({PROCESSES_PER_CORE} per '
            f'usable core, {machine.usable_cores()} here), got {count}'
        )
    return count


def _in_processes(
    numbers: tuple[int, ...],
    workers: int,
    ctx: machine.Context,
    collect: Collect,
) -> Iterator[PrimeResult]:
    # Jobs go through a Queue, whose feeder thread writes to the pipe as the workers read: a
    # SimpleQueue would block this process on a full pipe before any result is read.
    jobs: multiprocessing.Queue[int] = ctx.Queue()
    results: multiprocessing.SimpleQueue[PrimeResult] = ctx.SimpleQueue()
    units = [
        ctx.Process(target=worker, args=(jobs, results), name=f'prime-worker-{i}')
        for i in range(workers)
    ]

    def abandon() -> None:
        jobs.cancel_join_thread()  # nobody will read the jobs left in the feeder's buffer
        for unit in units:
            if unit.is_alive():
                unit.terminate()

    try:
        yield from _run(numbers, jobs, results, units, collect, abandon)
    finally:
        jobs.close()
        jobs.join_thread()
        results.close()


def _run(
    numbers: tuple[int, ...],
    jobs: Queue[int],
    results: Queue[PrimeResult],
    units: Sequence[Unit],
    collect: Collect,
    abandon: Callable[[], None],
) -> Iterator[PrimeResult]:
    """Start the workers, give them the numbers and one 0 each, and yield what ``collect`` reads.

    If the reader stops early (an error, Ctrl-C, a loop that breaks), ``abandon`` stops the
    workers; either way they are joined before this returns.
    """
    started: list[Unit] = []
    try:
        for unit in units:
            unit.start()
            started.append(unit)
        for n in largest_first(numbers):
            jobs.put(n)
        for _ in units:
            jobs.put(0)
        yield from collect(Crew(jobs, results, units))
    except BaseException:
        abandon()
        # A thread still finishes the number it holds; the error on its way must not be
        # replaced by one about the wait.
        join_all(started, strict=False)
        raise
    join_all(started)


def join_all(units: Sequence[Unit], strict: bool = True) -> None:
    """Join every unit, each within JOIN_TIMEOUT; if ``strict``, raise for those still running."""
    for unit in units:
        unit.join(JOIN_TIMEOUT)
    running = [unit for unit in units if unit.is_alive()]
    if strict and running:
        raise RuntimeError(f'{running} still running {JOIN_TIMEOUT} s after they were due to end')


def _from_executor(
    make: Callable[[], concurrent.futures.Executor], numbers: tuple[int, ...]
) -> Iterator[PrimeResult]:
    executor = make()
    try:
        futures = [executor.submit(check, n) for n in largest_first(numbers)]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
