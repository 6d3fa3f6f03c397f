"""The guards every test runs under (concur/testing/guards.py), loaded by name in pytest runs
of their own: the leak guard, around a test and around a module, and the core locks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.selfcheck


# ---- the leak guard -----------------------------------------------------------------------------

# An inner run's units outlive its short grace, then end on their own well within the outer
# guard's: the inner guard must report them, and the outer run must find nothing left.
LEFT_FOR = 0.3
INNER_GRACE = 0.1


@pytest.fixture
def guarded(pytester):
    """A pytest run in a scratch folder under this suite's pytest.ini and its guards, loaded by
    name, with a short grace."""
    ini = (Path(__file__).parent.parent / 'pytest.ini').read_text(encoding='utf-8')
    guards = f'addopts = -p concur.testing.guards --concur-leak-grace={INNER_GRACE} '
    pytester.makeini(ini.replace('testpaths = tests\n', '').replace('addopts = ', guards))
    return pytester


@pytest.mark.parametrize(
    'body, left',
    [
        (
            f'threading.Thread(target=time.sleep, args=({LEFT_FOR},), name="left").start()',
            "['left']",
        ),
        (f'multiprocessing.Process(target=time.sleep, args=({LEFT_FOR},)).start()', 'processes ['),
    ],
    ids=['thread', 'process'],
)
def test_the_leak_guard_fails_a_test_that_leaves_a_unit_running(guarded, body, left):
    """Every unit a test starts must be gone when it ends: the guard fails the test that left one,
    and names what it left."""
    guarded.makepyfile(
        'import multiprocessing, threading, time\n\n'
        f'def test_leaves_a_unit():\n    {body}\n\n'
        'def test_cleans_up():\n    pass\n'
    )
    result = guarded.runpytest('-p', 'no:cacheprovider')
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([f'*the test left behind*{left}*'])


# ---- the core locks under pytest-xdist ------------------------------------------------------

# A test of the inner run, and the module fixture it shares, each ask whether their worker's core
# lock is held (by them: a lock file taken twice in one process is refused too).
CORE_PROBE = """
from pathlib import Path

import pytest
from filelock import FileLock, Timeout

from concur import machine


def core_held(config):
    worker = config.workerinput
    core = int(worker['workerid'].removeprefix('gw')) % machine.usable_cores()
    lock = FileLock(Path(worker['concur_core_locks']) / f'core-{core}.lock')
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


@pytest.fixture(scope='module')
def shared(request):
    assert core_held(request.config), 'set up with the core free'
    yield
    assert core_held(request.config), 'torn down with the core free'


@pytest.mark.parametrize('n', range(4))
def test_uses_the_shared_fixture(shared, n, request):
    assert core_held(request.config), 'ran with the core free'
"""


def test_under_xdist_a_modules_shared_fixtures_run_while_its_test_holds_its_core(guarded):
    """A fixture shared by a module (a prime sized by timing it, a Dask cluster) starts within
    the turn of the module's first test and closes within its last's, holding the cores they
    hold: so it never runs beside a test that holds every core."""
    guarded.makepyfile(test_probe=CORE_PROBE)
    result = guarded.runpytest_subprocess('-p', 'no:cacheprovider', '-n', '2')
    result.assert_outcomes(passed=4)


# Each test of the inner run writes down the folder of core locks its worker was given.
FOLDER_PROBE = """
from pathlib import Path

import pytest


@pytest.mark.parametrize('n', range(8))
def test_notes_its_workers_folder(n, request):
    worker = request.config.workerinput
    Path(f"folder-{worker['workerid']}.txt").write_text(worker['concur_core_locks'])
"""


def test_under_xdist_every_worker_locks_its_cores_in_one_shared_folder(guarded):
    """A lock keeps a core only from those who look in the same folder: the run makes one, hands
    it to every worker, and removes it at the end."""
    guarded.makepyfile(test_probe=FOLDER_PROBE)
    result = guarded.runpytest_subprocess('-p', 'no:cacheprovider', '-n', '2')
    result.assert_outcomes(passed=8)
    folders = {p.name: p.read_text() for p in guarded.path.glob('folder-*.txt')}
    assert len(folders) == 2 and len(set(folders.values())) == 1, (
        f'expected both workers to name one folder, got {folders}'
    )
    assert not Path(next(iter(folders.values()))).exists(), 'the folder outlived the run'


# ---- the order of the tests under pytest-xdist ---------------------------------------------------

# Each test of the inner run writes down its worker, its kind, and when it started and ended. The
# group's tests last a while, so that tests of the other worker would run beside them.
GROUP_PROBE = """
import time
from pathlib import Path

import pytest


def noted(kind, request, seconds=0.0):
    start = time.time()
    time.sleep(seconds)
    line = f"{request.config.workerinput['workerid']} {kind} {start} {time.time()}\\n"
    with Path('timeline.txt').open('a') as timeline:
        timeline.write(line)


@pytest.mark.xdist_group('shared')
@pytest.mark.parametrize('n', range(3))
def test_grouped(n, request):
    noted('grouped', request, 0.2)


@pytest.mark.parametrize('n', range(3))
def test_plain(n, request):
    noted('plain', request)


@pytest.mark.cpu(cores=1)
@pytest.mark.parametrize('n', range(3))
def test_measures(n, request):
    noted('measures', request)
"""


def test_under_xdist_a_group_runs_on_one_worker_and_no_test_that_measures_runs_beside_it(guarded):
    """The tests of a group (``xdist_group``: a module's Dask cluster) share what they set up, on
    one worker; and what they keep running takes cores, so until the group's last test has
    ended, the other workers run only tests that measure nothing."""
    guarded.makepyfile(test_probe=GROUP_PROBE)
    result = guarded.runpytest_subprocess('-p', 'no:cacheprovider', '-n', '2')
    result.assert_outcomes(passed=9)
    lines = (guarded.path / 'timeline.txt').read_text().splitlines()
    tests = [
        (worker, kind, float(start), float(end))
        for worker, kind, start, end in map(str.split, lines)
    ]
    workers = {worker for worker, kind, _, _ in tests if kind == 'grouped'}
    assert len(workers) == 1, f'expected the group on one worker, it ran on {sorted(workers)}'
    group_end = max(end for _, kind, _, end in tests if kind == 'grouped')
    beside = [t for t in tests if t[1] == 'measures' and t[0] not in workers and t[2] < group_end]
    assert not beside, (
        f'expected no test that measures on another worker while the group ran (until '
        f'{group_end}), found {beside}'
    )


# ---- the leak guard around the fixtures a module shares (the Dask cluster's) --------------------


@pytest.mark.parametrize('stops', [True, False], ids=['stopped', 'left running'])
def test_the_leak_guard_fails_a_module_whose_shared_fixture_leaves_a_unit_running(guarded, stops):
    """A fixture that a module's tests share starts its units before the first test and stops
    them after the last, where no test's own guard looks: the module's guard fails the last test
    at teardown if they are still running, and the tests themselves pass."""
    guarded.makepyfile(
        'import threading\n\nimport pytest\n\nstop = threading.Event()\n\n\n'
        "@pytest.fixture(scope='module')\n"
        'def shared():\n'
        f"    unit = threading.Thread(target=stop.wait, args=({LEFT_FOR},), name='shared')\n"
        '    unit.start()\n'
        '    yield\n'
        f'    if {stops}:\n'
        '        stop.set()\n'
        '        unit.join()\n\n\n'
        'def test_first(shared):\n    pass\n\n\n'
        'def test_last(shared):\n    pass\n'
    )
    result = guarded.runpytest('-p', 'no:cacheprovider')
    if stops:
        result.assert_outcomes(passed=2)
    else:
        result.assert_outcomes(passed=2, errors=1)
        result.stdout.fnmatch_lines(
            # the module's last test to run, whichever it is (pytest-randomly shuffles them)
            ['*ERROR at teardown of test_*', "*the module's shared fixtures left behind*"]
        )
        assert "threads ['shared']" in result.stdout.str()
