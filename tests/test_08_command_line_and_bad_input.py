"""The live demos, and what happens on bad input.

``python -m concur`` runs each demo of the chapter as the book's scripts do. The ``concur``
functions and the command line refuse wrong values with a message that names what was wrong:
a ``TypeError`` or ``ValueError`` from the API, one line and exit status 2 from the command line.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from concur import spinner, spinner_async, spinner_proc, spinner_thread
from concur.testing.framelog import count_frames
from concur.timeouts import DEMO_TIMEOUT


def concur(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, '-m', 'concur', *args], capture_output=True, timeout=DEMO_TIMEOUT
    )
    # decoded by hand: text=True would turn the spinner's carriage returns into newlines
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode().replace('\r\n', '\n'),
        result.stderr.decode(),
    )


def test_help_lists_the_demos():
    """--help is where a learner starts: it names each demo."""
    result = concur('--help')
    assert result.returncode == 0 and 'spinner' in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize('model', ['thread', 'process', 'async'])
def test_spinner_demo_spins_then_prints_the_answer(model):
    """The demo prints the spinner object, its frames, and the answer, like the book's scripts."""
    result = concur('spinner', model, '--seconds', '0.3')
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('spinner object: <'), result.stdout
    assert count_frames(result.stdout) >= 1, f'expected frames in the output, got {result.stdout!r}'
    assert result.stdout.endswith('Answer: 42\n'), result.stdout


@pytest.mark.parametrize(
    'args',
    [
        [],
        ['dance'],
        ['spinner', 'fiber'],
        ['spinner', 'thread', '--seconds', '-1'],
        ['spinner', 'thread', '--seconds', '0'],
        ['spinner', 'thread', '--seconds', 'soon'],
        ['spinner', 'thread', '--seconds', 'inf'],
        ['spinner', 'thread', '--work', 'juggle'],
    ],
    ids=lambda args: ' '.join(args) or 'no arguments',
)
def test_command_line_refuses_bad_arguments_in_one_line_with_status_2(args):
    """A learner who mistypes gets told what was wrong, not a traceback."""
    result = concur(*args)
    assert result.returncode == 2, (
        f'expected exit status 2, got {result.returncode}: {result.stderr}'
    )
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'error' in lines[0] and 'Traceback' not in result.stderr, (
        result.stderr
    )


@pytest.mark.parametrize(
    'value, error',
    [
        (0, ValueError),
        (-0.1, ValueError),
        (float('nan'), ValueError),
        (float('inf'), ValueError),
        ('0.1', TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
    ids=['0', '-0.1', 'nan', 'inf', "'0.1'", 'True', 'None'],
)
@pytest.mark.parametrize('model', ['thread', 'process', 'async'])
def test_supervisors_refuse_a_bad_interval_before_starting_anything(model, value, error):
    """An interval is a positive number of seconds; anything else is refused with its name."""
    with pytest.raises(error, match='interval'):
        if model == 'thread':
            spinner_thread.supervisor(interval=value)
        elif model == 'process':
            spinner_proc.supervisor(interval=value)
        else:
            asyncio.run(spinner_async.supervisor(interval=value))


@pytest.mark.parametrize(
    'value, error', [(-1, ValueError), (0, ValueError), ('3', TypeError)], ids=['-1', '0', "'3'"]
)
def test_slow_refuses_a_bad_number_of_seconds(value, error):
    with pytest.raises(error, match='seconds'):
        spinner.slow(value)
    with pytest.raises(error, match='seconds'):
        asyncio.run(spinner_async.slow(value))


@pytest.mark.parametrize('value, error', [('fork-exec', ValueError), (3, TypeError)], ids=repr)
def test_process_supervisor_refuses_an_unknown_start_method(value, error):
    with pytest.raises(error, match='start_method'):
        spinner_proc.supervisor(start_method=value)


def test_supervisors_refuse_a_message_that_is_not_text():
    with pytest.raises(TypeError, match='msg'):
        spinner_thread.supervisor(msg=42)
