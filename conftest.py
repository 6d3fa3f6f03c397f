"""The spec's pytest plugin: the guards every test runs under, and what a run tells its reader.

- Every test must leave no thread and no child process behind, and tests marked ``cpu`` take
  turns at the cores under pytest-xdist (``concur/testing/guards.py``).
- A test states its claim through the ``claim`` fixture (``concur/testing/claim.py``), which
  records its verdict's row; ``recorder.add(...)`` records a spinner's timeline or a worker chart;
  the end of the run shows them, a section per part of the chapter (``concur/testing/plugin.py``).
- ``calibrated_prime`` is CPU-bound work sized for this machine by one timing of ``is_prime`` per
  run: under pytest-xdist the controller's, taken before its workers start, handed to each.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

from concur import machine, primes
from concur.testing import workload

# The end report (what the tests recorded, in the terminal and in pytest-html's report), the
# answers to the notes and the reader's predictions that end it, a row there for every test of the
# chapter that only asserts; the claim and recorder fixtures a test states its claim with; the
# option that judges a reader's own scripts (--concur-scripts=DIR); the guards every test runs
# under (no unit left behind, the core locks under pytest-xdist); and pytester, which runs small
# pytest sessions inside a test: how the suite's own guards are tested.
pytest_plugins = [
    'concur.testing.answers',
    'concur.testing.plugin',
    'concur.testing.every_verdict',
    'concur.testing.claim',
    'concur.testing.scripts_option',
    'concur.testing.guards',
    'pytester',
]


def pytest_report_header(config: pytest.Config) -> list[str]:
    seconds = primes.seconds_to_check(primes.BOOK_PRIME)
    return [
        f'concur: {machine.describe()}',
        f"concur: is_prime takes about {seconds:.2f} s on the notes' prime "
        f'{primes.BOOK_PRIME} here (a smaller prime timed, then scaled)',
    ]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:  # xdist's WorkerController: no types
    node.workerinput['concur_timed_prime'] = primes.timed_prime()


def pytest_configure(config: pytest.Config) -> None:
    worker = getattr(config, 'workerinput', None)
    if worker is not None:  # a pytest-xdist worker: the controller timed is_prime
        primes.use_timing(*worker['concur_timed_prime'])


@pytest.fixture(params=multiprocessing.get_all_start_methods())
def start_method(request: pytest.FixtureRequest) -> str:
    """Each way this platform offers to start a child process (fork, spawn, forkserver)."""
    method: str = request.param
    return method


@pytest.fixture
def default_start_method() -> str:
    """The way this platform starts a child process unless told otherwise. A claim about speed
    runs under it alone: a start method changes how a child starts (a cost each such claim times
    apart and leaves out), not how fast it runs once started, and the claims about what a child
    does run under every start method."""
    return multiprocessing.get_start_method()


# How long the CPU-bound work of a test takes: is_prime on a prime sized for this machine.
PRIME_SECONDS = 0.2


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
def work() -> tuple[primes.Number, ...]:
    """The numbers of a trial of k units at once, half primes, sized for this machine."""
    return workload.hard_numbers(workload.WORK_SECONDS, workload.WORK_COUNT)


@pytest.fixture(scope='session')
def share_prime() -> int:
    """A prime whose ``is_prime`` check takes about ``workload.SHARE_SECONDS`` here: one worker's
    share in the claims about k workers at once, found by timing is_prime now."""
    return primes.calibrated_prime(workload.SHARE_SECONDS)
