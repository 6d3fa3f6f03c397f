"""concur: the concurrency models of Fluent Python, chapter 19, as small runnable pieces.

One file per piece: the spinner (``spinner``, ``spinner_thread``, ``spinner_proc``,
``spinner_async``), and ``check`` for argument validation shared by the API and the
command line. ``python -m concur --help`` lists the live demos.
"""
