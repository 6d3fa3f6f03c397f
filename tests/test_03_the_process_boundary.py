"""The process boundary: what crosses it, and how.

A child process has memory of its own, so what it is given and what it gives back are copies:
pickled, or copied with the parent's memory by ``fork``. Under ``spawn`` and ``forkserver`` even
the target is pickled, by name. Only shared memory, made for the purpose, is one value on both
sides, and with it come the lost updates of threads, and the lock that prevents them.
"""

from __future__ import annotations

import contextlib
import functools
import pickle
import queue
import sys
import threading
import time
from collections.abc import Callable

import pytest
from claims import counter_at, finish, run_together

from concur import machine
from concur.testing import units
from concur.testing.evidence import Verdict
from concur.timeouts import JOIN_TIMEOUT

SECTION = 'the process boundary'
GIVEN = ['given', 'by the parent']


def test_a_child_process_that_mutates_the_list_it_was_given_leaves_the_parents_list_unchanged(
    start_method, claim
):
    """The child appends to its own copy of the list: under spawn and forkserver the list was
    pickled into it, under fork it is the child's copy of the parent's memory. What it sends back
    is pickled again: a new list, equal to the child's copy, not the parent's list."""
    ctx = machine.context(start_method)
    items, back = list(GIVEN), ctx.SimpleQueue()
    child = ctx.Process(target=units.append_and_send, args=(items, 'by the child', back))
    child.start()
    finish(child)
    sent = back.get()  # the child has ended, so what it sent is waiting in the pipe
    back.close()
    assert sent == [*GIVEN, 'by the child'], f'the child sent back {sent!r}: did it run?'
    claim.exact(
        Verdict(
            items == GIVEN and sent is not items,
            measured=f"the parent's list {items}; the child sent back "
            + ("the parent's own list" if sent is items else f'a new list {sent}'),
            expected=f"the parent's list still {GIVEN}; a new list sent back",
            meaning='the child appended to the very list the parent holds, so it was handed '
            'over by reference, not as a copy',
        )
    )


def test_a_thread_that_mutates_the_list_it_was_given_changes_the_callers_list(claim):
    """A thread runs in its caller's memory: it is given the list itself, appends to it, and
    what it hands back through a ``queue`` is that same object, not a copy."""
    items, back = list(GIVEN), queue.SimpleQueue[list[str]]()
    thread = threading.Thread(target=units.append_and_send, args=(items, 'by the thread', back))
    thread.start()
    finish(thread)
    sent = back.get(timeout=JOIN_TIMEOUT)
    claim.exact(
        Verdict(
            items == [*GIVEN, 'by the thread'] and sent is items,
            measured=f"the caller's list {items}; the thread handed back "
            + ('the same object' if sent is items else repr(sent)),
            expected="the caller's own list, with the thread's item",
            meaning="threads share their process's memory, so nothing is copied",
        )
    )


# Under fork the child starts as a copy of the parent, target included: nothing is pickled.
PICKLES_TARGET = {'fork': False, 'spawn': True, 'forkserver': True}
# The error pickle raises for a function it cannot find by name: AttributeError up to 3.13.
PICKLING_ERROR = pickle.PicklingError if sys.version_info >= (3, 14) else AttributeError


UNPICKLABLE = {'lambda': 'a lambda', 'inner-function': 'a function defined inside a test'}


@pytest.mark.parametrize('kind', UNPICKLABLE)
def test_an_unpicklable_target_fails_at_start_under_spawn_and_forkserver_and_runs_under_fork(
    start_method, kind
):
    """spawn and forkserver start a fresh interpreter and send it the target pickled, and pickle
    sends a function as its module and name: a lambda or a function defined inside a test has no
    name the child could import, so start() fails in the parent. fork copies the function itself."""
    ctx = machine.context(start_method)
    ran = ctx.SimpleQueue()

    def inner_function() -> None:
        ran.put('ran')

    target: Callable[[], None] = (lambda: ran.put('ran')) if kind == 'lambda' else inner_function
    name = target.__qualname__.rsplit('.', 1)[-1]  # '<lambda>' or 'inner_function'
    child = ctx.Process(target=target)
    try:
        child.start()
    except PICKLING_ERROR as error:
        assert PICKLES_TARGET[start_method], (
            f'expected {UNPICKLABLE[kind]} to run under fork, which pickles nothing, but start() '
            f'failed: {error}'
        )
        assert name in str(error), f'expected the pickling error to name {name}, it said: {error}'
    else:
        finish(child)
        assert not PICKLES_TARGET[start_method], (
            f'expected start() to fail with {PICKLING_ERROR.__name__} naming {name} under '
            f'{start_method}, but the child started: a {start_method} child receives its '
            f'target pickled, by module and name, and {UNPICKLABLE[kind]} has no name it could '
            f'import'
        )
        assert ran.get() == 'ran', f'{UNPICKLABLE[kind]} never ran in the forked child'
    ran.close()


PROCESSES = 2
# How long a process holding the lock gives the CPU away between its read and its write.
YIELD = 0.01


def test_shared_memory_is_one_value_that_the_parent_and_the_child_both_see(start_method, claim):
    """A ``multiprocessing.Array`` lives in memory mapped into both processes (inherited by fork,
    its handle passed to a spawned child): the child reads the parent's 41, adds one, and the
    parent reads the child's 42, where a plain list would have stayed the parent's own."""
    ctx = machine.context(start_method)
    counter = ctx.Array('i', [41])
    child = ctx.Process(target=units.add_one, args=(counter, counter.get_lock()))
    child.start()
    finish(child)
    claim.exact(
        Verdict(
            counter[0] == 42,
            measured=f'the parent read {counter[0]}',
            expected="42: the parent's 41 plus the child's 1",
            meaning='the child did not write to the same memory the parent reads',
        )
    )


def count_with_processes(guarded: bool, between: Callable[[], object]) -> int:
    """Run PROCESSES children that each add one to a shared counter, all starting together, with
    or without holding the counter's lock."""
    ctx = machine.context(None)
    counter = ctx.Array('i', [0])
    lock = counter.get_lock() if guarded else contextlib.nullcontext()
    door = ctx.Barrier(PROCESSES)
    run_together(
        [
            ctx.Process(target=units.add_one_together, args=(door, counter, lock, between))
            for _ in range(PROCESSES)
        ]
    )
    return int(counter[0])


def test_processes_lose_updates_to_shared_memory_without_its_lock(claim):
    """Each read and each write of a shared Array is atomic, but the three together are not: a
    barrier between read and write makes every process read 0 before any writes, as threads did."""
    everyone_has_read = machine.context(None).Barrier(PROCESSES)
    total = count_with_processes(
        guarded=False, between=functools.partial(everyone_has_read.wait, JOIN_TIMEOUT)
    )
    why = 'without the lock, each process read 0 before any wrote, and wrote back 0 + 1'
    lost = f'each process wrote back the 0 it read, so {PROCESSES - 1} updates should be lost'
    claim.exact(counter_at(total, 1, PROCESSES, why, lost))


def test_processes_lose_no_update_to_shared_memory_when_they_hold_its_lock(claim):
    """The Array's own lock is a semaphore of the operating system, shared like the memory: a
    process holding it may give the CPU away between read and write, yet no other can read."""
    total = count_with_processes(guarded=True, between=functools.partial(time.sleep, YIELD))
    why = 'under the lock, one process at a time between read and write'
    claim.exact(counter_at(total, PROCESSES, PROCESSES, why, 'the lock let two processes in'))
