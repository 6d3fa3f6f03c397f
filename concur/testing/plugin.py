"""The end report's pytest plugin: it gathers what the tests recorded (``report.add(...)``) and
shows it when the run ends, in the terminal and in pytest-html's report.

Records travel in each test report's ``user_properties``, so they reach the end of the run under
pytest-xdist too. They are read from every phase of a test, not only its call: a verdict that a
test recorded before ``pytest.skip`` or ``pytest.fail`` is shown. The terminal gets the report in
Unicode, or in plain ASCII where its encoding cannot show the pictures (or with
``--concur-ascii``). With ``--html=PATH --self-contained-html`` the same report, with its pictures
drawn in SVG, comes before pytest-html's table of every test; ``--concur-svg=PATH`` writes the
timelines of the notes' three questions to an SVG file (the README's picture).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from concur import machine
from concur.testing import answers, end_report, pictures, records

STATUS_MARKUP = {'passed': {'green': True}, 'FAILED': {'red': True, 'bold': True}}
STATUS_MARKUP['skipped'] = {'yellow': True}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup('concur').addoption(
        '--concur-ascii',
        action='store_true',
        help="draw the end report's pictures in plain ASCII, whatever the terminal can show",
    )
    parser.getgroup('concur').addoption(
        '--concur-svg',
        metavar='PATH',
        help="write the timelines of the notes' three questions, if the run drew them, to PATH",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(EndReport(config), 'concur-end-report')


def place(item: pytest.Item) -> list[Any]:
    """Where a test stands in the chapter: its file, its definition's line, then its parameters'
    positions, whatever order the tests ran in (pytest-randomly, pytest-xdist's workers)."""
    path, line, _ = item.location
    callspec = getattr(item, 'callspec', None)
    return [path, -1 if line is None else line, *(callspec.indices.values() if callspec else ())]


class EndReport:
    """What the run's tests recorded, in the chapter's order, whichever order the tests ran in.

    Each test's report carries its place (``concur_place``, from ``place``): pytest-xdist sends a
    report's own attributes from its workers, and its controller never sees the tests."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self._properties: dict[str, list[tuple[str, Any]]] = {}
        self._places: dict[str, list[Any]] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        report.concur_place = place(item)  # type: ignore[attr-defined]
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Each phase's report carries everything recorded so far: keep the fullest.
        kept = self._properties.get(report.nodeid, [])
        if len(report.user_properties) >= len(kept):
            self._properties[report.nodeid] = list(report.user_properties)
        self._places[report.nodeid] = getattr(report, 'concur_place', [report.nodeid])

    def records(self) -> list[records.Record]:
        """Every record, in the chapter's order of the tests, then in the order each test made
        them."""
        tests = sorted(self._properties, key=lambda nodeid: self._places[nodeid])
        return [
            records.load(value)
            for test in tests
            for key, value in self._properties[test]
            if key == records.KEY
        ]

    def _glyphs(self, terminalreporter: pytest.TerminalReporter) -> pictures.Glyphs:
        """ASCII when asked for, or when the terminal's encoding cannot write the pictures.
        pytest keeps the stream it writes to in its TerminalWriter (``_file``), which is not
        public: without it, the encoding of sys.stdout is taken."""
        if self._config.getoption('concur_ascii'):
            return pictures.ASCII
        stream = getattr(terminalreporter._tw, '_file', None)
        encoding = getattr(stream, 'encoding', None) or 'ascii'
        glyphs = pictures.UNICODE
        try:
            (glyphs.frame + glyphs.work + glyphs.edge + ''.join(glyphs.fills)).encode(encoding)
        except (UnicodeEncodeError, LookupError):
            return pictures.ASCII
        return glyphs

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        found = self.records()
        if not found and not self._config.stash.get(answers.PREDICTIONS, None):
            return
        writer = terminalreporter._tw
        width = min(end_report.WIDTH, writer.fullwidth)

        def paint(cell: str) -> str:
            return writer.markup(cell, **STATUS_MARKUP.get(cell.strip(), {}))

        terminalreporter.write_sep('=', 'what this machine showed', fullwidth=width)
        terminalreporter.write_line(machine.describe())
        glyphs = self._glyphs(terminalreporter)
        for line in end_report.text(found, width=width, glyphs=glyphs, paint=paint):
            terminalreporter.write_line(line)
        for line in answers.closing(self._config, found, width):
            terminalreporter.write_line(
                line if glyphs is pictures.UNICODE else end_report.to_ascii(line)
            )

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        path = self._config.getoption('concur_svg')
        if path and not hasattr(self._config, 'workerinput'):  # the xdist controller writes it
            drawn = end_report.questions(self.records())
            if drawn:
                Path(path).write_text(pictures.svg_document(drawn), encoding='utf-8')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f'concur: {machine.describe()}'

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        """pytest-html (``--html=PATH``): the end report, above its table of every test."""
        found = self.records()
        if found:
            postfix.append(end_report.html(found, machine.describe()))
        postfix.append(answers.html(self._config, found, end_report.WIDTH))
