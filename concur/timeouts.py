"""Every bound on a hang in the project, in one place, and the rule for choosing one.

These bounds are never claims: the claims are about tenths of a second, and a bound only says
when to stop waiting for something that should long have happened. The rule:

- ``JOIN_TIMEOUT``: a unit (thread, process, task) told to stop, or a hand-off that should take
  milliseconds. Use it for every join, ``get`` and ``wait`` in the code and the tests.
- ``LEAK_GRACE``: how long the suite's leak guard waits for a unit a test left behind.
- ``DEMO_TIMEOUT``: a live demo run as a command (``python -m concur ...``), start-up included.
- ``TEST_TIMEOUT``: a whole test (pytest-timeout, set in ``pytest.ini``; the suite checks that
  they agree).

If a wait with ``JOIN_TIMEOUT`` starts to fail at random on slow machines, find what is slow before
raising it: a bound that hides a slow hand-off hides a claim that fails.
"""

JOIN_TIMEOUT = 5.0
LEAK_GRACE = 3.0
DEMO_TIMEOUT = 30.0
TEST_TIMEOUT = 60
