"""Every bound on a hang in the project, in one place, and the rule for choosing one.

These bounds are never claims: the claims are about tenths of a second, and a bound only says
when to stop waiting for something that should long have happened. The rule:

- ``JOIN_TIMEOUT``: a unit (thread, process, task) told to stop, or a hand-off that should take
  milliseconds. Use it for every join, ``get`` and ``wait`` in the code and the tests.
- ``LEAK_GRACE``: how long the suite's leak guard waits for a unit a test left behind.
- ``DEMO_TIMEOUT``: a live demo run as a command (``python -m concur ...``), start-up included.
- ``SCRIPT_TIMEOUT``: a reader's script run by ``--concur-scripts``, start-up included. The book's
  take a few seconds each (3 s of sleep, one is_prime of its 16-digit prime, or the spec's smaller
  list of numbers); past the bound the script counts as hung. A test that runs scripts sets its own
  bound (pytest-timeout's marker): every script it may run, each at most SCRIPT_TIMEOUT, so that
  the script's bound, which names what it waited for and kills its processes, always comes first.
- ``CONNECT_TIMEOUT``: reaching a Dask scheduler at an address, and its first worker joining it;
  past it the cluster counts as unreachable. On loopback it takes milliseconds, on a network
  a second at most.
- ``TEST_TIMEOUT``: a whole test (pytest-timeout, set in ``pytest.ini``; the suite checks that
  they agree).

If a wait with ``JOIN_TIMEOUT`` starts to fail at random on slow machines, find what is slow before
raising it: a bound that hides a slow hand-off hides a claim that fails.
"""

JOIN_TIMEOUT = 5.0
LEAK_GRACE = 3.0
DEMO_TIMEOUT = 30.0
SCRIPT_TIMEOUT = 20.0
CONNECT_TIMEOUT = 5.0
TEST_TIMEOUT = 60
