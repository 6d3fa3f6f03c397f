"""The one model of a parallel trial (concur/testing/parallel.py), on figures with known answers,
and the claim fixture that states a claim from its test."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from concur import machine
from concur.checkers import PrimeResult
from concur.clocked import Clocked
from concur.testing import parallel
from concur.testing.parallel import CORES_SLOWED, PARALLEL, SLOWED_BASELINE, TURNS, Together
from concur.testing.tolerances import ROUNDING

pytestmark = pytest.mark.selfcheck

# Two units on two cores, each doing a share of 0.1 s: the figures of a trial that ran as
# parallel units do, and of one that took turns.
IN_PARALLEL = Together('units', 2, 0.2, 0.1, 0.0, 2.0, True, 'two shares one after another')
IN_TURNS = Together('units', 2, 0.2, 0.2, 0.0, 1.0, True, 'two shares one after another')


def changed(run: Together, **figures: Any) -> Together:
    return dataclasses.replace(run, **figures)


@pytest.fixture(autouse=True)
def two_cores(monkeypatch):
    """The known answers assume two usable cores, whatever this machine has."""
    monkeypatch.setattr(machine, 'usable_cores', lambda: 2)


@pytest.mark.parametrize(
    'run, expect, answer',
    [
        (IN_PARALLEL, PARALLEL, (True, '')),
        (IN_TURNS, TURNS, (True, '')),
        (IN_TURNS, PARALLEL, (False, '')),
        (IN_PARALLEL, TURNS, (False, '')),
        (changed(IN_PARALLEL, at_once=False), PARALLEL, (False, '')),
        (changed(IN_TURNS, at_once=False), TURNS, (False, '')),
        (changed(IN_PARALLEL, asked=4, units=2), PARALLEL, (False, '')),
        (changed(IN_PARALLEL, cores=1.0), PARALLEL, (None, SLOWED_BASELINE)),
        (changed(IN_TURNS, whole=0.15, cores=1.0), TURNS, (None, SLOWED_BASELINE)),
        (changed(IN_TURNS, whole=0.18, cores=1.0), TURNS, (True, '')),
        (changed(IN_TURNS, whole=0.15, cores=1.4), TURNS, (False, '')),
        (changed(IN_PARALLEL, whole=0.18, cores=1.0), PARALLEL, (False, '')),
        (changed(IN_PARALLEL, whole=0.15), PARALLEL, (None, CORES_SLOWED)),
        (changed(IN_PARALLEL, whole=0.15, cores=1.4), PARALLEL, (None, CORES_SLOWED)),
        (changed(IN_PARALLEL, whole=0.18, cores=1.05), PARALLEL, (False, '')),
        (changed(IN_PARALLEL, whole=0.11, late=0.01), PARALLEL, (True, '')),
        (changed(IN_PARALLEL, whole=0.14, cores=1.75), PARALLEL, (None, CORES_SLOWED)),
        (changed(IN_PARALLEL, whole=0.14, cores=1.75, helpers=0.25), PARALLEL, (True, '')),
    ],
    ids=[
        'parallel as expected',
        'turns as expected',
        'turns where parallel was expected',
        'parallel where turns were expected',
        'one after another, parallel expected',
        'one after another, turns expected',
        'a unit that took no share',
        'faster than its cores',
        'turns faster than one core',
        'turns a little faster than one core',
        'turns on more than one core',
        'one core, short of parallel',
        'busy cores yet short',
        'short on more than one core',
        'short on one core',
        'start-up left out',
        'short of a core each',
        'a core each of those the helpers left',
    ],
)
def test_the_verdict_on_a_parallel_trial_follows_its_rules(run, expect, answer):
    """Each rule once, on figures whose answer is known: a rule that broke would pass or fail the
    wrong trials of every claim that uses it."""
    assert parallel.holds(run, expect) == answer


def test_no_faster_without_a_control_that_got_faster_shows_nothing():
    """A "no faster" is evidence only where faster was possible: a control short of it leaves
    the trial undecided, one that got there lets it pass, and without one the machine must be
    quiet."""
    slow_control = changed(IN_PARALLEL, whole=0.16, cores=1.3)
    assert parallel.holds(changed(IN_TURNS, control=slow_control), TURNS)[0] is None
    assert parallel.holds(changed(IN_TURNS, control=IN_PARALLEL), TURNS) == (True, '')
    verdict = parallel.verdict(TURNS)
    assert verdict(IN_TURNS, None).needs_quiet  # type: ignore[arg-type]
    assert not verdict(changed(IN_TURNS, control=IN_PARALLEL), None).needs_quiet  # type: ignore[arg-type]


def test_a_trial_of_results_leaves_out_the_start_up_of_units_that_ran_at_once():
    """Two workers whose checks began 10 ms apart and overlapped: the spread is start-up, left
    out where the units run in parallel, kept where a late start is the wait for the GIL."""
    results = [
        PrimeResult(3, True, 0.1, 'a', 1.0),
        PrimeResult(5, True, 0.1, 'b', 1.01),
    ]
    run = parallel.from_results('units', results, 0.2, 2.0, handed_out=True, baseline='')
    assert run.units == 2 and run.at_once and run.late == pytest.approx(0.01)
    assert run.whole == pytest.approx(0.11) and run.speedup == pytest.approx(2.0)
    kept = parallel.from_results('units', results, 0.2, 2.0, handed_out=False, baseline='')
    assert kept.late == 0.0


def test_a_trial_of_calls_one_after_another_is_not_at_once():
    """Calls clocked one after the other never overlapped, whatever their cores."""
    calls = [Clocked(0.0, 0.1, 0.1, 1, 1, True), Clocked(0.1, 0.2, 0.1, 1, 2, True)]
    run = parallel.from_calls('units', calls, 0.1, handed_out=True, baseline='')
    assert not run.at_once and run.late == 0.0 and run.cores == pytest.approx(1.0)


# A model whose units run elsewhere, with figures the test sets: its checks span SPAN seconds,
# its units' clock advances by REMOTE CPU seconds, and this process (its helpers) works BURN.
SPAN, REMOTE, BURN = 0.1, 0.15, 0.05


def test_units_elsewhere_are_read_by_their_clock_and_this_process_as_their_helpers():
    """Where the units are processes elsewhere (a cluster's workers), their cores come from the
    model's own clock over the checks' span, and the CPU this process spent meanwhile (the
    scheduler and client) from this process's clock: the cores the units could not have."""
    remote = [0.0]

    def checker(numbers: list[int], k: int) -> list[PrimeResult]:
        start = time.process_time()
        while time.process_time() - start < BURN:
            pass
        remote[0] += REMOTE
        return [PrimeResult(n, True, SPAN, 'elsewhere', 0.0) for n in numbers]

    model = parallel.Model('units elsewhere', checker, PARALLEL, PARALLEL, cpu=lambda: remote[0])
    _, cores, helpers = parallel.run_model(model, [3, 5], 2)
    assert cores == pytest.approx(REMOTE / SPAN)
    assert BURN / SPAN <= helpers <= (BURN + ROUNDING) / SPAN


TIMED_WITHOUT_MARKER = """
from concur.testing.evidence import Verdict

def test_judges_a_timing(claim):
    claim.judge(lambda: 1, lambda value, _: Verdict(True, '', ''))
"""


def test_a_timed_claim_without_a_cpu_marker_is_refused(pytester):
    """A claim judged on time must hold its cores under pytest-xdist: without the marker it would
    run beside other timed tests, so the claim fixture refuses it and says how to mark it."""
    pytester.makepyfile(TIMED_WITHOUT_MARKER)
    pytester.makeini('[pytest]\nasyncio_default_fixture_loop_scope = function\n')
    result = pytester.runpytest('-p', 'concur.testing.claim', '-p', 'no:cacheprovider')
    result.stdout.fnmatch_lines(['*has no cpu marker: mark it @pytest.mark.cpu*'])
    assert result.ret != 0


@pytest.mark.parametrize(
    'cores, expect, answer',
    [(2.0, PARALLEL, True), (1.05, PARALLEL, False), (1.4, PARALLEL, None), (1.0, TURNS, True)]
    + [(1.3, TURNS, False)],
    ids=['a core each', 'one core', 'in between', 'turns on one core', 'turns on more'],
)
def test_the_cores_of_k_units_say_what_their_rule_says(cores, expect, answer):
    """The one rule for CPU use: a core each in parallel, one core at most taking turns, and
    between the two, for units expected in parallel, nothing either way."""
    assert parallel.cores_say(cores, 2, expect) is answer
