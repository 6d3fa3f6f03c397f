"""A spinner task while a coroutine awaits its sleep."""

import asyncio
import itertools


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


async def slow() -> int:
    await asyncio.sleep(1)
    return 42


async def supervisor() -> int:
    spinner = asyncio.create_task(spin('working'))
    print(f'spinner object: {spinner}')
    result = await slow()
    spinner.cancel()
    return result


if __name__ == '__main__':
    print(f'Answer: {asyncio.run(supervisor())}')
