"""concur: the concurrency models of Fluent Python, chapter 19, as small runnable pieces.

One file per piece: the spinner (``spinner``, ``spinner_thread``, ``spinner_proc``,
``spinner_async``), the CPU-bound work (``primes``) and the prime checkers (``checkers``), the
measuring helpers (``measure``, ``framelog``, ``machine``), jobs a child process can import by name
(``units``), and what they share (``check``, ``protocols``). ``python -m concur --help`` lists the
live demos.
"""
