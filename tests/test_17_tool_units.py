"""The units the claims start: the stepping worker of the stopping claims, and the table of
what each kind of unit is made with.
"""

from __future__ import annotations

import itertools
import threading

import pytest
from claims import (
    finish,
)

from concur.testing import units

pytestmark = pytest.mark.selfcheck


# ---- the stepping worker of the stopping claims -------------------------------------------------

STEP = 0.005


def test_the_stepping_worker_marks_its_start_and_the_end_of_each_step_a_step_apart():
    """The stopping claims read how far a worker got from its marks: the start, then each step's
    end, in order and at least one step apart; ``under_way`` says the first step is done."""
    marks, under_way = [0.0] * 4, threading.Event()
    units.work_in_steps(marks, STEP, under_way)
    gaps = [b - a for a, b in itertools.pairwise(marks)]
    assert under_way.is_set() and all(gap >= STEP for gap in gaps), (
        f'expected 3 steps at least {STEP} s apart and under_way set, got gaps {gaps} and '
        f'under_way {"set" if under_way.is_set() else "not set"}'
    )


def test_the_stepping_worker_takes_no_step_once_its_event_is_set():
    """A worker that checks its Event looks before every step, the first one too."""
    marks, under_way, stop = [0.0] * 4, threading.Event(), threading.Event()
    stop.set()
    units.work_in_steps(marks, STEP, under_way, stop)
    assert marks[1:] == [0.0] * 3 and not under_way.is_set(), f'it took steps: marks {marks}'


# ---- units.kind: one table of what each kind of unit is made with ------------------------------


@pytest.mark.parametrize('model', ['thread', 'process'])
def test_kind_makes_a_unit_that_passes_its_result_back_through_the_queue_of_its_kind(model):
    """A thread shares memory, so any queue will do; a process needs a queue of its own context."""
    made = units.kind(model)
    results = made.queue()
    unit = made.unit(target=units.square, args=(3, results))
    unit.start()
    finish(unit)
    assert results.get() == 9
    assert isinstance(unit, threading.Thread) == (model == 'thread')


def test_kind_refuses_a_model_that_is_neither_thread_nor_process():
    with pytest.raises(ValueError, match="'thread' or 'process', got 'async'"):
        units.kind('async')
