"""What releases the GIL: its real impact is smaller than "threads never run in parallel".

The GIL guards Python objects, so C code that works on plain memory can let go of it: hashlib while
it hashes a large buffer, zlib while it compresses, every blocking read while it waits. Threads
doing that run in parallel; threads running Python code take turns. ``asyncio.to_thread`` moves
work off the event loop, but not out from under the GIL; a process pool does both.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import NamedTuple, TypeVar

import pytest
from claims import apart, assert_ran_elsewhere, finish, needs_cores, switch_delay

from concur import clocked, gil_release, machine, offload, primes
from concur.clocked import Clocked
from concur.primes import is_prime
from concur.testing import measure, parallel
from concur.testing.evidence import Machine, Verdict
from concur.testing.parallel import PARALLEL, Together
from concur.testing.tolerances import HARDLY_ANY
from concur.testing.workload import SHARE_SECONDS
from concur.timeouts import JOIN_TIMEOUT

T = TypeVar('T')

SECTION = 'what releases the GIL'
K = machine.usable_cores()
THREADS = parallel.MODELS['threads']

# ---- C code that releases the GIL runs in parallel in threads ------------------------------------


class Work(NamedTuple):
    """A share of work for a thread: ``run(size)`` answers ``answer``."""

    name: str  # the library doing it, or is_prime
    run: Callable[[int], object]
    size: int  # rounds of the library's work, or the prime is_prime checks
    answer: object
    releases: bool  # it runs in C code that lets go of the GIL


def shares_in_threads(k: int, *works: Work) -> list[Together]:
    """Each work in k threads at once, between a share of each alone before and after the threads,
    interleaved: a core lost for a moment slows one run of each work, not a whole work. Threads
    that should run in parallel warm up first (see clocked.in_processes); under the GIL a warm-up
    would only take turns, as long again. Threads released together still start a little apart:
    that is hand-off, left out, but for threads under the GIL, whose late start is their wait
    for it, the very thing measured."""
    free = not machine.gil_enabled()
    first = [clocked.alone(w.run, w.size) for w in works]
    together = [
        clocked.in_threads(
            [(w.run, (own,)) for own in primes.copies(w.size, k)], warm_up=w.releases or free
        )
        for w in works
    ]
    second = [clocked.alone(w.run, w.size) for w in works]
    runs = []
    for w, calls, before, after in zip(works, together, first, second, strict=True):
        assert_ran_elsewhere(
            calls,
            'thread',
            exclude=threading.get_native_id(),
            answer=w.answer,
            meaning='each share runs in a thread of its own',
        )
        one = min(before.seconds, after.seconds)
        runs.append(
            parallel.from_calls(
                f'threads in {w.name}',
                calls,
                one,
                handed_out=w.releases or free,
                baseline=f'a share alone {one:.3f} s, the better of one before and one after',
            )
        )
    return runs


@pytest.fixture(scope='module', params=list(gil_release.WORK))
def c_work(request: pytest.FixtureRequest) -> Work:
    """A library's work in C, by name, its rounds for one share here as long as is_prime's."""
    name = request.param
    rounds = gil_release.calibrated_rounds(name, SHARE_SECONDS)
    return Work(name, gil_release.WORK[name], rounds, gil_release.WORK[name](rounds), True)


@pytest.mark.cpu
@pytest.mark.parametrize('k', [K], ids=[f'{K} threads'])
def test_threads_in_hashlib_or_zlib_run_in_parallel_but_under_the_gil_one_runs_python_at_a_time(
    c_work, share_prime, k, claim
):
    """hashlib and zlib let go of the GIL while their C loops run, so k threads hash on k cores at
    once; is_prime is Python bytecode, and with the GIL only one thread runs bytecode at a time.
    The threads in C are the control of the threads in Python: running k-fold faster in the same
    trial, they show that k cores were free for is_prime's threads to gain from."""
    needs_cores(2)
    python = Work('is_prime', is_prime, share_prime, True, False)

    def trial() -> Together:
        c, py = shares_in_threads(k, c_work, python)
        return replace(py, control=c)

    claim.judge(
        trial,
        parallel.with_control(
            THREADS.expect(),
            meaning=f'threads in C code that releases the GIL run in parallel; if {c_work.name} '
            'did not, it held the GIL (hashlib keeps it for 2 KiB or less at a time) or the work '
            'was Python code; if is_prime did, the GIL was off',
        ),
        pictures=parallel.charts(SECTION),
    )


# ---- a blocking read releases the GIL ------------------------------------------------------------

READERS = 4  # half of them on pipes, half on sockets


Channel = tuple[Callable[[], bytes], Callable[[], object]]  # read a byte, write one


@contextlib.contextmanager
def channels(count: int) -> Iterator[list[Channel]]:
    """``count`` channels on this machine, pipes and socket pairs in turn: each a function that
    reads a byte, and one that writes one."""
    with contextlib.ExitStack() as stack:
        ends: list[Channel] = []
        for i in range(count):
            if i % 2:
                reader, writer = socket.socketpair()
                stack.enter_context(reader)
                stack.enter_context(writer)
                ends.append(
                    (functools.partial(reader.recv, 1), functools.partial(writer.sendall, b'x'))
                )
            else:
                read_fd, write_fd = os.pipe()
                stack.callback(os.close, read_fd)
                stack.callback(os.close, write_fd)
                ends.append(
                    (
                        functools.partial(os.read, read_fd, 1),
                        functools.partial(os.write, write_fd, b'x'),
                    )
                )
        yield ends


class Reads(NamedTuple):
    wrote: float  # when the writer began to write, time.perf_counter()
    reads: list[Clocked]  # each blocking read, from its call to its return
    # the system call each reader, then the writer, waited in as ``meanwhile`` ended (Linux)
    waiting: list[int | None]


def read_after(count: int, meanwhile: Callable[[], T]) -> tuple[Reads, T]:
    """``count`` threads each block reading a channel; this thread runs ``meanwhile``, then lets a
    writer thread write to every channel."""
    ready = threading.Barrier(count + 1)
    go = threading.Event()
    reads: list[Clocked] = []
    wrote: list[float] = []

    def read(channel: Callable[[], bytes]) -> None:
        ready.wait(JOIN_TIMEOUT)
        reads.append(clocked.clocked(channel))

    def write(writes: list[Callable[[], object]]) -> None:
        go.wait(JOIN_TIMEOUT)  # on time-out it writes anyway, so that no reader is left waiting
        wrote.append(time.perf_counter())
        for one in writes:
            one()

    with channels(count) as ends:
        units = [
            threading.Thread(target=read, args=(r,), name=f'reader-{i}')
            for i, (r, _) in enumerate(ends)
        ]
        units.append(threading.Thread(target=write, args=([w for _, w in ends],), name='writer'))
        for unit in units:
            unit.start()
        try:
            ready.wait(JOIN_TIMEOUT)
            done = meanwhile()
            waiting = [measure.system_call(unit.native_id or -1) for unit in units]
        finally:
            go.set()
            for unit in units:
                finish(unit)
    return Reads(wrote[0], reads, waiting), done


class Blocked(NamedTuple):
    alone: tuple[float, float]  # seconds of the CPU-bound share alone, one before and one after
    handoff: float  # seconds from a write to the end of one read, one reader alone
    reads: Reads  # READERS reads
    busy: Clocked  # the share, run while they waited


def readers_beside(share_prime: int, readers: int) -> Blocked:
    """The share alone, one reader alone, ``readers`` readers blocked while this thread runs the
    share, and the share alone again."""
    first = clocked.clocked(is_prime, share_prime)
    one, _ = read_after(1, lambda: None)
    reads, busy = read_after(readers, functools.partial(clocked.clocked, is_prime, share_prime))
    second = clocked.clocked(is_prime, share_prime)
    assert busy.value is True and all(r.value == b'x' for r in reads.reads), (
        f'expected is_prime to answer True and each reader to read b"x", got '
        f'{busy.value} and {[r.value for r in reads.reads]}'
    )
    return Blocked((first.seconds, second.seconds), one.reads[0].end - one.wrote, reads, busy)


def readers_verdict(run: Blocked, _: Machine) -> Verdict:
    """Readers blocked beside a busy thread: they cost it only the moments of beginning their
    reads, and all wake soon after their data comes."""
    busy, reads, wrote = run.busy, run.reads.reads, run.reads.wrote
    # Each reader takes the GIL once, to begin its read, and not again until its data comes: at
    # most a switch interval of the busy thread's time each. Beyond that, the share may take as
    # long as the slower of its two runs alone, give or take how far those two differ, and the
    # CPU the readers used, which may have come out of its core.
    reader_cpu = sum(r.cpu for r in reads)
    spread = abs(run.alone[0] - run.alone[1])
    slowest = max(run.alone) + spread + reader_cpu + len(reads) * switch_delay()
    # A woken reader needs the GIL only for the microseconds of returning from its read; a
    # reader that polled instead would hold it for a switch interval at a time.
    latest = run.handoff + sys.getswitchinterval()
    woke = max(r.end for r in reads) - wrote
    # Evidence that they waited beside the share: every read began before it ended (a reader may
    # need the GIL from it first) and ended after the write, which came after it. If not, a
    # reader began too late (another program had the cores): the times show nothing, but the
    # CPU still does.
    waited = max(r.start for r in reads) <= busy.end and min(r.end for r in reads) >= wrote
    # A reader blocked in its read waits in the read's system call, one for the pipes and another
    # for the sockets; one that polled instead waits for the GIL, as the writer waits for its
    # event, or sleeps, pipes and sockets alike. Unread where Linux does not say (the writer's
    # call unknown).
    *calls, writer = run.reads.waiting
    pipes, sockets = set(calls[::2]), set(calls[1::2])
    in_reads = writer is None or (
        None not in pipes | sockets
        and len(pipes) == len(sockets) == 1
        and pipes != sockets
        and writer not in pipes | sockets
    )
    holds: bool | None
    if reader_cpu > HARDLY_ANY * busy.seconds:
        # A blocked reader uses no CPU but the microseconds of entering and leaving its read; one
        # that polled would use a core.
        holds = False
    elif not waited:
        holds = None
    elif not in_reads:
        holds = False
    elif woke > latest:
        holds = False
    elif busy.seconds <= slowest:
        holds = True
    else:
        # Without the GIL a reader can slow the busy thread only by running on its core, which
        # its CPU time counts: a share slower than the bound was slowed by something else, and
        # the run shows nothing.
        holds = False if machine.gil_enabled() else None
    return Verdict(
        holds=holds,
        measured=f'the busy share took {busy.seconds:.4f} s beside {len(reads)} readers '
        f'{"that waited through it" if waited else "not all reading yet"}; '
        f'the reads ended {1000 * woke:.2f} ms after the write, and used '
        f'{1000 * reader_cpu:.2f} ms of CPU; as it ended, the readers waited in system calls '
        f'{calls} (the writer in {writer})'
        + (
            '; with no GIL to hold, readers that used so little CPU could not have slowed '
            'it: the machine did'
            if waited and holds is None
            else ''
        ),
        expected=f"at most {slowest:.4f} s (the slower run alone and the two runs' spread, "
        f"+ the readers' CPU, + {switch_delay() * 1000:g} ms per reader: each takes the GIL "
        f'once to begin its read), the reads within '
        f'{1000 * latest:.2f} ms of the write (one hand-off + a switch interval), and the '
        f'readers under {1000 * HARDLY_ANY * busy.seconds:.1f} ms of CPU '
        f"({HARDLY_ANY} of the share), each waiting in its read as the share ended (the pipes' "
        "one system call, the sockets' another, neither the writer's)",
        compared_with=f'the share alone {run.alone[0]:.4f} s before and {run.alone[1]:.4f} s '
        f'after; one reader alone woke {1000 * run.handoff:.2f} ms after its write',
        meaning='a blocked read holds no GIL; readers that polled instead of blocking '
        'would take turns with the busy thread, slowing it and each other',
    )


@pytest.mark.cpu(cores=1)
@pytest.mark.parametrize('readers', [READERS], ids=[f'{READERS} readers, pipes and sockets'])
def test_threads_blocked_reading_a_pipe_or_socket_leave_the_gil_to_a_busy_thread_until_data_comes(
    share_prime, readers, claim
):
    """A thread that blocks in a read lets go of the GIL until its data comes, so it costs the
    busy thread only the moments it takes the GIL to begin its read: the busy thread's share
    takes no longer than alone, give or take how much two runs alone differ. When the data
    comes, every reader wakes at once."""
    claim.judge(lambda: readers_beside(share_prime, readers), readers_verdict)


# ---- to_thread frees the event loop, and the CPU only without the GIL ----------------------------

PAIR = 2  # the claim's two calls
# One call's work: longer than the other claims' shares, since each call crosses a pipe to a pool
# process and back, and a process that has idled starts slow.
CALL_SECONDS = 0.08


@pytest.fixture(scope='module')
def call_prime() -> int:
    return primes.calibrated_prime(CALL_SECONDS)


async def offloads(n: int, pool: ProcessPoolExecutor, method: str) -> tuple[Together, int]:
    """Two to_thread calls gathered, with two process-pool calls gathered as its control, each
    pair against one call by its own route, the better of one before and one after, in the same
    event loop, hand-off included; and how often the loop ticked while the to_thread calls ran.
    Calls are handed out one at a time, so the second starts a little after the first: that is
    hand-off, left out, but for threads under the GIL, whose second call waits for it."""
    routes = {'thread': offload.in_thread, 'process': offload.in_process(pool)}
    pair = [(is_prime, own) for own in primes.copies(n, PAIR)]
    # The pool's processes work once first, together: the OS spreads them over the cores.
    await offload.gathered(routes['process'], pair)
    first = {r: (await offload.gathered(to, [(is_prime, n)])).wall for r, to in routes.items()}
    threads = await offload.gathered(routes['thread'], pair)
    processes = await offload.gathered(routes['process'], pair)
    second = {r: (await offload.gathered(to, [(is_prime, n)])).wall for r, to in routes.items()}
    me = {'thread': threading.get_native_id(), 'process': os.getpid()}
    said = {
        'thread': "to_thread runs each call in a thread of the loop's executor; calls in the "
        "loop's own thread block it",
        'process': 'a process pool runs each call in a process of its own; calls in this '
        'process ran in threads, as a thread pool runs them',
    }
    run = {}
    for route, done in (('thread', threads), ('process', processes)):
        unit = 'thread' if route == 'thread' else 'pid'
        assert_ran_elsewhere(done.calls, unit, exclude=me[route], answer=True, meaning=said[route])
        one = min(first[route], second[route])
        run[route] = parallel.from_calls(
            'to_thread calls' if route == 'thread' else f'process-pool calls ({method})',
            done.calls,
            one,
            handed_out=route == 'process' or not machine.gil_enabled(),
            baseline=f'one call alone {one:.3f} s, the better of one before and one after',
        )
    return replace(run['thread'], control=run['process']), threads.ticks


def offload_verdict(expect: str) -> Callable[[tuple[Together, int], Machine], Verdict]:
    """The pair's verdict, with the figures the answers read; both to_thread calls in one thread
    show nothing: the loop's executor may give a call to a thread that has just gone idle."""
    paired = parallel.with_control(
        expect,
        meaning='to_thread frees the event loop, not the CPU: two to_thread calls running Python '
        'code in parallel means the GIL was off; two pool calls no faster than in a row means '
        'the pool ran them in one process, or in threads; calls one after another mean the loop '
        'ran them itself',
    )

    def judged(trial: tuple[Together, int], machine_: Machine) -> Verdict:
        run, ticks = trial
        said = paired(run, machine_)
        pool = run.control or run
        figures = {
            'threads_speedup': run.speedup,
            'threads_cores': run.cores,
            'processes_speedup': pool.speedup,
            'ticks': ticks,
            'loop_free': float(run.at_once and pool.at_once),
        }
        said = replace(
            said, measured=f'{said.measured}; the loop ticked {ticks} times', figures=figures
        )
        if not apart(run.calls, 'thread') and parallel.holds(pool, PARALLEL)[0] is not False:
            return replace(said, holds=None, unclear=f'both {run.name} ran in one thread')
        return said

    return judged


@pytest.mark.cpu
@pytest.mark.parametrize('pair', [PAIR], ids=[f'{PAIR} calls'])
def test_to_thread_frees_the_loop_but_the_cpu_only_without_the_gil_where_a_process_pool_frees_both(
    default_start_method, call_prime, pair, claim
):
    """asyncio.to_thread runs a call in another thread, so the loop goes on, but that thread needs
    the GIL for is_prime: two such calls take turns (without the GIL, on a free-threaded build,
    they run in parallel). A process pool runs each in its own process: two pool calls in the
    same trial, running about twice as fast, show that the cores were free for the to_thread
    calls to gain from."""
    needs_cores(pair)
    context = multiprocessing.get_context(default_start_method)
    with ProcessPoolExecutor(pair, mp_context=context) as pool:
        offload.start_processes(pool, pair)
        claim.judge(
            lambda: asyncio.run(offloads(call_prime, pool, default_start_method)),
            offload_verdict(THREADS.expect()),
            key='to_thread',
            pictures=lambda trial: parallel.charts(SECTION)(trial[0]),
        )
