"""The suite's own tools, last: the end report that tells the reader what this machine showed.

Its tables and pictures are drawn here from made-up records, so that no timing is needed: what
is checked is the drawing, a column per time and a line per worker. Then the plugin itself runs
in a small pytest run of its own (``pytester``), in one process and under pytest-xdist.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import concur
from concur.testing import end_report, evidence, pictures
from concur.testing.records import SECTIONS, Record, Row, Span, Timeline, WorkerChart

pytest_plugins = ['pytester']

# Not a claim of the chapter: run with `pytest -m selfcheck` (pytest.ini).
pytestmark = pytest.mark.selfcheck

GIL = "the GIL's three questions"
LONG = 'figures ' * 30  # a cell far wider than a column can be


def row(section: str, status: str = 'passed', words: str = 'words') -> Row:
    return Row(section, f'a claim about {section}', 'thread', status, words, '≥ 0.9×', '')


def question(number: int, frames: tuple[float, ...], end: float = 0.3) -> Timeline:
    return Timeline(GIL, f'question {number}: a spinner', end, 0.03, frames, 'a frame every 30 ms')


def made_up_chart(*spans: tuple[str, float, float]) -> WorkerChart:
    found = tuple(Span(worker, 7, start, end) for worker, start, end in spans)
    return WorkerChart('prime checkers', f'{len(spans)} numbers', found)


def made_up() -> list[Record]:
    """One record of each kind, statuses of each kind, sections out of the chapter's order."""
    return [
        row('prime checkers', 'failed', LONG),
        made_up_chart(('process 1', 0.0, 0.2), ('process 2', 0.0, 0.2)),
        row('spinners', 'skipped'),
        question(3, ()),
        question(1, (0.0, 0.03, 0.06)),
        question(2, (0.0, 0.035)),
        row('concurrency and parallelism'),
    ]


def test_the_end_report_is_never_wider_than_100_columns_however_long_its_cells():
    """Cells are wrapped to fit their columns, so the widest figures make rows taller, not wider."""
    for width in (100, 80):
        lines = end_report.text(made_up(), width=width)
        widest = max(lines, key=len)
        assert len(widest) <= width, f'a line of {len(widest)} characters: {widest!r}'


def test_the_end_report_has_its_sections_in_the_chapters_order():
    """Records come in the order the tests end (under pytest-xdist, any order); the report puts
    them back in the chapter's."""
    lines = end_report.text(made_up())
    headings = [line.split(' ')[1:-1] for line in lines if line.startswith('--- ')]
    shown = [' '.join(words) for words in headings]
    assert shown == [s for s in SECTIONS if s in shown], f'sections in this order: {shown}'
    assert len(shown) == 4, f'expected a section for each of the 4 sections recorded: {shown}'


def test_a_picture_of_a_section_outside_the_chapters_list_is_shown_after_the_chapter():
    """A record is never dropped: a misspelt section still shows, last, under its own name."""
    lines = end_report.text([*made_up(), Timeline('spiners', 'a spinner', 0.1, 0.03, (), 'none')])
    headings = [line for line in lines if line.startswith('--- ')]
    assert headings[-1].startswith('--- spiners '), headings


def test_every_verdict_shows_its_status_and_failed_and_skipped_ones_are_kept():
    """A skipped verdict is not evidence and a failed one is news: each row says which it is,
    on the line under its claim."""
    lines = end_report.text(made_up())
    for section, status in [
        ('prime checkers', 'FAILED'),
        ('spinners', 'skipped'),
        ('concurrency and parallelism', 'passed'),
    ]:
        claim = lines.index(f'a claim about {section}')
        assert f'thread   {status}' in lines[claim + 1], (
            f'the row under {section!r} does not say {status!r}:\n' + '\n'.join(lines)
        )


def test_the_ascii_end_report_has_only_ascii_characters():
    """Where the terminal cannot show '█' or '≥', the whole report, pictures and words, falls
    back to plain ASCII."""
    lines = end_report.text(made_up(), glyphs=pictures.ASCII)
    odd = {c for line in lines for c in line if not c.isascii()}
    assert not odd, f'characters beyond ASCII in the ASCII report: {odd}'
    assert any('#' in line for line in lines), 'the ASCII pictures show no frame or bar'


def test_a_timeline_puts_each_frame_in_the_column_of_its_time():
    """A line 50 columns wide for a second of work: a column is 20 ms."""
    frames = (0.0, 0.03, 0.1, 0.5, 0.99)
    timeline = Timeline(GIL, 'question 1', 1.0, 0.1, frames, 'a frame every 0.1 s')
    bar = pictures.timeline_bar(timeline, 1.0, 50, pictures.ASCII)
    assert [i for i, c in enumerate(bar) if c == '#'] == [0, 1, 5, 25, 49], bar


def test_a_timeline_leaves_blank_the_time_after_its_work_on_a_shared_scale():
    """On a scale shared with a longer run, a shorter run's work ends where its dots end."""
    timeline = Timeline(GIL, 'question 3', 0.5, 0.1, (), 'no frame')
    assert pictures.timeline_bar(timeline, 1.0, 10, pictures.ASCII) == '.....     '


def test_a_timeline_counts_the_frames_written_before_the_work_in_words_not_on_its_line():
    """A process spinner may start before the work does; its line begins with the work."""
    timeline = Timeline(GIL, 'question 1', 1.0, 0.1, (-0.05, 0.25, 0.5), 'a frame every 0.1 s')
    lines = pictures.timeline_lines([timeline], 100, pictures.ASCII)
    drawn = next(line for line in lines if line.startswith('  |'))
    assert drawn.count('#') == 2 and drawn.endswith('2 frames, one every 250 ms, 1 before the work')


def test_the_three_questions_come_one_above_another_on_one_time_scale():
    """The first run of each question, in the questions' order, then the other runs; every line
    the same length, for one scale."""
    again = question(1, (0.1,))
    timelines = end_report.questions_first(
        [question(3, ()), question(1, ()), again, question(2, ())]
    )
    titles = [t.title[:10] for t in timelines]
    assert titles == ['question 1', 'question 2', 'question 3', 'question 1'], titles
    assert timelines[-1] is again
    lines = pictures.timeline_lines(timelines, 100, pictures.UNICODE)
    bars = [line for line in lines if line.startswith('  │')]
    assert len(bars) == 4 and len({line.rindex('│') for line in bars}) == 1, '\n'.join(bars)
    shown = [line[:10] for line in end_report.text(made_up()) if line.startswith('question ')]
    assert shown == ['question 1', 'question 2', 'question 3'], shown


def filled(bar: str) -> set[int]:
    return {i for i, c in enumerate(bar) if c != ' '}


def test_a_worker_chart_shows_parallel_spans_overlapping_and_serial_spans_apart():
    """Processes checking at the same time fill the same columns on their two lines; threads
    taking turns fill none in common, even where one number ends as the next begins."""
    parallel = pictures.worker_bars(
        made_up_chart(('a', 0.0, 0.5), ('b', 0.0, 0.5)), 1.0, 40, pictures.ASCII
    )
    serial = pictures.worker_bars(
        made_up_chart(('a', 0.0, 0.5), ('b', 0.5, 1.0)), 1.0, 40, pictures.ASCII
    )
    assert filled(parallel['a']) == filled(parallel['b']) == set(range(20)), parallel
    assert not filled(serial['a']) & filled(serial['b']), serial
    assert filled(serial['a']) | filled(serial['b']) == set(range(40)), serial


def test_a_worker_chart_marks_where_one_number_ends_and_the_next_begins():
    """A worker's numbers are filled in turn with two glyphs, so that two numbers in a row do not
    read as one long one."""
    bars = pictures.worker_bars(
        made_up_chart(('a', 0.0, 0.5), ('a', 0.5, 1.0)), 1.0, 10, pictures.ASCII
    )
    assert bars == {'a': '#####====='}


@pytest.mark.parametrize(
    'number, thing, words',
    [(1, 'thread', '1 thread'), (0, 'thread', '0 threads'), (2, 'process', '2 processes')],
)
def test_counts_read_as_words_one_thread_two_processes(number, thing, words):
    """Figures in the report are counted in words a reader would write, with the right plural."""
    assert pictures.counted(number, thing) == words


def test_the_html_report_is_well_formed_self_contained_and_has_an_svg_per_picture():
    """CI keeps it as an artifact to open anywhere: nothing in it may need the network."""
    records = made_up()
    fragment = end_report.html(records, 'CPython')
    root = ET.fromstring(fragment)  # fails on anything not well-formed
    drawn = sum(isinstance(r, (Timeline, WorkerChart)) for r in records)
    assert len(root.findall('.//svg')) == drawn, f'expected an <svg> for each of {drawn} pictures'
    assert not re.search('https?:', fragment), 'the HTML report refers to the network'
    statuses = [td.text for td in root.iter('td') if td.get('class')]
    assert statuses == ['passed', 'skipped', 'FAILED'], statuses


def test_a_worker_name_cut_in_a_chart_is_shown_whole_on_hover():
    """A name is cut to its distinguishing end to fit; the SVG keeps it whole in a tooltip."""
    whole = 'MainProcess/prime-worker-0'
    drawn = pictures.chart_svg(made_up_chart((whole, 0.0, 0.2), ('short', 0.0, 0.2)), 1.0)
    names = {t.text: t.findtext('title') for t in drawn.iter('text') if 'worker' in (t.text or '')}
    assert names == {pictures.label(whole, pictures.UNICODE): whole}, names


def test_a_standalone_svg_of_the_pictures_is_well_formed():
    document = ET.fromstring(pictures.svg_document([question(1, (0.0,)), question(3, ())]))
    assert document.tag == '{http://www.w3.org/2000/svg}svg'
    assert len(document.findall('{http://www.w3.org/2000/svg}svg')) == 2


# ---- the plugin, in a pytest run of its own -----------------------------------------------------

RECORDING_TESTS = """
import pytest
from concur.testing.records import Recorder, Row, Span, Timeline, WorkerChart

@pytest.fixture
def recorder(request):
    return Recorder(request.node.user_properties, request.node.nodeid)

def test_spins(recorder):
    recorder.add(Row('spinners', 'a spinner spins', 'thread', 'passed', '3 frames', '3 frames', ''))
    recorder.add(Timeline('spinners', 'a thread spinner', 0.1, 0.03, (0, 0.03, 0.06), '30 ms'))

def test_checks(recorder):
    spans = (Span('process 1', 7, 0.0, 0.1), Span('process 2', 11, 0.0, 0.1))
    recorder.add(WorkerChart('prime checkers', '2 processes checking 2 numbers', spans))

def test_skips(recorder):
    recorder.add(Row('CPU use', 'a skipped claim', '', 'skipped', 'busy', '1 core', ''))
    pytest.skip('the machine was busy')

def test_asks_the_three_questions(recorder):
    for number, frames in [(3, ()), (1, (0, 0.03, 0.06)), (2, (0.01, 0.045))]:
        title = f'question {number}: a spinner'
        recorder.add(Timeline("the GIL's three questions", title, 0.1, 0.03, frames, 'often'))

@pytest.fixture
def busy_machine(recorder):
    recorder.add(Row('CPU use', 'a claim skipped by its fixture', '', 'skipped', 'busy', '', ''))
    pytest.skip('no core was free')

def test_skipped_in_setup(busy_machine):
    pass

def test_fails(recorder):
    recorder.add(Row('CPU use', 'a failed claim', '', 'failed', '2 cores', '1 core', ''))
    pytest.fail('contradicted')
"""


@pytest.fixture
def recording_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A folder with the tests above; its runs import concur from this checkout."""
    root = str(Path(concur.__file__).parents[1])
    monkeypatch.setenv('PYTHONPATH', root, prepend=':')
    pytester.makeini('[pytest]\nasyncio_default_fixture_loop_scope = function\n')
    pytester.makepyfile(test_recording=RECORDING_TESTS)
    return pytester


@pytest.mark.parametrize('workers', [[], ['-n', '2']], ids=['one process', '2 xdist workers'])
def test_the_plugin_shows_every_record_at_the_end_of_the_run(recording_run, workers):
    """Records travel with the test reports, from every phase: a verdict recorded before a skip
    or a failure is shown, also when pytest-xdist's workers ran the tests."""
    args = ['-p', 'concur.testing.plugin', '-p', 'no:cacheprovider', *workers]
    if workers:
        result = recording_run.runpytest_subprocess(*args)
    else:
        result = recording_run.runpytest(*args)
    result.assert_outcomes(passed=3, skipped=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            '*= what this machine showed =*',
            '--- spinners -*',
            'a spinner spins',
            '  thread*passed*3 frames*',
            'a thread spinner',
            '  ?█*█*█*? 3 frames, one every 30 ms',
            "--- the GIL's three questions -*",
            'question 1: a spinner',
            'question 2: a spinner',
            'question 3: a spinner',
            '--- prime checkers -*',
            '  process 1 *█*? 1 number',
            '  process 2 *█*? 1 number',
            '--- CPU use -*',
            'a skipped claim',
            '  skipped*busy*',
            'a claim skipped by its fixture',
            '  skipped*busy*',
            'a failed claim',
            '  FAILED*2 cores*',
        ]
    )


@pytest.mark.parametrize(
    'how', ['--concur-ascii', 'PYTHONIOENCODING=ascii'], ids=['asked', 'ascii terminal']
)
def test_the_plugin_draws_in_ascii_when_asked_or_when_the_terminal_cannot_show_unicode(
    recording_run, monkeypatch, how
):
    """The pictures fall back to '#', '.' and '|' where '█', '·' and '│' cannot be written."""
    if how.startswith('--'):
        result = recording_run.runpytest('-p', 'concur.testing.plugin', how)
    else:
        monkeypatch.setenv(*how.split('='))
        result = recording_run.runpytest_subprocess('-p', 'concur.testing.plugin')
    result.stdout.fnmatch_lines(['  |#*#*#*| 3 frames*', '  process 1 *|#*| 1 number'])


def test_the_plugin_adds_the_end_report_to_pytest_htmls_self_contained_report(recording_run):
    """pytest-html's page keeps its table of every test; the end report comes above it."""
    recording_run.runpytest(
        '-p', 'concur.testing.plugin', '--html=out.html', '--self-contained-html'
    )
    page = (recording_run.path / 'out.html').read_text(encoding='utf-8')
    assert page.count('<svg') == 5, 'expected the 4 timelines and the worker chart drawn in SVG'
    assert 'a skipped claim' in page and 'a failed claim' in page
    fetched = re.findall(r'(?:src=|<link[^>]*href=|url\()["\']?https?:[^"\' )]*', page)
    assert not fetched, f'the page fetches {fetched} from the network'


def test_the_plugin_writes_the_three_questions_to_an_svg_file_when_asked(recording_run):
    """The README's picture is made by the spec: the first run of each question, in order."""
    recording_run.runpytest('-p', 'concur.testing.plugin', '--concur-svg=questions.svg')
    document = ET.parse(recording_run.path / 'questions.svg').getroot()
    titles = [t.text for t in document.iter('{http://www.w3.org/2000/svg}text')]
    asked = [title for title in titles if title and title.startswith('question')]
    assert asked == [f'question {n}: a spinner' for n in (1, 2, 3)], asked


# ---- every verdict leaves a row; a skip says what decided it -----------------------------------

ASSERTING_TESTS = """
import pytest

SECTION = 'executors'

def test_holds():
    assert True

@pytest.mark.parametrize('kind', ['odd'])
def test_breaks(kind):
    assert 1 == 2, 'one is not two'

def test_cannot_run():
    pytest.skip('needs a machine that is not this one')
"""


def test_a_test_that_only_asserts_leaves_a_row_with_its_status_and_why(pytester):
    """A test of the chapter that records nothing still leaves a row: its name as the claim, its
    variant, its status, and for a fail or a skip the first line of why."""
    pytester.makeini('[pytest]\nasyncio_default_fixture_loop_scope = function\n')
    pytester.makepyfile(test_asserting=ASSERTING_TESTS)
    plugins = ['-p', 'concur.testing.plugin', '-p', 'concur.testing.every_verdict']
    result = pytester.runpytest(*plugins, '-p', 'no:cacheprovider')
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            '3 verdicts (1 passed, 1 FAILED, 1 skipped)*',
            '--- executors -*',
            'holds',
            '*passed*',
            'breaks',
            '  odd*FAILED*one is not two*',
            'cannot run',
            '*skipped*needs a machine that is not this one*',
        ]
    )


def test_a_module_without_a_section_leaves_no_row(pytester):
    """The suite's own tools name no section of the chapter: their tests leave no row."""
    pytester.makeini('[pytest]\nasyncio_default_fixture_loop_scope = function\n')
    pytester.makepyfile(test_tools=ASSERTING_TESTS.replace("SECTION = 'executors'", ''))
    plugins = ['-p', 'concur.testing.plugin', '-p', 'concur.testing.every_verdict']
    result = pytester.runpytest(*plugins, '-p', 'no:cacheprovider')
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    assert 'what this machine showed' not in result.stdout.str()


@pytest.mark.parametrize(
    'holds, free, quiet_pass, says',
    [
        (None, 2.0, False, 'shows nothing either way, the baseline was slowed'),
        (False, 1.0, False, 'contradicts the claim, but the machine was busy: it needs 1.60'),
        (False, 2.0, False, 'contradicts the claim on a quiet machine'),
        (True, 1.0, True, 'agrees, but a claim that units gain nothing'),
    ],
    ids=['figures disagree', 'busy', 'one contradiction', 'no faster on a busy machine'],
)
def test_a_skip_says_what_kept_each_trial_from_deciding(holds, free, quiet_pass, says):
    """A trial that neither passes nor fails names the condition that decided it, in words."""
    said = evidence.Verdict(holds, 'figures', 'a bound', unclear='the baseline was slowed')
    reading = evidence.Machine(usable=2, others=0.0, suite=0.0, free=free)
    why = evidence._undecided(said, reading, 2, quiet_pass, reads_cpu_time=False)
    assert says in why, f'expected the words {says!r}, got {why!r}'


# Two files of tests, each recording rows that name it, and a conftest that shuffles the tests
# as pytest-randomly does (files, tests and parameters mixed), the same way in every worker.
SHUFFLED_TESTS = """
import pytest
from concur.testing.records import Recorder, Row

@pytest.fixture
def recorder(request):
    return Recorder(request.node.user_properties, request.node.nodeid)

def test_first(recorder):
    recorder.add(Row('CPU use', '{name} first', '', 'passed', '', '', ''))

@pytest.mark.parametrize('n', [3, 1, 2])
@pytest.mark.parametrize('model', ['threads', 'procs'])
def test_second(recorder, model, n):
    recorder.add(Row('CPU use', '{name} second', f'{{model}} {{n}}', 'passed', '', '', ''))

def test_third(recorder):
    recorder.add(Row('CPU use', '{name} third', '', 'passed', '', '', ''))
"""
SHUFFLING_CONFTEST = """
import random

def pytest_addoption(parser):
    parser.addoption('--shuffle-seed', type=int)

def pytest_collection_modifyitems(config, items):
    seed = config.getoption('--shuffle-seed')
    if seed is not None:
        random.Random(seed).shuffle(items)
"""


def end_report_and_order(run: pytest.Pytester, *args: str) -> tuple[list[str], list[str]]:
    """The end report's lines, and the tests in the order they ran."""
    result = run.runpytest_subprocess(
        '-p', 'concur.testing.plugin', '-p', 'no:cacheprovider', '-p', 'no:randomly', '-v', *args
    )
    result.assert_outcomes(passed=16)
    lines = result.outlines
    ran = [word for line in lines if 'PASSED' in line for word in line.split() if '::' in word]
    start = next(i for i, line in enumerate(lines) if 'what this machine showed' in line)
    return lines[start : len(lines) - 1], ran  # without the last line, the run's own times


@pytest.mark.parametrize('workers', [[], ['-n', '2']], ids=['one process', '2 xdist workers'])
def test_the_end_report_keeps_the_chapters_order_however_the_tests_were_shuffled(
    recording_run, workers
):
    """A reader who shuffles the tests (pytest-randomly), or whose workers finish in another
    order, still reads the chapter in its order: by file, by definition, by parameter."""
    recording_run.makeconftest(SHUFFLING_CONFTEST)
    for name in ('test_a', 'test_b'):
        recording_run.makepyfile(**{name: SHUFFLED_TESTS.format(name=name)})
    chapter, in_order = end_report_and_order(recording_run, 'test_a.py', 'test_b.py')
    for seed in (7, 11, 3):
        shown, ran = end_report_and_order(
            recording_run, *workers, f'--shuffle-seed={seed}', 'test_a.py', 'test_b.py'
        )
        assert ran != in_order, f'seed {seed} left the tests in their order: {ran}'
        assert shown == chapter, (
            f'with the tests run in the order {ran}, expected the end report\n'
            + '\n'.join(chapter)
            + '\ngot\n'
            + '\n'.join(shown)
        )
