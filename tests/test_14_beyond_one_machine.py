"""Beyond one machine: the prime checker on a Dask cluster.

The process model is the one that carries past a single machine. Dask's scheduler hands tasks to
worker processes over TCP, on this machine or on others, and ``Client.get_executor()`` makes that
a ``concurrent.futures`` executor like ``ProcessPoolExecutor``. Here the cluster runs on this
machine's loopback, one for the module (it takes a second to start): single-threaded workers, and
one worker with several threads. The last test starts a scheduler and a worker as commands, as on
the machines of a real cluster, and reaches them by the scheduler's address alone.
"""

from __future__ import annotations

import math
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

import pytest
from claims import NO_DASK, assert_reported_once_each, needs_cores

pytest.importorskip('distributed', reason=NO_DASK)
import dask
from distributed import Client

from concur import checkers, cluster, machine
from concur.__main__ import main
from concur.checkers import PrimeResult
from concur.primes import Number
from concur.testing import parallel
from concur.testing.evidence import Machine, Verdict
from concur.testing.tolerances import HOPS_RATIO
from concur.testing.workload import hard_numbers, ns
from concur.timeouts import CONNECT_TIMEOUT, DEMO_TIMEOUT, JOIN_TIMEOUT

# Not judged on a free-threaded build (the reason says why). Each test skips with its row, rather
# than the module at collection, which leaves none.
pytestmark = [
    pytest.mark.skipif(
        machine.free_threaded_build(),
        reason='the Dask claims are not judged on a free-threaded build '
        f'({machine.describe()}): there a Dask worker hung past the test timeout under '
        "pytest-xdist, and Dask's workers ran slower than their CPU time says",
    ),
    # Under pytest-xdist one worker runs the module: one cluster starts, none idles beside others.
    pytest.mark.xdist_group('dask cluster'),
]

SECTION = 'beyond one machine'
# Single-threaded workers in the module's cluster: one per usable core, at most 4. Each is a
# process that imports Dask (a few tenths of a second of CPU to start); 4 show the claims as well
# as 16 would.
WORKERS = min(machine.usable_cores(), 4)
THREADED = 'threads'  # the name of the one worker with WORKERS threads
# A resource the threaded worker has WORKERS of: a task that takes them all has the worker whole,
# so that such tasks run one by one in it, queued in the worker, with no round trip between them.
WHOLE = 'the whole worker'
# The claims' numbers take about this many seconds on one worker, 8 numbers of equal size: long
# against what a task costs on its way (a millisecond or two) and against the 10 ms ticks in which
# the kernel counts the workers' CPU time, short for a test.
CLUSTER_WORK_SECONDS = 0.3
# The tiny tasks timed to find what a task costs on its way: enough for a tenth of a second on
# the cluster.
TINY_TASKS = 100


@dataclass(frozen=True)
class Cluster:
    """The module's cluster, and how to reach each kind of worker in it."""

    client: Client
    address: str  # the scheduler's
    singles: list[str]  # the addresses of the workers of one thread each
    threaded: str  # the address of the worker with WORKERS threads


@pytest.fixture(scope='module')
def dask_cluster() -> Iterator[Cluster]:
    """The checker's own local cluster (``cluster.local_cluster``) and one more worker with
    WORKERS threads: one cluster serves the module, started and closed once. Its scheduler sends
    each task to a worker as soon as it comes (none queued at the scheduler), so that a worker
    goes from one check to the next without a round trip to the scheduler: in this process, which
    waits for a core while the workers keep every core busy."""
    unqueued = {'distributed.scheduler.worker-saturation': math.inf}
    with dask.config.set(unqueued), cluster.local_cluster(WORKERS) as client:
        # The local cluster's workers follow one spec: the threaded worker is that spec with
        # more threads, added under a name of its own, and started by asking for one more worker.
        local = client.cluster
        assert local is not None
        single = local.new_spec
        options = {**single['options'], 'nthreads': WORKERS, 'resources': {WHOLE: WORKERS}}
        threaded = {**single, 'options': options}
        local.worker_spec[THREADED] = threaded
        local.scale(WORKERS + 1)
        client.wait_for_workers(WORKERS + 1, timeout=CONNECT_TIMEOUT)
        names = {
            address: info['name'] for address, info in client.scheduler_info()['workers'].items()
        }
        # Each worker imports the checker's code with its first task: done here, not in a timing.
        client.gather([client.submit(cluster.check_on_worker, 2, workers=[a]) for a in names])
        yield Cluster(
            client,
            local.scheduler_address,
            singles=[address for address, name in names.items() if name != THREADED],
            threaded=next(address for address, name in names.items() if name == THREADED),
        )


@pytest.fixture(scope='module')
def work() -> tuple[Number, ...]:
    return hard_numbers(CLUSTER_WORK_SECONDS)


def address_of(result: PrimeResult) -> str:
    """The address of the worker that checked a number: the first word of its name."""
    return result.worker.split()[0]


# ---- every number once, in other processes -------------------------------------------------------


def test_a_dask_cluster_checks_every_number_once_in_worker_processes_not_this_one(
    dask_cluster, fast
):
    """Each number travels pickled over TCP to a worker process, a fresh interpreter that a nanny
    started, is checked there, and comes back: the verdicts of the sequential checker, from
    processes other than this one."""
    results = list(cluster.dask(ns(fast), scheduler=dask_cluster.address))
    assert_reported_once_each(results, fast)
    pids = dask_cluster.client.run(os.getpid)
    strangers = {address_of(r) for r in results} - set(pids)
    assert not strangers, (
        f'expected every number checked by a worker of the cluster {sorted(pids)}, but some were '
        f'checked by {sorted(strangers)}: the checker did not hand them to the cluster'
    )
    here = [r.n for r in results if pids[address_of(r)] == os.getpid()]
    assert not here, (
        f'expected every number checked in a worker process other than this one (pid '
        f'{os.getpid()}), but {len(here)} of {len(results)} were checked in this very process: '
        f'as when the workers are threads of the test process (LocalCluster(processes=False)), '
        f'sharing its GIL'
    )


# ---- k single-threaded workers, k times faster ---------------------------------------------------


def on_workers(
    dask_cluster: Cluster, workers: list[str], whole: bool = False
) -> Callable[[list[int], int], list[PrimeResult]]:
    """A checker on the cluster's workers at ``workers``: the numbers on the first k of them; with
    ``whole``, on the one threaded worker, where one unit is each task taking the worker whole."""

    def checker(numbers: list[int], k: int) -> list[PrimeResult]:
        alone = {'resources': {WHOLE: WORKERS}} if whole and k == 1 else {}
        executor = dask_cluster.client.get_executor(workers=workers[:k], pure=False, **alone)
        return list(cluster.check_with(executor, numbers))

    return checker


def cpu(dask_cluster: Cluster, workers: list[str]) -> Callable[[], float]:
    """The CPU seconds the worker processes at those addresses have used so far, each read by its
    own clock (to the microsecond, where psutil's reading from outside ticks in hundredths)."""
    return lambda: sum(dask_cluster.client.run(time.process_time, workers=workers).values())


def singles(dask_cluster: Cluster) -> parallel.Model:
    """Single-threaded workers, a process each: a model of units in parallel. The scheduler and
    the client, in this process, take a share of the cores while they hand out the tasks: the
    workers are held to a core each of those left."""
    workers = dask_cluster.singles
    return parallel.Model(
        'single-threaded Dask workers',
        on_workers(dask_cluster, workers),
        parallel.PARALLEL,
        parallel.PARALLEL,
        cpu=cpu(dask_cluster, workers),
    )


def threads_of_one(dask_cluster: Cluster) -> parallel.Model:
    """The threads of the one threaded worker, against that worker running one task at a time: a
    model of units that share one interpreter, as the ``threads`` checker's do."""
    threaded = [dask_cluster.threaded]
    return parallel.Model(
        'threads of one Dask worker',
        on_workers(dask_cluster, threaded, whole=True),
        parallel.TURNS,
        parallel.PARALLEL,
        cpu=cpu(dask_cluster, threaded),
    )


@pytest.mark.cpu
@pytest.mark.parametrize('k', [WORKERS], ids=[f'{WORKERS} workers'])
def test_k_single_threaded_workers_check_numbers_about_k_times_faster_on_k_free_cores(
    dask_cluster, work, claim, k
):
    """Each worker process has its own interpreter and its own GIL, as each process of a pool
    has: k of them keep k cores busy, on one machine or on k."""
    needs_cores(2)
    model = singles(dask_cluster)
    claim.judge(
        lambda: parallel.trial(model, ns(work), k),
        parallel.verdict(
            model.expect(),
            'the workers did not check at the same time, as if they were threads of one process '
            'sharing a GIL; or not every worker took a share',
        ),
        pictures=parallel.charts(SECTION),
    )


# ---- the GIL travels with the interpreter --------------------------------------------------------


@pytest.mark.cpu
@pytest.mark.parametrize('k', [WORKERS], ids=[f'{WORKERS} threads, {machine.build()}'])
def test_the_threads_of_a_dask_worker_check_numbers_one_at_a_time_only_under_the_gil(
    dask_cluster, work, claim, k
):
    """A Dask worker is one Python process: its threads share its GIL, as the threads of the
    ``threads`` checker do, so they need at least the time of their checks one after another
    (they save only the round trips between tasks). Where the worker's interpreter has no GIL (a
    free-threaded build), its threads check in parallel, like k workers."""
    needs_cores(2)
    model = threads_of_one(dask_cluster)
    claim.judge(
        lambda: parallel.trial(model, ns(work), k, control=singles(dask_cluster)),
        parallel.verdict(
            model.expect(),
            'the threads of one worker checked numbers at the same time, which the GIL does not '
            'allow; or not every thread took a share',
        ),
        pictures=parallel.charts(SECTION),
    )


# ---- a task costs more on a cluster --------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    """Seconds per tiny task: on the cluster, and in a local process pool, the best of two each."""

    cluster: float
    pool: float

    @property
    def ratio(self) -> float:
        return self.cluster / self.pool


def per_task(submit: Callable[[], Future[PrimeResult]]) -> float:
    """Seconds per task of TINY_TASKS submitted at once, from the first submit to the last
    result."""
    start = time.perf_counter()
    done, _ = wait([submit() for _ in range(TINY_TASKS)], timeout=DEMO_TIMEOUT)
    took = time.perf_counter() - start
    assert len(done) == TINY_TASKS, f'only {len(done)} of {TINY_TASKS} tiny tasks ended'
    return took / TINY_TASKS


def task_costs(dask_cluster: Cluster, workers: int) -> Cost:
    """Tiny tasks on the cluster and in a pool of as many processes, interleaved, the best of two
    each: fair if a core is lost for a while."""
    executor = dask_cluster.client.get_executor(workers=dask_cluster.singles, pure=False)
    costs = {'cluster': math.inf, 'pool': math.inf}
    # Spawned: this process runs Dask's threads, and forking a process that has threads may copy
    # a lock that one of them holds.
    with ProcessPoolExecutor(workers, mp_context=machine.context('spawn')) as pool:
        wait([pool.submit(checkers.check, 2) for _ in range(workers)])  # all started
        for _ in range(2):
            pooled = per_task(lambda: pool.submit(checkers.check, 2))
            clustered = per_task(lambda: executor.submit(checkers.check, 2))
            costs = {
                'pool': min(costs['pool'], pooled),
                'cluster': min(costs['cluster'], clustered),
            }
    executor.shutdown()
    return Cost(**costs)


def hops(cost: Cost, _: Machine) -> Verdict:
    return Verdict(
        cost.ratio >= HOPS_RATIO,
        f'a task cost {cost.cluster * 1e3:.2f} ms on the cluster, {cost.ratio:.1f}x its '
        f'{cost.pool * 1e3:.2f} ms in the pool: for the cluster to cost under a tenth of the '
        f'work, a task must work at least {10 * cost.cluster * 1e3:.0f} ms',
        f'at least {HOPS_RATIO}x: twice the hops of a pool, and the scheduler on top',
        f'a pool of {WORKERS} processes (ProcessPoolExecutor); {TINY_TASKS} tiny tasks each, '
        'the best of 2 runs',
        meaning='a task travelled through the cluster as cheaply as through a local pool, as if '
        'it never went through the scheduler',
    )


# What a task costs is its messages, sent and handled one after another: one free core shows it.
@pytest.mark.cpu(cores=1)
@pytest.mark.parametrize('k', [WORKERS], ids=[f'{WORKERS} workers'])
def test_a_task_costs_more_on_a_cluster_than_in_a_local_process_pool(dask_cluster, claim, k):
    """Scheduling, TCP and pickling at every hop: a task must carry more work on a cluster than in
    a pool before sending it pays, and what that is here is in the end report."""
    claim.judge(lambda: task_costs(dask_cluster, k), hops)


# ---- a real cluster, by its address --------------------------------------------------------------


class Command:
    """A ``dask`` command run as a process of its own, as on a machine of a real cluster. A thread
    reads its log line by line, so that a line can be awaited with a bound, and so that the
    command never blocks on a full pipe."""

    def __init__(self, *args: str) -> None:
        self.command = f'dask {args[0]}'
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'dask', *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, name=f'log of dask {args[0]}')
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.put(line)
        self._lines.put('')  # the end of the log

    def announced(self, label: str, within: float = DEMO_TIMEOUT, meaning: str = '') -> str:
        """The last word of the next line of the log that holds ``label``, within ``within``
        seconds (DEMO_TIMEOUT: a command, start-up included); ``meaning`` says what a failure
        means."""
        __tracebackhide__ = True
        deadline = time.monotonic() + within
        while True:
            try:
                line: str | None = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                pytest.fail(f'{self.command} wrote no {label!r} within {within:g} s{meaning}')
            if not line:
                pytest.fail(f'{self.command} ended before it wrote {label!r}{meaning}')
            if label in line:
                return line.split()[-1]

    def stop(self) -> None:
        """End the command: in order (Dask closes on SIGTERM), or, if it has not closed within
        JOIN_TIMEOUT, at once. How fast Dask closes is not the claim: in one CI run out of about
        twenty, a worker told to close by SIGTERM was still closing after 5 s."""
        self.process.terminate()
        try:
            self.process.wait(JOIN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(JOIN_TIMEOUT)
        self._reader.join(JOIN_TIMEOUT)
        assert self.process.stderr is not None
        self.process.stderr.close()


def test_the_same_checker_reaches_a_cluster_started_apart_by_its_scheduler_address_alone(
    fast, tmp_path, monkeypatch, capsys
):
    """A scheduler and a worker started as commands, as on the machines of a real cluster: the
    command line checks the numbers there given nothing but the scheduler's address, and it is
    the worker started apart that checks them."""
    file = str(tmp_path / 'scheduler.json')
    # Loopback only, the HTTP routes too (on a random port: 8787 may be taken).
    here = cluster.LOOPBACK
    loopback = ('--host', here, '--no-dashboard', '--dashboard-address', f'{here}:0')
    scheduler = Command('scheduler', *loopback, '--port', '0', '--scheduler-file', file)
    # Started at once, so that both import Dask together: it waits for the scheduler's file.
    worker = Command('worker', *loopback, '--scheduler-file', file, '--nthreads', '1', '--no-nanny')
    try:
        address = scheduler.announced('Scheduler at:')
        worker_address = worker.announced('Start worker at:')
        monkeypatch.setattr(checkers, 'NUMBERS', tuple(ns(fast)))
        assert main(['primes', 'dask', '--scheduler', address]) == 0
        lines = capsys.readouterr().out.splitlines()
        # The scheduler started apart notes each client that connects: the command line's.
        scheduler.announced(
            'Receive client connection',
            JOIN_TIMEOUT,
            f': the command line did not check the numbers on the cluster at {address}',
        )
        results = list(cluster.dask(ns(fast), scheduler=address))
    finally:
        try:
            worker.stop()
        finally:
            scheduler.stop()
    assert lines[0] == f'Checking {len(fast)} numbers on the Dask cluster at {address}:', lines
    shown = {int(line.split()[0].replace('_', '')): line.split()[1] == 'P' for line in lines[1:-1]}
    assert shown == dict(fast), '\n'.join(lines)
    assert_reported_once_each(results, fast)
    elsewhere = {address_of(r) for r in results} - {worker_address}
    assert not elsewhere, (
        f'expected every number checked by the worker started apart, at {worker_address}; '
        f'some were checked at {sorted(elsewhere)}'
    )
