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


# ---- what releases the GIL: threads in C code or in Python, work sent off the event loop -------


def figures(line: str) -> list[float]:
    """The numbers in a line of a demo's output, in order."""
    return [
        float(word.rstrip('x,;:')) for word in line.split() if word.rstrip('x,;:')[:1].isdigit()
    ]


@pytest.mark.cpu
@pytest.mark.parametrize('work', ['zlib', 'prime'])
def test_release_demo_times_k_shares_in_a_row_then_in_k_threads_and_says_why(work, capsys):
    """`python -m concur release WORK K` shows K shares one after another, then in K threads, with
    the time and cores of each: the learner compares the two lines."""
    assert main(['release', work, '3', '--seconds', '0.01']) == 0
    header, in_a_row, threads, why = capsys.readouterr().out.splitlines()
    assert header.startswith('3 shares of work'), header
    (row_s, row_cores), (_, threads_s, threads_cores, speedup) = figures(in_a_row), figures(threads)
    assert 'in 3 threads at once' in threads, threads
    # Not timing claims: one thread cannot keep more than one core busy, three threads three.
    assert row_cores <= 1.05 and threads_cores <= 3.05, f'{in_a_row}\n{threads}'
    assert min(row_s, threads_s, speedup) > 0, f'{in_a_row}\n{threads}'
    library = work if work != 'prime' else 'is_prime is Python code'
    assert library in why, why


@pytest.mark.cpu
@pytest.mark.parametrize('to', ['thread', 'process'])
def test_offload_demo_awaits_one_call_then_k_at_once_while_the_loop_ticks(to, capsys):
    """`python -m concur offload thread|process K` awaits is_prime once, then K times at once, and
    counts the ticks of a task beside them: the loop stays free either way."""
    assert main(['offload', to, '3', '--seconds', '0.01']) == 0
    *_, how, one, three, why = capsys.readouterr().out.splitlines()
    assert how.startswith('with asyncio.to_thread' if to == 'thread' else 'with run_in_executor')
    assert one.lstrip().startswith('1 call:') and three.lstrip().startswith('3 calls at once:')
    assert figures(one)[2] == 1.0, one  # the first call is the unit the others are counted in
    assert ('to_thread' if to == 'thread' else 'process pool') in why, why
