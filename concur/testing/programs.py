"""The reader's own programs, run as programs and watched from outside.

``find(folder, name)`` looks for a script by the book's file name anywhere under ``folder``;
``run(script, *args)`` runs it as its reader does, ``python script.py ARGS`` in the script's own
folder, with its output on a pseudo-terminal (so it is line-buffered, as in a terminal) and its
standard error on a pipe. Meanwhile it keeps each piece of output with the time it arrived, and
samples the process tree (threads of the main process, child processes alive at once, the CPU
time of each); its CPU time is the larger of that sum and the kernel's count at its end (``wait4``:
the script's own time and that of every child it waited for). A script that outlives its bound is
killed with every process it started, and fails saying what the spec waited for; one that exits
with an error fails with the last lines of its standard error.

Scripts that check the book's numbers would take tens of seconds. When a script imports a module
named ``primes`` that has a ``PRIME_FIXTURE`` (the book's list of numbers and verdicts), the
run puts a smaller list in its place, and in ``NUMBERS``, before the script reads them: the
module ``concur/testing/substitute/sitecustomize.py``, on the script's ``PYTHONPATH``, does it in
the script and in every process it starts. The script's code is not touched.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import psutil
import pytest

from concur.primes import Number
from concur.testing.framelog import FRAME, Written
from concur.testing.measure import MULTIPROCESSING_HELPERS, is_multiprocessing_helper
from concur.timeouts import JOIN_TIMEOUT, SCRIPT_TIMEOUT

# The folder whose sitecustomize.py puts the run's numbers in place of PRIME_FIXTURE.
SUBSTITUTE = Path(__file__).with_name('substitute')
# How often the script's threads are counted while it runs (seconds): one file of /proc, read in
# a tenth of a millisecond, so a thread that lives a tenth of a second is seen.
SAMPLE_EVERY = 0.02
# How often its process tree is walked, at most: psutil reads a file of /proc per process of the
# machine, a few milliseconds in all, but up to a tenth of a second on a free-threaded 3.13 whose
# other core is busy (a closed file takes a lock there with sched_yield calls), where walking it
# at each count left the threads counted 7-20 times a second, once too rarely to see two at once.
WALK_EVERY = 0.05
# Lines of a crashed script's standard error shown in its failure.
STDERR_LINES = 8
# Folders never searched for a reader's scripts: tools' and environments' own files.
SKIPPED_FOLDERS = {'__pycache__', 'venv', 'node_modules', 'site-packages'}

RESULT = re.compile(r'^\s*(\d+)\s+(P?)\s+(\d+\.\d+)\s*s$')
TOTAL = re.compile(r'(\d+\.\d+)\s*s\s*$')
ANSWER = re.compile(r'([\d,_]+) is (not )?prime')


def find(folder: Path, name: str) -> Path | None:
    """The script called ``name`` under ``folder``, the one nearest its top (then the first by
    path): the book keeps some scripts in subfolders (primes/), and older copies deeper (py36/).
    Hidden folders and those of SKIPPED_FOLDERS are not searched."""
    found = []
    for where, folders, files in os.walk(folder):
        folders[:] = [f for f in folders if f not in SKIPPED_FOLDERS and not f.startswith('.')]
        if name in files:
            found.append(Path(where) / name)
    return min(found, key=lambda p: (len(p.parts), str(p)), default=None)


def script(folder: Path, name: str) -> Path:
    """``find``, or skip the claims that need it, naming the file looked for."""
    __tracebackhide__ = True
    path = find(folder, name)
    if path is None:
        pytest.skip(f'no {name} under {folder}: the claims about it need a script of that name')
    return path


@dataclass(frozen=True)
class Line:
    time: float  # when its newline arrived, on time.perf_counter()
    text: str  # what a terminal shows of it: later writes after a carriage return overwrite


@dataclass
class Ran:
    """One run of a script: what it wrote, when, and what its process tree did."""

    name: str  # the script and its arguments, as a reader would type them
    pid: int
    start: float  # time.perf_counter() when it was started
    end: float  # when it was seen to exit
    status: int
    cpu: float  # CPU seconds of the script's process tree (see _watch)
    frames: list[Written] = field(default_factory=list)  # spinner frames ('\r- thinking!'),
    # each with its time
    lines: list[Line] = field(default_factory=list)
    most_threads: int = 0  # threads of the main process alive at once, at most
    most_children: int = 0  # child processes alive at once, at most (multiprocessing's helpers
    # left out: the resource tracker and the forkserver)
    threads_last: int = 0  # threads of the main process at the last sample
    samples: int = 0  # counts of its threads taken while it ran
    children_last: int = 0  # child processes at the last sample
    children_cpu: dict[int, float] = field(default_factory=dict)  # each child's CPU seconds, as
    # last sampled (the helpers left out): a child's last tick before it ends may be missed
    tree_cpu: dict[int, float] = field(default_factory=dict)  # the same for every process of
    # the tree, the script and the helpers too
    substituted: bool = False  # the run's numbers replaced the script's PRIME_FIXTURE

    @property
    def wall(self) -> float:
        return self.end - self.start

    @property
    def cores(self) -> float:
        return self.cpu / self.wall

    def line(self, pattern: re.Pattern[str]) -> Line | None:
        """The last line that ``pattern`` finds something in."""
        return next((line for line in reversed(self.lines) if pattern.search(line.text)), None)

    def results(self) -> list[tuple[int, bool]]:
        """The result lines of a prime checker: each number and its verdict (P: prime)."""
        found = [RESULT.match(line.text) for line in self.lines]
        return [(int(m[1]), m[2] == 'P') for m in found if m]

    def total(self) -> float | None:
        """The seconds of the checker's last line ('Total time: 1.23s', '8 checks in 1.23s')."""
        last = next((ln for ln in reversed(self.lines) if ln.text.strip()), None)
        match = last and not RESULT.match(last.text) and TOTAL.search(last.text)
        return float(match[1]) if match else None


class _Terminal:
    """Output read from a pseudo-terminal, cut into lines as a terminal shows them."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
        self.shown: list[str] = []  # the current line's characters
        self.cursor = 0
        self.lines: list[Line] = []
        self.frames: list[Written] = []

    def feed(self, data: bytes, when: float, pid: int) -> None:
        text = self.decoder.decode(data)
        # Each frame with its message: up to the next carriage return or newline.
        self.frames += [
            Written(when, pid, 0, m[0] + re.split('[\r\n]', text[m.end() :], maxsplit=1)[0])
            for m in FRAME.finditer(text)
        ]
        for char in text:
            if char == '\n':
                self._end_line(when)
            elif char == '\r':
                self.cursor = 0
            else:
                if self.cursor < len(self.shown):
                    self.shown[self.cursor] = char
                else:
                    self.shown.append(char)
                self.cursor += 1

    def _end_line(self, when: float) -> None:
        self.lines.append(Line(when, ''.join(self.shown).rstrip()))
        self.shown, self.cursor = [], 0

    def finish(self, when: float) -> None:
        if ''.join(self.shown).strip():
            self._end_line(when)


def run(
    path: Path,
    *args: str,
    waiting_for: str,
    expects: str,
    numbers: Sequence[Number] | None = None,
) -> Ran:
    """Run the script at ``path`` with ``args`` until it exits, or fail at SCRIPT_TIMEOUT saying
    it was ``waiting_for`` that, and what the chapter ``expects`` of such a program; ``numbers``,
    if given (an empty list too), replace its primes module's PRIME_FIXTURE."""
    __tracebackhide__ = True
    name = ' '.join([path.name, *args])
    with tempfile.TemporaryDirectory(prefix='concur-script-') as scratch:
        note = Path(scratch) / 'substituted'
        env = {
            **os.environ,
            'PYTHONPATH': os.pathsep.join(
                [str(SUBSTITUTE), *filter(None, [os.environ.get('PYTHONPATH')])]
            ),
            'CONCUR_SUBSTITUTED': str(note),
        }
        if numbers is not None:
            env['CONCUR_NUMBERS'] = json.dumps([[n.n, n.prime] for n in numbers])
        ran, stderr, hung = _watch(path, args, env, name)
        ran.substituted = note.exists()
    if hung:
        pytest.fail(
            f'{name} was still running {SCRIPT_TIMEOUT:g} s after it started, and the spec was '
            f'waiting for {waiting_for}: {_doing(ran)}. The chapter expects {expects}. (The spec '
            'killed it and every process it started.)',
            pytrace=False,
        )
    if ran.status != 0:
        tail = '\n'.join(stderr.decode(errors='replace').rstrip().splitlines()[-STDERR_LINES:])
        pytest.fail(
            f'{name} crashed (exit status {ran.status}) after {ran.wall:.2f} s; the last lines of '
            f'its standard error:\n{tail}',
            pytrace=False,
        )
    return ran


def _doing(ran: Ran) -> str:
    """What a hung script had done: its output and the units still alive at its end."""
    last = next((ln.text for ln in reversed(ran.lines) if ln.text.strip()), None)
    said = f'its last line was {last!r}' if last else 'it printed no line'
    results = len(ran.results())
    if results:
        said += f' after {results} result lines'
    if ran.frames:
        late = ran.end - ran.frames[-1].time
        said += f'; it wrote {len(ran.frames)} spinner frames, the last {late:.2f} s before the end'
    return (
        f'{said}; at the end it had {ran.threads_last} threads and {ran.children_last} child '
        'processes alive'
    )


def _watch(
    path: Path, args: Sequence[str], env: dict[str, str], name: str
) -> tuple[Ran, bytes, bool]:
    """Run the script, reading its output and sampling its process tree; kill what is left."""
    leader, follower = os.openpty()
    _raw_output(follower)
    proc = subprocess.Popen(
        [sys.executable, path.name, *args],
        cwd=path.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    assert proc.stderr is not None
    errors = proc.stderr.fileno()
    start = time.perf_counter()
    terminal = _Terminal()
    stderr = bytearray()
    seen: dict[int, psutil.Process] = {}
    ran = Ran(name, proc.pid, start, start, 0, 0.0)
    open_fds = {leader, errors}
    hung = False
    next_sample = next_walk = start
    try:
        while True:
            ready, _, _ = select.select(list(open_fds), [], [], SAMPLE_EVERY)
            now = time.perf_counter()
            _take(ready, open_fds, leader, terminal, stderr, now, proc.pid)
            if now >= next_sample:
                _count_threads(proc.pid, ran)
                next_sample = time.perf_counter() + SAMPLE_EVERY
            if now >= next_walk:
                _walk(proc.pid, seen, ran)
                # A slow walk waits twice its time for the next: the counts of threads go on.
                walked = time.perf_counter()
                next_walk = walked + max(WALK_EVERY, 2 * (walked - now))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = ran.status = os.waitstatus_to_exitcode(status)
                # The kernel's count holds the script and every child it waited for, to the last
                # tick; a forkserver's children (3.14+ on Linux) are never waited for by the
                # script, so only the samples see them. Each count misses, neither adds.
                ran.cpu = max(usage.ru_utime + usage.ru_stime, sum(ran.tree_cpu.values()))
                ran.end = now
                break
            if now - start > SCRIPT_TIMEOUT:
                hung = True
                ran.end = now
                break
        _drain(open_fds, leader, terminal, stderr, proc.pid)
    finally:
        _kill(proc, seen)
        os.close(leader)
        proc.stderr.close()
    terminal.finish(ran.end)
    ran.frames, ran.lines = terminal.frames, terminal.lines
    return ran, bytes(stderr), hung


def _raw_output(fd: int) -> None:
    """Turn off the terminal's output processing (newline to carriage return + newline)."""
    import termios  # POSIX only, as pseudo-terminals are: imported where one is opened

    attrs = termios.tcgetattr(fd)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # a pseudo-terminal whose every writer has closed it (EIO on Linux)
        return b''


def _drain(
    open_fds: set[int], leader: int, terminal: _Terminal, stderr: bytearray, pid: int
) -> None:
    """Read what the script wrote just before it exited."""
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], 0)
        if not ready:
            return
        _take(ready, open_fds, leader, terminal, stderr, time.perf_counter(), pid)


def _take(
    ready: list[int],
    open_fds: set[int],
    leader: int,
    terminal: _Terminal,
    stderr: bytearray,
    now: float,
    pid: int,
) -> None:
    """Read each ready descriptor once: the terminal's bytes to the frame reader, stderr's kept;
    a descriptor at its end leaves ``open_fds``."""
    for fd in ready:
        data = _read(fd)
        if not data:
            open_fds.discard(fd)
        elif fd == leader:
            terminal.feed(data, now, pid)
        else:
            stderr += data


def _count_threads(pid: int, ran: Ran) -> None:
    looked = _look(pid)
    if looked is None:  # it ended between the wait and the reading
        return
    ran.threads_last = looked.threads
    ran.samples += 1
    ran.most_threads = max(ran.most_threads, ran.threads_last)


def _walk(pid: int, seen: dict[int, psutil.Process], ran: Ran) -> None:
    """Read the script's process tree: its children alive, and the CPU time of each process."""
    direct = _children(pid)
    tree, todo = [], list(direct)
    while todo:
        child = todo.pop()
        tree.append(child)
        todo += _children(child)
    working = 0
    for each in [pid, *tree]:
        looked = _look(each)
        if looked is None:  # ended since it was listed
            continue
        if each not in seen:
            with contextlib.suppress(psutil.Error):
                seen[each] = psutil.Process(each)
        ran.tree_cpu[each] = looked.cpu
        # The processes a forkserver starts are its children, with its command line: they count.
        if each != pid and not looked.ended and not (each in direct and looked.helper):
            working += 1
            ran.children_cpu[each] = looked.cpu
    ran.children_last = working
    ran.most_children = max(ran.most_children, working)


class _Looked(NamedTuple):
    """One process, as read now."""

    ended: bool  # a zombie: a child that its parent has not waited for yet
    threads: int
    cpu: float  # seconds, user and system
    helper: bool  # one of multiprocessing's helper processes


# Where Linux lists each thread's children (/proc/PID/task/TID/children), the watcher reads /proc
# itself, without Python's buffered files: closing one on a free-threaded 3.13 takes a lock with
# sched_yield calls, each handing the core to the busy program watched (CPython #114203); through
# psutil the tree was read 6-12 times a second there, once too rarely to see two workers at once.
PROC_CHILDREN = os.path.exists(f'/proc/{os.getpid()}/task/{os.getpid()}/children')
CLOCK_TICKS = os.sysconf('SC_CLK_TCK') if PROC_CHILDREN else 100


def _read_proc(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 65536)
    except OSError:
        return None
    finally:
        os.close(fd)


def _look(pid: int) -> _Looked | None:
    if PROC_CHILDREN:
        stat, cmdline = _read_proc(f'/proc/{pid}/stat'), _read_proc(f'/proc/{pid}/cmdline')
        if not stat or cmdline is None:
            return None
        fields = stat[stat.rindex(b')') + 2 :].split()  # from field 3, the state (man 5 proc)
        return _Looked(
            fields[0] == b'Z',
            int(fields[17]),
            (int(fields[11]) + int(fields[12])) / CLOCK_TICKS,
            any(helper.encode() in cmdline for helper in MULTIPROCESSING_HELPERS),
        )
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            times = proc.cpu_times()
            return _Looked(
                proc.status() == psutil.STATUS_ZOMBIE,
                proc.num_threads(),
                times.user + times.system,
                is_multiprocessing_helper(proc),
            )
    except psutil.Error:
        return None


def _children(pid: int) -> list[int]:
    if PROC_CHILDREN:
        try:
            tids = os.listdir(f'/proc/{pid}/task')
        except OSError:
            return []
        listed = b' '.join(_read_proc(f'/proc/{pid}/task/{tid}/children') or b'' for tid in tids)
        return [int(child) for child in listed.split()]
    try:
        return [child.pid for child in psutil.Process(pid).children()]
    except psutil.Error:
        return []


def _kill(proc: subprocess.Popen[bytes], seen: dict[int, psutil.Process]) -> None:
    """Kill the script, if still running, and every process of its tree ever seen that still
    runs (an orphan too: its parent may have ended first), then reap them."""
    tree = list(seen.values())
    try:
        tree += psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        pass
    alive = [p for p in tree if p.is_running()]
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    if proc.returncode is None:
        proc.kill()
        proc.wait(JOIN_TIMEOUT)
    psutil.wait_procs(alive, timeout=JOIN_TIMEOUT)
