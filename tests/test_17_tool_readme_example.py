"""The README's worked example of adding a claim runs as written: its test, and its model row
used by a copy of that test, in a pytest run of their own beside the suite's conftest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.selfcheck, pytest.mark.cpu]

ROOT = Path(__file__).parent.parent
IMPORTS = """from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from claims import needs_cores

from concur import machine
from concur.checkers import PrimeResult, check
from concur.testing import parallel
from concur.testing.parallel import PARALLEL, TURNS, Model
from concur.testing.workload import ns

SECTION = 'prime checkers'
"""


def example() -> tuple[str, str]:
    """The README's two code blocks under "Adding a claim": the claim, and the model row."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    section = readme[readme.index('## Adding a claim') :]
    claim, row = re.findall(r'```python\n(.*?)```', section, re.DOTALL)[:2]
    return claim, row


def test_the_readme_example_claim_and_model_row_run_as_written(pytester):
    """A contributor copies them as the README shows: both must run, pass on free cores or skip
    with the machine's figures on busy ones, and never fail or err."""
    claim, row = example()
    *functions, model = row.strip().split('\n\n\n')
    uses_row = claim.replace("models('a process pool')", "models('a thread pool')").replace(
        'def test_a_process_pool_', 'def test_a_thread_pool_'
    )
    pytester.makepyfile(
        test_example=IMPORTS
        + '\n\n'
        + claim
        + '\n\n'
        + '\n\n'.join(functions)
        + f'\n\n_row = {model}\nparallel.MODELS[_row.name] = _row\n\n\n'
        + uses_row
    )
    pytester.makeconftest((ROOT / 'conftest.py').read_text(encoding='utf-8'))
    (pytester.path / 'claims.py').write_text((ROOT / 'tests' / 'claims.py').read_text('utf-8'))
    result = pytester.runpytest_subprocess('-p', 'no:cacheprovider', '-p', 'no:randomly', '-v')
    outcomes = result.parseoutcomes()
    assert outcomes.get('passed', 0) + outcomes.get('skipped', 0) == 2, result.stdout.str()
    assert not outcomes.get('failed') and not outcomes.get('errors'), result.stdout.str()
    result.stdout.fnmatch_lines(['*a process pool, in parallel*', '*a thread pool, *'])
