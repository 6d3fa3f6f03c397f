"""Bad input: the ``concur`` functions and the command line refuse wrong values with a message that
names what was wrong, a ``TypeError`` or ``ValueError`` from the API, one line and exit status 2
from the command line. Not the chapter: what a learner meets when a call goes wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from functools import partial

import pytest
from claims import NO_DASK, run_demo

from concur import (
    checkers,
    gil_release,
    machine,
    primes,
    spinner,
    spinner_async,
    spinner_proc,
    spinner_thread,
    supervisors,
)
from concur.__main__ import main
from concur.primes import is_prime

# Not a claim of the chapter: run with `pytest -m selfcheck` (pytest.ini).
pytestmark = pytest.mark.selfcheck


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
    result = run_demo(*args)
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
@pytest.mark.parametrize('model', supervisors.MODELS)
def test_supervisors_refuse_a_bad_interval_before_starting_anything(model, value, error):
    """An interval is a positive number of seconds; anything else is refused with its name,
    before the spinner starts or the work runs."""
    ran: list[bool] = []
    with pytest.raises(error, match='interval'):
        supervisors.supervise(model, lambda: ran.append(True), interval=value)
    assert not ran, f'the {model} supervisor ran the work before refusing interval={value!r}'


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
        spinner_thread.supervisor(msg=42)  # type: ignore[arg-type]


@pytest.mark.parametrize('bad', ['7', 7.0, True, None], ids=repr)
def test_is_prime_rejects_what_is_not_an_int_with_a_type_error(bad):
    """A float or a str has no exact divisors to try, and True == 1 would only hide a mistake."""
    with pytest.raises(TypeError, match=r'^n must be an int, got '):
        is_prime(bad)


@pytest.mark.parametrize(
    'call, error, message',
    [
        (partial(primes.calibrated_prime, 0), ValueError, 'seconds must be greater than 0'),
        (partial(primes.calibrated_prime, '1'), TypeError, 'seconds must be a number'),  # type: ignore[arg-type]
        (partial(primes.next_prime, 2.5), TypeError, 'n must be an int'),  # type: ignore[arg-type]
    ],
    ids=['zero seconds', 'seconds as str', 'float n'],
)
def test_the_prime_helpers_reject_bad_arguments_by_name(call, error, message):
    """A wrong type or value fails at once, with a message naming the argument."""
    with pytest.raises(error, match=f'^{message}'):
        call()


@pytest.mark.parametrize('workers', ['0', '-1', 'two', '1.5'])
def test_primes_command_refuses_a_bad_worker_count_in_one_line_with_status_2(workers, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(['primes', 'procs', workers])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and len(error.splitlines()) == 1 and 'workers' in error, error


@pytest.mark.parametrize(
    'args, says',
    [
        pytest.param(args, says, id=' '.join(args))
        for args, says in [
            (['primes', 'threads', '--start-method', 'spawn'], '--start-method is for procs'),
            (['primes', 'sequential', '--start-method', 'fork'], '--start-method is for procs'),
            (['primes', 'procs', '100000'], 'at most'),
            (['primes', 'pool', '100000'], 'at most'),
        ]
    ],
)
def test_primes_command_refuses_what_it_cannot_do_in_one_line_with_status_2(args, says, capsys):
    """A start method for threads, or more worker processes than the machine can start (a
    limit the line names), is refused before anything starts, in one line."""
    with pytest.raises(SystemExit) as exit_:
        main(args)
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and len(error.splitlines()) == 1 and says in error, (
        f'expected exit status 2 and one line saying {says!r}, got {exit_.value.code}: {error}'
    )


@pytest.mark.parametrize('model', ['threads', 'procs', 'pool'])
@pytest.mark.parametrize(
    'arguments, error, name',
    [
        ({'workers': 0}, ValueError, 'workers'),
        ({'workers': '2'}, TypeError, 'workers'),
        ({'numbers': [3, 0]}, ValueError, r'numbers\[1\]'),
        ({'numbers': 7}, TypeError, 'numbers'),
        ({'numbers': [2.0]}, TypeError, r'numbers\[0\]'),
    ],
    ids=['workers=0', 'workers=str', 'number 0', 'numbers=int', 'number float'],
)
def test_checkers_refuse_bad_arguments_before_starting_workers(model, arguments, error, name):
    """The error names the argument, and comes before any worker starts. A 0 is refused since it
    is the workers' stop signal."""
    with pytest.raises(error, match=name):
        checkers.CHECKERS[model](**arguments)


def test_process_checkers_refuse_an_unknown_start_method():
    with pytest.raises(ValueError, match='start_method'):
        checkers.procs([3], 1, 'thread')


# ---- the checker on a Dask cluster ---------------------------------------------------------------


@pytest.mark.parametrize(
    'args, message',
    [
        (['dask', '--scheduler', 'nonsense'], 'scheduler must be an address'),
        (['dask', '--scheduler', 'tcp://127.0.0.1'], 'missing port'),
        (['dask', '--scheduler', 'http://127.0.0.1:8786'], 'scheme tcp or tls'),
        (['dask', '--scheduler', 'tcp://127.0.0.1:99999'], 'a port from 1 to 65535'),
        (['dask', '2', '--scheduler', 'tcp://127.0.0.1:8786'], 'WORKERS is for a local cluster'),
        (['procs', '--scheduler', 'tcp://127.0.0.1:8786'], '--scheduler is for dask'),
    ],
    ids=['no port or scheme', 'no port', 'http', 'port 99999', 'workers too', 'procs'],
)
def test_primes_command_refuses_a_bad_scheduler_address_in_one_line_with_status_2(
    args, message, capsys
):
    """A scheduler's address is refused before anything connects when it cannot be one."""
    pytest.importorskip('distributed', reason=NO_DASK)
    with pytest.raises(SystemExit) as exit_:
        main(['primes', *args])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and len(error.splitlines()) == 1 and message in error, error


@pytest.mark.parametrize('scheduler', ['nothing listens', 'a scheduler without workers'])
def test_primes_command_says_in_one_line_when_no_cluster_answers_at_the_address(
    scheduler, monkeypatch, capsys
):
    """A cluster is only known to be there by connecting: within CONNECT_TIMEOUT a scheduler must
    answer at the address and have a worker, or the command line says which was missing."""
    pytest.importorskip('distributed', reason=NO_DASK)
    from concur import cluster

    monkeypatch.setattr(cluster, 'CONNECT_TIMEOUT', 0.2)  # short, for the test's sake
    with contextlib.ExitStack() as stack:
        if scheduler == 'nothing listens':
            # A port bound and not listening: a connection there is refused, and no one else can
            # start listening on it meanwhile.
            port = stack.enter_context(socket.socket())
            port.bind((cluster.LOOPBACK, 0))
            address, missing = f'tcp://{cluster.LOOPBACK}:{port.getsockname()[1]}', 'answered'
        else:
            client = stack.enter_context(cluster.local_cluster(0))
            address, missing = client.scheduler_info()['address'], 'has no worker'
        with pytest.raises(SystemExit) as exit_:
            main(['primes', 'dask', '--scheduler', address])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and len(error.splitlines()) == 1, error
    assert missing in error and address in error, error


def test_primes_command_says_how_to_install_dask_where_it_is_missing(monkeypatch, capsys):
    """The dask model is always offered; where Dask is not installed, choosing it says how to
    install it instead of a traceback."""
    import concur

    monkeypatch.delattr(concur, 'cluster', raising=False)
    monkeypatch.setitem(sys.modules, 'concur.cluster', None)  # as if it could not be imported
    with pytest.raises(SystemExit) as exit_:
        main(['primes', 'dask'])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and len(error.splitlines()) == 1, error
    assert 'pip install distributed' in error, error


@pytest.mark.parametrize(
    'arguments, error, name',
    [
        ({'workers': 0}, ValueError, 'workers'),
        ({'numbers': [3, 0]}, ValueError, r'numbers\[1\]'),
        ({'scheduler': 8786}, TypeError, 'scheduler'),
        ({'scheduler': 'tcp://127.0.0.1'}, ValueError, 'scheduler'),
        ({'scheduler': 'tcp://127.0.0.1:8786', 'workers': 2}, ValueError, 'workers'),
    ],
    ids=['workers=0', 'number 0', 'scheduler=int', 'no port', 'workers and scheduler'],
)
def test_the_dask_checker_refuses_bad_arguments_before_connecting(arguments, error, name):
    """The error names the argument, and comes at the call, before any cluster starts or is
    reached."""
    pytest.importorskip('distributed', reason=NO_DASK)
    from concur import cluster

    with pytest.raises(error, match=name):
        cluster.dask(**arguments)


# ---- what releases the GIL: the release and offload demos, and the work they run -------------


@pytest.mark.parametrize(
    'args',
    [
        ['release'],
        ['release', 'md5'],
        ['release', 'sha256', '0'],
        ['release', 'prime', 'two'],
        ['release', 'zlib', '--seconds', '0'],
        ['offload'],
        ['offload', 'fiber'],
        ['offload', 'thread', '0'],
        ['offload', 'process', '--seconds', 'soon'],
        ['offload', 'process', '--start-method', 'fork-exec'],
        ['offload', 'thread', '--start-method', 'spawn'],
    ],
    ids=' '.join,
)
def test_release_and_offload_commands_refuse_bad_arguments_in_one_line_with_status_2(args, capsys):
    """A learner who mistypes gets told what was wrong, in one line, not a traceback."""
    with pytest.raises(SystemExit) as exit_:
        main(args)
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and len(error.splitlines()) == 1 and 'error' in error, error


@pytest.mark.parametrize(
    'call, error, message',
    [
        (partial(gil_release.sha256, 0), ValueError, 'rounds must be at least 1'),
        (partial(gil_release.compress, 2.0), TypeError, 'rounds must be an int'),  # type: ignore[arg-type]
        (partial(gil_release.calibrated_rounds, 'md5', 0.1), ValueError, 'work must be one of'),
        (partial(gil_release.calibrated_rounds, 3, 0.1), TypeError, 'work must be a str'),  # type: ignore[arg-type]
        (partial(gil_release.calibrated_rounds, 'zlib', 0), ValueError, 'seconds must be greater'),
    ],
    ids=[
        'sha256 0 rounds',
        'compress float rounds',
        'unknown work',
        'work not str',
        'zero seconds',
    ],
)
def test_the_gil_releasing_work_rejects_bad_arguments_by_name(call, error, message):
    """A wrong type or value fails at once, with a message naming the argument."""
    with pytest.raises(error, match=f'^{message}'):
        call()


@pytest.mark.parametrize(
    'where, force',
    [('mine.toml', False), ('no-such-folder/mine.toml', True), ('.', True)],
    ids=['exists without --force', 'no such folder', 'a folder'],
)
def test_predict_refuses_an_output_it_cannot_write_in_one_line_with_status_2(
    where, force, tmp_path, monkeypatch
):
    """Before asking anything: a reader's predictions are never lost to a file that cannot be
    written, nor written over without --force."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'mine.toml').write_text('question-1 = "late"\n', encoding='utf-8')
    result = run_demo('predict', '--output', where, *(['--force'] if force else []))
    assert result.returncode == 2, f'expected exit status 2, got {result.returncode}'
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'error' in lines[0] and where in lines[0], result.stderr
    assert not result.stdout, f'expected no question asked, got {result.stdout[:200]}'
    assert (tmp_path / 'mine.toml').read_text(encoding='utf-8') == 'question-1 = "late"\n'


# ---- the gil-switch demo: free-threaded builds only -------------------------------------------


@pytest.mark.parametrize(
    'args',
    [['gil-switch', '0'], ['gil-switch', 'two'], ['gil-switch', '--seconds', '0']],
    ids=' '.join,
)
def test_gil_switch_command_refuses_bad_arguments_in_one_line_with_status_2(args, capsys):
    """A learner who mistypes gets told what was wrong, in one line, not a traceback."""
    with pytest.raises(SystemExit) as exit_:
        main(args)
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and len(error.splitlines()) == 1 and 'error' in error, error


def test_gil_switch_command_says_in_one_line_that_a_build_with_the_gil_has_no_switch():
    """-X gil=0 needs a free-threaded build: elsewhere the demo names the build it needs and the
    one it found, with status 2, before it starts anything."""
    if machine.free_threaded_build():
        pytest.skip(f'this build has the switch: {machine.describe()}')
    result = run_demo('gil-switch')
    lines = result.stderr.strip().splitlines()
    assert (
        result.returncode == 2
        and len(lines) == 1
        and 'free-threaded build' in lines[0]
        and machine.describe() in lines[0]
        and 'Traceback' not in result.stderr
    ), f'expected one line naming the build needed and status 2, got {result.returncode}: ' + (
        result.stderr
    )
