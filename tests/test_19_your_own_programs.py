"""Your programs: the chapter's claims that show from outside, judged on the scripts you wrote.

Run with ``pytest --concur-scripts=DIR`` (otherwise this file is not collected). Each script is
found under DIR by the book's file name and run as you run it, ``python NAME.py`` in its folder;
the spec reads the spinner frames it writes and when, its answer or result lines, and its CPU use
and units from outside (psutil). Checkers get a smaller list of numbers than the book's, sized for
this machine, in place of their ``primes`` module's ``PRIME_FIXTURE`` (``concur.testing.programs``).
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pytest
from claims import (
    first_then,
    frames_timeline,
    frames_verdict,
    needs_cores,
    switch_delay,
)

from concur import machine
from concur.primes import Number, miller_rabin
from concur.testing import parallel, programs, workload
from concur.testing.claim import Claim
from concur.testing.evidence import ATTEMPTS, Machine, Verdict, exact, judge
from concur.testing.programs import ANSWER, Ran
from concur.testing.records import Recorder
from concur.timeouts import SCRIPT_TIMEOUT

SECTION = 'your programs'
INTERVAL = 0.1  # the book's spinners write a frame every 0.1 s
# A test runs at most 5 scripts per trial, ATTEMPTS trials: its bound lets each script reach its
# own bound first (concur/timeouts.py).
pytestmark = pytest.mark.timeout(ATTEMPTS * 5 * SCRIPT_TIMEOUT + 30)

# The checkers' numbers: the book's that trial division settles at once (2, and those with a
# small factor, 9_999_999_999_999_999 among them), and COUNT primes and products of two primes
# near the root, sized to take SCRIPTS_WORK_SECONDS in all here: long against starting a
# process, short enough to run sequential.py and a checker twice each in a trial.
SCRIPTS_WORK_SECONDS = 1.5
COUNT = 8

STOPS = (
    'a spinner that checks its Event at each frame (done.wait(.1)) and returns once the '
    'supervisor sets it; the supervisor then joins it and prints its answer'
)
CANCELS = (
    'a supervisor that awaits its work (asyncio.sleep, not time.sleep), then cancels the spinner '
    'task, which ends at its next await'
)
PILLS = (
    'one 0 (a poison pill) on the job queue per worker, so that every worker ends and puts its '
    'own end marker, and the main process, counting them, prints its total'
)


@pytest.fixture(scope='module')
def numbers() -> tuple[Number, ...]:
    return tuple(sorted(workload.BOOK_QUICK + workload.hard_numbers(SCRIPTS_WORK_SECONDS, COUNT)))


# ---- the spinners: frames and answers ---------------------------------------------------------


def span(ran: Ran, from_first_frame: bool = False) -> tuple[float, float]:
    """When the script's work ran: from its first line (the book's supervisor prints the spinner
    object, then starts the work) or its first frame, to its answer, the last line."""
    start = ran.lines[0].time if len(ran.lines) > 1 else ran.start
    if from_first_frame and ran.frames:
        start = max(start, ran.frames[0].time)
    return start, ran.lines[-1].time if ran.lines else ran.end


def answer_problem(ran: Ran, answer: re.Pattern[str]) -> str:
    """What is wrong with the script's last line, the answer, or '' when nothing is."""
    last = ran.lines[-1] if ran.lines else None
    if last is None or not answer.search(last.text):
        return f'its last line was {last and last.text!r}, not the answer'
    found = ANSWER.search(last.text)
    if found and miller_rabin(int(found[1].replace(',', '').replace('_', ''))) != (not found[2]):
        return f'its answer {last.text!r} is wrong'
    shown = ran.frames[-1].text.lstrip('\r').rstrip() if ran.frames else ''
    if shown and shown in last.text:
        return (
            f'its answer line shows {last.text!r}: the spinner left its last frame, {shown!r}, '
            "on the line (the chapter's spinner blanks it when it stops)"
        )
    return ''


def frozen(ran: Ran, start: float, end: float, why: str, recorder: Recorder, claim: str) -> None:
    """Fail at once, exactly, a spinner that wrote no frame while the work ran: no machine load
    stops a waiting spinner for many of its intervals together, so no trial could show better."""
    __tracebackhide__ = True
    if end - start >= 3 * INTERVAL and not [f for f in ran.frames if start <= f.time <= end]:
        exact(
            Verdict(
                False,
                measured=f'{ran.name} wrote no frame in the {end - start:.2f} s its work ran',
                expected=f'a frame every {1000 * INTERVAL:g} ms',
                meaning=why,
            ),
            recorder=recorder,
            section=SECTION,
            claim=claim,
            variant=ran.name,
        )


def judge_spinner(
    recorder: Recorder,
    path: Path,
    *,
    claim: str,
    answer: re.Pattern[str],
    units: Callable[[Ran], str],
    why: str,
    cores: float,
    delay: float = 0.0,
    lag: str = '',
    from_first_frame: bool = False,
    expects: str = STOPS,
) -> None:
    """Judge "a frame every interval (+ ``delay``, for ``lag``) while the work runs" on runs of
    the script; on its first run, exactly, its answer (right, on a line left blank) and ``units``
    (a problem with the threads and processes it ran, or '')."""
    __tracebackhide__ = True
    trial = partial(programs.run, path, waiting_for='its answer line, the last', expects=expects)
    first = trial()
    frozen(first, *span(first), why, recorder, claim)
    problem = answer_problem(first, answer) or units(first)
    exact(
        Verdict(
            not problem,
            measured=problem or f'{first.lines[-1].text!r} on a line of its own',
            expected='the answer, right, on a line the spinner left blank, from the units of '
            'its model',
            meaning="the program must end as the chapter's does",
        ),
        recorder=recorder,
        section=SECTION,
        claim=f'{claim}: its answer and its units',
        variant=path.name,
    )

    def verdict(ran: Ran, _: Machine) -> Verdict:
        said = frames_verdict(ran.frames, *span(ran, from_first_frame), INTERVAL, delay, lag)
        return replace(said, meaning=f'{said.meaning}; {why}')

    judge(
        first_then(first, trial),
        verdict,
        recorder=recorder,
        section=SECTION,
        claim=claim,
        variant=path.name,
        cores=cores,
        pictures=lambda r: [
            frames_timeline(
                SECTION,
                f'{r.name}: {claim}',
                r.frames,
                *span(r),
                INTERVAL,
                f'a frame every {1000 * (INTERVAL + delay):.0f} ms',
            )
        ],
    )


ANSWER_42 = re.compile(r'\b42\b')


def in_a_thread(ran: Ran) -> str:
    if ran.most_threads < 2 or ran.most_children:
        return (
            f'it ran {ran.most_threads} threads and {ran.most_children} child processes at '
            'once, where a thread spinner runs in a second thread of the one process'
        )
    return ''


def in_a_process(ran: Ran) -> str:
    if not ran.most_children:
        return 'it started no child process, where a process spinner runs in one'
    return ''


def in_a_task(ran: Ran) -> str:
    if ran.most_children:
        return (
            f'it started {ran.most_children} child processes, where a coroutine spinner needs none'
        )
    return ''


class Spinner(NamedTuple):
    file: str
    units: Callable[[Ran], str]
    why: str
    from_first_frame: bool = False  # a child process takes a while to start: not the claim
    expects: str = STOPS


SPINNERS = {
    'thread': Spinner(
        'spinner_thread.py',
        in_a_thread,
        'a thread spinner waits on its Event for an interval, writes, and waits again, while the '
        'main thread sleeps',
    ),
    'process': Spinner(
        'spinner_proc.py',
        in_a_process,
        'a process spinner waits on its Event for an interval, writes, and waits again',
        from_first_frame=True,
    ),
    'async': Spinner(
        'spinner_async.py',
        in_a_task,
        'a coroutine spinner gets the event loop only while the supervisor awaits: a blocking '
        'call where the chapter awaits asyncio.sleep (time.sleep in the supervisor or in slow()) '
        'freezes the loop, and the spinner with it',
        expects=CANCELS,
    ),
}


@pytest.mark.cpu(cores=1)
@pytest.mark.parametrize('model', list(SPINNERS))
def test_your_spinner_shows_a_frame_every_tenth_of_a_second_while_its_work_sleeps(
    model, reader_scripts, recorder
):
    """While the work sleeps nothing holds the spinner back: a frame every 0.1 s, then the
    answer on a line left blank; the process spinner does it from a child process."""
    spinner = SPINNERS[model]
    judge_spinner(
        recorder,
        programs.script(reader_scripts, spinner.file),
        claim=f'your {model} spinner shows a frame every 0.1 s while its work sleeps',
        answer=ANSWER_42,
        units=spinner.units,
        why=spinner.why,
        cores=1,
        from_first_frame=spinner.from_first_frame,
        expects=spinner.expects,
    )


# ---- the notes' three questions, on your spinner_prime_* scripts ------------------------------


@pytest.mark.cpu
def test_your_process_spinner_keeps_full_rate_while_the_parent_runs_is_prime(
    reader_scripts, recorder
):
    """Question 1. The child process has its own interpreter and GIL: is_prime in the parent
    cannot hold it back."""
    judge_spinner(
        recorder,
        programs.script(reader_scripts, 'spinner_prime_proc.py'),
        claim='your process spinner keeps its full rate while the parent runs is_prime',
        answer=ANSWER,
        units=in_a_process,
        why='the spinner runs in a process of its own, with a GIL of its own',
        cores=2,
        from_first_frame=True,
    )


@pytest.mark.cpu
def test_your_thread_spinner_still_spins_lagging_while_the_main_thread_runs_is_prime(
    reader_scripts, recorder
):
    """Question 2. The spinner thread waits for the GIL after each interval; CPython makes the
    busy main thread hand it over one switch interval later: frames keep coming, a little late."""
    switch = 1000 * switch_delay()
    judge_spinner(
        recorder,
        programs.script(reader_scripts, 'spinner_prime_thread.py'),
        claim='your thread spinner still spins, lagging, while the main thread runs is_prime',
        answer=ANSWER,
        units=in_a_thread,
        why='a thread waiting for the GIL gets it one switch interval after asking',
        cores=2,
        delay=switch_delay(),
        lag=f' + up to the switch interval, {switch:g} ms ({machine.build()})',
    )


def judge_no_frame(recorder: Recorder, path: Path, *, claim: str, answer: re.Pattern[str]) -> None:
    """Judge "no frame until the work ends": one run is the evidence (``exact``)."""
    __tracebackhide__ = True
    ran = programs.run(path, waiting_for='its answer line, the last', expects=CANCELS)
    start, end = span(ran)
    shown = [f for f in ran.frames if start <= f.time < end]
    if end - start < 3 * INTERVAL:
        pytest.skip(
            f'{ran.name} answered {end - start:.2f} s after its first line: too soon for a free '
            f'spinner to have shown 3 frames, so no frame shows nothing'
        )
    problem = answer_problem(ran, answer)
    exact(
        Verdict(
            not shown and not problem,
            measured=f'{len(shown)} frames in the {end - start:.2f} s before its answer'
            + (f'; {problem}' if problem else ''),
            expected=f'no frame (a free event loop would have shown {(end - start) / INTERVAL:.0f})'
            ', then the answer',
            meaning='a coroutine that never awaits keeps the event loop until it returns, so the '
            'spinner task never runs'
            if shown
            else 'the program did not answer right',
        ),
        recorder=recorder,
        section=SECTION,
        claim=claim,
        variant=path.name,
        pictures=[
            frames_timeline(
                SECTION, f'{ran.name}: {claim}', ran.frames, start, end, INTERVAL, 'no frame'
            )
        ],
    )


@pytest.mark.cpu(cores=1)
def test_your_broken_coroutine_spinner_shows_no_frame_until_is_prime_returns(
    reader_scripts, recorder
):
    """Question 3. is_prime called in a coroutine never awaits: the loop cannot run the spinner
    until it returns, and then the supervisor cancels a task that never started."""
    judge_no_frame(
        recorder,
        programs.script(reader_scripts, 'spinner_prime_async_broken.py'),
        claim='your coroutine spinner shows no frame until is_prime returns',
        answer=ANSWER,
    )


@pytest.mark.cpu(cores=1)
def test_your_napping_coroutine_spinner_spins_again(reader_scripts, recorder):
    """The fix: an is_prime that awaits asyncio.sleep(0) every so many divisions lets the loop run
    the spinner there; a frame may wait for the chunk that runs when it falls due, so the claim
    is the spinning, at half the rate at least, not the full rate."""
    judge_spinner(
        recorder,
        programs.script(reader_scripts, 'spinner_prime_async_nap.py'),
        claim='your coroutine spinner spins again when is_prime naps',
        answer=ANSWER,
        units=in_a_task,
        why='is_prime must await (asyncio.sleep(0)) often, for the loop to run the spinner',
        cores=1,
        expects=CANCELS,
        delay=INTERVAL,
        lag=' + up to an interval, waiting for a chunk of is_prime between naps',
    )


# ---- the experiment ------------------------------------------------------------------------------


@pytest.mark.cpu(cores=1)
def test_your_experiment_spinner_is_frozen_while_time_sleep_blocks_the_loop(
    reader_scripts, recorder
):
    """time.sleep in a coroutine blocks the thread, and so the event loop: no frame."""
    judge_no_frame(
        recorder,
        programs.script(reader_scripts, 'spinner_async_experiment.py'),
        claim='your experiment shows no frame while time.sleep blocks the loop',
        answer=ANSWER_42,
    )


# ---- the prime checkers ------------------------------------------------------------------------


def expected_numbers(sequential: Ran, numbers: tuple[Number, ...]) -> dict[int, bool]:
    """The numbers the checkers were to check, each with its verdict: the spec's, if they replaced
    the PRIME_FIXTURE of the scripts' primes module; otherwise those sequential.py checked, each
    verdict by Miller-Rabin."""
    if sequential.substituted:
        return dict(numbers)
    return {n: miller_rabin(n) for n, _ in sequential.results()}


def check_results(ran: Ran, expected: dict[int, bool], recorder: Recorder) -> None:
    """Each number checked once, with the right verdict: one run is the evidence."""
    __tracebackhide__ = True
    times = collections.Counter(n for n, _ in ran.results())
    missing = [n for n in expected if not times[n]]
    twice = [n for n, count in times.items() if count > 1]
    strangers = [n for n in times if n not in expected]
    wrong = [n for n, prime in ran.results() if n in expected and prime != expected[n]]
    total = ran.total()
    problems = [
        f'{what} {found}'
        for what, found in (
            ('missing', missing),
            ('printed more than once', twice),
            ('never asked for', strangers),
            ('wrong verdict for', wrong),
        )
        if found
    ] + ([] if total is not None else ['no total time as its last line'])
    exact(
        Verdict(
            not problems,
            measured=f'{len(ran.results())} result lines'
            + (f': {"; ".join(problems)}' if problems else ''),
            expected=f'each of the {len(expected)} numbers once, with its verdict, then the total',
            meaning='a checker must report every number it was given, once, and right',
        ),
        recorder=recorder,
        section=SECTION,
        claim='your checker checks every number once, with the right verdict',
        variant=ran.name,
    )


def check_units(ran: Ran, unit: str, count: int, recorder: Recorder) -> None:
    """The checker ran ``count`` workers at once: threads of its process, or child processes."""
    __tracebackhide__ = True
    seen = ran.most_threads - 1 if unit == 'threads' else ran.most_children
    exact(
        Verdict(
            seen >= count,
            measured=f'at most {seen} worker {unit} alive at once ({ran.samples} readings, '
            f'{ran.wall:.2f} s)',
            expected=f'{count} worker {unit} alive at once',
            meaning=f'the workers ran one after another: start all {count}, and only then wait '
            'for their results',
        ),
        recorder=recorder,
        section=SECTION,
        claim=f'your checker runs {count} {unit} at once',
        variant=ran.name,
    )


class Versus(NamedTuple):
    """A checker run twice, each after a run of sequential.py: the faster of each pair is kept,
    as the host's speed drifts by tens of percent within a tenth of a second."""

    run: Ran
    again: Ran
    before: Ran
    after: Ran
    starting: Ran | None  # the checker with a number per unit checked at once: starting its units


def _total(ran: Ran) -> float:
    total = ran.total()
    return ran.wall if total is None else total


def together(v: Versus, unit: str, workers: int) -> parallel.Together:
    """The checker's run as a trial of its workers against sequential.py, the faster of its two
    runs. Both totals count from the scripts' own start; the checker's run with one quick number
    per unit, checked at once (where there is one), times the starting and ending of its units,
    and is left out of its total and CPU time, as the book's 20 numbers in tens of seconds hide
    it."""
    baseline = min(v.before, v.after, key=_total)
    run = min(v.run, v.again, key=_total)
    idle = (_total(v.starting), v.starting.cpu) if v.starting else (0.0, 0.0)
    whole = _total(run) - idle[0]
    seen = run.most_threads - 1 if unit == 'threads' else run.most_children
    left_out = f'; {idle[0]:.2f} s of starting and ending them left out' if v.starting else ''
    return parallel.Together(
        f'{unit} of {run.name}',
        workers,
        _total(baseline),
        whole,
        0.0,
        max(0.0, run.cpu - idle[1]) / whole,
        seen >= workers,
        f'{baseline.name} {_total(v.before):.2f} s and {_total(v.after):.2f} s, run in turn with '
        f'it ({_total(v.run):.2f} s and {_total(v.again):.2f} s), the faster of each kept'
        f'{left_out}',
    )


def race(
    sequential: Path,
    checker: Path,
    workers: int,
    numbers: tuple[Number, ...],
    expects: str,
    time_start: bool,
) -> Versus:
    """sequential.py, the checker with ``workers``, and both again; with ``time_start``, the
    checker also with one number per worker that is checked at once, where its primes module's
    list could be replaced (then its start-up is timed apart, and left out of its speedup). Not
    an empty list: a pool starts its processes only when given work."""

    def run(path: Path, *args: str, given: tuple[Number, ...] = numbers) -> Ran:
        return programs.run(
            path,
            *args,
            waiting_for=f'its total line, after checking {len(given)} numbers',
            expects=expects,
            numbers=given,
        )

    before = run(sequential)
    checked = run(checker, str(workers))
    after = run(sequential)
    again = run(checker, str(workers))
    starting = None
    if time_start and checked.substituted:
        quick = workload.BOOK_QUICK
        starting = run(checker, str(workers), given=(quick * workers)[:workers])
    return Versus(checked, again, before, after, starting)


def first_checked(
    versus: Versus, numbers: tuple[Number, ...], unit: str, workers: int, recorder: Recorder
) -> None:
    """The exact claims, on the first trial: every number once, right, and the workers at once."""
    __tracebackhide__ = True
    expected = expected_numbers(versus.before, numbers)
    check_results(versus.before, expected, recorder)
    check_results(versus.run, expected, recorder)
    check_units(versus.run, unit, workers, recorder)


def judge_race(
    claim: Claim,
    reader_scripts: Path,
    checker: str,
    unit: str,
    numbers: tuple[Number, ...],
    verdict: Callable[[parallel.Together, Machine], Verdict],
) -> None:
    """Judge the reader's ``checker`` script against their sequential.py, its workers ``unit``
    ('threads' or 'processes'), one per usable core: its results first, then its speed. A
    process checker's total counts its interpreter's start, which it must pay back."""
    needs_cores(2)
    workers = machine.usable_cores()
    trial = partial(
        race,
        programs.script(reader_scripts, 'sequential.py'),
        programs.script(reader_scripts, checker),
        workers,
        numbers,
        PILLS,
        time_start=unit == 'processes',
    )
    first = trial()
    first_checked(first, numbers, unit, workers, claim.recorder)
    again = first_then(first, trial)
    claim.judge(lambda: together(again(), unit, workers), verdict)


@pytest.mark.cpu
@pytest.mark.parametrize('model', parallel.models('threads'))
def test_your_threads_py_is_no_faster_than_your_sequential_py_under_the_gil(
    model, reader_scripts, numbers, claim
):
    """Under the GIL only one thread runs Python code at a time: N threads take turns at the
    work sequential.py does alone. On a free-threaded build without the GIL they run in parallel,
    and the claim turns round: threads.py is about N times faster on N free cores."""
    judge_race(
        claim, reader_scripts, 'threads.py', 'threads', numbers, parallel.verdict(model.expect())
    )


@pytest.mark.cpu
@pytest.mark.parametrize('checker', ['procs.py', 'proc_pool.py'])
def test_your_process_checker_is_faster_than_your_sequential_py_on_free_cores(
    checker, reader_scripts, numbers, claim
):
    """Each process has its own interpreter and GIL: N processes on N free cores check the
    numbers about N times faster (less the time to start them, part of the script's total)."""
    judge_race(
        claim,
        reader_scripts,
        checker,
        'processes',
        numbers,
        parallel.verdict(
            parallel.MODELS['processes'].expect(),
            'the work was not spread over the cores, as if it ran in one process',
        ),
    )
