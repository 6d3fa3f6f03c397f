"""Live demos of the concurrency models of Fluent Python, chapter 19."""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import NoReturn

from concur import checkers, machine, primes, spinner, spinner_async, supervisors
from concur.arguments import positive_int, positive_number


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
    if args.start_method and args.model not in checkers.PROCESS_CHECKERS:
        args.parser.error(
            f'--start-method is for {" and ".join(checkers.PROCESS_CHECKERS)}, not {args.model}'
        )
    options = {} if args.model == 'sequential' else {'workers': args.workers}
    if args.start_method:
        options['start_method'] = args.start_method
    how = (
        'sequentially'
        if args.model == 'sequential'
        else f'with {args.model}, {args.workers} workers'
    )
    print(f'Checking {len(numbers)} numbers {how}:')
    start = time.perf_counter()
    checked = 0
    for result in checkers.CHECKERS[args.model](numbers, **options):
        checked += 1
        print(f'{result.n:21_}  {"P" if result.prime else " "}  {result.elapsed:9.6f}s', flush=True)
    print(f'{checked} checks in {time.perf_counter() - start:.2f}s')
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
        choices=list(checkers.CHECKERS),
        help='sequential: in this thread; threads, procs: workers fed by queues; '
        'pool: a ProcessPoolExecutor; interpreters (Python 3.14+): subinterpreters',
    )
    cores = machine.usable_cores()
    check_demo.add_argument(
        'workers',
        nargs='?',
        type=workers,
        default=cores,
        help=f'how many workers (default: the {cores} usable cores; sequential has none)',
    )
    check_demo.add_argument(
        '--start-method',
        choices=multiprocessing.get_all_start_methods(),
        help="how procs and pool start their processes (default: the platform's)",
    )
    check_demo.set_defaults(run=run_primes, parser=check_demo)
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
