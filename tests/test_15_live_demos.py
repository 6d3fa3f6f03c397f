"""The live demos: ``python -m concur`` runs each demo of the chapter as the book's scripts do.

The spinners three ways, the notes' three questions with ``is_prime`` as the work, and the prime
checkers, each printing what the book's scripts print.
"""

from __future__ import annotations

import pytest
from claims import run_demo

from concur import checkers
from concur.__main__ import main
from concur.testing.framelog import count_frames
from concur.testing.workload import ns


def test_help_lists_the_demos():
    """--help is where a learner starts: it names each demo."""
    result = run_demo('--help')
    assert result.returncode == 0 and 'spinner' in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize('model', ['thread', 'process', 'async'])
def test_spinner_demo_spins_then_prints_the_answer(model):
    """The demo prints the spinner object, its frames, and the answer, like the book's scripts."""
    result = run_demo('spinner', model, '--seconds', '0.3')
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('spinner object: <'), result.stdout
    assert count_frames(result.stdout) >= 1, f'expected frames in the output, got {result.stdout!r}'
    assert result.stdout.endswith('Answer: 42\n'), result.stdout


@pytest.mark.cpu
# A process spinner's frames are not counted: a child started by a forkserver (the default from
# Python 3.14) writes to the forkserver's standard output, which pytest does not capture here.
@pytest.mark.parametrize(
    'model, spins',
    [('thread', True), ('process', None), ('async', False)],
    ids=['thread', 'process', 'async'],
)
def test_command_line_runs_each_question_live(model, spins, capfd):
    """`python -m concur spinner MODEL --work prime` is the live demo: the thread spinner shows
    frames while is_prime runs, the coroutine's none, and each prints the right answer."""
    assert main(['spinner', model, '--work', 'prime', '--seconds', '0.1']) == 0
    out = capfd.readouterr().out
    assert out.endswith('Answer: True\n'), (
        f'expected the answer True last, the demo printed {out!r}'
    )
    shown = count_frames(out)
    assert spins is None or (shown > 0) == spins, (
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
