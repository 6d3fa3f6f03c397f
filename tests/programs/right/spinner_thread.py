"""A spinner in a thread while the main thread sleeps."""

import itertools
import time
from threading import Event, Thread


def spin(msg: str, done: Event) -> None:
    status = ''
    for char in itertools.cycle('\\|/-'):
        status = f'\r{char} {msg}'
        print(status, end='', flush=True)
        if done.wait(0.1):
            break
    print('\r' + ' ' * len(status) + '\r', end='')


def slow() -> int:
    time.sleep(1)
    return 42


def supervisor() -> int:
    done = Event()
    spinner = Thread(target=spin, args=('working', done))
    print(f'spinner object: {spinner}')
    spinner.start()
    result = slow()
    done.set()
    spinner.join()
    return result


if __name__ == '__main__':
    print(f'Answer: {supervisor()}')
