"""The spec's pytest plugin: the guards every test runs under, and what a run tells its reader.

- Every test must leave no thread and no child process behind (``no_leaks``).
- Tests marked ``cpu`` measure CPU time or speed; under pytest-xdist they take turns, holding one
  lock file (``cpu_turn``), so that they never compete with each other for the cores.
- ``table.add(...)`` records what a test measured; the end of the run prints one table of it,
  also under pytest-xdist (the rows travel with the test reports).
- ``calibrated_prime`` is CPU-bound work sized for this machine, timed once per run (per worker).
"""

from __future__ import annotations

import math
import multiprocessing
import threading
from typing import Any

import psutil
import pytest
from filelock import FileLock

from concur import machine, primes
from concur.testing import measure, records, workload
from concur.timeouts import LEAK_GRACE

TABLE = 'concur'
COLUMNS = ('model', 'work', 'frames', 'wall s', 'cores', 'speedup', 'note')


def pytest_report_header(config: pytest.Config) -> str:
    return f'concur: {machine.describe()}'


@pytest.fixture(autouse=True)
def cpu_turn(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, worker_id: str
):
    """Under pytest-xdist, a test marked ``cpu`` runs holding a lock file that all the workers of
    the run share (in the run's own temporary folder), so CPU-measuring tests take turns.

    A lock rather than pytest-xdist's ``--dist loadgroup``: it holds whatever ``--dist`` the
    reader picks, and loadgroup has no effect with pytest 9.2 and pytest-xdist 3.8.
    """
    if worker_id == 'master' or request.node.get_closest_marker('cpu') is None:
        yield
        return
    with FileLock(tmp_path_factory.getbasetemp().parent / 'concur-cpu.lock'):
        yield


@pytest.fixture(autouse=True)
def no_leaks():
    """Fail a test that leaves a thread or a child process running; stop what it left."""
    threads_before = set(threading.enumerate())
    children_before = {p.pid for p in measure.children()}
    yield
    new_threads = [t for t in threading.enumerate() if t not in threads_before]
    for thread in new_threads:
        thread.join(LEAK_GRACE)
    left_threads = [t.name for t in new_threads if t.is_alive()]
    left_children = []
    # multiprocessing's own processes are joined through multiprocessing, which must do the
    # reaping to know they ended; psutil waits for the others (and reaps zombies).
    for proc in multiprocessing.active_children():
        if proc.pid not in children_before:
            proc.join(LEAK_GRACE)
            if proc.is_alive():
                left_children.append(proc.pid)
                proc.kill()
                proc.join(LEAK_GRACE)
    others = [p for p in measure.children() if p.pid not in children_before]
    _, alive = psutil.wait_procs(others, timeout=LEAK_GRACE)
    for proc in alive:
        left_children.append(proc.pid)
        proc.kill()
    psutil.wait_procs(alive, timeout=LEAK_GRACE)
    if left_threads or left_children:
        pytest.fail(
            f'the test left behind threads {left_threads} and child processes '
            f'{left_children}: every unit a test starts must be stopped and joined',
            pytrace=False,
        )


@pytest.fixture(params=multiprocessing.get_all_start_methods())
def start_method(request: pytest.FixtureRequest) -> str:
    """Each way this platform offers to start a child process (fork, spawn, forkserver)."""
    return request.param


class Table:
    """Rows of what a test measured, for the table at the end of the run."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request

    def add(self, model: str, work: str, **measured: Any) -> None:
        """Record one row: the model, the work, and named numbers (frames, wall s, cores, ...)."""
        item = self._request.node
        row = {
            'model': model,
            'work': work,
            'test': item.originalname,
            'order': item.session.items.index(item),
        }
        for key, value in measured.items():
            row[key.replace('_', ' ')] = value
        item.user_properties.append((TABLE, row))


@pytest.fixture
def table(request: pytest.FixtureRequest) -> Table:
    return Table(request)


@pytest.fixture
def report(request: pytest.FixtureRequest) -> records.Recorder:
    """Where a test records its verdicts, timelines and worker charts for the end report."""
    return records.Recorder(request.node.user_properties, request.node.nodeid)


# How long the CPU-bound work of a test takes: is_prime on a prime sized for this machine.
PRIME_SECONDS = 0.3


# The numbers of the checks that only need a right answer: quick ones from the book and a few
# that take about FAST_SECONDS in all.
FAST_SECONDS = 0.08


@pytest.fixture(scope='session')
def fast() -> tuple[primes.Number, ...]:
    """Numbers to check when only the verdicts matter: the book's quick ones (2, and those with
    a small factor) and a few harder ones sized for this machine."""
    return workload.BOOK_QUICK + workload.hard_numbers(FAST_SECONDS)


@pytest.fixture(scope='session')
def calibrated_prime() -> int:
    """A prime whose ``is_prime`` check takes about PRIME_SECONDS here, found by timing it now."""
    return primes.calibrated_prime(PRIME_SECONDS)


@pytest.fixture(scope='session')
def share_prime() -> int:
    """A prime whose ``is_prime`` check takes about ``workload.SHARE_SECONDS`` here: one worker's
    share in the claims about k workers at once, found by timing is_prime now."""
    return primes.calibrated_prime(workload.SHARE_SECONDS)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return '-' if math.isnan(value) else f'{value:.2f}'
    return '-' if value is None else str(value)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    rows = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, 'when', None) == 'call'
        for name, value in getattr(report, 'user_properties', ())
        if name == TABLE and 'kind' not in value  # records (records.py) share the key
    ]
    if not rows:
        return
    rows.sort(key=lambda row: row['order'])
    header = [*COLUMNS, 'test']
    lines = [[_cell(row.get(column)) for column in header] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines)]
    terminalreporter.section('what this machine showed')
    terminalreporter.write_line(machine.describe())
    for cells in [header, *lines]:
        terminalreporter.write_line('  '.join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
