"""The end report's last two sections: the reader's predictions marked against this run
(``pytest --concur-predictions=FILE``), then the answers to the notes.

Both read the run's figures through ``concur.testing.findings``, so a prediction and the answer
to the same question quote the same figure. The predictions come just before the answers, at the
end of the report, where a terminal leaves the reader when the run ends: what the reader
predicted, then why it went so.
"""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import pytest

from concur import machine, predictions
from concur.predictions import Predictions
from concur.questions import CONCLUSIONS, DONT_KNOW, QUESTIONS, Question
from concur.testing.findings import NOT_RUN, Finding, find
from concur.testing.records import Record, Row

INDENT = '    '
MARK = 14  # the width of the column of marks: right, wrong, incomplete, not measured
PREDICTIONS = pytest.StashKey[Predictions]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup('concur').addoption(
        '--concur-predictions',
        metavar='FILE',
        help='mark the predictions in FILE (written by python -m concur predict, or by hand) '
        'against what this run measures, at the end of the report',
    )


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption('concur_predictions')
    if path is not None:
        config.stash[PREDICTIONS] = predictions.read(path)


def pytest_report_header(config: pytest.Config) -> str | None:
    found = config.stash.get(PREDICTIONS, None)
    if found is None:
        return None
    trouble = f'; {len(found.problems)} not understood' if found.problems else ''
    return (
        f'concur: {len(found.answers)} predictions read from {found.path}{trouble} '
        '(marked at the end)'
    )


def closing(config: pytest.Config, records: Sequence[Record], width: int) -> list[str]:
    """The lines that end the report: the predictions, if the run was given them, then the
    answers to the notes, if the run measured anything they use."""
    given = config.stash.get(PREDICTIONS, None)
    lines = prediction_lines(records, given, width) if given is not None else []
    return lines + (answer_lines(records, width) if measured_any(records) else [])


def html(config: pytest.Config, records: Sequence[Record], width: int) -> str:
    """The same sections for the HTML report, as the terminal shows them; '' if it has none."""
    lines = closing(config, records, width)
    if not lines:
        return ''
    pre = ET.Element('pre', {'class': 'concur-answers'})
    pre.text = '\n'.join(lines).strip('\n')
    return ET.tostring(pre, encoding='unicode')


def _heading(title: str, width: int) -> list[str]:
    return ['', f'--- {title} '.ljust(width, '-')]


def _wrap(text: str, width: int, first: str = '', rest: str = INDENT) -> list[str]:
    return textwrap.wrap(
        text,
        width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,  # a command to run again stays whole
        break_on_hyphens=False,
    )


def _measured(finding: Finding) -> str:
    """The figure, and what to run where the run has none."""
    failed = ' (the claim FAILED: see its row above)' if finding.status == 'failed' else ''
    again = f'; run again: {finding.rerun}' if finding.rerun else ''
    return f'{finding.figure}{failed}{again}'


def _why(question: Question, finding: Finding) -> str:
    if finding.outcome is None:
        return ''
    return question.reasons.get(
        finding.outcome,
        'not what the chapter explains (' + ' or '.join(map(repr, question.reasons)) + '): '
        "see this claim's row above",
    )


def measured_any(records: Sequence[Record]) -> bool:
    """True when the run recorded a figure that the answers to the notes use."""
    used = {q.claim for q in QUESTIONS} | {c for n in CONCLUSIONS for c in n.claims}
    return any(isinstance(r, Row) and r.key in used for r in records)


# --- The reader's predictions --------------------------------------------------------------------


def prediction_lines(records: Sequence[Record], predictions: Predictions, width: int) -> list[str]:
    """Each prediction in the file, marked right or wrong against what this run measured, with the
    figure and the reason; then a line for each entry that could not be understood."""
    lines = _heading(f'your predictions ({predictions.path})', width)
    marks: dict[str, int] = {}
    for question in QUESTIONS:
        said = predictions.answers.get(question.key)
        if said is None:
            continue
        finding = find(records, question.claim)
        if finding.outcome is None:
            mark = 'not measured'
        elif said == DONT_KNOW:
            mark = 'no prediction'
        else:
            mark = 'RIGHT' if said == finding.outcome else 'WRONG'
        marks[mark] = marks.get(mark, 0) + 1
        showed = f'the run showed "{finding.outcome}"' if finding.outcome else 'not measured'
        text = f'{question.title}: you said "{said}"; {showed}'
        lines += _wrap(text, width, mark.ljust(MARK), ' ' * MARK)
        lines += _wrap(f'measured: {_measured(finding)}', width, ' ' * MARK, ' ' * (MARK + 4))
        why = _why(question, finding)
        if why:
            lines += _wrap(f'why: {why}', width, ' ' * MARK, ' ' * (MARK + 4))
    left_out = [q.key for q in QUESTIONS if q.key not in predictions.answers]
    summary = ', '.join(f'{n} {mark}' for mark, n in marks.items()) or 'no prediction read'
    summary += f'; not predicted: {", ".join(left_out)}' if left_out else ''
    lines[2:2] = _wrap(summary, width, rest=INDENT)
    for problem in predictions.problems:
        lines += _wrap(f'not understood: {problem}', width, rest=INDENT)
    return lines


# --- The answers to the notes --------------------------------------------------------------------


def answer_lines(records: Sequence[Record], width: int) -> list[str]:
    """The notes' three questions, each in a sentence with this run's figure and the reason; then
    the notes' conclusions, each marked right, incomplete or wrong, with what this run showed."""
    lines = _heading('the answers to the notes', width)
    lines.append(f'The three questions, is_prime(n) in place of time.sleep(3) ({machine.build()}):')
    for number, question in enumerate(QUESTIONS[:3], 1):
        finding = find(records, question.claim)
        if finding.outcome is None:
            sentence = f'not answered by this run: {_measured(finding)}'
        else:
            sentence = (
                f'{question.choices[finding.outcome]} ({_measured(finding)}): '
                f'{_why(question, finding)}'
            )
        lines += _wrap(f'{number}. {question.title.split(": ", 1)[1]}: {sentence}.', width)
    lines += ['', "The notes' conclusions:"]
    for conclusion in CONCLUSIONS:
        found = [find(records, claim) for claim in conclusion.claims]
        shown = [_measured(f) for f in found if f.outcome is not None or f.status != NOT_RUN]
        reruns = list(dict.fromkeys(f.rerun for f in found if f.status == NOT_RUN))
        if reruns:
            shown.append(f'not measured in this run (run again: {", ".join(reruns)})')
        text = f'"{conclusion.quote}": {conclusion.correction}.'
        if shown:
            text += f' This run: {"; ".join(shown)}.'
        lines += _wrap(text, width, conclusion.mark.ljust(MARK), ' ' * MARK)
    return lines
