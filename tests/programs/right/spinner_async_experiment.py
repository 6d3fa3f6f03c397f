"""The experiment: a coroutine that calls time.sleep blocks the event loop, spinner and all."""

import asyncio
import itertools
import time


async def spin(msg: str) -> None:
    for char in itertools.cycle('\\|/-'):
        print(f'\r{char} {msg}', end='', flush=True)
        try:
            await asyncio.sleep(0.1)
        except asyncio.CancelledError:
            break


async def slow() -> int:
    time.sleep(1)
    return 42


async def supervisor() -> int:
    spinner = asyncio.create_task(spin('working'))
    print(f'spinner object: {spinner}')
    result = await slow()
    spinner.cancel()
    return result


if __name__ == '__main__':
    print(f'Answer: {asyncio.run(supervisor())}')
