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

from pathlib import Path
from typing import Any

import pytest

from concur import machine
from concur.testing import answers, pictures, records, report

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


class EndReport:
    """What the run's tests recorded, in the order of the tests, whichever worker ran them."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self._properties: dict[str, list[tuple[str, Any]]] = {}
        self._order: dict[str, int] = {}

    def _note_order(self, nodeids: list[str]) -> None:
        if not self._order:
            self._order = {nodeid: i for i, nodeid in enumerate(nodeids)}

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._note_order([item.nodeid for item in session.items])

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        """Under pytest-xdist the workers collect, each the same tests in the same order."""
        self._note_order(ids)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Each phase's report carries everything recorded so far: keep the fullest.
        kept = self._properties.get(report.nodeid, [])
        if len(report.user_properties) >= len(kept):
            self._properties[report.nodeid] = list(report.user_properties)

    def records(self) -> list[records.Record]:
        """Every record, in the order of the tests, then in the order each test made them."""
        last = len(self._order)
        tests = sorted(self._properties, key=lambda nodeid: self._order.get(nodeid, last))
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
        width = min(report.WIDTH, writer.fullwidth)

        def paint(cell: str) -> str:
            return writer.markup(cell, **STATUS_MARKUP.get(cell.strip(), {}))

        terminalreporter.write_sep('=', 'what this machine showed', fullwidth=width)
        terminalreporter.write_line(machine.describe())
        glyphs = self._glyphs(terminalreporter)
        for line in report.text(found, width=width, glyphs=glyphs, paint=paint):
            terminalreporter.write_line(line)
        for line in answers.closing(self._config, found, width):
            terminalreporter.write_line(
                line if glyphs is pictures.UNICODE else report.to_ascii(line)
            )

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        path = self._config.getoption('concur_svg')
        if path and not hasattr(self._config, 'workerinput'):  # the xdist controller writes it
            drawn = report.questions(self.records())
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
            postfix.append(report.html(found, machine.describe()))
        postfix.append(answers.html(self._config, found, report.WIDTH))
