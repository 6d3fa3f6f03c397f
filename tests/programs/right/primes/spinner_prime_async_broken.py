"""A spinner task while a coroutine checks a prime without awaiting: the GIL's third question."""

import asyncio
import itertools

from primes import is_prime

N = 600_000_000_000_073


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


async def check(n: int) -> bool:
    return is_prime(n)


async def supervisor(n: int) -> bool:
    spinner = asyncio.create_task(spin('checking'))
    print(f'spinner object: {spinner}')
    result = await check(n)
    spinner.cancel()
    return result


if __name__ == '__main__':
    print(f'{N:,} is {"" if asyncio.run(supervisor(N)) else "not "}prime')
