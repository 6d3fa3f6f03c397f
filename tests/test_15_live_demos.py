"""The live demos: ``python -m concur`` runs each demo of the chapter as the book's scripts do.

The spinners three ways, the notes' three questions with ``is_prime`` as the work, and the prime
checkers, each printing what the book's scripts print.
"""

from __future__ import annotations

import pytest
from claims import run_demo

from concur import checkers, machine, spinner, supervisors
from concur.__main__ import main
from concur.testing.framelog import count_frames
from concur.testing.tolerances import TICKS
from concur.testing.workload import ns

# Not a claim of the chapter: run with `pytest -m selfcheck` (pytest.ini).
pytestmark = pytest.mark.selfcheck


def test_help_lists_the_demos():
    """--help is where a learner starts: it names each demo."""
    result = run_demo('--help')
    assert result.returncode == 0 and 'spinner' in result.stdout, result.stdout + result.stderr


# How long the spinner demos work here, and the demo's interval (the book's 0.1 s).
DEMO_SECONDS = 0.1


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
    assert row_cores <= 1 + TICKS and threads_cores <= 3 + TICKS, f'{in_a_row}\n{threads}'
    assert min(row_s, threads_s, speedup) > 0, f'{in_a_row}\n{threads}'
    library = work if work != 'prime' else 'is_prime is Python code'
    assert library in why, why


@pytest.mark.cpu
@pytest.mark.parametrize('to', ['thread', 'process'])
def test_offload_demo_awaits_one_call_then_k_at_once_while_the_loop_ticks(to, capsys):
    """`python -m concur offload thread|process K` awaits is_prime once, then K times at once,
    then once again, and counts the ticks of a task beside them: the loop stays free either way."""
    assert main(['offload', to, '3', '--seconds', '0.01']) == 0
    *_, how, one, three, again, why = capsys.readouterr().out.splitlines()
    assert how.startswith('with asyncio.to_thread' if to == 'thread' else 'with run_in_executor')
    assert one.lstrip().startswith('1 call:') and three.lstrip().startswith('3 calls at once:')
    assert again.lstrip().startswith('1 call again:'), again
    # The faster single call is the unit the others are counted in.
    assert min(figures(one)[2], figures(again)[2]) == 1.0, f'{one}\n{again}'

    assert ('to_thread' if to == 'thread' else 'process pool') in why, why


@pytest.mark.cpu
def test_gil_switch_demo_times_the_same_threads_with_the_gil_off_then_on():
    """`python -m concur gil-switch` (free-threaded builds) runs one thread, then k threads, in a
    child started with -X gil=0, then in one started with -X gil=1, and says what each did."""
    if not machine.free_threaded_build():
        pytest.skip(
            f'needs a free-threaded build (CPython 3.13t or later); this is {machine.describe()}'
        )
    result = run_demo('gil-switch', '2', '--seconds', '0.2')
    assert result.returncode == 0, result.stderr
    _, off, on, why = result.stdout.splitlines()
    assert off.lstrip().startswith('-X gil=0 (GIL off): one thread'), off
    assert on.lstrip().startswith('-X gil=1 (GIL on): one thread'), on
    assert 'take turns' in why, why
