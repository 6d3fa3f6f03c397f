"""CI's summary, from the table .ci/run keeps: one line per test run with its counts and the
interpreter it ran on, one line per check, the notes, each failed test with why, and last the
totals of every run, in the form CI harnesses read: ``N passed, N failed, N skipped``. Exit
status 1 when anything failed.

Usage: python3 .ci/summary.py .ci/logs/runs.tsv
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# pytest's closing line: "2 failed, 150 passed, 3 skipped in 31.02s" with -q, between "=" with -v.
CLOSING = re.compile(r'^=* ?((?:\d+ \w+, )*\d+ \w+|no tests ran) in ([\d.]+)s')
# The line where ruff, mypy, check-jsonschema or zizmor sums up what it found.
VERDICT = re.compile(
    r'^(Found \d+|\d+ files? (would be|already)|All checks passed|Success'
    r'|ok -- validation done|Schema validation errors|No findings|\d+ findings?)'
)
ANSI = re.compile(r'\x1b\[[0-9;]*m')
SHOWN = ('passed', 'skipped', 'failed')
# pytest's short summary (-ra) names each failed test and the first line of why.
FAILED_TEST = re.compile(r'^(FAILED|ERROR) ')
WHY = 300  # characters of each failure's reason kept in the summary


def read(log: str) -> list[str]:
    """The lines of ``log`` (the run's output, relative to the project), without colours."""
    path = Path(log)
    text = path.read_text(errors='replace') if path.exists() else ''
    return [line.strip() for line in ANSI.sub('', text).splitlines()]


def counts(log: str) -> dict[str, int] | None:
    """The counts of pytest's last closing line in ``log``, errors counted as failed, and its
    seconds; None if pytest never closed."""
    closing = [m for m in map(CLOSING.match, read(log)) if m]
    if not closing:
        return None
    found = {'failed': 0, 'seconds': round(float(closing[-1].group(2)))}
    for number, word in re.findall(r'(\d+) (\w+)', closing[-1].group(1)):
        word = 'failed' if word in ('error', 'errors') else word
        found[word] = found.get(word, 0) + int(number)
    return found


def suite(status: str, found: dict[str, int] | None) -> tuple[str, bool]:
    """A test run's result in words, and whether it failed."""
    if found is None:
        return f'FAILED: pytest never closed, exit status {status}', True
    words = ', '.join(f'{found.get(word, 0)} {word}' for word in SHOWN)
    if found.get('deselected'):  # left out by a marker: the chapter's run, or the selfcheck run
        words += f' ({found["deselected"]} deselected)'
    words += f' in {found["seconds"]} s'
    if status != '0' and not found['failed']:  # pytest failed some other way: say how
        words += f' (exit status {status})'
    return words, status != '0'


def main(table: str) -> int:
    totals = dict.fromkeys(SHOWN, 0)
    failed = False
    lines: list[tuple[str, str, str]] = []
    notes: list[str] = []
    failures: list[str] = []
    for row in Path(table).read_text().splitlines():
        kind, *fields = row.split('\t')
        if kind in ('note', 'fail'):
            notes.append(('FAILED: ' if kind == 'fail' else '') + fields[0])
            failed |= kind == 'fail'
            continue
        label, about, status, log = fields
        if kind == 'check':
            output = [line for line in read(log) if line] or ['no output']
            verdict = [line for line in output if VERDICT.match(line)] or output
            lines.append((label, 'ok' if status == '0' else 'FAILED', verdict[-1]))
            failed |= status != '0'
            continue
        found = counts(log)
        words, run_failed = suite(status, found)
        for word in SHOWN:
            totals[word] += (found or {}).get(word, 0)
        lines.append((label, words, about))
        failed |= run_failed
        failures += [f'{label}: {line[:WHY]}' for line in read(log) if FAILED_TEST.match(line)]
    widths = [max((len(line[i]) for line in lines), default=0) for i in range(2)]
    print('\n' + ' CI summary '.center(100, '='))
    for label, result, about in lines:
        print(f'{label:{widths[0]}}  {result:{widths[1]}}  {about}'.rstrip())
    for line in notes + failures:
        print(line)
    # the totals line last, as "N passed, N failed, N skipped", for the CI harness
    print(', '.join(f'{totals[word]} {word}' for word in ('passed', 'failed', 'skipped')))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
