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
from collections.abc import Callable
from dataclasses import replace

import pytest
from claims import needs_cores

from concur import gil_switch, machine, subinterpreters
from concur.testing import measure, parallel, units
from concur.testing.evidence import Machine, Verdict, exact
from concur.testing.parallel import Together
from concur.testing.tolerances import HARDLY_ANY
from concur.testing.workload import ns
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


# ---- one build, the GIL switched on and off ---------------------------------------------------

K = machine.usable_cores()
THREADS = parallel.MODELS['threads']


def needs_free_threaded_build() -> None:
    if not machine.free_threaded_build():
        pytest.skip(
            'needs a free-threaded build (CPython 3.13t or later), the only one that can switch '
            f'the GIL off and on; this is {machine.describe()}'
        )


def switched(numbers: list[int], k: int) -> Together:
    """The same k threads in two children of this build, the GIL switched off, then on: the
    child with the GIL is the trial, the one without it its control."""
    runs = {}
    for gil in (False, True):
        raced = gil_switch.race(gil, numbers, k)
        assert raced.gil is gil, (
            f'expected the child started with {raced.switch} to run with the GIL '
            f'{"on" if gil else "off"}, it said {"on" if raced.gil else "off"}: the switch decides'
        )
        runs[gil] = parallel.from_results(
            f'threads in a child started with {raced.switch}',
            raced.results,
            raced.one,
            raced.cores,
            handed_out=not gil,
            baseline=f'one thread in the same child {raced.one:.3f} s, the faster of one before '
            'and one after',
            asked=k,
        )
    return replace(runs[True], control=runs[False])


@pytest.mark.cpu
@pytest.mark.parametrize(
    'model', [pytest.param(THREADS, id=f'{K} threads, -X gil=1 against -X gil=0')]
)
def test_the_same_threads_take_turns_with_the_gil_switched_on_and_run_in_parallel_with_it_off(
    model, work, claim
):
    """On a free-threaded build, -X gil=1 puts the GIL back: the one switch decides whether the
    same threads run Python code in parallel or one at a time, the chapter's claim as an
    experiment. Each half is the other's control: the GIL-off half shows the cores were free."""
    needs_free_threaded_build()
    needs_cores(2)
    claim.judge(
        lambda: switched(ns(work), K),
        parallel.with_control(
            model.with_gil,
            meaning='the GIL alone decides whether threads run Python code at once: without it '
            'they use every core, with it they take turns on one',
        ),
        pictures=parallel.charts(SECTION),
    )


# ---- an event loop per thread --------------------------------------------------------------------


@pytest.mark.cpu
@pytest.mark.parametrize('model', parallel.models('event loops in threads'))
def test_threads_each_running_an_event_loop_run_cpu_heavy_handlers_as_threads_do(
    model, work, claim
):
    """A loop runs one handler at a time, so CPU-heavy handlers need loops in several threads to
    use several cores: they run in parallel where threads do (a free-threaded build without the
    GIL), and take turns under the GIL."""
    needs_cores(2)
    claim.judge(
        lambda: parallel.trial(model, ns(work), K),
        parallel.verdict(
            model.expect(),
            meaning='loops in threads are as parallel as the threads: under the GIL they take '
            'turns, without it they run at once',
        ),
        pictures=parallel.charts(SECTION),
    )


# ---- subinterpreters ----------------------------------------------------------------------------


def needs_subinterpreters() -> None:
    if not subinterpreters.HAS_SUBINTERPRETERS:
        pytest.skip(f'needs {subinterpreters.NEEDS}; this is {machine.describe()}')


def test_an_object_reaches_a_subinterpreter_as_a_copy_by_call_and_by_queue(recorder):
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
        recorder=recorder,
        section=SECTION,
        claim='an object reaches a subinterpreter as a copy',
    )


def in_this_process(model: parallel.Model, numbers: list[int], k: int) -> tuple[Together, float]:
    """A trial of ``model``, and the cores its child processes used meanwhile."""
    with measure.Usage() as usage:
        run = parallel.trial(model, numbers, k)
    return run, usage.children_cpu / usage.wall


def none_in_children(expect: str) -> Callable[[tuple[Together, float], Machine], Verdict]:
    """The trial's verdict, where units that ran in child processes contradict it."""
    judged = parallel.verdict(
        expect,
        meaning='each interpreter has its own GIL, so they run Python code at once, in one '
        'process: units in child processes are processes, not interpreters',
    )

    def verdict(trial: tuple[Together, float], machine_: Machine) -> Verdict:
        run, children = trial
        said = judged(run, machine_)
        return replace(
            said,
            holds=said.holds if children <= HARDLY_ANY else False,
            measured=f'{said.measured}; child processes on {children:.2f} cores',
            expected=f'{said.expected}; in this process, its children on at most {HARDLY_ANY} '
            'cores',
        )

    return verdict


@pytest.mark.cpu
@pytest.mark.parametrize('model', parallel.models('subinterpreters'))
def test_subinterpreters_each_with_its_own_gil_run_python_code_in_parallel_in_one_process(
    model, work, claim
):
    """Since 3.12 each interpreter has its own GIL (PEP 684), and 3.14 lets Python code create
    them: k interpreters, each called from a thread, run k times as fast as one, in one process."""
    if model.needs:
        claim.skip(f'{model.needs}; this is {machine.describe()}')
    needs_cores(2)
    claim.judge(
        lambda: in_this_process(model, ns(work), K),
        none_in_children(model.expect()),
        pictures=lambda trial: parallel.charts(SECTION)(trial[0]),
    )
