"""Live demos of the concurrency models of Fluent Python, chapter 19."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import functools
import multiprocessing
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from concur import (
    checkers,
    clocked,
    gil_release,
    gil_switch,
    machine,
    offload,
    predictions,
    primes,
    questions,
    spinner,
    spinner_async,
    supervisors,
)
from concur.arguments import positive_int, positive_number

Checker = Callable[..., Iterator[checkers.PrimeResult]]


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f'{self.prog}: error: {message} (see --help)\n')


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a number of seconds, got {text!r}') from None
    try:
        return positive_number('seconds', value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def workers(text: str) -> int:
    try:
        return positive_int('workers', int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected a whole number of workers, at least 1, got {text!r}'
        ) from None


def run_spinner(args: argparse.Namespace) -> int:
    if args.work == 'prime':
        n = primes.BOOK_PRIME if args.seconds is None else primes.calibrated_prime(args.seconds)
        print(f'checking whether {n:_} is prime')
        # The notes' third question: with no coroutine to await, the async supervisor calls
        # is_prime inside a coroutine, so the spinner freezes.
        work: Callable[[], object] = functools.partial(primes.is_prime, n)
        async_work: Callable[[], Awaitable[object]] | None = None
    else:
        seconds = spinner.SECONDS if args.seconds is None else args.seconds
        work = functools.partial(spinner.slow, seconds)
        async_work = functools.partial(spinner_async.slow, seconds)
    print(f'Answer: {supervisors.supervise(args.model, work, async_work)}')
    return 0


def run_primes(args: argparse.Namespace) -> int:
    numbers = checkers.NUMBERS
    for option, models, given in [
        ('--start-method', checkers.PROCESS_CHECKERS, args.start_method),
        ('--scheduler', ('dask',), args.scheduler),
    ]:
        if given and args.model not in models:
            args.parser.error(f'{option} is for {" and ".join(models)}, not {args.model}')
    if args.scheduler and args.workers is not None:
        args.parser.error('WORKERS is for a local cluster: the cluster at --scheduler has its own')
    workers = args.cores if args.workers is None else args.workers
    options: dict[str, object] = {} if args.model == 'sequential' else {'workers': workers}
    if args.start_method:
        options['start_method'] = args.start_method
    if args.scheduler:
        options = {'scheduler': args.scheduler}
    check, unreachable = checker(args)
    try:
        results = check(numbers, **options)
    except ValueError as error:  # an address that is not one, refused before connecting
        args.parser.error(str(error))
    if args.model == 'sequential':
        how = 'sequentially'
    elif args.scheduler:
        how = f'on the Dask cluster at {args.scheduler}'
    else:
        how = f'with {args.model}, {workers} workers'
    print(f'Checking {len(numbers)} numbers {how}:')
    start = time.perf_counter()
    checked = 0
    try:
        for result in results:
            checked += 1
            print(
                f'{result.n:21_}  {"P" if result.prime else " "}  {result.elapsed:9.6f}s',
                flush=True,
            )
    except unreachable as error:
        args.parser.error(str(error))
    print(f'{checked} checks in {time.perf_counter() - start:.2f}s')
    return 0


def checker(args: argparse.Namespace) -> tuple[Checker, tuple[type[Exception], ...]]:
    """The checker the model names, and the errors that say its cluster could not be reached:
    for dask, from the one module of concur that imports Dask."""
    if args.model != 'dask':
        return checkers.CHECKERS[args.model], ()
    try:
        from concur import cluster
    except ImportError as error:
        args.parser.error(
            f"dask needs Dask's distributed package ({error}): python -m pip install distributed"
        )
    return cluster.dask, (cluster.NoCluster,)


# How long one share of work takes in the release and offload demos, by default: long enough to
# watch, short enough that a few shares one after another take a few seconds.
SHARE_SECONDS = 0.5
# The gil-switch demo: one thread checks this many copies of a prime in about this long.
GIL_SWITCH_NUMBERS = 8
GIL_SWITCH_SECONDS = 1.0


def share(work: str, seconds: float) -> tuple[Callable[[int], object], int, str]:
    """One share of ``work`` sized to take about ``seconds`` here: the function, its argument,
    and what it does in words."""
    if work == 'prime':
        n = primes.calibrated_prime(seconds)
        return primes.is_prime, n, f'is_prime({n:_})'
    rounds = gil_release.calibrated_rounds(work, seconds)
    return gil_release.WORK[work], rounds, f'{work} of {rounds} x {gil_release.CHUNK // 1024} KiB'


def in_a_row(func: Callable[[int], object], arg: int, k: int) -> tuple[float, float]:
    """Seconds for ``k`` calls of ``func(arg)`` one after another in this thread, and the cores
    they used."""
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(k):
        func(arg)
    seconds = time.perf_counter() - start
    return seconds, (time.process_time() - cpu) / seconds


def run_release(args: argparse.Namespace) -> int:
    func, arg, what = share(args.work, args.seconds)
    k = args.threads
    print(f'{k} shares of work, each {what}: about {args.seconds:g} s here ({machine.build()})')
    # Shares in a row both before and after the threads, the faster kept: a CPU that has been
    # idle speeds up over its first second or so of work.
    before = in_a_row(func, arg, k)
    calls = clocked.in_threads([(func, (own,)) for own in primes.copies(arg, k)])
    sequential, used = min(before, in_a_row(func, arg, k))
    wall = clocked.wall(calls)
    print(
        f'  one after another in this thread: {sequential:5.2f} s on {used:.2f} cores '
        f'(the faster of two runs)'
    )
    print(
        f'  {f"in {k} threads at once:":33} {wall:5.2f} s on {clocked.cores(calls):.2f} cores, '
        f'{sequential / wall:.2f}x as fast'
    )
    if args.work != 'prime':
        print(
            f'{args.work} lets go of the GIL while its C code runs: threads can run it in parallel.'
        )
    elif machine.gil_enabled():
        print('is_prime is Python code: with the GIL one thread runs bytecode at a time, in turns.')
    else:
        print('is_prime is Python code, and this build runs it without the GIL: in parallel.')
    return 0


async def offloaded(to: Callable[..., Awaitable[clocked.Clocked]], n: int, calls: int) -> None:
    # One call both before and after the calls at once, the faster the unit: a CPU that has been
    # idle speeds up over its first second or so of work.
    runs = [
        await offload.gathered(to, [(primes.is_prime, own) for own in primes.copies(n, k)])
        for k in (1, calls, 1)
    ]
    one = min(runs[0].wall, runs[2].wall)
    for run, label in zip(
        runs, ['1 call:', f'{calls} calls at once:', '1 call again:'], strict=True
    ):
        print(
            f'  {label:18} {run.wall:5.2f} s, {run.wall / one:4.2f}x one call; '
            f'the loop ticked {run.ticks} times meanwhile'
        )


def run_offload(args: argparse.Namespace) -> int:
    if args.start_method and args.to != 'process':
        args.parser.error('--start-method is for process, not thread')
    n = primes.calibrated_prime(args.seconds)
    print(f'awaiting is_prime({n:_}), about {args.seconds:g} s here, in an event loop')
    print(f'({machine.build()}) beside a task that ticks every {1000 * offload.TICK:g} ms if free,')
    if args.to == 'thread':
        print('with asyncio.to_thread:')
        asyncio.run(offloaded(offload.in_thread, n, args.calls))
        print(
            'to_thread frees the event loop (it kept ticking), '
            + (
                'not the CPU: with the GIL the threads take turns.'
                if machine.gil_enabled()
                else 'and without the GIL the CPU too: in parallel.'
            )
        )
        return 0
    ctx = multiprocessing.get_context(args.start_method)
    with concurrent.futures.ProcessPoolExecutor(args.calls, mp_context=ctx) as pool:
        start = time.perf_counter()
        offload.start_processes(pool, args.calls)
        print(
            f'with run_in_executor on a pool of {args.calls} processes '
            f'({ctx.get_start_method()}, started in {time.perf_counter() - start:.2f} s):'
        )
        asyncio.run(offloaded(offload.in_process(pool), n, args.calls))
    print(
        'a process pool frees the loop and the CPU: each call runs in a process with its own GIL.'
    )
    return 0


def writable(args: argparse.Namespace) -> str:
    """Why the predictions cannot be written to ``args.output``, or ''."""
    path = Path(args.output)
    if path.is_dir():
        return f'{path} is a folder: give a file name with --output'
    if path.exists() and not args.force:
        return f'{path} exists: give --force to replace it, or another file with --output'
    folder = path.parent
    if not folder.is_dir():
        return f'cannot write {path}: there is no folder {folder}'
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f'cannot write {path}: permission denied'
    return ''


def echoed(prompt: str) -> str:
    """``input``, with the reply shown after the prompt, as a terminal echoes it, where it came
    from a file or a pipe."""
    reply = input(prompt)
    print(reply)
    return reply


def run_predict(args: argparse.Namespace) -> int:
    problem = writable(args)
    if problem:
        args.parser.error(problem)
    print(
        f'{len(questions.QUESTIONS)} questions to answer before measuring; each answer goes to '
        f'{args.output}.'
    )
    answers: dict[str, str] = {}
    try:
        predictions.ask(questions.QUESTIONS, answers, input if sys.stdin.isatty() else echoed)
    except predictions.Stopped as stop:
        if answers:
            Path(args.output).write_text(predictions.document(answers, args.output), 'utf-8')
            kept = f'wrote the {len(answers)} answers given to {args.output}, the other '
            kept += 'questions commented out there, to answer by hand'
        else:
            kept = 'nothing written'
        print(
            f'\n{args.parser.prog}: stopped at question {stop.number} of '
            f'{len(questions.QUESTIONS)} ({stop.why}): {kept}',
            file=sys.stderr,
        )
        return 130 if stop.why == 'interrupted' else 1
    Path(args.output).write_text(predictions.document(answers, args.output), 'utf-8')
    print(f'\nwrote {len(answers)} predictions to {args.output}; now measure them:')
    print(f'    pytest --concur-predictions={args.output}')
    return 0


def run_gil_switch(args: argparse.Namespace) -> int:
    if not machine.free_threaded_build():
        args.parser.error(
            'needs a free-threaded build (CPython 3.13t or later), the only one that can switch '
            f'the GIL on and off; this is {machine.describe()}'
        )
    k, count = args.threads, GIL_SWITCH_NUMBERS
    n = primes.calibrated_prime(args.seconds / count)
    print(
        f'one thread, then {k} threads, check is_prime({n:_}) {count} times, about '
        f'{args.seconds:g} s here for one thread, in a child of this Python started with the GIL '
        'off, then on:'
    )
    for gil in (False, True):
        raced = gil_switch.race(gil, [n] * count, k)
        print(
            f'  {raced.switch} (GIL {"on" if raced.gil else "off"}): one thread {raced.one:.2f} s, '
            f'{k} threads {raced.seconds:.2f} s: {raced.speedup:.2f}x as fast, '
            f'on {raced.cores:.2f} cores'
        )
    print('One build, the same threads: without the GIL they run at once, with it they take turns.')
    return 0


def parser() -> Parser:
    top = Parser(prog='python -m concur', description=__doc__)
    demos = top.add_subparsers(title='demos', dest='demo', required=True, parser_class=Parser)
    spin = demos.add_parser(
        'spinner',
        help='a spinner keeps you company while slow work runs',
        description='Show a spinner while slow work runs, then print the answer.',
    )
    spin.add_argument(
        'model',
        choices=supervisors.MODELS,
        help='where the spinner runs: a thread, a child process, or an asyncio task',
    )
    spin.add_argument(
        '--work',
        choices=['sleep', 'prime'],
        default='sleep',
        help='what the slow work does: sleep, or check a prime with is_prime, '
        'CPU-bound (default: sleep)',
    )
    spin.add_argument(
        '--seconds',
        type=seconds,
        default=None,
        help=f'sleep: how long the work sleeps (default: {spinner.SECONDS:g}); '
        f'prime: check a prime that takes about this long on this machine, '
        f"found by timing is_prime first (default: the book's prime "
        f'{primes.BOOK_PRIME:_}, a few seconds)',
    )
    spin.set_defaults(run=run_spinner)
    check_demo = demos.add_parser(
        'primes',
        help="check the book's 20 numbers for primes, with each model",
        description="Check the book's 20 numbers for primes and time each check, "
        "as the book's sequential.py, threads.py and procs.py do.",
    )
    check_demo.add_argument(
        'model',
        choices=[*checkers.CHECKERS, 'dask'],
        help='sequential: in this thread; threads, procs: workers fed by queues; '
        'pool: a ProcessPoolExecutor; interpreters (Python 3.14+): subinterpreters; '
        'dask: a Dask cluster (needs the distributed package)',
    )
    cores = machine.usable_cores()
    check_demo.add_argument(
        'workers',
        nargs='?',
        type=workers,
        help=f'how many workers (default: the {cores} usable cores; sequential has none, '
        f'nor a cluster at --scheduler)',
    )
    check_demo.add_argument(
        '--start-method',
        choices=multiprocessing.get_all_start_methods(),
        help="how procs and pool start their processes (default: the platform's)",
    )
    check_demo.add_argument(
        '--scheduler',
        metavar='ADDRESS',
        help="dask: the address of a running cluster's scheduler, such as tcp://192.168.1.5:8786 "
        '(default: start a local cluster of WORKERS processes on 127.0.0.1, closed at the end)',
    )
    check_demo.set_defaults(run=run_primes, parser=check_demo, cores=cores)
    release = demos.add_parser(
        'release',
        help='threads in C code that releases the GIL (hashing, compressing) or in Python code',
        description='Do k shares of work one after another, then in k threads at once, and show '
        'the time and the cores each took: sha256 and zlib release the GIL, is_prime cannot.',
    )
    release.add_argument(
        'work',
        choices=[*gil_release.WORK, 'prime'],
        help='sha256: hashlib hashes; zlib: zlib compresses; prime: is_prime, Python code',
    )
    release.add_argument(
        'threads',
        nargs='?',
        type=workers,
        default=cores,
        help=f'how many threads, each doing one share (default: the {cores} usable cores)',
    )
    release.add_argument(
        '--seconds',
        type=seconds,
        default=SHARE_SECONDS,
        help=f'how long one share takes here (default: {SHARE_SECONDS:g})',
    )
    release.set_defaults(run=run_release)
    away = demos.add_parser(
        'offload',
        help='is_prime inside an event loop, sent to a thread or to a process pool',
        description='Await is_prime once, then several times at once, sent to a thread with '
        'asyncio.to_thread or to a process pool with run_in_executor, while a task ticks: the '
        'loop stays free either way; only the processes run the calls in parallel.',
    )
    away.add_argument(
        'to', choices=['thread', 'process'], help='where the calls run: threads or processes'
    )
    away.add_argument(
        'calls', nargs='?', type=workers, default=2, help='how many calls at once (default: 2)'
    )
    away.add_argument(
        '--seconds',
        type=seconds,
        default=SHARE_SECONDS,
        help=f'how long one call takes here (default: {SHARE_SECONDS:g})',
    )
    away.add_argument(
        '--start-method',
        choices=multiprocessing.get_all_start_methods(),
        help="how the pool starts its processes (default: the platform's)",
    )
    away.set_defaults(run=run_offload, parser=away)
    predict = demos.add_parser(
        'predict',
        help="answer the chapter's questions before measuring, into a TOML file",
        description="Ask the notes' three questions and the chapter's other predictions, each "
        'with its choices and "don\'t know", and write the answers to a TOML file; pytest '
        '--concur-predictions=FILE then marks each against what the run measured. Answers come '
        'from the terminal, or one a line from standard input.',
    )
    predict.add_argument(
        '--output',
        '-o',
        default='predictions.toml',
        help='the file to write (default: predictions.toml)',
    )
    predict.add_argument('--force', action='store_true', help='replace the file if it exists')
    predict.set_defaults(run=run_predict, parser=predict)
    switch = demos.add_parser(
        'gil-switch',
        help='free-threaded builds: the same threads with the GIL switched off, then on',
        description='On a free-threaded build (3.13t or later), time one thread and then k '
        'threads checking the same numbers in a child started with -X gil=0, then in one '
        'started with -X gil=1: the switch alone decides whether the threads run at once.',
    )
    switch.add_argument(
        'threads',
        nargs='?',
        type=workers,
        default=cores,
        help=f'how many threads (default: the {cores} usable cores)',
    )
    switch.add_argument(
        '--seconds',
        type=seconds,
        default=GIL_SWITCH_SECONDS,
        help=f'how long one thread takes for all the numbers here (default: '
        f'{GIL_SWITCH_SECONDS:g})',
    )
    switch.set_defaults(run=run_gil_switch, parser=switch)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
