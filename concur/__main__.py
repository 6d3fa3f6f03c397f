"""Live demos of the concurrency models of Fluent Python, chapter 19."""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from typing import NoReturn, Sequence

from concur import spinner, spinner_async, spinner_proc, spinner_thread
from concur.check import positive_number


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f'{self.prog}: error: {message} (see --help)\n')


def seconds(text: str) -> float:
    try:
        return positive_number('seconds', float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a number of seconds above 0, got {text!r}') from None


def run_spinner(args: argparse.Namespace) -> int:
    if args.model == 'thread':
        result = spinner_thread.supervisor(functools.partial(spinner.slow, args.seconds))
    elif args.model == 'process':
        result = spinner_proc.supervisor(functools.partial(spinner.slow, args.seconds))
    else:
        work = functools.partial(spinner_async.slow, args.seconds)
        result = asyncio.run(spinner_async.supervisor(work))
    print(f'Answer: {result}')
    return 0


def parser() -> Parser:
    top = Parser(prog='python -m concur', description=__doc__)
    demos = top.add_subparsers(title='demos', dest='demo', required=True, parser_class=Parser)
    spin = demos.add_parser('spinner', help='a spinner keeps you company while slow work runs',
                            description='Show a spinner while slow work runs, then print the answer.')
    spin.add_argument('model', choices=['thread', 'process', 'async'],
                      help='where the spinner runs: a thread, a child process, or an asyncio task')
    spin.add_argument('--work', choices=['sleep'], default='sleep',
                      help='what the slow work does (default: sleep)')
    spin.add_argument('--seconds', type=seconds, default=spinner.SECONDS,
                      help=f'how long the work sleeps (default: {spinner.SECONDS:g})')
    spin.set_defaults(run=run_spinner)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
