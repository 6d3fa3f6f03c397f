"""The same CPU-bound threads in a child interpreter started with the GIL switched on, or off.

A free-threaded build (3.13t and later) runs without the GIL unless told otherwise: ``-X gil=1``
(or ``PYTHON_GIL=1``) turns it back on for the whole process, ``-X gil=0`` keeps it off. ``race``
starts ``python -X gil=0|1 -m concur.gil_switch K N...``: in that one child, one worker
thread of the ``threads`` checker checks the numbers, then K worker threads, then one again; the
child prints what it measured as JSON. Only the switch differs between two such children.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from concur import checkers
from concur.checkers import PrimeResult
from concur.timeouts import DEMO_TIMEOUT


@dataclass(frozen=True)
class Raced:
    """One child's figures: k threads against one thread, in the same process."""

    switch: str  # the option the child was started with: '-X gil=1' or '-X gil=0'
    gil: bool  # the child's own word: sys._is_gil_enabled() while the threads ran
    one: float  # seconds one thread took, the faster of its runs before and after the k threads
    seconds: float  # seconds the k threads took
    cpu: float  # CPU seconds the child used while the k threads ran
    results: tuple[PrimeResult, ...]  # the k threads' checks, stamped on time.perf_counter()

    @property
    def speedup(self) -> float:
        return self.one / self.seconds

    @property
    def cores(self) -> float:
        return self.cpu / self.seconds


def race(gil: bool, numbers: Sequence[int], k: int) -> Raced:
    """Run the race in a child of this interpreter started with the GIL on (``gil``) or off."""
    option = ['-X', f'gil={int(gil)}']
    done = subprocess.run(
        [sys.executable, *option, '-m', __name__, str(k), *map(str, numbers)],
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
    )
    if done.returncode:
        last = done.stderr.strip().splitlines()[-1:] or ['no output']
        raise RuntimeError(f'the child {" ".join(option)} failed: {last[0]}')
    data = json.loads(done.stdout)
    return Raced(
        ' '.join(option),
        data['gil'],
        data['one'],
        data['seconds'],
        data['cpu'],
        tuple(PrimeResult(*result) for result in data['results']),
    )


def _timed(numbers: Sequence[int], k: int) -> tuple[float, float, list[PrimeResult]]:
    """Wall seconds and CPU seconds of the threads checker with ``k`` workers, and its results."""
    cpu, start = time.process_time(), time.perf_counter()
    results = list(checkers.threads(numbers, workers=k))
    return time.perf_counter() - start, time.process_time() - cpu, results


def main(argv: Sequence[str]) -> None:
    k, *numbers = map(int, argv)
    first = _timed(numbers, 1)[0]
    seconds, cpu, results = _timed(numbers, k)
    again = _timed(numbers, 1)[0]
    gil = getattr(sys, '_is_gil_enabled', lambda: True)()
    print(
        json.dumps(
            {
                'gil': gil,
                'one': min(first, again),
                'seconds': seconds,
                'cpu': cpu,
                'results': results,
            }
        )
    )


if __name__ == '__main__':
    main(sys.argv[1:])
