"""Every test of the chapter that reaches a verdict or a skip leaves a row in the end report.

A test that judges its claim through ``concur.testing.evidence`` records its own row, with its
figures. One that only asserts (a value, an order, a count of items) gets its row here when it
ends: its claim in the words of its name, its variant, its status, and for a fail or a skip the
first line of why. The section is the test module's ``SECTION``; a module without one (the
suite's own tools) gets no rows.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from concur.testing import records


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    section = getattr(getattr(item, 'module', None), 'SECTION', None)
    verdict = report.when == 'call' or report.skipped or report.failed and report.when == 'setup'
    if section in records.SECTIONS and verdict and not _has_row(report.user_properties):
        status = 'passed' if report.passed else 'skipped' if report.skipped else 'failed'
        row = records.Row(section, claim_of(item), variant_of(item), status, _why(report), '', '')
        records.Recorder(report.user_properties, item.nodeid).add(row)
    return report


def _has_row(properties: list[tuple[str, object]]) -> bool:
    return any(
        key == records.KEY and isinstance(value, dict) and value.get('kind') == 'row'
        for key, value in properties
    )


def claim_of(item: pytest.Item) -> str:
    """The test's name as the sentence it is."""
    name = getattr(item, 'originalname', None) or item.name
    return name.removeprefix('test_').replace('_', ' ')


def variant_of(item: pytest.Item) -> str:
    callspec = getattr(item, 'callspec', None)
    return callspec.id if callspec is not None else ''


def _why(report: pytest.TestReport) -> str:
    """For a fail or a skip, the first line of why; nothing for a pass."""
    if report.passed:
        return ''
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        return str(longrepr[2]).removeprefix('Skipped: ')
    crash = getattr(longrepr, 'reprcrash', None)
    text = crash.message if crash is not None else str(longrepr)
    return text.splitlines()[0] if text else ''
