"""What a block of code costs, read from the kernel with psutil: wall time, CPU time, cores.

``with Usage() as usage: ...`` measures the block; afterwards ``usage.cpu`` is this process's CPU
time (all its threads), ``usage.children_cpu`` that of its child processes, ``usage.threads`` each
thread's CPU time by native id, and ``usage.cores`` the cores used: CPU time over wall time.
``usage.others`` is the CPU time the rest of the machine took meanwhile (``usage.siblings_cpu`` the
part of it the other pytest-xdist workers of the run took), and ``usage.available`` how many cores
that left free: the passive half of the suite's control (``concur.testing.evidence``).

Two traps of the kernel's counters, and how ``Usage`` deals with them:

- Linux adds a child's CPU time to its parent's ``children_user``/``children_system`` only when
  the parent reaps it (``join``, ``wait``). Until then, running or finished (a zombie), the time is
  only in the child's own counters. So ``Usage`` counts the growth of the reaped total, plus the
  growth of each child it saw alive (its own time and what it reaped itself, read as late as
  possible); a child seen alive and reaped later is in the reaped total already, so its last
  reading is dropped. Off Linux the reaped total stays 0 and a child's last reading is kept.
- A thread's counters vanish when it ends, and so do a child's off Linux. ``sample()`` reads them
  now; ``Usage`` keeps the last reading of each, so sample while the units you care about run.
  Units that start and end between two samples are counted in the process's total, not one by one.

Counters tick in hundredths of a second: measure blocks of tenths of a second or more. A child
reaped in the microseconds between two of the reads above can be missed; a child's own children
that it leaves behind as orphans are not counted.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType

import psutil

from concur import machine

# Where the kernel adds a reaped child's time to its parent's children_* counters.
REAPED_CHILDREN_COUNTED = sys.platform.startswith('linux')


# The modules that multiprocessing's helper processes run, as their command lines name them.
MULTIPROCESSING_HELPERS = ('multiprocessing.resource_tracker', 'multiprocessing.forkserver')


def is_multiprocessing_helper(proc: psutil.Process) -> bool:
    try:
        cmdline = ' '.join(proc.cmdline())
    except psutil.Error:
        return False
    return any(helper in cmdline for helper in MULTIPROCESSING_HELPERS)


def children() -> list[psutil.Process]:
    """This process's descendants, without multiprocessing's resource tracker and forkserver,
    which live as long as the program rather than belonging to one piece of work. The processes
    a forkserver starts are its children, copies of it with the same command line: they count."""
    me = psutil.Process()
    helpers = {p.pid for p in me.children() if is_multiprocessing_helper(p)}
    return [p for p in me.children(recursive=True) if p.pid not in helpers]


def _child_times() -> dict[int, float]:
    """CPU seconds of each live descendant: its own, and that of the children it reaped."""
    times = {}
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
        except psutil.Error:  # gone between listing and reading
            continue
        times[child.pid] = t.user + t.system + t.children_user + t.children_system
    return times


def system_call(tid: int) -> int | None:
    """The number of the system call that thread ``tid`` of this process waits in now, read from
    Linux's ``/proc/self/task/TID/syscall``; None while it runs, or where the kernel does not say
    (another system, or a thread that has ended)."""
    try:
        with open(f'/proc/self/task/{tid}/syscall') as text:
            first = text.read().split(maxsplit=1)
    except OSError:
        return None
    return int(first[0]) if first and first[0].isdigit() else None


def siblings() -> list[psutil.Process]:
    """The other workers of this pytest-xdist run and their children, or none outside xdist:
    their CPU time is load that the suite puts on itself, not other programs'."""
    if 'PYTEST_XDIST_WORKER' not in os.environ:
        return []
    me = psutil.Process()
    parent = me.parent()
    if parent is None:
        return []
    try:
        found = [p for p in parent.children() if p.pid != me.pid]
    except psutil.Error:
        return []
    for sibling in list(found):
        try:
            found += sibling.children(recursive=True)
        except psutil.Error:
            continue
    return found


def _cpu_of(processes: list[psutil.Process]) -> dict[int, float]:
    """Each process's CPU seconds (user and system) so far, by pid; one already gone is left out."""
    times = {}
    for proc in processes:
        try:
            t = proc.cpu_times()
        except psutil.Error:  # gone between listing and reading
            continue
        times[proc.pid] = t.user + t.system
    return times


def _thread_times() -> dict[int, float]:
    return {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}


def _machine_busy() -> float:
    """CPU seconds every core of the machine has spent not idle (steal counts: it is lost to us)."""
    t = psutil.cpu_times()
    busy = ('user', 'nice', 'system', 'irq', 'softirq', 'steal')  # the fields a platform has
    return sum(getattr(t, name, 0.0) for name in busy)


class Usage:
    """A context manager measuring the wall time and CPU time of the block it wraps."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self.wall = self.cpu = self.children_cpu = self.others = self.siblings_cpu = float('nan')
        self.threads: dict[int, float] = {}

    def __enter__(self) -> Usage:
        self._first_threads = self._last_threads = _thread_times()
        self._first = self._proc.cpu_times()
        self._first_children = self._last_children = _child_times()  # listed after the reaped total
        self._siblings = _cpu_of(siblings())
        self._machine = _machine_busy()
        # This process's own CPU time is read last here and first on leaving, so that the reading
        # above (a file of /proc per process on Linux) is not counted as the block's: it can cost
        # more than a sleeping block's whole CPU time.
        self._own = self._proc.cpu_times()
        self._start = time.perf_counter()
        return self

    def sample(self) -> None:
        """Read each thread's and each live child's CPU time now, and keep it as its last known."""
        self._last_threads = {**self._last_threads, **_thread_times()}
        self._last_children = {**self._last_children, **_child_times()}

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.wall = time.perf_counter() - self._start
        own = self._proc.cpu_times()
        machine_busy = _machine_busy() - self._machine
        now = _cpu_of(siblings())
        self.siblings_cpu = sum(t - self._siblings.get(pid, 0.0) for pid, t in now.items())
        self.sample()
        last = self._proc.cpu_times()
        alive = set(_child_times())  # listed after reading the reaped total
        self.cpu = own.user + own.system - self._own.user - self._own.system
        reaped = (
            last.children_user
            + last.children_system
            - self._first.children_user
            - self._first.children_system
        )
        self.children_cpu = reaped + sum(
            (seen if pid in alive or not REAPED_CHILDREN_COUNTED else 0.0)
            - self._first_children.get(pid, 0.0)
            for pid, seen in self._last_children.items()
        )
        self.threads = {
            tid: seen - self._first_threads.get(tid, 0.0)
            for tid, seen in self._last_threads.items()
        }
        self.others = max(0.0, machine_busy - self.cpu - self.children_cpu)

    @property
    def cores(self) -> float:
        """Cores used by this process and its children: their CPU time over the wall time."""
        # The CPU times are counters added and taken away as floats: where a block used none,
        # the rest can be a hair below zero, which a report would print as "-0.00 cores".
        return max(0.0, (self.cpu + self.children_cpu) / self.wall)

    @property
    def available(self) -> float:
        """Cores this process could have used: its usable cores less what other programs took."""
        cores = psutil.cpu_count() or machine.usable_cores()  # None when psutil cannot tell
        return max(0.0, min(machine.usable_cores(), cores - self.others / self.wall))
