"""Mistake: the supervisor calls time.sleep, which blocks the event loop (spinner_async.py)."""

import asyncio
import itertools
import time


async def spin(msg: str) -> None:
    status = ''
    for char in itertools.cycle('\\|/-'):
        status = f'\r{char} {msg}'
        print(status, end='', flush=True)
        try:
            await asyncio.sleep(0.1)
        except asyncio.CancelledError:
            break
    print('\r' + ' ' * len(status) + '\r', end='')


async def supervisor() -> int:
    spinner = asyncio.create_task(spin('working'))
    print(f'spinner object: {spinner}')
    time.sleep(1)
    result = 42
    spinner.cancel()
    return result


if __name__ == '__main__':
    print(f'Answer: {asyncio.run(supervisor())}')
