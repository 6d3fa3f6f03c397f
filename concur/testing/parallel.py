"""One model of a parallel trial: the same work in one unit alone, and in k units at once.

A trial runs equal shares of CPU-bound work in k units at once and compares them with the same
shares one after another (the baseline, measured in the same trial); ``Together`` holds its
figures. ``verdict`` reads them by one set of rules, for either expectation of the chapter:

- **in parallel**: k units on k free cores take about one share: at least PARALLEL_SHARE of a
  k-fold speedup (k at most the usable cores).
- **taking turns**: k units take about k shares, on one core at most (a GIL, or one event loop).

Whatever the expectation:

- units that never were all under way at once ran one after another: that contradicts both;
- a speedup above the cores the units used shows nothing: only a slowed baseline gives one;
- units expected in parallel that kept more than one core busy, so ran at once, yet fell short of
  the speedup show nothing either: the cores slowed each other (two hardware threads of one core,
  a neighbour on the host), or a unit ran apart; only one core at most contradicts the claim;
- "no faster" passes only where faster was possible: a control in the same trial (the same work
  in units that can run in parallel) got there, or else the machine was quiet (``judge`` asks the
  machine when the verdict says ``needs_quiet``).

``MODELS`` is the table of the chapter's ways to run units at once, each with what its units do to
Python code with the GIL and without it; ``models(...)`` makes some of them a parametrization.
The bounds and their reasons are in ``tolerances.py``.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import pytest

from concur import checkers, clocked, loops, machine
from concur.checkers import PrimeResult
from concur.clocked import Clocked
from concur.testing import measure
from concur.testing.evidence import Machine, Verdict
from concur.testing.records import Span, WorkerChart
from concur.testing.tolerances import (
    CORES_EXPLAIN_SPEEDUP,
    FASTER_POSSIBLE,
    ONE_CORE_AT_MOST,
    PARALLEL_SHARE,
    TAKING_TURNS,
)

PARALLEL = 'in parallel'
TURNS = 'taking turns'

# Why a trial shows nothing, in the words of a skip.
SLOWED_BASELINE = 'a speedup above the cores the run used, which only a slowed baseline gives'
CORES_SLOWED = (
    'the units kept more than one core busy, so they ran at once, yet fell short of the speedup: '
    'the cores slowed each other, or a unit ran apart from the others'
)


@dataclass(frozen=True)
class Together:
    """One trial: k units doing equal shares at once, against the shares one after another."""

    name: str  # the units, in the chapter's words ('threads', 'processes', ...)
    units: int  # k: the units that took a share
    sequential: float  # seconds the k shares take one after another: the baseline
    whole: float  # seconds the k units took, from the first start to the last end
    late: float  # of those, the start-up spread left out: hand-off, not work
    cores: float  # cores the k units kept busy together
    at_once: bool  # every unit was under way before any ended
    baseline: str  # what the baseline was, in words
    control: Together | None = None  # the same work in units that can run in parallel
    results: tuple[PrimeResult, ...] = ()  # each check, where the units checked numbers
    calls: tuple[Clocked, ...] = ()  # each unit's share, where the units ran clocked calls
    asked: int = 0  # the units asked for, where some may have taken no share
    # Cores that the trial's own helpers took beside the units, not theirs to use: a cluster's
    # scheduler and client, in this process, handing out tasks and taking back results.
    helpers: float = 0.0

    @property
    def speedup(self) -> float:
        return self.sequential / (self.whole - self.late)

    @property
    def room(self) -> float:
        """Units that can run at once here: one per usable core that the helpers left free."""
        return min(self.asked or self.units, machine.usable_cores() - self.helpers)

    def words(self) -> str:
        late = f', the last starting {1000 * self.late:.1f} ms late (left out)' if self.late else ''
        order = '' if self.at_once else ', one only after another had ended'
        idle = f' (of {self.asked} asked for)' if self.units < self.asked else ''
        return (
            f'{self.units} {self.name}{idle} took {self.whole:.3f} s{late}{order}: '
            f'{self.speedup:.2f}x as fast as one after another, on {self.cores:.2f} cores'
        )


def from_calls(
    name: str, calls: Sequence[Clocked], one: float, *, handed_out: bool, baseline: str
) -> Together:
    """A trial of ``calls`` clocked in their units, against ``one`` share alone. ``handed_out``:
    units that start apart do so by start-up (left out), not by waiting for the GIL, whose wait
    is the very thing a claim of taking turns measures."""
    late = clocked.handoff(calls) if handed_out else 0.0
    return Together(
        name,
        len(calls),
        len(calls) * one,
        clocked.wall(calls),
        late,
        clocked.cores(calls),
        clocked.overlapped(calls),
        baseline,
        calls=tuple(calls),
    )


def from_results(
    name: str,
    results: Sequence[PrimeResult],
    sequential: float,
    cores: float,
    *,
    handed_out: bool,
    baseline: str,
    asked: int = 0,
    helpers: float = 0.0,
) -> Together:
    """A trial of a checker's ``results``, each timed by its worker, against ``sequential``
    seconds of the same checks in one worker: starting and stopping the workers left out.
    ``asked``: the workers asked for, where some may have checked nothing."""
    # Each worker's span of checks, from its first start to its last end, read as clocked calls.
    spans = [
        Clocked(min(r.started for r in mine), max(r.started + r.elapsed for r in mine), 0, 0, 0, 0)
        for mine in _by_worker(results).values()
    ]
    return Together(
        name,
        len(spans),
        sequential,
        clocked.wall(spans),
        clocked.handoff(spans) if handed_out else 0.0,
        cores,
        clocked.overlapped(spans),
        baseline,
        results=tuple(results),
        asked=asked,
        helpers=helpers,
    )


def _by_worker(results: Sequence[PrimeResult]) -> dict[str, list[PrimeResult]]:
    workers: dict[str, list[PrimeResult]] = {}
    for result in results:
        workers.setdefault(result.worker, []).append(result)
    return workers


def holds(run: Together, expect: str) -> tuple[bool | None, str]:
    """The rules: whether the trial agrees with ``expect``, and, where it shows nothing, why.

    A slowed baseline only makes the units look faster than they were: it can fake a speedup,
    never hide one. So it stands in the way of a trial that reads as running in parallel, or as
    faster than taking turns allows, and of nothing else."""
    if not run.at_once or run.units < run.asked:
        return False, ''
    slowed = run.sequential / run.whole > CORES_EXPLAIN_SPEEDUP * run.cores
    if expect == PARALLEL:
        if run.speedup >= PARALLEL_SHARE * run.room:
            return (None, SLOWED_BASELINE) if slowed else (True, '')
        if cores_say(run.cores, run.room, PARALLEL) is False:
            return False, ''  # one core at most: they took turns
        return None, CORES_SLOWED
    if not cores_say(run.cores, run.units, TURNS):
        return False, ''
    if run.speedup > 1 / TAKING_TURNS:
        return (None, SLOWED_BASELINE) if slowed else (False, '')
    if run.control is not None and not faster_shown(run.control):
        return None, (
            f'the control was only {run.control.speedup:.2f}x as fast, short of '
            f'{possible(run.control):.2f}x: the cores were not free for the units to gain from'
        )
    return True, ''


def cores_say(cores: float, units: float, expect: str) -> bool | None:
    """What the cores ``units`` kept busy together say about ``expect``. Taking turns: one core at
    most. In parallel: PARALLEL_SHARE of one each, as far as this machine has usable cores (a
    trial's room: those its helpers left); one core at most contradicts it; in between, they ran
    at once, yet the machine did not give them a core each (None)."""
    one_core = cores <= ONE_CORE_AT_MOST
    if expect == TURNS:
        return one_core
    if cores >= PARALLEL_SHARE * min(units, machine.usable_cores()):
        return True
    return False if one_core else None


def cores_expected(units: int, expect: str) -> str:
    """The cores ``units`` keep busy by ``expect``, in words."""
    if expect == PARALLEL:
        room = min(units, machine.usable_cores())
        return f'at least {PARALLEL_SHARE * room:.2f} cores ({PARALLEL_SHARE} x {room} cores)'
    return f'at most {ONE_CORE_AT_MOST} cores'


# Why cores between one and one each show nothing, in the words of a skip.
CORES_SHORT = (
    'the units kept more than one core busy, so they ran at once, yet not a core each: the '
    'machine did not give them every core just then'
)
# What cores that contradict an expectation mean.
CORES_MEANINGS = {
    PARALLEL: 'these units run Python code in parallel, a core each',
    TURNS: 'these units run Python code one at a time, so together they keep one core busy',
}


def possible(control: Together) -> float:
    """The speedup a control must reach to show that faster was possible."""
    return 1 + FASTER_POSSIBLE * (control.room - 1)


def faster_shown(control: Together) -> bool:
    return control.at_once and control.speedup >= possible(control)


def expected_words(run: Together, expect: str) -> str:
    every = f'each of the {run.asked} taking a share, ' if run.asked else ''
    if expect == PARALLEL:
        helped = f' left by its helpers, who took {run.helpers:.2f}' if run.helpers else ''
        return (
            f'at least {PARALLEL_SHARE * run.room:.2f}x ({PARALLEL_SHARE} x {run.room:.3g} cores'
            f'{helped}: '
            f'one share each, at the same time), {every}all under way at once'
        )
    words = (
        f'at most {1 / TAKING_TURNS:.2f}x (at least {TAKING_TURNS} of the time one after '
        f'another) on at most {ONE_CORE_AT_MOST} cores, {every}all under way at once'
    )
    if run.control is not None:
        words += f', while {run.control.name} reach {possible(run.control):.2f}x'
    return words


# What a contradiction means, by expectation, unless a claim says it in words of its own.
MEANINGS = {
    PARALLEL: 'these units run on a core each: shares that took longer together ran one after '
    'another, or on fewer cores, as threads under the GIL or coroutines on one loop would',
    TURNS: 'these units run Python code one at a time: shares that together beat one after '
    'another ran at once, elsewhere or without a GIL',
}


def verdict(expect: str, meaning: str = '') -> Callable[[Together, Machine], Verdict]:
    """The verdict on a trial for ``expect`` (PARALLEL or TURNS); ``meaning``: what a
    contradiction means, in the claim's words (by default the expectation's)."""

    def judged(run: Together, _: Machine) -> Verdict:
        agrees, unclear = holds(run, expect)
        control = run.control
        compared = run.baseline
        if control is not None:
            compared += f'; {control.words()}, compared with {control.baseline}'
        return Verdict(
            agrees,
            measured=run.words(),
            expected=expected_words(run, expect),
            compared_with=compared,
            meaning=meaning or MEANINGS[expect],
            unclear=unclear,
            figures={'speedup': run.speedup, 'units': run.units, 'cores': run.cores},
            needs_quiet=expect == TURNS and control is None,
        )

    return judged


def with_control(expect: str, meaning: str = '') -> Callable[[Together, Machine], Verdict]:
    """The verdict on a trial whose control is a claim too: the control's units run in parallel,
    the trial's as ``expect``. Both must hold; either showing nothing shows nothing."""

    def judged(run: Together, _: Machine) -> Verdict:
        control = run.control
        if control is None:
            raise ValueError(f'{run.name}: a trial judged with its control needs one')
        said = [holds(run, expect), holds(control, PARALLEL)]
        agrees = [agree for agree, _ in said]
        return Verdict(
            False if False in agrees else None if None in agrees else True,
            measured=f'{run.words()}; {control.words()}',
            expected=f'{run.name} {expected_words(run, expect)}; {control.name} '
            f'{expected_words(control, PARALLEL)}',
            compared_with=f'{run.name}: {run.baseline}; {control.name}: {control.baseline}',
            meaning=meaning or f'{MEANINGS[PARALLEL]}; {MEANINGS[expect]}',
            unclear='; '.join(dict.fromkeys(why for _, why in said if why)),
            figures={'speedup': run.speedup, 'units': run.units, 'cores': run.cores},
        )

    return judged


# ---- the table of models -------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """A way to run units at once, and what its units do to CPU-bound Python code."""

    name: str  # in the chapter's words
    checker: Callable[..., Iterable[PrimeResult]]  # numbers, then k workers
    with_gil: str  # PARALLEL or TURNS
    without_gil: str  # on a free-threaded build running without the GIL
    needs: str = ''  # why this Python cannot run it, or ''
    # Where the units run in processes that are not this process's children (a cluster's
    # workers, on this machine or another): the CPU seconds those processes have used so far, read
    # where they run, whose growth is then the units' cores.
    cpu: Callable[[], float] | None = None

    def expect(self) -> str:
        """What k units of this model do to Python code on this build."""
        return self.with_gil if machine.gil_enabled() else self.without_gil

    def __str__(self) -> str:
        return f'{self.name}, {self.expect()}'


def _interpreters_needs() -> str:
    if checkers.HAS_INTERPRETERS:
        return ''
    return 'needs concurrent.futures.InterpreterPoolExecutor (Python 3.14+)'


MODELS = {
    model.name: model
    for model in (
        Model('threads', checkers.threads, TURNS, PARALLEL),
        Model('processes', checkers.procs, PARALLEL, PARALLEL),
        Model('a process pool', checkers.pool, PARALLEL, PARALLEL),
        Model('coroutines on one loop', loops.coroutines, TURNS, TURNS),
        Model('event loops in threads', loops.loops, TURNS, PARALLEL),
        Model('subinterpreters', checkers.interpreters, PARALLEL, PARALLEL, _interpreters_needs()),
    )
}


def models(*names: str) -> list[object]:
    """Rows of the table as a parametrization, each with its expectation on this build in its id."""
    return [pytest.param(MODELS[name], id=str(MODELS[name])) for name in names]


class Checked(NamedTuple):
    """One run of a checker to its end: its results, its wall time, and the cores it used."""

    results: list[PrimeResult]
    seconds: float
    cores: float  # psutil's count of this process's and its children's CPU time, over the wall

    def workers(self) -> collections.Counter[str]:
        """How many numbers each worker checked."""
        return collections.Counter(result.worker for result in self.results)


def run_checker(
    checker: Callable[..., Iterable[PrimeResult]], numbers: list[int], k: int, **options: object
) -> Checked:
    """Run ``checker`` over the numbers with k workers to its end, measuring it."""
    with measure.Usage() as usage:
        results = list(checker(numbers, k, **options))
    return Checked(results, usage.wall, usage.cores)


def run_model(model: Model, numbers: list[int], k: int) -> tuple[list[PrimeResult], float, float]:
    """Run ``model``'s checker to its end with k workers: its results, the cores it used (those
    of this process and its children, or those the model's own ``cpu`` reads), and the cores its
    helpers took beside them (this process, where the units are processes elsewhere)."""
    if model.cpu is None:
        run = run_checker(model.checker, numbers, k)
        return run.results, run.cores, 0.0
    cpu, here = model.cpu(), time.process_time()
    results = list(model.checker(numbers, k))
    # Over the checks' own span: sending the tasks to processes elsewhere and gathering the
    # results is not theirs to keep busy.
    within = span(results)
    return results, (model.cpu() - cpu) / within, (time.process_time() - here) / within


def span(results: Sequence[PrimeResult]) -> float:
    """Seconds from the first check's start to the last one's end, as the workers timed them."""
    return max(r.started + r.elapsed for r in results) - min(r.started for r in results)


def trial(model: Model, numbers: list[int], k: int, control: Model | None = None) -> Together:
    """The numbers checked by one unit of ``model``, by k, by one again and by k again, the faster
    of each kept: the host's speed drifts by tens of percent within a tenth of a second, and the
    faster of two runs on each side compares the two at their best. With ``control``, the same
    numbers then checked by k units of that model, the evidence that faster was possible."""
    ones, runs = [], []
    for _ in range(2):
        ones.append(span(run_model(model, numbers, 1)[0]))
        runs.append(run_model(model, numbers, k))
    one = min(ones)
    results, cores, helpers = min(runs, key=lambda run: span(run[0]))
    run = from_results(
        model.name,
        results,
        one,
        cores,
        handed_out=model.expect() == PARALLEL,
        baseline=f'one of them alone {one:.3f} s, the faster of two runs between those of the {k}',
        asked=k,
        helpers=helpers,
    )
    wrong = _misreported(results, numbers)
    if wrong:
        raise AssertionError(f'{model.name} misreported the numbers: {wrong}')
    return replace(run, control=None if control is None else trial(control, numbers, k))


def _misreported(results: Sequence[PrimeResult], numbers: list[int]) -> str:
    seen = sorted(r.n for r in results)
    return '' if seen == sorted(numbers) else f'asked for {sorted(numbers)}, got {seen}'


def charts(section: str) -> Callable[[Together], list[WorkerChart]]:
    """The pictures of a trial, and of its control, for the end report: which unit did which
    share of the work, and when."""

    def drawn(run: Together) -> list[WorkerChart]:
        return [
            chart for one in (run, run.control) if one is not None for chart in _chart(section, one)
        ]

    return drawn


def _chart(section: str, run: Together) -> list[WorkerChart]:
    if run.results:
        began = min(r.started for r in run.results)
        spans = tuple(
            Span(r.worker, r.n, r.started - began, r.started - began + r.elapsed)
            for r in run.results
        )
        title = f'{run.units} {run.name} checking {len(run.results)} numbers ({machine.build()})'
        return [WorkerChart(section, title, spans)]
    if run.calls:
        began = min(c.start for c in run.calls)
        spans = tuple(
            Span(f'unit {i + 1}', i + 1, c.start - began, c.end - began)
            for i, c in enumerate(run.calls)
        )
        title = f'{run.units} {run.name}, a share each ({machine.build()})'
        return [WorkerChart(section, title, spans, item='share')]
    return []
