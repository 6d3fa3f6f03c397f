"""Beyond the book: free-threaded CPython, an event loop per thread, subinterpreters.

CPython 3.13t and 3.14t can run without the GIL. The spec detects such a build and, where the GIL is
really off, expects threads to run CPU-bound work in parallel; the claims about the GIL say so in
their output. Which build this run is on is the first line of the run. On such a build one switch
(-X gil=1) puts the GIL back, which makes the chapter's claim an experiment; and since 3.14 Python
code can make subinterpreters, each with its own GIL. A claim that needs a newer Python or a
free-threaded build skips elsewhere, naming what it needs and what it ran on.
"""

from __future__ import annotations

import sys
import sysconfig
from typing import NamedTuple

import pytest
from claims import (
    ONE_CORE_AT_MOST,
    PARALLEL_SHARE,
    PARTLY_AT_ONCE,
    checks_span,
    needs_cores,
    runs_in_parallel,
    worker_chart,
)

from concur import gil_switch, loops, machine, subinterpreters
from concur.checkers import PrimeResult
from concur.primes import Number
from concur.testing import measure, units
from concur.testing.evidence import Machine, Verdict, exact, judge
from concur.testing.workload import hard_numbers, ns
from concur.timeouts import JOIN_TIMEOUT

SECTION = 'beyond the book'


@pytest.mark.parametrize(
    'config_var, gil_on, build',
    [
        (None, None, 'with the GIL'),  # 3.10 to 3.12: neither exists
        (0, True, 'with the GIL'),
        (1, False, 'free-threaded, GIL disabled'),
        (
            1,
            True,
            'free-threaded, GIL enabled again',
        ),  # PYTHON_GIL=1, or an extension that needs it
    ],
    ids=['3.10 to 3.12', 'GIL build', 'free-threaded', 'free-threaded with the GIL back on'],
)
def test_the_spec_tells_a_free_threaded_build_from_one_with_the_gil(
    monkeypatch, config_var, gil_on, build
):
    """Py_GIL_DISABLED says the build can run without the GIL; sys._is_gil_enabled() says whether
    it does now. Only both together mean that threads run Python code in parallel."""
    monkeypatch.setattr(
        sysconfig, 'get_config_var', lambda name: config_var if name == 'Py_GIL_DISABLED' else None
    )
    if gil_on is None:
        monkeypatch.delattr(sys, '_is_gil_enabled', raising=False)
    else:
        monkeypatch.setattr(sys, '_is_gil_enabled', lambda: gil_on, raising=False)
    assert machine.build() == build
    assert machine.gil_enabled() is (gil_on is not False)


def test_this_run_reports_the_build_it_runs_on(pytestconfig):
    """The header of the run names the build, so a reader knows which claims to expect."""
    header = pytestconfig.hook.pytest_report_header(
        config=pytestconfig, start_path=pytestconfig.rootpath
    )
    assert any(
        machine.build() in line
        for lines in header
        for line in ([lines] if isinstance(lines, str) else lines)
    ), header


# ---- V1: one build, the GIL switched on and off ------------------------------------------------

SECTION = 'beyond the book'
WORK_SECONDS = 0.2  # one thread checks the numbers in about this long: tenths of a second
COUNT = 8  # numbers to check, half primes: 2 and 4 threads get equal shares
# At most this many times one thread's speed, for units that take turns (at least 0.9 of its
# time: handing the GIL over only adds time, and a run wobbles by a few percent).
TURNS_AT_MOST = 1 / 0.9


@pytest.fixture(scope='module')
def work() -> tuple[Number, ...]:
    return hard_numbers(WORK_SECONDS, COUNT)


def needs_free_threaded_build() -> None:
    if not machine.free_threaded_build():
        pytest.skip(
            'needs a free-threaded build (CPython 3.13t or later), the only one that can switch '
            f'the GIL off and on; this is {machine.describe()}'
        )


def takes_turns(speedup: float, cores: float) -> bool:
    """Units that take turns: no faster than one, on one core."""
    return speedup <= TURNS_AT_MOST and cores <= ONE_CORE_AT_MOST


def gil_words(gil: bool) -> str:
    return 'with the GIL' if gil else 'without the GIL'


@pytest.mark.cpu
def test_the_same_threads_take_turns_with_the_gil_switched_on_and_run_in_parallel_with_it_off(
    work, report
):
    """On a free-threaded build, -X gil=1 puts the GIL back: the one switch decides whether the
    same threads run Python code in parallel or one at a time, the chapter's claim as an
    experiment. Each half is the other's control: the GIL-off half shows the cores were free."""
    needs_free_threaded_build()
    needs_cores(2)
    k = machine.usable_cores()
    least = PARALLEL_SHARE * k

    def trial() -> dict[bool, gil_switch.Raced]:
        return {gil: gil_switch.race(gil, ns(work), k) for gil in (False, True)}

    def verdict(raced: dict[bool, gil_switch.Raced], _: Machine) -> Verdict:
        off, on = raced[False], raced[True]
        parallel = runs_in_parallel(off.speedup, off.cores, k)
        switched = not off.gil and on.gil and takes_turns(on.speedup, on.cores)
        # Undecided where the GIL-off half cannot show what the cores were free for.
        holds = parallel if switched else False
        return Verdict(
            holds,
            measured=', '.join(
                f'{r.switch}: GIL {"on" if r.gil else "off"}, {r.speedup:.2f}x one thread on '
                f'{r.cores:.2f} cores'
                for r in (off, on)
            ),
            expected=f'-X gil=0: at least {least:.2f}x ({PARALLEL_SHARE} x {k} cores); '
            f'-X gil=1: at most {TURNS_AT_MOST:.2f}x on at most {ONE_CORE_AT_MOST} cores',
            compared_with=f'one thread in the same child: {off.one:.2f} s without the GIL, '
            f'{on.one:.2f} s with it, the faster of two around the {k} threads',
            meaning='the GIL alone decides whether threads run Python code at once: without it '
            'they use every core, with it they take turns on one',
            unclear=PARTLY_AT_ONCE,
        )

    judge(
        trial,
        verdict,
        report=report,
        section=SECTION,
        claim='one free-threaded build: threads take turns with the GIL on, run in parallel '
        'with it off',
        variant=f'{k} threads, {machine.build()}',
        cores=k,
        pictures=lambda raced: [
            worker_chart(
                SECTION,
                f'{k} threads checking {COUNT} numbers, {r.switch} ({gil_words(r.gil)})',
                r.results,
                min(result.started for result in r.results),
            )
            for r in raced.values()
        ],
    )


# ---- V2: an event loop per thread ----------------------------------------------------------------


class Served(NamedTuple):
    one: float  # seconds one loop's checks took, the faster of two around the k
    seconds: float  # seconds the k loops' checks took, from the first start to the last end
    cores: float  # cores the k loops used, starting their threads and loops included
    results: list[PrimeResult]


def serve_in_loops(numbers: list[int], k: int) -> Served:
    """k loops against one, timed from the first check to the last: starting a thread and its
    loop is left out."""
    first = checks_span(loops.loops(numbers, 1))
    with measure.Usage() as usage:
        results = loops.loops(numbers, k)
    again = checks_span(loops.loops(numbers, 1))
    return Served(min(first, again), checks_span(results), usage.cores, results)


@pytest.mark.cpu
def test_threads_each_running_an_event_loop_run_cpu_heavy_handlers_as_threads_do(work, report):
    """A loop runs one handler at a time, so CPU-heavy handlers need loops in several threads to
    use several cores: they run in parallel where threads do (a free-threaded build without the
    GIL), and take turns under the GIL."""
    needs_cores(2)
    k = machine.usable_cores()
    gil = machine.gil_enabled()
    least = PARALLEL_SHARE * k

    def verdict(served: Served, _: Machine) -> Verdict:
        speedup = served.one / served.seconds
        everyone = len({r.worker for r in served.results}) == k
        holds: bool | None
        if gil:
            holds = takes_turns(speedup, served.cores)
            expected = f'at most {TURNS_AT_MOST:.2f}x on at most {ONE_CORE_AT_MOST} cores'
        else:
            holds = runs_in_parallel(speedup, served.cores, k)
            expected = f'at least {least:.2f}x ({PARALLEL_SHARE} x {k} cores)'
        return Verdict(
            holds if everyone else False,
            measured=f'{speedup:.2f}x one loop on {served.cores:.2f} cores, '
            f'{len({r.worker for r in served.results})} of {k} loops checking',
            expected=f'{expected} ({machine.build()}), every loop taking a share',
            compared_with=f'one loop in one thread: {served.one:.2f} s, the faster of two '
            f'around the {k}; starting the threads and loops left out',
            meaning='loops in threads are as parallel as the threads: '
            + ('they take turns under the GIL' if gil else 'without the GIL they run at once'),
            unclear=PARTLY_AT_ONCE,
        )

    judge(
        lambda: serve_in_loops(ns(work), k),
        verdict,
        report=report,
        section=SECTION,
        claim='an event loop per thread: '
        + ('loops take turns under the GIL' if gil else 'loops run in parallel'),
        variant=f'{k} loops, {machine.build()}',
        cores=k,
        pass_needs_quiet=gil,
        pictures=lambda served: [
            worker_chart(
                SECTION,
                f'{k} threads, an event loop each, checking {COUNT} numbers ({machine.build()})',
                served.results,
                min(result.started for result in served.results),
            )
        ],
    )


# ---- V6: subinterpreters -------------------------------------------------------------------------


def needs_subinterpreters() -> None:
    if not subinterpreters.HAS_SUBINTERPRETERS:
        pytest.skip(f'needs {subinterpreters.NEEDS}; this is {machine.describe()}')


def test_an_object_reaches_a_subinterpreter_as_a_copy_by_call_and_by_queue(report):
    """Interpreters share no objects: an argument of call() and an item of a queue are copied
    into the other interpreter, so a change there never reaches the original, as with a child
    process."""
    needs_subinterpreters()
    interpreters = subinterpreters.module()
    items = [1, 2]
    interpreter = interpreters.create()
    try:
        returned = interpreter.call(units.append_and_return, items, 3)
        queue = interpreters.create_queue()
        interpreter.prepare_main(queue=queue)
        interpreter.exec('sent = [1, 2]; queue.put(sent); sent.append(3)')
        received = queue.get(timeout=JOIN_TIMEOUT)
    finally:
        interpreter.close()
    exact(
        Verdict(
            items == [1, 2]
            and returned == [1, 2, 3]
            and returned is not items
            and received == [1, 2],
            measured=f'the list after call(): {items}, call() returned {returned} '
            f'({"the same" if returned is items else "another"} object); through the queue '
            f'{received}',
            expected='[1, 2] kept here, [1, 2, 3] returned as another object; [1, 2] received '
            'though the sender appended 3 after put()',
            meaning='objects cross between interpreters as copies, never shared',
        ),
        report=report,
        section=SECTION,
        claim='an object reaches a subinterpreter as a copy',
    )


class Interpreted(NamedTuple):
    one: float  # seconds one interpreter's checks took, the faster of two around the k
    seconds: float  # seconds the k interpreters' checks took, from the first start to the last end
    cores: float  # cores this process used while the k interpreters were made, ran and closed
    children: float  # CPU seconds of child processes meanwhile: none expected
    results: list[PrimeResult]


def run_interpreters(numbers: list[int], k: int) -> Interpreted:
    """k interpreters against one, timed from the first check to the last: making an interpreter
    imports the checker's modules into it, which takes longer than the checks here."""

    def one() -> float:
        done = subinterpreters.check_in_interpreters(numbers, 1)
        return checks_span([result for share in done.values() for result in share])

    first = one()
    with measure.Usage() as usage:
        done = subinterpreters.check_in_interpreters(numbers, k)
    results = [result for share in done.values() for result in share]
    return Interpreted(
        min(first, one()), checks_span(results), usage.cores, usage.children_cpu, results
    )


@pytest.mark.cpu
def test_subinterpreters_each_with_its_own_gil_run_python_code_in_parallel_in_one_process(
    work, report
):
    """Since 3.12 each interpreter has its own GIL (PEP 684), and 3.14 lets Python code create
    them: k interpreters, each called from a thread, run k times as fast as one, in one process."""
    needs_subinterpreters()
    needs_cores(2)
    k = machine.usable_cores()
    least = PARALLEL_SHARE * k

    def verdict(run: Interpreted, _: Machine) -> Verdict:
        speedup = run.one / run.seconds
        parallel = runs_in_parallel(speedup, run.cores, k)
        in_this_process = run.children <= 0.05 * run.seconds
        return Verdict(
            parallel if in_this_process else False,
            measured=f'{speedup:.2f}x one interpreter, this process on {run.cores:.2f} cores, '
            f'its children {run.children:.2f} CPU seconds',
            expected=f'at least {least:.2f}x ({PARALLEL_SHARE} x {k} cores), in this process',
            compared_with=f'one interpreter: {run.one:.2f} s, the faster of two around the {k}; '
            'making the interpreters left out',
            meaning='each interpreter has its own GIL, so they run Python code at once',
            unclear=PARTLY_AT_ONCE,
        )

    judge(
        lambda: run_interpreters(ns(work), k),
        verdict,
        report=report,
        section=SECTION,
        claim='subinterpreters run Python code in parallel in one process',
        variant=f'{k} interpreters',
        cores=k,
        pictures=lambda run: [
            worker_chart(
                SECTION,
                f'{k} subinterpreters checking {COUNT} numbers',
                run.results,
                min(result.started for result in run.results),
            )
        ],
    )
