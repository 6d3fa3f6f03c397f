"""Beyond the book: free-threaded CPython and the start methods of child processes.

CPython 3.13t and 3.14t can run without the GIL. The spec detects such a build and, where the GIL is
really off, expects threads to run CPU-bound work in parallel; the claims about the GIL say so in
their output. Which build this run is on is the first line of the run.
"""

from __future__ import annotations

import sys
import sysconfig

import pytest

from concur import machine

SECTION = 'beyond the book'


@pytest.mark.parametrize(
    'config_var, gil_on, build',
    [
        (None, None, 'with the GIL'),  # 3.10 to 3.12: neither exists
        (0, True, 'with the GIL'),
        (1, False, 'free-threaded, GIL disabled'),
        (
            1,
            True,
            'free-threaded, GIL enabled again',
        ),  # PYTHON_GIL=1, or an extension that needs it
    ],
    ids=['3.10 to 3.12', 'GIL build', 'free-threaded', 'free-threaded with the GIL back on'],
)
def test_the_spec_tells_a_free_threaded_build_from_one_with_the_gil(
    monkeypatch, config_var, gil_on, build
):
    """Py_GIL_DISABLED says the build can run without the GIL; sys._is_gil_enabled() says whether
    it does now. Only both together mean that threads run Python code in parallel."""
    monkeypatch.setattr(
        sysconfig, 'get_config_var', lambda name: config_var if name == 'Py_GIL_DISABLED' else None
    )
    if gil_on is None:
        monkeypatch.delattr(sys, '_is_gil_enabled', raising=False)
    else:
        monkeypatch.setattr(sys, '_is_gil_enabled', lambda: gil_on, raising=False)
    assert machine.build() == build
    assert machine.gil_enabled() is (gil_on is not False)


def test_this_run_reports_the_build_it_runs_on(pytestconfig):
    """The header of the run names the build, so a reader knows which claims to expect."""
    header = pytestconfig.hook.pytest_report_header(
        config=pytestconfig, start_path=pytestconfig.rootpath
    )
    assert any(
        machine.build() in line
        for lines in header
        for line in ([lines] if isinstance(lines, str) else lines)
    ), header
