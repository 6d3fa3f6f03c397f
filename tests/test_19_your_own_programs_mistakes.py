"""Mistakes that teach: the claims about the reader's programs, tried on programs that go wrong.

Each mistake a reader makes writing the chapter's scripts (``tests/programs/mistakes``) is put in
place of its right program (``tests/programs/right``) and the claim that sees it is run on them:
it must fail with a message that says what the program did and what the chapter expects. A
missing script skips, naming it; a hung one fails at its bound; a crashed one shows its stderr.
Last, the option's own rule: without it, the default run does not even collect those claims.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import cast

import psutil
import pytest
import test_19_your_own_programs as claims19

from concur import machine
from concur.primes import Number
from concur.testing import parallel, programs, records, scripts_option, workload
from concur.testing.claim import Claim

pytestmark = pytest.mark.selfcheck

PROGRAMS = Path(__file__).with_name('programs')
# A bound for the scripts made to hang here: the right programs take about a second.
SHORT_BOUND = 4.0


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the right programs, for a test to put a mistake in."""
    shutil.copytree(PROGRAMS / 'right', tmp_path / 'scripts')
    return tmp_path / 'scripts'


@pytest.fixture
def recorder(request: pytest.FixtureRequest) -> records.Recorder:
    """A recorder of its own: the verdicts of these runs are not this run's findings."""
    return records.Recorder([], request.node.nodeid)


@pytest.fixture
def claim(request: pytest.FixtureRequest, recorder: records.Recorder) -> Claim:
    """A claim of that recorder's, in the section of the claims about the reader's programs."""
    return Claim(recorder, claims19.SECTION, request.node.name, '', machine.usable_cores())


@pytest.fixture
def short_bound(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(programs, 'SCRIPT_TIMEOUT', SHORT_BOUND)
    return SHORT_BOUND


@pytest.fixture(scope='module')
def numbers() -> tuple[Number, ...]:
    """A few numbers, fast to check: these tests look at what the programs do, not how fast."""
    return tuple(sorted(workload.BOOK_QUICK + workload.hard_numbers(0.2, 4)))


def put(folder: Path, mistake: str, name: str) -> None:
    """Put the program of ``mistake`` in place of the right one called ``name``."""
    target = programs.find(folder, name)
    assert target is not None
    shutil.copy(PROGRAMS / 'mistakes' / f'{mistake}.py', target)


def failure(claim: Callable[[], None]) -> str:
    """The message of the claim's failure (the test fails if the claim does not)."""
    with pytest.raises(pytest.fail.Exception) as failed:
        claim()
    message = str(failed.value)
    print(message)  # shown with -s or -rP: the report of the issue quotes them
    return message


def left_running(folder: Path) -> list[int]:
    """Processes still running in ``folder`` (their working directory): what a killed script's
    tree would leave, orphans included."""
    left = []
    for proc in psutil.process_iter(['cwd', 'status']):
        cwd, status = proc.info['cwd'], proc.info['status']
        if cwd and Path(cwd).is_relative_to(folder) and status != psutil.STATUS_ZOMBIE:
            left.append(proc.pid)
    return left


def test_a_thread_spinner_that_never_checks_its_event_fails_as_a_hang(
    folder, recorder, short_bound
):
    """The supervisor sets the Event and joins the spinner, which never looks: it spins on."""
    put(folder, 'spinner_thread_never_checks_its_event', 'spinner_thread.py')
    message = failure(
        lambda: (
            claims19.test_your_spinner_shows_a_frame_every_tenth_of_a_second_while_its_work_sleeps(
                'thread', folder, recorder
            )
        )
    )
    assert f'spinner_thread.py was still running {short_bound:g} s after it started' in message
    assert 'spinner frames, the last' in message and 'checks its Event' in message
    assert not left_running(folder)


def test_a_coroutine_spinner_whose_supervisor_calls_time_sleep_fails_with_no_frame(
    folder, recorder
):
    """time.sleep in the supervisor blocks the event loop: the spinner task never runs."""
    put(folder, 'spinner_async_supervisor_calls_time_sleep', 'spinner_async.py')
    message = failure(
        lambda: (
            claims19.test_your_spinner_shows_a_frame_every_tenth_of_a_second_while_its_work_sleeps(
                'async', folder, recorder
            )
        )
    )
    assert 'spinner_async.py wrote no frame' in message and 'time.sleep' in message


def test_a_procs_py_with_fewer_poison_pills_than_workers_fails_as_a_hang(
    folder, claim, numbers, short_bound
):
    """A worker that gets no 0 waits for a job forever, and the main process for its marker."""
    put(folder, 'procs_fewer_pills_than_workers', 'procs.py')
    message = failure(
        lambda: claims19.test_your_process_checker_is_faster_than_your_sequential_py_on_free_cores(
            'procs.py', folder, numbers, claim
        )
    )
    assert 'procs.py 2 was still running' in message and 'its total line' in message
    assert f'after {len(numbers)} result lines' in message and 'poison pill' in message
    assert not left_running(folder), 'the worker that got no poison pill still runs'


def test_a_threads_py_that_joins_each_thread_before_the_next_fails_on_threads_at_once(
    folder, claim, numbers
):
    """Joined one by one, the threads never run at once: one worker at a time."""
    put(folder, 'threads_joined_one_by_one', 'threads.py')
    message = failure(
        lambda: claims19.test_your_threads_py_is_no_faster_than_your_sequential_py_under_the_gil(
            parallel.MODELS['threads'], folder, numbers, claim
        )
    )
    assert 'measured at most 1 worker threads alive at once' in message


def test_a_missing_script_skips_naming_the_file_looked_for(tmp_path, recorder):
    with pytest.raises(pytest.skip.Exception) as skipped:
        claims19.test_your_experiment_spinner_is_frozen_while_time_sleep_blocks_the_loop(
            tmp_path, recorder
        )
    assert f'no spinner_async_experiment.py under {tmp_path}' in str(skipped.value)


def test_a_hanging_script_fails_at_its_bound_saying_what_was_awaited(folder, recorder, short_bound):
    (folder / 'spinner_async_experiment.py').write_text(
        'import threading\nprint("waiting for nothing")\nthreading.Event().wait()\n'
    )
    message = failure(
        lambda: claims19.test_your_experiment_spinner_is_frozen_while_time_sleep_blocks_the_loop(
            folder, recorder
        )
    )
    assert f'still running {short_bound:g} s after it started' in message
    assert 'waiting for its answer line' in message and "'waiting for nothing'" in message
    assert not left_running(folder)


def test_a_crashing_script_fails_with_the_last_lines_of_its_stderr(folder, recorder):
    (folder / 'spinner_async_experiment.py').write_text('def slow():\n    return 1 / 0\n\nslow()\n')
    message = failure(
        lambda: claims19.test_your_experiment_spinner_is_frozen_while_time_sleep_blocks_the_loop(
            folder, recorder
        )
    )
    assert 'crashed (exit status 1)' in message and 'ZeroDivisionError' in message


def test_the_right_programs_pass_the_claims_one_run_decides(folder, recorder):
    """The claims that one run decides (``exact``) pass on the right programs."""
    claims19.test_your_broken_coroutine_spinner_shows_no_frame_until_is_prime_returns(
        folder, recorder
    )
    claims19.test_your_experiment_spinner_is_frozen_while_time_sleep_blocks_the_loop(
        folder, recorder
    )


def test_the_checkers_check_the_specs_numbers_in_place_of_their_own(folder, numbers):
    """The right programs' primes module has a PRIME_FIXTURE of its own: the run replaces it."""
    sequential = programs.find(folder, 'sequential.py')
    assert sequential is not None
    ran = programs.run(sequential, waiting_for='its total', expects='a total', numbers=numbers)
    assert ran.substituted
    assert ran.results() == [tuple(number) for number in numbers]


# ---- the option ----------------------------------------------------------------------------


class _Options:
    """A stand-in for pytest.Config in a hook that only reads one option."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def getoption(self, name: str) -> Path | None:
        assert name == scripts_option.OPTION
        return self.folder


@pytest.mark.parametrize('given', [False, True], ids=['without the option', 'with it'])
def test_the_claims_about_your_programs_are_collected_only_with_the_option(given, tmp_path):
    """Without --concur-scripts the default run is the chapter, unchanged: the claims file is not
    even collected; with it, that file is the whole run."""
    config = cast(pytest.Config, _Options(tmp_path if given else None))
    tests = Path(__file__).parent
    claims_file = tests / scripts_option.CLAIMS_FILE
    chapter_file = tests / 'test_04_spinners.py'
    assert claims_file.is_file() and chapter_file.is_file()
    ignored = {
        path.name: scripts_option.pytest_ignore_collect(path, config)
        for path in (claims_file, chapter_file, tests / 'claims.py')
    }
    assert ignored == {
        claims_file.name: None if given else True,
        chapter_file.name: True if given else None,
        'claims.py': None,
    }
