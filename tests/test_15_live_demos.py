"""The live demos: ``python -m concur`` runs each demo of the chapter as the book's scripts do.

The spinners three ways, the notes' three questions with ``is_prime`` as the work, and the prime
checkers, each printing what the book's scripts print.
"""

from __future__ import annotations

import pytest
from claims import run_demo

from concur import checkers, spinner, supervisors
from concur.__main__ import main
from concur.testing.framelog import count_frames
from concur.testing.workload import ns


def test_help_lists_the_demos():
    """--help is where a learner starts: it names each demo."""
    result = run_demo('--help')
    assert result.returncode == 0 and 'spinner' in result.stdout, result.stdout + result.stderr


# How long the spinner demos work here, and the demo's interval (the book's 0.1 s).
DEMO_SECONDS = 0.2


@pytest.mark.parametrize('model', supervisors.MODELS)
def test_spinner_demo_spins_for_the_seconds_asked_then_prints_the_answer(model):
    """The demo prints the spinner object, its frames, and the answer, like the book's scripts;
    ``--seconds`` sets how long the work sleeps, so it shows about that many seconds of frames."""
    result = run_demo('spinner', model, '--seconds', str(DEMO_SECONDS))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('spinner object: <'), result.stdout
    frames = count_frames(result.stdout)
    # A frame at once, then one per interval; the default 3 s of work would show 30.
    most = round(DEMO_SECONDS / spinner.INTERVAL) + 1
    assert 1 <= frames <= most, (
        f'expected 1 to {most} frames for {DEMO_SECONDS} s of work at one per '
        f'{spinner.INTERVAL} s, counted {frames}: the demo did not work for the seconds asked'
    )
    assert result.stdout.endswith('Answer: 42\n'), result.stdout


@pytest.mark.cpu(cores=1)
@pytest.mark.parametrize(
    'model, spins', [('thread', True), ('process', True), ('async', False)], ids=supervisors.MODELS
)
def test_command_line_runs_each_question_live(model, spins):
    """`python -m concur spinner MODEL --work prime` is the live demo of the notes' questions: the
    thread and the process spinners show frames while is_prime runs, the coroutine's none, and
    each prints the right answer. (Run as a command, so that a child started by a forkserver
    writes to the same output.)"""
    result = run_demo('spinner', model, '--work', 'prime', '--seconds', str(DEMO_SECONDS))
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith('Answer: True\n'), (
        f'expected the answer True last, the demo printed {result.stdout!r}'
    )
    shown = count_frames(result.stdout)
    assert (shown > 0) == spins, (
        f'expected {"frames" if spins else "no frame"} from the {model} demo, counted {shown}'
    )


@pytest.mark.parametrize('model', list(checkers.CHECKERS))
def test_primes_command_prints_a_line_per_number_and_the_total(model, fast, monkeypatch, capsys):
    """As the book's scripts: each number with a P if prime and the seconds its check took."""
    monkeypatch.setattr(checkers, 'NUMBERS', tuple(ns(fast)))
    assert main(['primes', model, '2']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f'Checking {len(fast)} numbers'), lines[0]
    assert lines[-1].startswith(f'{len(fast)} checks in'), lines[-1]
    shown = {int(line.split()[0].replace('_', '')): line.split()[1] == 'P' for line in lines[1:-1]}
    assert shown == dict(fast), '\n'.join(lines)
