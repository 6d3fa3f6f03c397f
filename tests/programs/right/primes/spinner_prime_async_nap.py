"""The fix for the third question: is_prime naps (awaits asyncio.sleep(0)) now and then."""

import asyncio
import itertools
import math

N = 600_000_000_000_073
NAP_EVERY = 50_000  # divisions between naps


async def is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    for divisor in range(3, math.isqrt(n) + 1, 2):
        if n % divisor == 0:
            return False
        if divisor % NAP_EVERY == 1:
            await asyncio.sleep(0)
    return True


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


async def supervisor(n: int) -> bool:
    spinner = asyncio.create_task(spin('checking'))
    print(f'spinner object: {spinner}')
    result = await is_prime(n)
    spinner.cancel()
    return result


if __name__ == '__main__':
    print(f'{N:,} is {"" if asyncio.run(supervisor(N)) else "not "}prime')
