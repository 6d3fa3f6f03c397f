"""The end report's pictures, where time is the point: when a spinner wrote its frames across the
work (``Timeline``), and which worker checked which number when (``WorkerChart``).

Each picture is drawn from the same geometry twice: in text for the terminal, and in SVG for the
HTML report. Pictures that are compared share one time scale (``scale``), so that a run that took
twice as long is drawn twice as long.
"""

from __future__ import annotations

import math
import statistics
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from concur.testing.records import Span, Timeline, WorkerChart

Picture = Timeline | WorkerChart

INDENT = '  '
LABEL = 16  # characters kept of a worker's name
# The text that follows a picture's line ('10 frames, one every 31 ms') needs this many columns
# besides the line itself: the line is the rest of the report's width.
LINE_MARGIN = 40


@dataclass(frozen=True)
class Glyphs:
    """The characters a picture is drawn with in the terminal."""

    frame: str  # a column in which the spinner wrote a frame
    work: str  # a column of the work in which it wrote none
    edge: str  # the two ends of the time line
    fills: tuple[str, str]  # a worker's numbers, in turn, so that one number's bar ends visibly
    cut: str  # where a name too long was cut


UNICODE = Glyphs(frame='█', work='·', edge='│', fills=('█', '▒'), cut='…')
ASCII = Glyphs(frame='#', work='.', edge='|', fills=('#', '='), cut='~')


def duration(seconds: float) -> str:
    """A time in words: milliseconds below a second, seconds above."""
    if seconds == 0:
        return '0'
    return f'{seconds * 1000:.0f} ms' if abs(seconds) < 1 else f'{seconds:.2f} s'


def _last(picture: Picture) -> float:
    if isinstance(picture, Timeline):
        return max((picture.end, *picture.frames))
    return max((span.end for span in picture.spans), default=0.0)


def scale(pictures: Sequence[Picture]) -> float:
    """The time shared by ``pictures``, from 0 to the last end or frame among them (seconds)."""
    return max((_last(p) for p in pictures), default=0.0) or 1.0


def column(seconds: float, scale: float, width: int) -> int:
    """The column that a time falls in, on a line ``width`` columns wide from 0 to ``scale``."""
    return min(width - 1, max(0, math.floor(seconds / scale * width)))


def _columns(span: Span, scale: float, width: int) -> range:
    """The columns a span covers: one at least; a span that ends where the next one starts
    shares no column with it."""
    first = column(span.start, scale, width)
    last = min(width - 1, math.ceil(span.end / scale * width - 1e-9) - 1)
    return range(first, max(first, last) + 1)


def _words(timeline: Timeline) -> str:
    during = [t for t in timeline.frames if t >= 0]
    words = f'{len(during)} frame{"" if len(during) == 1 else "s"}'
    if len(during) > 1:
        gap = statistics.median(b - a for a, b in pairwise(during))
        words += f', one every {duration(gap)}'
    early = len(timeline.frames) - len(during)
    return words + (f', {early} before the work' if early else '')


def workers(chart: WorkerChart) -> dict[str, list[Span]]:
    """Each worker's spans in time order, the workers in the order they started."""
    by_worker: dict[str, list[Span]] = {}
    for span in sorted(chart.spans, key=lambda s: s.start):
        by_worker.setdefault(span.worker, []).append(span)
    return by_worker


def _chart_words(chart: WorkerChart) -> str:
    spans = chart.spans
    if not spans:
        return f'no {chart.item} done'
    wall = max(s.end for s in spans) - min(s.start for s in spans)
    each = statistics.mean(s.end - s.start for s in spans)
    return (
        f'{counted(len(spans), chart.item)} in {duration(wall)}, {duration(each)} each on average'
    )


def counted(number: int, thing: str) -> str:
    """``number`` of ``thing``, in words: '1 call', '3 numbers', '2 processes'."""
    plural = thing + ('es' if thing.endswith('s') else 's')
    return f'{number} {thing if number == 1 else plural}'


# --- In the terminal ----------------------------------------------------------------------------


def timeline_bar(timeline: Timeline, scale: float, width: int, glyphs: Glyphs) -> str:
    """The frames at their columns; the rest of the work dotted, the time after it blank."""
    cells = [glyphs.work if c * scale / width < timeline.end else ' ' for c in range(width)]
    for seconds in timeline.frames:
        if seconds >= 0:
            cells[column(seconds, scale, width)] = glyphs.frame
    return ''.join(cells)


def worker_bars(chart: WorkerChart, scale: float, width: int, glyphs: Glyphs) -> dict[str, str]:
    """Per worker, its numbers as bars at their columns, filled in turn with the two fills."""
    bars = {}
    for name, spans in workers(chart).items():
        cells = [' '] * width
        for i, span in enumerate(spans):
            for c in _columns(span, scale, width):
                cells[c] = glyphs.fills[i % 2]
        bars[name] = ''.join(cells)
    return bars


def _axis(scale: float, width: int, indent: str) -> str:
    """'0' under the line's start, the scale's end under its end, the middle between."""
    middle, end = duration(scale / 2), duration(scale)
    left = (width + 2) // 2 - len(middle) // 2
    line = '0'.ljust(left) + middle
    return indent + line.ljust(width + 2 - len(end)) + end


def label(name: str, glyphs: Glyphs) -> str:
    """A worker's name in LABEL characters at most: the end, where names of one chart differ
    ('MainProcess/prime-worker-1')."""
    return name if len(name) <= LABEL else glyphs.cut + name[1 - LABEL :]


def _wrapped(text: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent) or [indent]


def timeline_lines(timelines: Sequence[Timeline], width: int, glyphs: Glyphs) -> list[str]:
    """Timelines one above another on one time scale, each with its title, the frames counted
    and the rate expected; an axis of seconds under them all."""
    span = scale(timelines)
    line = width - LINE_MARGIN
    lines = _wrapped(
        f'frames on one time scale (a column is {duration(span / line)}; '
        f'{glyphs.frame} a frame, {glyphs.work} the work):',
        width,
        '',
    )
    for timeline in timelines:
        bar = timeline_bar(timeline, span, line, glyphs)
        lines += _wrapped(timeline.title, width, '')
        lines.append(f'{INDENT}{glyphs.edge}{bar}{glyphs.edge} {_words(timeline)}')
        lines += _wrapped(f'expected: {timeline.expected}', width, INDENT * 2)
    lines.append(_axis(span, line, INDENT))
    return lines


def chart_lines(charts: Sequence[WorkerChart], width: int, glyphs: Glyphs) -> list[str]:
    """Worker charts on one time scale: a line per worker, a bar per piece of work it did."""
    span = scale(charts)
    line = width - LINE_MARGIN
    indent = INDENT + ' ' * (LABEL + 1)
    fills = ''.join(glyphs.fills)
    lines = _wrapped(
        f'workers on one time scale (a column is {duration(span / line)}; '
        f'{fills} what each worker did, a bar per piece of work, in turn):',
        width,
        '',
    )
    for chart in charts:
        lines += _wrapped(chart.title, width, '')
        spans = workers(chart)
        for name, bar in worker_bars(chart, span, line, glyphs).items():
            lines.append(
                f'{INDENT}{label(name, glyphs):<{LABEL}} {glyphs.edge}{bar}{glyphs.edge} '
                f'{counted(len(spans[name]), chart.item)}'
            )
        lines += _wrapped(_chart_words(chart), width, indent)
    lines.append(_axis(span, line, indent))
    return lines


# --- In SVG -------------------------------------------------------------------------------------

SVG_WIDTH = 760  # pixels
LEFT = 130  # pixels for the workers' names, left of the time line
RIGHT = 20
ROW = 20  # pixels per line of a picture
FONT = 'font-family:sans-serif;font-size:12px'
FRAME, WORK, INK = '#1f4e9c', '#dfe7f3', '#222'
FILLS = ('#2a7a3b', '#8fc79a')


def _x(seconds: float, scale: float) -> float:
    return round(LEFT + seconds / scale * (SVG_WIDTH - LEFT - RIGHT), 1)


def ticks(scale: float) -> list[float]:
    """About five round times from 0 to ``scale``: steps of 1, 2 or 5 times a power of 10."""
    rough = scale / 5
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    return [i * step for i in range(int(scale / step + 1e-9) + 1)]


def _add(parent: ET.Element, tag: str, text: str = '', **attributes: object) -> ET.Element:
    element = ET.SubElement(
        parent, tag, {k.replace('_', '-'): str(v) for k, v in attributes.items()}
    )
    element.text = text or None
    return element


def _text(parent: ET.Element, x: float, y: float, text: str, **attributes: object) -> ET.Element:
    return _add(parent, 'text', text, x=x, y=y, style=FONT, fill=INK, **attributes)


def _svg(rows: int) -> tuple[ET.Element, int]:
    """An empty picture of ``rows`` rows besides its title, axis and words; the axis's y."""
    axis = ROW * (rows + 1) + 6
    height = axis + 2 * ROW + 14
    svg = ET.Element('svg', width=str(SVG_WIDTH), height=str(height))
    svg.set('viewBox', f'0 0 {SVG_WIDTH} {height}')
    return svg, axis


def _finish(svg: ET.Element, title: str, words: str, scale: float, axis: int) -> ET.Element:
    """The title above, the axis of seconds and the words below."""
    _text(svg, 4, 14, title, font_weight='bold')
    _add(svg, 'line', x1=_x(0, scale), x2=_x(scale, scale), y1=axis, y2=axis, stroke='#888')
    for tick in ticks(scale):
        x = _x(tick, scale)
        _add(svg, 'line', x1=x, x2=x, y1=axis, y2=axis + 4, stroke='#888')
        _text(svg, x, axis + 16, duration(tick), text_anchor='middle')
    _text(svg, 4, axis + 2 * ROW, words)
    return svg


def timeline_svg(timeline: Timeline, scale: float) -> ET.Element:
    """The work as a band, each frame as a tick at its time; hovering a tick shows the time."""
    svg, axis = _svg(1)
    top = ROW + 4
    _add(
        svg,
        'rect',
        x=_x(0, scale),
        y=top,
        width=_x(timeline.end, scale) - _x(0, scale),
        height=ROW - 2,
        fill=WORK,
    )
    _text(svg, 4, top + 14, 'frames')
    for seconds in timeline.frames:
        if seconds >= 0:
            tick = _add(svg, 'rect', x=_x(seconds, scale) - 1, y=top - 2, width=2, height=ROW + 2)
            tick.set('fill', FRAME)
            _add(tick, 'title', f'a frame at {duration(seconds)}')
    words = f'{_words(timeline)}; expected: {timeline.expected}'
    return _finish(svg, timeline.title, words, scale, axis)


def chart_svg(chart: WorkerChart, scale: float) -> ET.Element:
    """A row per worker, a bar per piece of work; hovering a bar shows its number and times."""
    spans = workers(chart)
    svg, axis = _svg(len(spans))
    for row, (name, worker_spans) in enumerate(spans.items(), start=1):
        top = row * ROW + 4
        shown = _text(svg, 4, top + 13, label(name, UNICODE))
        if shown.text != name:  # hovering a name that was cut shows it whole
            _add(shown, 'title', name)
        for i, span in enumerate(worker_spans):
            left = _x(span.start, scale)
            bar = _add(
                svg,
                'rect',
                x=left,
                y=top,
                width=max(1.0, round(_x(span.end, scale) - left, 1)),
                height=ROW - 4,
                fill=FILLS[i % 2],
            )
            _add(bar, 'title', f'{span.n}: {duration(span.start)} to {duration(span.end)}')
    return _finish(svg, chart.title, _chart_words(chart), scale, axis)


def svg(picture: Picture, scale: float) -> ET.Element:
    return (
        timeline_svg(picture, scale) if isinstance(picture, Timeline) else chart_svg(picture, scale)
    )


def svg_document(pictures: Sequence[Picture]) -> str:
    """A standalone SVG file of ``pictures`` one above another, on one time scale."""
    span = scale(pictures)
    parts = [svg(p, span) for p in pictures]
    height = sum(int(p.get('height', 0)) for p in parts)
    document = ET.Element('svg', xmlns='http://www.w3.org/2000/svg', width=str(SVG_WIDTH))
    document.set('height', str(height))
    document.set('viewBox', f'0 0 {SVG_WIDTH} {height}')
    _add(document, 'rect', width='100%', height='100%', fill='white')
    y = 0
    for part in parts:
        part.set('y', str(y))
        y += int(part.get('height', 0))
        document.append(part)
    return ET.tostring(document, encoding='unicode') + '\n'
