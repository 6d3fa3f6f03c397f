"""The end report: what this machine showed, a section per part of the chapter, in its order.

Each section has a table of verdicts (the claim, its variant, its status, what was measured, what
the claim expected, what it was compared with), then its pictures (``pictures``): spinner
timelines and worker charts, each kind on one time scale. ``text`` lays it out for a terminal at
most ``WIDTH`` columns wide, ``html`` for the HTML report.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any, NamedTuple

from concur.testing import pictures
from concur.testing.pictures import ASCII, INDENT, UNICODE, Glyphs, counted
from concur.testing.records import SECTIONS, Record, Row, Timeline, WorkerChart, dump, load

WIDTH = 100
COLUMNS = ('claim', 'variant', 'status', 'measured', 'expected', 'compared with')
CELLS = COLUMNS[1:]  # in the terminal each claim heads the lines of its variants
STATUS = {'passed': 'passed', 'failed': 'FAILED', 'skipped': 'skipped'}
GAP = '  '
FLOOR = 10  # no column is squeezed narrower than this, unless its widest cell is
# How records' words read in plain ASCII; what is not here loses its accents or becomes '?'.
ASCII_WORDS = {'×': 'x', '≥': '>=', '≤': '<=', '–': '-', '—': '-', '…': '...', 'µ': 'u'}
ASCII_WORDS |= {'→': '->', '±': '+/-', '≈': '~', '·': '.', '’': "'", '“': '"', '”': '"'}


class Section(NamedTuple):
    name: str
    rows: list[Row]
    timelines: list[Timeline]
    charts: list[WorkerChart]


def _question(timeline: Timeline) -> int | None:
    found = re.match(r'question (\d+)', timeline.title)
    return int(found.group(1)) if found else None


def questions(records: Sequence[Record]) -> list[Timeline]:
    """The first run of each of the notes' questions, in the questions' order."""
    first: dict[int, Timeline] = {}
    for timeline in (r for r in records if isinstance(r, Timeline)):
        number = _question(timeline)
        if number is not None:
            first.setdefault(number, timeline)
    return [first[number] for number in sorted(first)]


def questions_first(timelines: Sequence[Timeline]) -> list[Timeline]:
    """The questions (``questions``), then the other runs: so the three questions come one above
    another."""
    head = questions(timelines)
    return head + [t for t in timelines if t not in head]


def sections(records: Sequence[Record]) -> list[Section]:
    """The records by section, in the chapter's order, then any section not in the chapter's list
    (a picture's section is not checked when it is made); the sections without one left out."""
    found = []
    for name in dict.fromkeys([*SECTIONS, *(r.section for r in records)]):
        mine = [r for r in records if r.section == name]
        if mine:
            timelines = [r for r in mine if isinstance(r, Timeline)]
            found.append(
                Section(
                    name,
                    [r for r in mine if isinstance(r, Row)],
                    questions_first(timelines),
                    [r for r in mine if isinstance(r, WorkerChart)],
                )
            )
    return found


def tally(records: Sequence[Record]) -> str:
    """The count of verdicts by status, and of pictures: one line."""
    statuses = Counter(r.status for r in records if isinstance(r, Row))
    verdicts = ', '.join(f'{statuses[s]} {STATUS[s]}' for s in STATUS if statuses[s])
    timelines = sum(isinstance(r, Timeline) for r in records)
    charts = sum(isinstance(r, WorkerChart) for r in records)
    return (
        f'{counted(sum(statuses.values()), "verdict")} ({verdicts or "none"}), '
        f'{counted(timelines, "spinner timeline")}, {counted(charts, "worker chart")}'
    )


# --- In the terminal ----------------------------------------------------------------------------


def to_ascii(text: str) -> str:
    for word, plain in ASCII_WORDS.items():
        text = text.replace(word, plain)
    return unicodedata.normalize('NFKD', text).encode('ascii', 'replace').decode('ascii')


def _ascii(value: Any) -> Any:
    if isinstance(value, str):
        return to_ascii(value)
    if isinstance(value, dict):
        return {key: _ascii(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_ascii(item) for item in value]
    return value


def ascii_record(record: Record) -> Record:
    """The record with every word in plain ASCII."""
    return load(_ascii(dump(record)))


def _fit(natural: list[int], floors: list[int], budget: int) -> list[int]:
    """Column widths within ``budget`` characters: the widest column gives way first, and none
    goes below its floor."""
    widths = list(natural)
    while sum(widths) > budget:
        widest = max(range(len(widths)), key=lambda i: (widths[i] > floors[i], widths[i]))
        if widths[widest] <= floors[widest]:
            break
        widths[widest] -= 1
    return widths


def _columns(rows: Sequence[Row]) -> tuple[list[str], list[list[str]]]:
    """The names of CELLS and each row's cells, without the columns empty in every row."""
    cells = [[r.variant, STATUS[r.status], r.measured, r.expected, r.compared_with] for r in rows]
    keep = [i for i, name in enumerate(CELLS) if name == 'status' or any(c[i] for c in cells)]
    return [CELLS[i] for i in keep], [[c[i] for i in keep] for c in cells]


Lines = list[tuple[Row, list[str]]]


def _by_claim(rows: Sequence[Row], cells: list[list[str]]) -> list[tuple[str, Lines]]:
    """Each claim, with its rows that follow each other (its variants) and their cells."""
    groups = groupby(zip(rows, cells, strict=True), key=lambda pair: pair[0].claim)
    return [(claim, list(pairs)) for claim, pairs in groups]


def verdicts(rows: Sequence[Row], width: int, paint: Callable[[str], str] = str) -> list[str]:
    """A section's table of verdicts within ``width``: each claim on a line of its own, under it
    a line per variant measured, cells wrapped to fit their columns. ``paint`` colours the status
    cells (already padded)."""
    header, cells = _columns(rows)
    natural = [max(map(len, column)) for column in zip(header, *cells, strict=True)]
    floors = [min(n, max(FLOOR, len(h))) for n, h in zip(natural, header, strict=True)]
    widths = _fit(natural, floors, width - len(INDENT) - len(GAP) * (len(header) - 1))
    status = header.index('status')

    def lay_out(line: Sequence[str], painted: bool) -> list[str]:
        wrapped = [textwrap.wrap(c, w) or [''] for c, w in zip(line, widths, strict=True)]
        lines = []
        for depth in range(max(map(len, wrapped))):
            parts = [
                (w[depth] if depth < len(w) else '').ljust(n)
                for w, n in zip(wrapped, widths, strict=True)
            ]
            if painted and depth == 0:
                parts[status] = paint(parts[status])
            lines.append((INDENT + GAP.join(parts)).rstrip())
        return lines

    out = [*lay_out(header, False), INDENT + GAP.join('-' * n for n in widths)]
    for i, (claim, lines) in enumerate(_by_claim(rows, cells)):
        out += ([''] if i else []) + textwrap.wrap(claim, width)
        for _, line in lines:
            out += lay_out(line, True)
    return out


def text(
    records: Sequence[Record],
    *,
    width: int = WIDTH,
    glyphs: Glyphs = UNICODE,
    paint: Callable[[str], str] = str,
) -> list[str]:
    """The end report's lines, none wider than ``width``; in plain ASCII with ``ASCII`` glyphs."""
    if glyphs is ASCII:
        records = [ascii_record(r) for r in records]
    lines = [tally(records)]
    for section in sections(records):
        lines += ['', f'--- {section.name} '.ljust(width, '-')]
        if section.rows:
            lines += verdicts(section.rows, width, paint)
        if section.timelines:
            lines += ['', *pictures.timeline_lines(section.timelines, width, glyphs)]
        if section.charts:
            lines += ['', *pictures.chart_lines(section.charts, width, glyphs)]
    return lines


# --- In HTML ------------------------------------------------------------------------------------

# No '>' in the style: ElementTree escapes it in text.
CSS = """
.concur-report { font-family: sans-serif; font-size: 13px; max-width: 1100px; color: #222; }
.concur-report h3 { margin: 1.4em 0 0.4em; border-bottom: 1px solid #ccc; }
.concur-report table { border-collapse: collapse; margin-bottom: 0.8em; width: 100%; }
.concur-report th, .concur-report td { color: #222; border: 1px solid #ddd; padding: 3px 6px;
  text-align: left; vertical-align: top; }
.concur-report th { background: #f3f3f3; }
.concur-report td.passed { color: #1b6e2e; }
.concur-report td.failed { color: #b00020; font-weight: bold; }
.concur-report td.skipped { color: #8a6d00; }
.concur-report figure { margin: 0.4em 0; }
"""


def _add(parent: ET.Element, tag: str, text: str = '', **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text or None
    return element


def _rows_table(parent: ET.Element, rows: Sequence[Row]) -> None:
    """The verdicts, a claim's cell beside the rows of its variants; hovering a row shows its
    test."""
    header, cells = _columns(rows)
    table = _add(parent, 'table')
    heading = _add(_add(table, 'thead'), 'tr')
    for name in ('claim', *header):
        _add(heading, 'th', name)
    body = _add(table, 'tbody')
    for claim, lines in _by_claim(rows, cells):
        for i, (row, line) in enumerate(lines):
            tr = _add(body, 'tr', title=row.test)
            if i == 0:
                _add(tr, 'td', claim, rowspan=str(len(lines)))
            for name, cell in zip(header, line, strict=True):
                _add(tr, 'td', cell, **({'class': row.status} if name == 'status' else {}))


def html(records: Sequence[Record], machine: str) -> str:
    """The end report as an HTML fragment, self-contained: its style inline, every picture an
    inline <svg>, nothing fetched."""
    root = ET.Element('div', {'class': 'concur-report'})
    _add(root, 'style', CSS)
    _add(root, 'h2', 'What this machine showed')
    _add(root, 'p', machine)
    _add(root, 'p', tally(records))
    for section in sections(records):
        _add(root, 'h3', section.name)
        if section.rows:
            _rows_table(root, section.rows)
        for group in (section.timelines, section.charts):
            span = pictures.scale(group)
            for picture in group:
                figure = _add(root, 'figure')
                figure.append(pictures.svg(picture, span))
    return ET.tostring(root, encoding='unicode', short_empty_elements=False)
