"""The reader's predictions and the answers to the notes, which end the report: marked from the
figures the rows carry, here from made-up rows, in pytest runs of their own (``pytester``); and
``python -m concur predict``, fed its answers on standard input as a pipe.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

import concur
from concur import predictions
from concur.questions import CONCLUSIONS, QUESTIONS
from concur.testing import findings

pytestmark = pytest.mark.selfcheck
pytest_plugins = ['pytester']

# Rows as a run with the GIL on two free cores records them, for every claim the answers use.
RECORDING_TESTS = """
import pytest
from concur.testing.records import Recorder, Row

SPINNER = {'interval': 0.03, 'switch': 0.005}
FIGURES = {
    'question 1': {'frames': 10, 'seconds': 0.29, 'gap': 0.0302, **SPINNER},
    'question 2': {'frames': 8, 'seconds': 0.29, 'gap': 0.0352, **SPINNER},
    'question 3': {'frames': 0, 'seconds': 0.2, **SPINNER},
    'question 3 as written': {'raised': 1.0},
    'the experiment': {'frames': 0, 'seconds': 0.2, **SPINNER},
    'threads waiting together': {'together': 0.104, 'alone': 0.101, 'units': 10},
    'threads checking primes': {'speedup': 0.98, 'units': 2, 'cores': 1.0},
    'processes checking primes': {'speedup': 1.85, 'units': 2, 'cores': 1.93},
    'coroutines waiting together': {
        'together': 0.052,
        'alone': 0.051,
        'units': 10,
        'threads': 1,
        'cores': 0.01,
    },
    'coroutines taking turns': {'speedup': 0.98, 'units': 2, 'cores': 1.0},
    'processes in parallel': {'speedup': 1.9, 'units': 2, 'cores': 1.95},
    'to_thread': {'threads_speedup': 1.01, 'threads_cores': 1.0, 'processes_speedup': 1.9,
           'ticks': 14, 'loop_free': 1.0},
    'threads losing updates': {'total': 1, 'units': 4},
    'coroutines losing updates': {'total': 1, 'units': 100},
}
SKIPPED = []

@pytest.fixture
def recorder(request):
    return Recorder(request.node.user_properties, request.node.nodeid)

def test_records_every_claim(recorder):
    for key, figures in FIGURES.items():
        status = 'skipped' if key in SKIPPED else 'passed'
        recorder.add(Row('CPU use', f'claim {key}', '', status, 'm', 'e', '', key=key,
                       figures=figures))
"""
RIGHT = {
    'question-1': 'full rate',
    'question-2': 'late',
    'question-3': 'frozen',
    'await-is-prime': 'TypeError',
    'time-sleep-in-a-coroutine': 'frozen',
    'two-threads': 'no faster',
    'processes': 'faster',
    'to-thread': 'the loop',
    'shared-counter': '1',
}
WRONG = {
    'question-1': 'frozen',
    'question-2': 'full rate',
    'question-3': 'late',
    'await-is-prime': 'blocks',
    'time-sleep-in-a-coroutine': 'full rate',
    'two-threads': 'faster',
    'processes': 'no faster',
    'to-thread': 'both',
    'shared-counter': '4',
}


@pytest.fixture
def recording_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A folder with the made-up rows above; its runs import concur from this checkout."""
    monkeypatch.setenv('PYTHONPATH', str(Path(concur.__file__).parents[1]), prepend=':')
    monkeypatch.setenv('COLUMNS', '100')  # the report's own width, whatever runs the tests
    pytester.makeini('[pytest]\nasyncio_default_fixture_loop_scope = function\n')
    pytester.makepyfile(test_recording=RECORDING_TESTS)
    return pytester


def run_with(run: pytest.Pytester, text: str | None, *args: str) -> pytest.RunResult:
    """A run given ``text`` as its predictions file (none at all where None)."""
    if text is not None:
        (run.path / 'mine.toml').write_text(text, encoding='utf-8')
    plugins = ['-p', 'concur.testing.answers', '-p', 'concur.testing.plugin']
    result = run.runpytest_subprocess(*plugins, '--concur-predictions=mine.toml', *args)
    result.assert_outcomes(passed=1)
    return result


def section(result: pytest.RunResult, title: str) -> list[str]:
    """The lines of the end report's section ``title``, up to the next section."""
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if line.startswith(f'--- {title}'))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith('---')), None)
    return lines[start:end]


def marks(lines: list[str]) -> dict[str, str]:
    """Each question's mark in the predictions section, by the question's title."""
    found = {}
    for q in QUESTIONS:
        line = next((x for x in lines if f' {q.title}:' in x), '')
        found[q.key] = line[: line.index(q.title)].strip() if line else 'absent'
    return found


@pytest.mark.parametrize('workers', [[], ['-n', '2']], ids=['one process', '2 xdist workers'])
def test_predictions_that_match_every_figure_are_each_marked_right(recording_run, workers):
    """A prediction is right when the run's figures show the choice predicted, also when the
    figures come from pytest-xdist's workers."""
    text = predictions.document(RIGHT, 'mine.toml')
    lines = section(run_with(recording_run, text, *workers), 'your')
    assert marks(lines) == dict.fromkeys(RIGHT, 'RIGHT'), '\n'.join(lines)
    assert lines[1] == '9 RIGHT', lines[1]


def test_predictions_that_miss_every_figure_are_each_marked_wrong_with_the_figure_and_reason(
    recording_run,
):
    """A wrong prediction shows what the run measured and why, as a right one does."""
    lines = section(run_with(recording_run, predictions.document(WRONG, 'mine.toml')), 'your')
    assert marks(lines) == dict.fromkeys(WRONG, 'WRONG'), '\n'.join(lines)
    text = ' '.join(' '.join(lines).split())  # unwrapped
    assert 'the run showed "late"' in text and '35.2 ms apart at the median' in text, text
    assert 'why: the threads share one GIL' in text, text


def test_bad_entries_are_named_in_one_line_each_and_the_rest_is_still_marked(recording_run):
    """An unknown question and a choice not offered are each named with what was expected; the
    good entries are marked all the same, and the run passes."""
    text = 'question-1 = "full rate"\nquestion-9 = "late"\nquestion-2 = "fast"\n'
    lines = section(run_with(recording_run, text), 'your')
    assert marks(lines)['question-1'] == 'RIGHT', '\n'.join(lines)
    problems = ' '.join(' '.join(lines).split())  # each problem, unwrapped
    assert "unknown question 'question-9'; the questions are question-1, question-2" in problems
    assert (
        'question-2 = \'fast\' is not one of its choices: "full rate", "late", "frozen", '
        '"don\'t know"' in problems
    ), problems


@pytest.mark.parametrize(
    'text, said',
    [('question-1 = full rate\n', 'is not TOML'), (None, 'no such file')],
    ids=['not TOML', 'missing'],
)
def test_a_file_that_cannot_be_read_is_said_in_one_line_and_the_run_goes_on(
    recording_run, text, said
):
    """The section says why it has no prediction to mark; the answers to the notes still come."""
    result = run_with(recording_run, text)
    lines = section(result, 'your')
    assert [line for line in lines if said in line], '\n'.join(lines)
    assert section(result, 'the answers to the notes'), 'expected the answers after it'


def test_a_skipped_claim_marks_no_prediction_and_says_what_to_run_again(recording_run):
    """A skipped claim is no evidence either way: neither right nor wrong."""
    recording_run.makepyfile(
        test_recording=RECORDING_TESTS.replace('SKIPPED = []', "SKIPPED = ['question 2']")
    )
    result = run_with(recording_run, predictions.document(RIGHT, 'mine.toml'))
    lines = section(result, 'your')
    assert marks(lines)['question-2'] == 'not measured', '\n'.join(lines)
    text = ' '.join(' '.join(lines).split())  # unwrapped
    assert "run again: pytest 'test_recording.py::test_records_every_claim'" in text, text
    answers = ' '.join(section(result, 'the answers to the notes'))
    assert '2. spinner_thread.py with is_prime(n): not answered by this run' in answers, answers


def test_the_answers_to_the_notes_are_the_last_section_after_the_predictions(recording_run):
    """The answers end the report: the three questions with their figures, then each of the
    notes' conclusions marked."""
    result = run_with(recording_run, predictions.document(RIGHT, 'mine.toml'))
    headings = [line for line in result.outlines if line.startswith('--- ')]
    assert headings[-2:] == [
        '--- your predictions (mine.toml) '.ljust(100, '-'),
        '--- the answers to the notes '.ljust(100, '-'),
    ], headings
    text = ' '.join(' '.join(section(result, 'the answers to the notes')).split())
    for sentence in [
        '1. spinner_proc.py with is_prime(n): it spins at its full rate',
        '2. spinner_thread.py with is_prime(n): it spins, but each frame comes late',
        '3. spinner_async.py with is_prime(n): no frame at all until the work ends',
        'wrong "GIL(General Interpreter Lock)": it is the Global Interpreter Lock',
        'This run: the counter at 1 after 4 increments',
        'wrong "3. In `spinner_async.py`, replace await `is_prime(n)`?": as written it raises',
    ]:
        assert sentence in text, f'expected {sentence!r} in the answers: {text}'


def test_a_run_without_predictions_shows_no_predictions_section(recording_run):
    """The option adds the section; without it the report is as before, the answers last."""
    result = recording_run.runpytest_subprocess('-p', 'concur.testing.plugin')
    headings = [line for line in result.outlines if line.startswith('--- ')]
    assert headings[-1].startswith('--- the answers to the notes'), headings
    assert not [h for h in headings if 'predictions' in h], headings


# ---- python -m concur predict, answered on standard input ------------------------------------


def predict(tmp_path: Path, replies: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, '-m', 'concur', 'predict', '--output', str(tmp_path / 'mine.toml')],
        input=replies,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_predict_writes_every_answer_read_from_standard_input_to_a_toml_file(tmp_path):
    """Answers are a choice's number or its words; one not offered is asked again."""
    replies = ['1', 'late', '7', 'frozen'] + ['4'] * 5 + ['3']  # '7' is not offered: asked again
    result = predict(tmp_path, '\n'.join(replies) + '\n')
    assert result.returncode == 0, result.stderr
    assert 'answer with a number from 1 to 4, or a choice' in result.stdout
    read = predictions.read(str(tmp_path / 'mine.toml'))
    assert not read.problems, read.problems
    expected = {'question-1': 'full rate', 'question-2': 'late', 'question-3': 'frozen'}
    expected |= {q.key: "don't know" for q in QUESTIONS[3:]}
    assert read.answers == expected


def test_predict_keeps_the_answers_given_before_the_input_ended(tmp_path):
    """Nothing answered is lost: the file holds the answers given, the other questions commented
    out, and the one line on stderr says so."""
    result = predict(tmp_path, '1\n2\n')
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'stopped at question 3 of 9 (end of input)' in lines[0], lines
    read = predictions.read(str(tmp_path / 'mine.toml'))
    assert read.answers == {'question-1': 'full rate', 'question-2': 'late'}, read


def test_predict_interrupted_keeps_the_answers_given_and_exits_130(tmp_path):
    """Ctrl-C (SIGINT) at a question ends the prompt as the end of input does."""
    command = [sys.executable, '-u', '-m', 'concur', 'predict', '-o', str(tmp_path / 'mine.toml')]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        assert child.stdin and child.stdout
        child.stdin.write('3\n')
        child.stdin.flush()
        asked = ''
        while not asked.endswith('2/9') and child.poll() is None:  # the second question
            asked += child.stdout.read(1)
        child.send_signal(signal.SIGINT)
        # Its standard input stays open until it ends: closed first (as communicate() does), it
        # could read the end of input before it handles the signal.
        child.wait(timeout=60)
        err = child.stderr.read() if child.stderr else ''
    assert child.returncode == 130, err
    assert 'stopped at question 2 of 9 (interrupted)' in err, err
    assert predictions.read(str(tmp_path / 'mine.toml')).answers == {'question-1': 'frozen'}


def test_every_question_of_the_file_is_commented_with_its_choices():
    """A person can write the file by hand: each question's choices are in comments above it."""
    text = predictions.document({}, 'mine.toml')
    for q in QUESTIONS:
        block = text.split(f'# {q.title}\n', 1)[1].split('\n\n', 1)[0]
        assert all(f'"{choice}"' in block for choice in q.offered()), block
        assert block.splitlines()[-1] == f'# {q.key} = ""', block


def test_every_claim_the_answers_read_is_recorded_under_its_key_by_the_test_file_named_for_it():
    """The answers find a claim by its key alone: a key that no test records, or records in
    another file than the one named to run again, would leave an answer with nothing to read."""
    root = Path(concur.__file__).parents[1]
    for claim, path in findings.TESTS.items():
        source = (root / path).read_text(encoding='utf-8')
        assert f"key='{claim}'" in source, f'{path} records no row with key {claim!r}'
    assert set(findings.TESTS) == set(findings.READINGS), 'every claim read has a test file'
    used = {q.claim for q in QUESTIONS} | {c for n in CONCLUSIONS for c in n.claims}
    assert used <= set(findings.READINGS), (
        f'claims without a reading: {used - set(findings.READINGS)}'
    )


def test_the_html_report_shows_the_predictions_and_the_answers_as_the_terminal_does(
    recording_run,
):
    """pytest-html's page ends its end report with the same two sections."""
    (recording_run.path / 'mine.toml').write_text(predictions.document(RIGHT, 'mine.toml'))
    plugins = ['-p', 'concur.testing.answers', '-p', 'concur.testing.plugin']
    recording_run.runpytest_subprocess(
        *plugins, '--concur-predictions=mine.toml', '--html=out.html', '--self-contained-html'
    )
    page = (recording_run.path / 'out.html').read_text(encoding='utf-8')
    assert page.index('--- your predictions') < page.index('--- the answers to the notes'), page
    assert 'you said "late"; the run showed "late"' in ' '.join(page.split())
