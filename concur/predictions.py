"""The reader's predictions: asked in the terminal (``python -m concur predict``), kept in a plain
TOML file that a person can also write by hand, and read back by ``pytest
--concur-predictions=FILE``, which marks each against what the run measured.

The file has one line per question, ``key = "choice"``, under comments that give the question and
its choices. A question left out, or commented out, has no prediction.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the TOML reader of the standard library came in 3.11
    import tomli as tomllib

from concur.questions import BY_KEY, QUESTIONS, Question

WIDTH = 100
HEADER = """\
# Predictions for the concurrency chapter of Fluent Python (2nd ed., chapter 19), made before
# measuring. Check them against a run on this machine:
#     pytest --concur-predictions={path}
# Each answer is one of the choices listed above it, in double quotes; a question commented out
# or left out has no prediction.
"""


def _string(text: str) -> str:
    """``text`` as a TOML basic string."""
    escaped = text.replace('\\', '\\\\').replace('"', '\\"')
    return f'"{escaped}"'


def entry(question: Question, answer: str | None) -> str:
    """A question's lines in the file: the question and its choices as comments, then the answer
    (commented out where there is none)."""
    lines = ['', f'# {question.title}']
    lines += textwrap.wrap(question.text, WIDTH, initial_indent='# ', subsequent_indent='# ')
    pad = max(len(_string(choice)) for choice in question.offered())
    for choice in question.offered():
        meaning = question.choices.get(choice, '')
        lines.append(f'#   {_string(choice).ljust(pad)}  {meaning}'.rstrip())
    line = f'{question.key} = {_string(answer or "")}'
    lines.append(line if answer is not None else f'# {line}')
    return '\n'.join(lines) + '\n'


def document(answers: dict[str, str], path: str) -> str:
    """The whole file: every question, answered or commented out."""
    return HEADER.format(path=path) + ''.join(entry(q, answers.get(q.key)) for q in QUESTIONS)


@dataclass
class Predictions:
    """What a predictions file says: the answers understood, and a line per entry that was not."""

    path: str
    answers: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read(path: str) -> Predictions:
    """Read a predictions file; what cannot be understood becomes a line in ``problems``, and the
    rest is kept."""
    found = Predictions(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding='utf-8'))
    except FileNotFoundError:
        found.problems.append(f'{path}: no such file (python -m concur predict writes one)')
        return found
    except (OSError, UnicodeDecodeError) as error:
        found.problems.append(f'{path}: cannot be read: {error}')
        return found
    except tomllib.TOMLDecodeError as error:
        found.problems.append(
            f'{path} is not TOML ({error}): expected lines like question-1 = "full rate"'
        )
        return found
    for key, value in data.items():
        question = BY_KEY.get(key)
        if question is None:
            found.problems.append(
                f'{path}: unknown question {key!r}; the questions are '
                + ', '.join(q.key for q in QUESTIONS)
            )
        elif value not in question.offered():
            found.problems.append(
                f'{path}: {key} = {value!r} is not one of its choices: '
                + ', '.join(_string(choice) for choice in question.offered())
            )
        else:
            found.answers[key] = value
    return found


class Stopped(Exception):
    """The reader stopped answering (end of input, or Ctrl-C) at question ``number``."""

    def __init__(self, number: int, why: str) -> None:
        super().__init__(number, why)
        self.number = number
        self.why = why


def ask(
    questions: Sequence[Question],
    answers: dict[str, str],
    read_line: Callable[[str], str] = input,
    out: TextIO = sys.stdout,
) -> None:
    """Ask each question in turn, putting each answer in ``answers`` as it is given; an answer is
    a choice's number or its words. Raises ``Stopped`` at the end of input or on Ctrl-C."""
    number = 1
    try:
        for number, question in enumerate(questions, 1):
            offered = question.offered()
            print(f'\n{number}/{len(questions)}. {question.title}', file=out)
            print(textwrap.fill(question.text, WIDTH), file=out)
            for i, choice in enumerate(offered, 1):
                meaning = question.choices.get(choice, '')
                print(f'  {i}. {choice}' + (f': {meaning}' if meaning else ''), file=out)
            prompt = f'your answer (1-{len(offered)}): '
            while (chosen := _chosen(read_line(prompt), offered)) is None:
                print(f'  answer with a number from 1 to {len(offered)}, or a choice', file=out)
            answers[question.key] = chosen
    except EOFError:
        raise Stopped(number, 'end of input') from None
    except KeyboardInterrupt:
        raise Stopped(number, 'interrupted') from None


def _chosen(reply: str, offered: list[str]) -> str | None:
    reply = reply.strip()
    if reply.isdigit() and 1 <= int(reply) <= len(offered):
        return offered[int(reply) - 1]
    return next((choice for choice in offered if choice.lower() == reply.lower()), None)
