"""Questions to answer before measuring: the notes' three questions and the chapter's other
predictions, each with its choices and, for each outcome a run can show, the reason.

``python -m concur predict`` asks them and writes the reader's answers to a TOML file;
``pytest --concur-predictions=FILE`` marks each answer against what the run measured
(``concur.testing.findings`` reads the run's figures, in these choices' words). The end report's
answers to the notes also quote the notes' conclusions, each marked and corrected here.
"""

from __future__ import annotations

from dataclasses import dataclass

DONT_KNOW = "don't know"

# What a spinner does while the work runs.
FULL_RATE, LATE, FROZEN = 'full rate', 'late', 'frozen'
SPINNER = {
    FULL_RATE: 'it spins at its full rate, a frame every interval',
    LATE: 'it spins, but each frame comes late',
    FROZEN: 'no frame at all until the work ends',
}
# What k units do to the time of CPU-bound work that one unit does in T seconds.
FASTER, NO_FASTER, SLOWER = 'faster', 'no faster', 'slower'
SPEED = {
    FASTER: 'each takes a share, all at the same time, on cores of their own',
    NO_FASTER: 'about T: they take turns',
    SLOWER: 'much slower than T: switching between them costs more than it gives',
}
# What asyncio.to_thread frees.
LOOP, BOTH, NEITHER = 'the loop', 'both', 'neither'
# What `await is_prime(n)` does.
TYPE_ERROR, BLOCKS, BACKGROUND = 'TypeError', 'blocks', 'in the background'


@dataclass(frozen=True)
class Question:
    key: str  # the entry in the predictions file
    claim: str  # the spec's claim that measures it (``Row.key``)
    title: str  # a few words, for the report
    text: str  # the question as asked
    choices: dict[str, str]  # each choice and what it means; DONT_KNOW is always offered too
    reasons: dict[str, str]  # for each outcome the chapter explains, why, in one sentence

    def offered(self) -> list[str]:
        return [*self.choices, DONT_KNOW]


QUESTIONS = (
    Question(
        'question-1',
        'question 1',
        "the notes' question 1: spinner_proc.py with is_prime(n)",
        'In spinner_proc.py the parent calls is_prime(n) where slow() called time.sleep(3). '
        'What does the spinner, a child process, do while is_prime runs?',
        SPINNER,
        {
            FULL_RATE: 'the child process runs its own interpreter with its own GIL, so is_prime '
            'in the parent cannot hold it back'
        },
    ),
    Question(
        'question-2',
        'question 2',
        "the notes' question 2: spinner_thread.py with is_prime(n)",
        'In spinner_thread.py the main thread calls is_prime(n) where slow() called '
        'time.sleep(3). What does the spinner, another thread, do while is_prime runs?',
        SPINNER,
        {
            LATE: 'the threads share one GIL: the woken spinner waits one switch interval for it, '
            'then asks the busy thread to drop it, which it does at its next check',
            FULL_RATE: 'without the GIL the spinner thread runs beside is_prime on a core of its '
            'own',
        },
    ),
    Question(
        'question-3',
        'question 3',
        "the notes' question 3: spinner_async.py with is_prime(n)",
        'In spinner_async.py the coroutine slow() calls is_prime(n) (a plain call) where it '
        'awaited asyncio.sleep(3). What does the spinner, a task, do while is_prime runs?',
        SPINNER,
        {
            FROZEN: 'a coroutine that calls is_prime never awaits, so the event loop cannot run '
            'the spinner task until is_prime returns'
        },
    ),
    Question(
        'await-is-prime',
        'question 3 as written',
        'question 3 as the notes write it: await is_prime(n)',
        'The notes write question 3 as `await is_prime(n)`, is_prime being a plain function. '
        'What does that line do?',
        {
            TYPE_ERROR: 'it raises TypeError',
            BLOCKS: 'it runs is_prime, and the spinner freezes until it returns',
            BACKGROUND: 'is_prime runs in the background while the spinner spins',
        },
        {
            TYPE_ERROR: 'await takes an awaitable (a coroutine, a task, a future), and is_prime '
            'runs to its end and returns a bool: the question means a plain call'
        },
    ),
    Question(
        'time-sleep-in-a-coroutine',
        'the experiment',
        "the notes' experiment: time.sleep in a coroutine",
        'In spinner_async.py the coroutine slow() calls time.sleep(3) where it awaited '
        'asyncio.sleep(3). What does the spinner, a task, do while slow() sleeps?',
        SPINNER,
        {
            FROZEN: 'time.sleep blocks the thread that runs the event loop, so the loop cannot '
            'run the spinner task until it returns'
        },
    ),
    Question(
        'two-threads',
        'threads checking primes',
        'two threads checking primes',
        'One thread checks a list of primes in T seconds. How long do two threads take to check '
        'the same list between them, on a machine with two free cores?',
        SPEED,
        {
            NO_FASTER: 'with the GIL only one thread runs Python code at a time, so the threads '
            'take turns at the work one thread would do',
            FASTER: 'without the GIL each thread runs Python code on a core of its own',
        },
    ),
    Question(
        'processes',
        'processes checking primes',
        'processes checking primes',
        'One process checks a list of primes in T seconds. How long do as many processes as '
        'there are free cores take to check the same list between them?',
        SPEED,
        {
            FASTER: 'each process has its own interpreter and its own GIL, so they run on every '
            'free core at once'
        },
    ),
    Question(
        'to-thread',
        'to_thread',
        'what asyncio.to_thread frees',
        'A coroutine gathers two asyncio.to_thread(is_prime, n) calls, on a machine with two free '
        'cores. What does to_thread free?',
        {
            LOOP: 'the loop goes on, but the two calls take about as long as two in a row',
            BOTH: 'the loop goes on, and the two calls take about as long as one',
            NEITHER: 'the loop waits for each call to return',
        },
        {
            LOOP: 'each call runs in another thread, so the loop goes on, but that thread needs '
            'the GIL for is_prime, so the two calls take turns',
            BOTH: 'each call runs in another thread, and without the GIL the two threads run '
            'is_prime at the same time',
        },
    ),
    Question(
        'shared-counter',
        'threads losing updates',
        'four threads and a shared counter',
        'Four threads each read a shared counter, starting at 0, and write back what they read '
        'plus one, with no lock; every thread reads before any writes. What is the counter then?',
        {
            '4': 'the GIL lets one thread run at a time, so no update is lost',
            '1': 'each thread writes back 0 + 1: three updates are lost',
        },
        {
            '1': 'the GIL keeps the interpreter safe, not your data: a thread can lose it '
            'between its read and its write'
        },
    ),
)
BY_KEY = {q.key: q for q in QUESTIONS}


@dataclass(frozen=True)
class Conclusion:
    """One of the notes' conclusions, quoted, marked and corrected, with the claims whose figures
    show it."""

    quote: str
    mark: str  # right, incomplete or wrong
    correction: str  # what is true; for a right one, where it holds
    claims: tuple[str, ...]  # ``Row.key`` of the claims whose figures show it


CONCLUSIONS = (
    Conclusion(
        'GIL(General Interpreter Lock)',
        'wrong',
        'it is the Global Interpreter Lock: one lock for all the threads of an interpreter',
        (),
    ),
    Conclusion(
        'The GIL is a mutex that allows only one thread to execute Python bytecode at a time',
        'right',
        'on a build with the GIL; a free-threaded build (3.13t and later) can run without it',
        ('threads checking primes',),
    ),
    Conclusion(
        'It actually protects tha internal data structures and ensures that the memory '
        'management is thread-safe',
        'incomplete',
        'it keeps the interpreter safe, not your data: the GIL is not thread safety, a thread '
        'can lose it between reading a value and writing it back',
        ('threads losing updates',),
    ),
    Conclusion(
        'concurrency is about dealing with so many things at once but not paralell',
        'incomplete',
        'concurrency is not parallel only where the units take turns: coroutines on one loop '
        'wait together but take turns at the CPU, while processes on free cores run at once',
        ('coroutines waiting together', 'coroutines taking turns', 'processes in parallel'),
    ),
    Conclusion(
        '[Coroutines:] your code is protected against intrruption by default',
        'incomplete',
        'only between two awaits: an await inside a read-then-write lets the other coroutines in',
        ('coroutines losing updates',),
    ),
    Conclusion(
        "you won't see the spinner. why? beacause the app that has a coroutine only has one line "
        'of execution',
        'right',
        'one thread runs the event loop, and a coroutine that never awaits keeps it',
        ('the experiment',),
    ),
    Conclusion(
        'Never use `time.sleep()` in a coroutine. it blocks the whole main thread',
        'incomplete',
        "it blocks the event loop's thread, and with it every task of that loop; that is the "
        'main thread only where asyncio.run was called in it, and other threads run on',
        ('the experiment',),
    ),
    Conclusion(
        '3. In `spinner_async.py`, replace await `is_prime(n)`?',
        'wrong',
        'as written it raises TypeError, since is_prime returns a bool, which is not awaitable; '
        'it means a plain call of is_prime(n) in the coroutine, which question 3 measured',
        ('question 3 as written', 'question 3'),
    ),
    Conclusion(
        'Processes: each process has its own interpreter and its own GIL. --> Ture parallelism',
        'right',
        'where there are free cores for them',
        ('processes checking primes',),
    ),
    Conclusion(
        'Threads: Threads share one process and one GIL. --> Context switch',
        'incomplete',
        'with the GIL they take turns at Python code, so CPU-bound threads gain nothing, but a '
        'thread lets go of the GIL while it sleeps, waits for I/O or runs C code that releases '
        'it, so such waits overlap',
        ('threads checking primes', 'threads waiting together'),
    ),
    Conclusion(
        'Coroutines: Run in single thread and process. --> Cooperative Multitasking',
        'right',
        'a coroutine hands the loop over only where it awaits',
        ('coroutines waiting together',),
    ),
)
