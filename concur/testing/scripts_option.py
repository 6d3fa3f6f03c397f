"""``pytest --concur-scripts=DIR``: the chapter's claims that show from outside, on the reader's own
scripts (``tests/test_19_your_own_programs.py``, machinery in ``concur.testing.programs``).

With the option, that file is the whole run: the package's claims judge the package, not the
reader's programs. Without it, the file is not even collected, so the default run is unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

OPTION = '--concur-scripts'
# The test file of the claims about the reader's programs.
CLAIMS_FILE = 'test_19_your_own_programs.py'


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup('concur').addoption(
        OPTION,
        metavar='DIR',
        type=Path,
        help="run only the claims about the reader's own programs, on the scripts found under "
        "DIR by the book's file names (spinner_thread.py, ..., procs.py, proc_pool.py)",
    )


def pytest_configure(config: pytest.Config) -> None:
    folder = config.getoption(OPTION)
    if folder is not None and not folder.is_dir():
        raise pytest.UsageError(
            f'{OPTION}={folder}: not a folder (give the folder of your scripts)'
        )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Without the option, leave out the claims file; with it, every other test file."""
    if collection_path.suffix != '.py' or not collection_path.name.startswith('test_'):
        return None
    given = config.getoption(OPTION) is not None
    if (collection_path.name == CLAIMS_FILE) != given:
        return True
    return None


@pytest.fixture(scope='session')
def reader_scripts(pytestconfig: pytest.Config) -> Path:
    """The folder given with --concur-scripts, where the reader's scripts are looked for."""
    folder: Path = pytestconfig.getoption(OPTION)
    return folder.resolve()
