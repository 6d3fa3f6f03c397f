"""Live demos of the concurrency models of Fluent Python, chapter 19."""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import NoReturn

from concur import checkers, machine, primes, spinner, spinner_async, supervisors
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
