"""A spinner thread while the main thread checks a prime: the GIL's second question."""

import itertools
from threading import Event, Thread

from primes import is_prime

N = 600_000_000_000_073


def spin(msg: str, done: Event) -> None:
    status = ''
    for char in itertools.cycle('\\|/-'):
        status = f'\r{char} {msg}'
        print(status, end='', flush=True)
        if done.wait(0.1):
            break
    print('\r' + ' ' * len(status) + '\r', end='')


def supervisor(n: int) -> bool:
    done = Event()
    spinner = Thread(target=spin, args=('checking', done))
    print(f'spinner object: {spinner}')
    spinner.start()
    result = is_prime(n)
    done.set()
    spinner.join()
    return result


if __name__ == '__main__':
    print(f'{N:,} is {"" if supervisor(N) else "not "}prime')
