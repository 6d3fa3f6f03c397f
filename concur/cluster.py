"""The prime checker on a Dask cluster: the process model carried past one machine.

Dask's ``distributed`` runs a scheduler and worker processes that talk over TCP, on one machine or
on many. ``Client.get_executor()`` is a ``concurrent.futures`` executor, so ``dask`` has the shape
of ``checkers.pool``: the numbers go out as tasks, the results come back as they finish. Only the
scheduler's address says where the cluster is.

A task travels pickled, by reference to its function's module: every worker needs ``concur`` (and
the same Python and ``distributed``) installed. Anyone who can reach a scheduler can run any code
on its workers: keep a cluster on a private network or behind TLS, never open to the internet.
This module is the only one of ``concur`` that imports ``distributed``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, as_completed
from contextlib import AbstractContextManager, contextmanager

from distributed import Client, LocalCluster, get_worker
from distributed.comm.addressing import parse_address, parse_host_port
from distributed.comm.core import connect

from concur import arguments, checkers
from concur.checkers import NUMBERS, PrimeResult, check, largest_first
from concur.timeouts import CONNECT_TIMEOUT

# The schemes that reach a scheduler on another machine by host and port; tls:// is the one to
# use outside a private network (see distributed.security.Security).
SCHEMES = ('tcp', 'tls')
# Where a local cluster listens: this machine's loopback, out of reach of any other machine.
LOOPBACK = '127.0.0.1'


class NoCluster(ConnectionError):
    """No Dask cluster to check the numbers on: no scheduler answered, or it had no worker."""


def dask(
    numbers: Iterable[int] = NUMBERS, workers: int | None = None, scheduler: str | None = None
) -> Iterator[PrimeResult]:
    """Check the numbers on the Dask cluster whose scheduler listens at ``scheduler`` (an address
    such as ``tcp://192.168.1.5:8786``), or, without one, on a cluster of ``workers``
    single-threaded worker processes (default: the usable cores) started on this machine's
    loopback and closed at the end. Raises ``NoCluster`` when the first result is asked for if
    the scheduler does not answer, or has no worker, within CONNECT_TIMEOUT."""
    numbers = checkers.valid_numbers(numbers)
    if scheduler is None:
        workers = checkers.worker_count(workers)
        return _on(lambda: local_cluster(workers), numbers)
    if workers is not None:
        raise ValueError(
            f'workers is for a local cluster, got {workers!r} with scheduler {scheduler!r}: '
            f'a running cluster has the workers it has'
        )
    address = scheduler_address('scheduler', scheduler)
    return _on(lambda: _connect(address), numbers)


def check_with(executor: Executor, numbers: Iterable[int]) -> Iterator[PrimeResult]:
    """Check the numbers as tasks of a Dask executor, yielding each result as it comes. If the
    reader stops early, the tasks not yet done are cancelled."""
    futures = [executor.submit(check_on_worker, n) for n in largest_first(numbers)]
    try:
        for future in as_completed(futures):
            yield future.result()
    except BaseException:
        executor.shutdown(wait=False)  # cancels the tasks not yet done
        raise
    executor.shutdown()


def check_on_worker(n: int) -> PrimeResult:
    """``check`` as a Dask task. The result names the worker as the cluster knows it, by
    its address (each worker process on each machine has its own), and, in a worker with several
    threads, the thread's id."""
    worker = get_worker()
    name = worker.address
    if worker.state.nthreads > 1:
        name += f' thread {threading.get_native_id()}'
    return check(n)._replace(worker=name)


def scheduler_address(name: str, value: object) -> str:
    """Return ``value`` if it reads as a scheduler's address, ``tcp://HOST:PORT`` (or tls://),
    else raise naming ``name``. Whether a scheduler answers there is only known by connecting."""
    address = arguments.text(name, value)
    scheme, location = parse_address(address)  # without a scheme, Dask's default: tcp
    try:
        _, port = parse_host_port(location)
    except ValueError as error:
        raise ValueError(
            f'{name} must be an address such as tcp://192.168.1.5:8786, got {address!r} ({error})'
        ) from None
    if scheme not in SCHEMES or not 0 < port < 2**16:
        raise ValueError(
            f'{name} must be an address such as tcp://192.168.1.5:8786 (scheme '
            f'{" or ".join(SCHEMES)}, a port from 1 to 65535), got {address!r}'
        )
    return address


def _on(
    cluster: Callable[[], AbstractContextManager[Client]], numbers: tuple[int, ...]
) -> Iterator[PrimeResult]:
    with cluster() as client:
        # pure=False: each number is a task of its own, as in a pool, even if it repeats (Dask
        # would otherwise compute equal calls once).
        yield from check_with(client.get_executor(pure=False), numbers)


@contextmanager
def local_cluster(workers: int) -> Iterator[Client]:
    """A client of a new cluster on this machine's loopback: a scheduler in this process and
    ``workers`` worker processes of one thread each (one GIL each), closed when the block ends."""
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host=LOOPBACK,
            dashboard_address=None,
            # No dashboard, but the scheduler still serves a few HTTP routes (health, metrics),
            # on port 8787 unless told otherwise: a random loopback port instead, so that clusters
            # started side by side (by parallel test runs) do not collide.
            scheduler_kwargs={'dashboard_address': f'{LOOPBACK}:0'},
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@contextmanager
def _connect(address: str) -> Iterator[Client]:
    # A scheduler must answer before a Client is made: a Client that fails to connect leaves its
    # event loop's thread running (distributed 2026.8), so the first try is a plain connection.
    try:
        asyncio.run(_shake_hands(address))
    # Refused, timed out, or something that is not a scheduler answering: its reply then reads
    # as garbage, and the error can be anything (a MemoryError for a length it cannot hold).
    except Exception as error:
        raise NoCluster(
            f'no Dask scheduler answered at {address}: {str(error) or type(error).__name__}'
        ) from error
    with Client(address, timeout=CONNECT_TIMEOUT) as client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except asyncio.TimeoutError:  # not yet the built-in TimeoutError on Python 3.10
            raise NoCluster(
                f'the Dask scheduler at {address} has no worker: none joined within '
                f'{CONNECT_TIMEOUT:g} s'
            ) from None
        yield client


async def _shake_hands(address: str) -> None:
    """Connect to ``address`` as Dask does, handshake included, then hang up."""
    comm = await connect(address, timeout=CONNECT_TIMEOUT)
    await comm.close()
