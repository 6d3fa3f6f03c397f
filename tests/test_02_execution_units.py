"""Execution units: processes, threads and coroutines, and the words of the chapter.

A process has its own memory, threads share their process's memory, and coroutines take turns in
one thread. Each model has its own queue and its own way to hand a result back. Shared memory
needs a lock where units can interleave between a read and a write; and the three kinds of unit
differ in what one costs to start and to keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import multiprocessing
import queue
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable
from typing import NamedTuple

import psutil
import pytest
from claims import counter_at, finish, run_together

from concur import machine, shutdown, spinner, spinner_async
from concur.protocols import Queue
from concur.shutdown import Consumed
from concur.testing import units
from concur.testing.evidence import Machine, Verdict
from concur.testing.tolerances import WAKE_LATE
from concur.timeouts import JOIN_TIMEOUT

SECTION = 'execution units'
# Handing items over, a unit blocks when its queue holds this many: the units take turns.
SECTION = 'execution units'
QUEUE_SIZE = 10
ITEMS = list(range(100))


def test_a_child_process_that_changes_a_global_leaves_the_parents_value_unchanged(start_method):
    """A child process has its own memory: a forked child writes to its own copy of the parent's
    pages, a spawned one to a fresh interpreter's. Nothing it writes reaches the parent."""
    ctx = multiprocessing.get_context(start_method)
    before = units.value
    seen = ctx.SimpleQueue()
    child = ctx.Process(target=units.change_value, args=('changed by the child', seen))
    child.start()
    finish(child)
    in_child = seen.get()  # the child has ended, so what it put is waiting in the pipe
    seen.close()
    assert in_child == 'changed by the child', f'the child saw {in_child!r} after changing it'
    assert units.value == before, (
        f'expected the parent to keep {before!r}, found {units.value!r}: '
        f'the change was made in the same memory, so the "process" was not a separate process'
    )


def test_a_thread_that_changes_a_global_changes_it_for_the_whole_process(monkeypatch):
    """Threads run inside one process and share its memory: a module global is one object for
    all of them."""
    monkeypatch.setattr(units, 'value', units.value)  # put the global back after the test
    seen: queue.SimpleQueue[str] = queue.SimpleQueue()
    thread = threading.Thread(target=units.change_value, args=('changed by the thread', seen))
    thread.start()
    finish(thread)
    assert seen.get(timeout=JOIN_TIMEOUT) == 'changed by the thread'
    assert units.value == 'changed by the thread', (
        f"expected the main thread to see the thread's change, found {units.value!r}: "
        f'the "thread" did not share this process\'s memory'
    )


async def square_async(n: int) -> int:
    """A coroutine simply returns its result: the awaiting coroutine gets it as the value."""
    return n * n


async def test_a_coroutine_hands_its_result_back_as_the_value_of_await():
    """``await`` runs the coroutine to its end and evaluates to what it returned."""
    result = await square_async(7)
    assert result == 49, f'expected await to give 7 * 7 = 49, got {result!r}'


@pytest.mark.parametrize('model', ['thread', 'process'])
def test_a_thread_or_a_process_hands_its_result_back_through_a_queue(model):
    """A Thread or a Process runs its target and drops what it returns (``join()`` gives None),
    so the result travels another way: here a queue that the caller reads. (A thread could also
    leave it in the memory it shares, and an executor hands it back in a future.)"""
    made = units.kind(model)
    results: Queue[int] = made.queue()
    unit = made.unit(target=units.square, args=(7, results))
    unit.start()
    finish(unit)
    result = results.get()  # the unit has ended, so its result is already in the queue
    assert result == 49, f"expected 7 * 7 = 49 from the {model}'s queue, got {result!r}"


def received_from_thread() -> tuple[str, list[object]]:
    items: queue.Queue[object] = queue.Queue(QUEUE_SIZE)
    producer = threading.Thread(target=units.produce, args=(ITEMS, items))
    producer.start()
    received = [items.get(timeout=JOIN_TIMEOUT) for _ in ITEMS]
    finish(producer)
    return 'queue.Queue', received


def received_from_process() -> tuple[str, list[object]]:
    ctx = multiprocessing.get_context()
    items = ctx.Queue(QUEUE_SIZE)
    producer = ctx.Process(target=units.produce, args=(ITEMS, items))
    producer.start()
    received = [items.get(timeout=JOIN_TIMEOUT) for _ in ITEMS]
    finish(producer)
    items.close()
    items.join_thread()
    return 'multiprocessing.Queue', received


async def produce_async(items: Iterable[object], out: asyncio.Queue[object]) -> None:
    for item in items:
        await out.put(item)


async def received_from_task() -> tuple[str, list[object]]:
    items: asyncio.Queue[object] = asyncio.Queue(QUEUE_SIZE)
    producer = asyncio.create_task(produce_async(ITEMS, items))
    received = [await asyncio.wait_for(items.get(), JOIN_TIMEOUT) for _ in ITEMS]
    await asyncio.wait_for(producer, JOIN_TIMEOUT)
    return 'asyncio.Queue', received


RECEIVERS: dict[str, Callable[[], tuple[str, list[object]]]] = {
    'thread': received_from_thread,
    'process': received_from_process,
    'async': lambda: asyncio.run(received_from_task()),
}


@pytest.mark.parametrize('model', RECEIVERS)
def test_each_model_has_a_queue_that_delivers_items_in_the_order_they_were_put(model):
    """A producer unit puts 0, 1, 2, ... into its model's queue while this unit takes them out;
    the queue is small, so the two take turns, and the items come out first in, first out."""
    kind, received = RECEIVERS[model]()
    assert received == ITEMS, (
        f'expected {kind} to deliver 0, 1, 2, ... 99 in order, got {received[:8]} ...: '
        f'a queue between execution units is first in, first out'
    )


# ---- a queue shut down (3.13) ends its consumers without a poison pill -------------------
# Beside the queues, not the prime checkers' 0: shutdown() belongs to the queues of threads and
# tasks, and the process checkers' multiprocessing queues have none.

JOBS = list(range(1, 7))
CONSUMERS = 2
ENDINGS = {'shutdown()': False, 'shutdown(immediate=True)': True}


def needs_shutdown() -> None:
    if not shutdown.HAS_SHUTDOWN:
        pytest.skip(f'needs {shutdown.NEEDS}; this is {machine.describe()}')


def consumers_of_a_shut_down_thread_queue(immediate: bool) -> tuple[list[Consumed[int]], bool]:
    jobs: queue.Queue[int] = queue.Queue()
    for n in JOBS:
        jobs.put(n)
    shutdown.shut_down(jobs, immediate)
    ended: list[Consumed[int]] = []
    consumers = [
        threading.Thread(target=lambda: ended.append(shutdown.consume(jobs)))
        for _ in range(CONSUMERS)
    ]
    run_together(consumers)
    return ended, shutdown.refuses_put(jobs)


async def consumers_of_a_shut_down_task_queue(
    immediate: bool,
) -> tuple[list[Consumed[int]], bool]:
    jobs: asyncio.Queue[int] = asyncio.Queue()
    for n in JOBS:
        jobs.put_nowait(n)
    shutdown.shut_down(jobs, immediate)
    ended = await asyncio.gather(*(shutdown.consume_async(jobs) for _ in range(CONSUMERS)))
    return list(ended), shutdown.refuses_put(jobs)


SHUT_DOWN_QUEUES: dict[str, Callable[[bool], tuple[list[Consumed[int]], bool]]] = {
    'thread': consumers_of_a_shut_down_thread_queue,
    'async': lambda immediate: asyncio.run(consumers_of_a_shut_down_task_queue(immediate)),
}


@pytest.mark.parametrize('ending', ENDINGS)
@pytest.mark.parametrize('model', SHUT_DOWN_QUEUES)
def test_consumers_end_without_a_poison_pill_when_their_queue_is_shut_down(model, ending, claim):
    """shutdown() tells every consumer at once: get() hands out what is left, then raises
    ShutDown; with immediate=True what is left is thrown away. Then put() raises it too."""
    needs_shutdown()
    immediate = ENDINGS[ending]
    ended, refused = SHUT_DOWN_QUEUES[model](immediate)
    taken = sorted(n for consumer in ended for n in consumer.items)
    expected = [] if immediate else JOBS
    claim.exact(
        Verdict(
            taken == expected and all(c.shut_down for c in ended) and refused,
            measured=f'taken {taken}; {sum(c.shut_down for c in ended)} of {CONSUMERS} '
            f'consumers ended by ShutDown; put() afterwards '
            f'{"raised ShutDown" if refused else "was taken"}',
            expected=f'taken {expected or "nothing"}, every consumer ended by ShutDown, put() '
            'raising it',
            meaning='a shut-down queue ends its consumers by itself, without a 0 per consumer',
        )
    )


def woken_thread_consumer() -> Consumed[int]:
    jobs: queue.Queue[int] = queue.Queue()
    ended: list[Consumed[int]] = []
    consumer = threading.Thread(target=lambda: ended.append(shutdown.consume(jobs)))
    consumer.start()
    # Polled: nothing tells from outside when a thread starts to wait in get(), but the
    # condition it waits on lists it among its waiters.
    deadline = time.perf_counter() + JOIN_TIMEOUT
    while not jobs.not_empty._waiters and time.perf_counter() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.001)
    shutdown.shut_down(jobs)
    finish(consumer)
    return ended[0]


async def woken_task_consumer() -> Consumed[int]:
    jobs: asyncio.Queue[int] = asyncio.Queue()
    consumer = asyncio.create_task(shutdown.consume_async(jobs))
    await asyncio.sleep(0)  # one turn: the consumer runs up to its get() on the empty queue
    shutdown.shut_down(jobs)
    return await asyncio.wait_for(consumer, JOIN_TIMEOUT)


WOKEN: dict[str, Callable[[], Consumed[int]]] = {
    'thread': woken_thread_consumer,
    'async': lambda: asyncio.run(woken_task_consumer()),
}


@pytest.mark.parametrize('model', WOKEN)
def test_a_consumer_waiting_on_an_empty_queue_is_woken_with_shutdown_when_it_is_shut_down(
    model, claim
):
    """A consumer waiting in get() for an item that will never come is woken by shutdown(), with
    ShutDown: the waiting ends, where without a pill it would wait forever."""
    needs_shutdown()
    consumer = WOKEN[model]()
    # The consumer waits at most JOIN_TIMEOUT for an item, and a queue shut down while it waited
    # raises ShutDown when that bound ends too: woken means long before it.
    woken = consumer.shut_down and consumer.waited < JOIN_TIMEOUT / 2
    claim.exact(
        Verdict(
            woken and not consumer.items,
            measured=f'{"ShutDown" if consumer.shut_down else "no ShutDown"} after '
            f'{1000 * consumer.waited:.1f} ms of waiting',
            expected=f'woken with ShutDown, no item, well before its own bound of '
            f'{JOIN_TIMEOUT:g} s',
            meaning='shutdown() must wake a consumer that waits, or it waits for ever',
        )
    )


def count_with_threads(
    k: int, lock: contextlib.AbstractContextManager[object], between: Callable[[], object]
) -> int:
    counter = [0]
    run_together(
        [threading.Thread(target=units.add_one, args=(counter, lock, between)) for _ in range(k)]
    )
    return counter[0]


THREADS = 4


def test_threads_lose_updates_when_they_read_and_write_a_shared_counter_without_a_lock(claim):
    """Between one thread's read and its write, another thread may read the same old value; here
    a barrier makes every thread read before any writes, so all but one update are lost."""
    everyone_has_read = threading.Barrier(THREADS)
    total = count_with_threads(
        THREADS, contextlib.nullcontext(), functools.partial(everyone_has_read.wait, JOIN_TIMEOUT)
    )
    why = 'without a lock, each thread read 0 before any wrote, and wrote back 0 + 1'
    lost = f'each thread wrote back the 0 it read, so {THREADS - 1} updates should be lost'
    claim.exact(counter_at(total, 1, THREADS, why, lost), key='threads losing updates')


# How long a thread holding the lock gives the CPU away between its read and its write.
YIELD = 0.01


def test_threads_lose_no_update_when_a_lock_guards_the_read_and_the_write(claim):
    """A thread holding the lock may give the CPU away between read and write (here it sleeps),
    yet no other thread can read until it has written and released the lock."""
    total = count_with_threads(THREADS, threading.Lock(), functools.partial(time.sleep, YIELD))
    why = 'under a lock, one thread at a time between read and write, however long it sleeps'
    claim.exact(counter_at(total, THREADS, THREADS, why, 'the lock let two threads in at once'))


async def add_one_async(counter: list[int], await_inside: bool) -> None:
    seen = counter[0]
    if await_inside:
        await asyncio.sleep(0)  # the event loop may run every other ready task here
    counter[0] = seen + 1


COROUTINES = 100


async def test_coroutines_lose_no_update_when_no_await_is_inside_the_critical_section(claim):
    """A coroutine only gives way at an ``await``: a read and a write with no ``await`` between
    them run as one step, so no other coroutine can come in between. No lock needed."""
    counter = [0]
    await asyncio.gather(*(add_one_async(counter, await_inside=False) for _ in range(COROUTINES)))
    why = 'no await between read and write, so no other coroutine runs in between'
    claim.exact(counter_at(counter[0], COROUTINES, COROUTINES, why, 'a coroutine came in between'))


async def test_coroutines_lose_updates_when_an_await_is_inside_the_critical_section(claim):
    """The control: with an ``await`` between read and write, the event loop runs every other
    ready coroutine there, and each reads the same old value."""
    counter = [0]
    await asyncio.gather(*(add_one_async(counter, await_inside=True) for _ in range(COROUTINES)))
    why = 'every coroutine read 0 at its await, before any wrote'
    lets_in = 'an await inside a read-modify-write lets the other coroutines in'
    claim.exact(
        counter_at(counter[0], 1, COROUTINES, why, lets_in), key='coroutines losing updates'
    )


HOLD = 0.1  # how long the holder keeps the lock: the work of the contention test


def hold(lock: threading.Lock, holding: threading.Event, held_for: list[float]) -> None:
    with lock:
        start = time.perf_counter()
        holding.set()
        time.sleep(HOLD)
        held_for.append(time.perf_counter() - start)


def seconds_to_acquire(lock: threading.Lock) -> float:
    start = time.perf_counter()
    assert lock.acquire(timeout=JOIN_TIMEOUT), f'the lock was not free after {JOIN_TIMEOUT} s'
    waited = time.perf_counter() - start
    lock.release()
    return waited


class Contention(NamedTuple):
    free: float  # seconds to take the lock when nobody held it: the control
    waited: float  # seconds another thread waited for the held lock
    held: float  # seconds the holder kept it after saying so


def contend() -> Contention:
    lock, holding, held_for = threading.Lock(), threading.Event(), list[float]()
    free = seconds_to_acquire(lock)
    holder = threading.Thread(target=hold, args=(lock, holding, held_for))
    holder.start()
    assert holding.wait(JOIN_TIMEOUT), 'the holder never took the lock'
    waited = seconds_to_acquire(lock)
    finish(holder)
    return Contention(free, waited, held_for[0])


@pytest.mark.cpu(cores=1)
def test_a_thread_wanting_a_held_lock_waits_about_as_long_as_the_holder_keeps_it(claim):
    """Contention: while one thread holds the lock, another that asks for it blocks until the
    holder releases it; a free lock is taken at once."""

    def verdict(c: Contention, _: Machine) -> Verdict:
        # The waiter starts its clock one wake-up after the holder starts its own, and wakes one
        # wake-up after the release; taking a free lock (the control) costs next to nothing.
        low, high = c.held - WAKE_LATE, c.held + WAKE_LATE + c.free
        return Verdict(
            low <= c.waited <= high and c.free <= WAKE_LATE,
            measured=f'waited {1000 * c.waited:.1f} ms for a lock held {1000 * c.held:.1f} ms; '
            f'took a free lock in {1e6 * c.free:.0f} µs',
            expected=f'a wait of {1000 * low:.1f} to {1000 * high:.1f} ms, a free lock at once',
            compared_with='the same lock taken when nobody held it',
            meaning='a thread asking for a held lock waits until the holder releases it',
        )

    claim.judge(contend, verdict)


@pytest.mark.parametrize(
    'make_event, make_unit',
    [(threading.Event, threading.Thread), (multiprocessing.Event, multiprocessing.Process)],
    ids=['thread', 'process'],
)
def test_thread_and_process_say_initial_before_start_and_stopped_after_join(make_event, make_unit):
    """A Thread or Process object exists before its unit runs; its repr shows the state it is in."""
    done = make_event()
    unit = make_unit(target=spinner.spin, args=('', done, 0.01))
    assert 'initial' in repr(unit), f'expected "initial" before start(), got {unit!r}'
    unit.start()
    done.set()
    finish(unit)
    assert 'stopped' in repr(unit), f'expected "stopped" after join(), got {unit!r}'


async def test_a_task_is_pending_when_created_and_done_when_finished():
    """create_task schedules the coroutine and returns: the task runs only once the running
    coroutine suspends and hands the loop control (here at ``await task``); until then it is
    pending. (An eager task factory, Python 3.12+, runs its first step inside create_task.)"""
    task = asyncio.create_task(spinner_async.slow(0.01))
    assert 'pending' in repr(task) and not task.done(), f'expected a pending task, got {task!r}'
    assert await task == spinner.ANSWER
    assert 'done' in repr(task), f'expected a done task after await, got {task!r}'


class Cost(NamedTuple):
    seconds: float  # to start one unit and see it finish
    memory: float  # bytes one idle unit takes (MEMORY says how each kind is measured)


# Enough units of each kind that the cost of one stands out from the noise, few enough to be quick.
HOW_MANY = {'async': 1000, 'thread': 50, 'process': 4}
KINDS = {'async': 'tasks', 'thread': 'threads', 'process': 'processes'}


def rss() -> int:
    return psutil.Process().memory_info().rss


def cost_of_threads(n: int) -> Cost:
    """A thread's memory is new private pages of this process (its stack, its thread state), so
    the growth of this process's resident memory while the threads are up is theirs."""
    ready, go = threading.Semaphore(0), threading.Event()
    threads = [
        threading.Thread(target=units.idle, args=(ready, go, JOIN_TIMEOUT)) for _ in range(n)
    ]
    gc.collect()
    before, start = rss(), time.perf_counter()
    for thread in threads:
        thread.start()
    all_up = all(ready.acquire(timeout=JOIN_TIMEOUT) for _ in threads)
    starting, grown = time.perf_counter() - start, rss() - before
    start = time.perf_counter()
    go.set()
    for thread in threads:
        finish(thread)
    assert all_up, 'a thread never came up'
    return Cost((starting + time.perf_counter() - start) / n, grown / n)


def cost_of_processes(n: int) -> Cost:
    """A process's memory is the child's unique set: the pages no other process shares."""
    ctx = multiprocessing.get_context()
    ready, go = ctx.Semaphore(0), ctx.Event()
    children = [ctx.Process(target=units.idle, args=(ready, go, JOIN_TIMEOUT)) for _ in range(n)]
    start = time.perf_counter()
    for child in children:
        child.start()
    all_up = all(ready.acquire(timeout=JOIN_TIMEOUT) for _ in children)
    starting = time.perf_counter() - start
    unique = [psutil.Process(child.pid).memory_full_info().uss for child in children]
    start = time.perf_counter()
    go.set()
    for child in children:
        finish(child)
    assert all_up, 'a child process never came up'
    return Cost((starting + time.perf_counter() - start) / n, statistics.mean(unique))


async def idle_async(ready: asyncio.Semaphore, go: asyncio.Event) -> None:
    """Say this task is up, then do nothing until told to finish: a task that only exists."""
    ready.release()
    await go.wait()


async def idle_tasks(n: int, reading: Callable[[], int]) -> Cost:
    """Start ``n`` idle tasks and let them finish: the seconds per task, and how much ``reading``
    grew per task while they were all up."""
    ready, go = asyncio.Semaphore(0), asyncio.Event()
    gc.collect()
    before, start = reading(), time.perf_counter()
    tasks = [asyncio.create_task(idle_async(ready, go)) for _ in range(n)]
    for _ in tasks:
        await asyncio.wait_for(ready.acquire(), JOIN_TIMEOUT)
    starting, grown = time.perf_counter() - start, reading() - before
    start = time.perf_counter()
    go.set()
    await asyncio.wait_for(asyncio.gather(*tasks), JOIN_TIMEOUT)
    return Cost((starting + time.perf_counter() - start) / n, grown / n)


async def cost_of_coroutines(n: int) -> Cost:
    """A coroutine's memory is a few Python objects (the task, its coroutine and frame, the
    future it awaits) on this process's heap: tracemalloc counts them. The resident memory would
    hide them, as CPython's allocator puts small objects in memory it already holds. The tasks
    are timed in a run of their own, since tracing every allocation slows them."""
    timed = await idle_tasks(n, lambda: 0)
    tracemalloc.start()
    try:
        traced = await idle_tasks(n, lambda: tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    return Cost(timed.seconds, traced.memory)


# How each kind of unit's memory is read, in the end report's words.
MEMORY = (
    "memory (a task's Python objects, by tracemalloc; a thread's growth of this process's "
    "resident memory; a child process's unique memory)"
)


# Each kind of unit costs many times the one before (see the table); twice is a margin that
# noise does not erase, yet that a unit of the same kind in both places never reaches.
DEARER = 2.0


def cheapest_to_dearest(costs: dict[str, float], unit: str, what: str) -> tuple[bool, str]:
    coroutine, thread, process = costs['async'], costs['thread'], costs['process']
    holds = DEARER * coroutine <= thread and DEARER * thread <= process
    return holds, f'{what}: ' + ', '.join(
        f'{figure(c)} {unit}' for c in (coroutine, thread, process)
    )


def figure(cost: float) -> str:
    """A figure as a reader writes it: '0.12', '13.4', '3,450' (not '3.45e+03')."""
    return f'{cost:,.0f}' if cost >= 100 else f'{cost:.3g}'


def measure_costs() -> dict[str, Cost]:
    return {
        'async': asyncio.run(cost_of_coroutines(HOW_MANY['async'])),
        'thread': cost_of_threads(HOW_MANY['thread']),
        'process': cost_of_processes(HOW_MANY['process']),
    }


@pytest.mark.cpu(cores=1)
def test_a_coroutine_is_the_cheapest_unit_to_start_and_to_keep_and_a_process_the_dearest(claim):
    """A task is a few objects the event loop schedules; a thread also needs an OS thread and its
    stack; a process is a new OS process with a whole interpreter (copied by fork, or started
    afresh by spawn). Measured in the same run: the time to start and finish one idle unit, and
    while the units wait, the Python objects of a task (tracemalloc), how much this process's
    resident memory grew per thread, and each child process's unique memory (psutil)."""

    def verdict(costs: dict[str, Cost], _: Machine) -> Verdict:
        fast, times = cheapest_to_dearest(
            {model: cost.seconds * 1e6 for model, cost in costs.items()}, 'µs', 'start and finish'
        )
        small, sizes = cheapest_to_dearest(
            {model: cost.memory / 1024 for model, cost in costs.items()}, 'KiB', MEMORY
        )
        return Verdict(
            fast and small,
            measured=f'per task, thread, process: {times}; {sizes}',
            expected=f'each at least {DEARER:g} times the one before, in time and in memory',
            meaning='a coroutine is a few objects, a thread needs a stack from the OS, a process '
            'a whole interpreter',
        )

    claim.judge(measure_costs, verdict)
