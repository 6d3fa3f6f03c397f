"""The guards every test of the spec runs under: a pytest plugin, listed in the project's
conftest.py and loaded by name (``-p concur.testing.guards``) where the suite tests it.

- Every test must leave no thread and no child process behind (``no_leaks``); so must the
  fixtures a module's tests share, when they end (``no_leaks_from_module_fixtures``). The guard
  waits ``--concur-leak-grace`` seconds (``concur.timeouts.LEAK_GRACE``) for what is left.
- Tests marked ``cpu`` measure CPU time or speed; under pytest-xdist they take turns, holding a
  lock file per core they need (``pytest_runtest_protocol``), so that they never compete with
  each other for the cores.
- Under pytest-xdist's default ``load`` mode (and ``loadgroup``), the tests marked
  ``xdist_group`` with one name run on one worker, and while they do, the other workers run no
  test marked ``cpu`` (``concur/testing/scheduling.py``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import shutil
import tempfile
import threading
import weakref
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from filelock import FileLock, Timeout

from concur import machine
from concur.testing import evidence, measure
from concur.timeouts import LEAK_GRACE


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup('concur').addoption(
        '--concur-leak-grace',
        type=float,
        default=LEAK_GRACE,
        metavar='SECONDS',
        help='how long the leak guard waits for a unit a test left behind (default: '
        f'{LEAK_GRACE:g})',
    )


# Under pytest-xdist, the run's shared folder (its core locks, what its workers collected, the
# start of the evidence's control): made by the controller when it starts its first worker,
# handed to each worker in its workerinput, removed at the end of the run.
CORE_LOCKS = pytest.StashKey[Path]()
# How often a test waiting for a lock tries it again (seconds): every LOCK_POLL at first, then
# twice as long after each try, up to LOCK_POLL_LONGEST. A hand-over costs half the interval; each
# try costs CPU, which a worker waiting through a test that needs every core takes from its claim.
LOCK_POLL = 0.005
LOCK_POLL_LONGEST = 0.05


def pytest_configure(config: pytest.Config) -> None:
    worker = getattr(config, 'workerinput', None)
    if worker is not None:  # the workers start the evidence's control once for the run
        evidence.SHARED_START[:] = [Path(worker['concur_core_locks']) / 'control.json']


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:  # xdist's WorkerController: no types
    config: pytest.Config = node.config
    if CORE_LOCKS not in config.stash:
        folder = Path(tempfile.mkdtemp(prefix='concur-cores-'))
        config.stash[CORE_LOCKS] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    node.workerinput['concur_core_locks'] = str(config.stash[CORE_LOCKS])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    worker = getattr(config, 'workerinput', None)
    if worker is not None:
        from concur.testing import scheduling

        scheduling.write_collected(Path(worker['concur_core_locks']), worker['workerid'], items)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """pytest-xdist's ``load`` mode, with the tests of a group sent to one worker together, and
    no test that measures sent to another worker while they run."""
    if config.getoption('dist') not in ('load', 'loadgroup'):
        return None
    from concur.testing import scheduling

    return scheduling.GroupsApart(config, log, config.stash[CORE_LOCKS])


def needs_every_core(item: pytest.Item) -> bool:
    """True for a test marked plain ``cpu``, or ``cpu(cores=N)`` with N the usable cores or more."""
    marker = item.get_closest_marker('cpu')
    usable = machine.usable_cores()
    return marker is not None and marker.kwargs.get('cores', usable) >= usable


# Under pytest-xdist, the core locks that a worker's test needing every core left held for the
# next, which needs every core too.
HELD = pytest.StashKey[contextlib.ExitStack]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """Under pytest-xdist, a test holds the cores it needs from its setup to its teardown, so that
    a verdict that depends on time or free cores is never measured while the suite itself takes
    those cores: neither its tests nor the fixtures they share (a prime sized by timing it, a Dask
    cluster starting or closing), which are set up and torn down within a test's turn.

    Each usable core is a lock file, and each xdist worker is given one of them (worker i, core i
    modulo the cores). A test holds its worker's core: tests run side by side, one per core. A
    test marked plain ``cpu`` needs every core (a claim about parallelism, or one that a busy
    neighbour would disturb): it holds them all, so it runs alone; one marked ``cpu(cores=1)``
    needs only its own. Cores are always taken in the same order, so no two tests wait on each
    other in a circle, and a test that needs every core is let in before those that come after
    it (the gate). When the next test of the same worker needs every core too, the cores stay
    held for it: a core let go would take a one-core test of another worker, and while that test
    ran, the other cores would wait idle for it. Locks hold whatever ``--dist`` the reader picks;
    the default's scheduler (``scheduling.py``) sends such tests to a worker one after another.
    """
    worker = getattr(item.config, 'workerinput', None)
    if worker is None:  # not an xdist worker: nothing runs beside this test
        return (yield)
    every = needs_every_core(item)
    usable = machine.usable_cores()
    taken = list(range(usable)) if every else [int(worker['workerid'].removeprefix('gw')) % usable]
    folder = Path(worker['concur_core_locks'])

    def lock(name: str) -> contextlib.AbstractContextManager[object]:
        file_lock = FileLock(folder / f'{name}.lock')
        poll = LOCK_POLL
        while True:
            try:
                return file_lock.acquire(timeout=poll, poll_interval=poll)
            except Timeout:
                poll = min(2 * poll, LOCK_POLL_LONGEST)

    held = item.config.stash.get(HELD, None) or contextlib.ExitStack()
    try:
        if HELD not in item.config.stash:
            # A test that needs every core keeps the gate until it has them all: tests that
            # come after it wait, so that one-core tests, each taking its core again the moment
            # the one before let it go, cannot keep it waiting while the cores it holds stay idle.
            with lock('gate'):
                if every:
                    for core in taken:
                        held.enter_context(lock(f'core-{core}'))
            if not every:
                held.enter_context(lock(f'core-{taken[0]}'))
        return (yield)
    finally:
        if every and nextitem is not None and needs_every_core(nextitem):
            item.config.stash[HELD] = held
        else:
            if HELD in item.config.stash:
                del item.config.stash[HELD]
            held.close()


@pytest.fixture(autouse=True)
def no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a thread or a child process running; stop what it left."""
    with _nothing_left_by('the test', request.config.getoption('concur_leak_grace')):
        yield


# ---- the leak guard around a module: units that its tests share ---------------------------------
# A fixture shared by a module's tests (a Dask cluster: a second to start) starts its units before
# the module's first test and stops them after its last, so the guard of each test counts them as
# there before it. This guard holds the module's fixtures to the same rule: whatever they started
# is gone when they end, or the module's last test errors at teardown. Autouse, so it is set up
# before any other fixture of the module and torn down after them.


@pytest.fixture(scope='module', autouse=True)
def no_leaks_from_module_fixtures(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a module whose shared fixtures leave a thread or a child process running."""
    grace = request.config.getoption('concur_leak_grace')
    with _nothing_left_by("the module's shared fixtures", grace):
        yield


# Threads a library starts once, when first needed, and keeps for the life of the program, as
# multiprocessing keeps its resource tracker: not the units of the test that happened to start
# them. Dask's scheduler hands work to a pool of one 'Dask-Offload' thread (distributed.utils).
PROGRAM_THREADS = ('Dask-Offload',)
# Threads a guard has reported already: a thread cannot be stopped from outside, so one that a
# test left may still run when the module ends, and the test failed for it once already.
REPORTED: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


@contextlib.contextmanager
def _nothing_left_by(who: str, grace: float) -> Iterator[None]:
    """Fail unless every thread and child process started in the block is gone at its end;
    stop what was left."""
    threads_before = set(threading.enumerate())
    children_before = {p.pid for p in measure.children()}
    yield
    new_threads = [
        t
        for t in threading.enumerate()
        if t not in threads_before and t not in REPORTED and not t.name.startswith(PROGRAM_THREADS)
    ]
    for thread in new_threads:
        thread.join(grace)
    left_threads = [t for t in new_threads if t.is_alive()]
    REPORTED.update(left_threads)
    left_children = []
    # multiprocessing's own processes are joined through multiprocessing, which must do the
    # reaping to know they ended; psutil waits for the others (and reaps zombies).
    for proc in multiprocessing.active_children():
        if proc.pid not in children_before:
            proc.join(grace)
            if proc.is_alive():
                left_children.append(proc.pid)
                proc.kill()
                proc.join(grace)
    others = [p for p in measure.children() if p.pid not in children_before]
    _, alive = psutil.wait_procs(others, timeout=grace)
    for child in alive:
        left_children.append(child.pid)
        child.kill()
    psutil.wait_procs(alive, timeout=grace)
    if left_threads or left_children:
        pytest.fail(
            f'{who} left behind threads {[t.name for t in left_threads]} and child processes '
            f'{left_children}: every unit a test or a fixture starts must be stopped and joined',
            pytrace=False,
        )
