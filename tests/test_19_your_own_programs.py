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
    CORES_EXPLAIN_SPEEDUP,
    ONE_CORE_AT_MOST,
    PARALLEL_SHARE,
    TAKING_TURNS,
    cores_slowed_each_other,
    first_then,
    frames_timeline,
    frames_verdict,
    needs_cores,
    switch_delay,
)

from concur import machine
from concur.primes import Number, miller_rabin
from concur.testing import programs, workload
from concur.testing.evidence import ATTEMPTS, Machine, Verdict, exact, judge
from concur.testing.programs import ANSWER, Ran
from concur.testing.records import Recorder
from concur.timeouts import SCRIPT_TIMEOUT

SECTION = 'your programs'
INTERVAL = 0.1  # the book's spinners write a frame every 0.1 s
# A test runs at most 4 scripts per trial, ATTEMPTS trials: its bound lets each script reach its
# own bound first (concur/timeouts.py).
pytestmark = pytest.mark.timeout(ATTEMPTS * 4 * SCRIPT_TIMEOUT + 30)

# The checkers' numbers: the book's that trial division settles at once (2, and those with a
# small factor, 9_999_999_999_999_999 among them), and COUNT primes and products of two primes
# near the root, sized to take WORK_SECONDS in all here: long against starting a process, short
# enough to run a checker three times in a trial.
WORK_SECONDS = 1.5
COUNT = 8

# Workers that share the work: each child's CPU time is at least this share of an even split (the
# numbers go one at a time to whichever worker asks, so the split is uneven by a number or two).
SPREAD = 0.5

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
    return tuple(sorted(workload.BOOK_QUICK + workload.hard_numbers(WORK_SECONDS, COUNT)))


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


def frozen(ran: Ran, start: float, end: float, why: str, report: Recorder, claim: str) -> None:
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
            report=report,
            section=SECTION,
            claim=claim,
            variant=ran.name,
        )


def judge_spinner(
    report: Recorder,
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
    frozen(first, *span(first), why, report, claim)
    problem = answer_problem(first, answer) or units(first)
    exact(
        Verdict(
            not problem,
            measured=problem or f'{first.lines[-1].text!r} on a line of its own',
            expected='the answer, right, on a line the spinner left blank, from the units of '
            'its model',
            meaning="the program must end as the chapter's does",
        ),
        report=report,
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
        report=report,
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
    model, reader_scripts, report
):
    """L1. While the work sleeps nothing holds the spinner back: a frame every 0.1 s, then the
    answer on a line left blank; the process spinner does it from a child process."""
    spinner = SPINNERS[model]
    judge_spinner(
        report,
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
    reader_scripts, report
):
    """Question 1. The child process has its own interpreter and GIL: is_prime in the parent
    cannot hold it back."""
    judge_spinner(
        report,
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
    reader_scripts, report
):
    """Question 2. The spinner thread waits for the GIL after each interval; CPython makes the
    busy main thread hand it over one switch interval later: frames keep coming, a little late."""
    switch = 1000 * switch_delay()
    judge_spinner(
        report,
        programs.script(reader_scripts, 'spinner_prime_thread.py'),
        claim='your thread spinner still spins, lagging, while the main thread runs is_prime',
        answer=ANSWER,
        units=in_a_thread,
        why='a thread waiting for the GIL gets it one switch interval after asking',
        cores=2,
        delay=switch_delay(),
        lag=f' + up to the switch interval, {switch:g} ms ({machine.build()})',
    )


def judge_no_frame(report: Recorder, path: Path, *, claim: str, answer: re.Pattern[str]) -> None:
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
        report=report,
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
    reader_scripts, report
):
    """Question 3. is_prime called in a coroutine never awaits: the loop cannot run the spinner
    until it returns, and then the supervisor cancels a task that never started."""
    judge_no_frame(
        report,
        programs.script(reader_scripts, 'spinner_prime_async_broken.py'),
        claim='your coroutine spinner shows no frame until is_prime returns',
        answer=ANSWER,
    )


@pytest.mark.cpu(cores=1)
def test_your_napping_coroutine_spinner_spins_again(reader_scripts, report):
    """The fix: an is_prime that awaits asyncio.sleep(0) every so many divisions lets the loop run
    the spinner there; a frame may wait for the chunk that runs when it falls due, so the claim
    is the spinning, at half the rate at least, not the full rate."""
    judge_spinner(
        report,
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
def test_your_experiment_spinner_is_frozen_while_time_sleep_blocks_the_loop(reader_scripts, report):
    """L3. time.sleep in a coroutine blocks the thread, and so the event loop: no frame."""
    judge_no_frame(
        report,
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


def check_results(ran: Ran, expected: dict[int, bool], report: Recorder) -> None:
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
        report=report,
        section=SECTION,
        claim='your checker checks every number once, with the right verdict',
        variant=ran.name,
    )


def check_units(ran: Ran, unit: str, count: int, report: Recorder) -> None:
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
        report=report,
        section=SECTION,
        claim=f'your checker runs {count} {unit} at once',
        variant=ran.name,
    )


class Versus(NamedTuple):
    """A checker run between two runs of sequential.py: the faster of those is its baseline."""

    run: Ran
    before: Ran
    after: Ran
    starting: Ran | None  # the checker with a number per unit checked at once: starting its units

    @property
    def baseline(self) -> Ran:
        return min(self.before, self.after, key=lambda r: _total(r))

    @property
    def speedup(self) -> float:
        """How many times faster than sequential.py the checker checked the numbers, the time
        to start and end its units left out, as the book's 20 numbers in tens of seconds hide it."""
        return _total(self.baseline) / self.checking

    @property
    def checking(self) -> float:
        """The checker's total, less that of its run with numbers checked at once."""
        idle = _total(self.starting) if self.starting else 0.0
        return max(_total(self.run) - idle, 1e-9)

    @property
    def cores(self) -> float:
        """The checker's cores while it checked: its CPU time over the time its total counts
        (which leaves out the interpreter's start), less those of its run with no number."""
        idle = self.starting.cpu if self.starting else 0.0
        return max(0.0, self.run.cpu - idle) / self.checking


def _total(ran: Ran) -> float:
    total = ran.total()
    return ran.wall if total is None else total


def race(
    sequential: Path,
    checker: Path,
    workers: int,
    numbers: tuple[Number, ...],
    expects: str,
    time_start: bool,
) -> Versus:
    """sequential.py, the checker with ``workers``, sequential.py again; with ``time_start``, the
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
    starting = None
    if time_start and checked.substituted:
        quick = workload.BOOK_QUICK
        starting = run(checker, str(workers), given=(quick * workers)[:workers])
    return Versus(checked, before, after, starting)


def first_checked(
    versus: Versus, numbers: tuple[Number, ...], unit: str, workers: int, report: Recorder
) -> None:
    """The exact claims, on the first trial: every number once, right, and the workers at once."""
    __tracebackhide__ = True
    expected = expected_numbers(versus.before, numbers)
    check_results(versus.before, expected, report)
    check_results(versus.run, expected, report)
    check_units(versus.run, unit, workers, report)


def compared(v: Versus) -> str:
    return (
        f'{v.baseline.name} {_total(v.before):.2f} s before it and {_total(v.after):.2f} s after, '
        'the faster of the two'
    )


@pytest.mark.cpu
def test_your_threads_py_is_no_faster_than_your_sequential_py_under_the_gil(
    reader_scripts, numbers, report
):
    """Under the GIL only one thread runs Python code at a time: N threads take turns at the
    work sequential.py does alone. On a free-threaded build without the GIL they run in parallel,
    and the claim turns round: threads.py is about N times faster on N free cores."""
    needs_cores(2)
    workers = machine.usable_cores()
    gil = machine.gil_enabled()
    trial = partial(
        race,
        programs.script(reader_scripts, 'sequential.py'),
        programs.script(reader_scripts, 'threads.py'),
        workers,
        numbers,
        PILLS,
        time_start=False,
    )
    first = trial()
    first_checked(first, numbers, 'threads', workers, report)
    least = PARALLEL_SHARE * workers

    def verdict(v: Versus, _: Machine) -> Verdict:
        holds: bool | None
        if gil:
            one_core = v.cores <= ONE_CORE_AT_MOST
            faster = v.speedup > 1 / TAKING_TURNS
            # Threads that kept to one core yet beat sequential.py did more work per CPU-second
            # than it did: the run shows nothing.
            holds = None if faster and one_core else one_core and not faster
            expected = f'at most {1 / TAKING_TURNS:.2f}x, on {ONE_CORE_AT_MOST:g} core at most'
            meaning = 'with the GIL threads take turns, so they cannot beat one thread'
        else:
            slowed = cores_slowed_each_other(v.speedup, v.cores, workers)
            holds = None if slowed else v.speedup >= least
            expected = f'at least {least:.2f}x: {PARALLEL_SHARE} x {workers} cores'
            meaning = 'without the GIL, threads run Python code in parallel, as processes do'
        return Verdict(
            holds,
            measured=f'{v.run.name}: {v.speedup:.2f}x the speed of sequential.py '
            f'({_total(v.run):.2f} s), {v.cores:.2f} cores used',
            expected=f'{expected} ({machine.build()})',
            compared_with=compared(v),
            meaning=meaning,
        )

    judge(
        first_then(first, trial),
        verdict,
        report=report,
        section=SECTION,
        claim='your threads.py is no faster than your sequential.py'
        if gil
        else 'your threads.py runs in parallel without the GIL',
        variant=f'{workers} threads',
        cores=workers,
        pass_needs_quiet=gil,
    )


@pytest.mark.cpu
@pytest.mark.parametrize('checker', ['procs.py', 'proc_pool.py'])
def test_your_process_checker_is_faster_than_your_sequential_py_on_free_cores(
    checker, reader_scripts, numbers, report
):
    """Each process has its own interpreter and GIL: N processes on N free cores check the
    numbers about N times faster (less the time to start them, part of the script's total)."""
    needs_cores(2)
    workers = machine.usable_cores()
    trial = partial(
        race,
        programs.script(reader_scripts, 'sequential.py'),
        programs.script(reader_scripts, checker),
        workers,
        numbers,
        PILLS,
        time_start=True,
    )
    first = trial()
    first_checked(first, numbers, 'processes', workers, report)
    least = PARALLEL_SHARE * workers

    def verdict(v: Versus, _: Machine) -> Verdict:
        holds: bool | None = v.speedup >= least
        shares = sorted(v.run.children_cpu.values(), reverse=True)[:workers]
        spread = len(shares) == workers and min(shares) >= SPREAD * sum(shares) / workers
        # A speedup beyond the cores used means the baseline was slowed; fewer cores than the
        # claim needs, with the work spread over the workers, mean the machine did not give them
        # (the control, right after, can miss a burst on the host): either run shows nothing.
        if (
            v.speedup > CORES_EXPLAIN_SPEEDUP * v.cores
            or cores_slowed_each_other(v.speedup, v.cores, workers)
            or (spread and v.cores < least)
        ):
            holds = None
        return Verdict(
            holds,
            measured=f'{v.run.name}: {v.speedup:.2f}x the speed of sequential.py '
            f'({v.checking:.2f} s), {v.cores:.2f} cores used, its busiest {workers} children '
            f'{", ".join(f"{t:.2f}" for t in shares)} s of CPU',
            expected=f'at least {least:.2f}x ({PARALLEL_SHARE} x {workers} cores), no more than '
            'the cores used',
            compared_with=compared(v)
            + (
                f'; {_total(v.starting):.2f} s of starting and ending them left out (timed '
                'with one number per worker checked at once)'
                if v.starting
                else ''
            ),
            meaning='the work was not spread over the cores, as if it ran in one process',
        )

    judge(
        first_then(first, trial),
        verdict,
        report=report,
        section=SECTION,
        claim=f'your {checker} is faster than your sequential.py on free cores',
        variant=f'{workers} processes',
        cores=workers,
    )
