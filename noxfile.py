"""The spec on each CPython this machine has, and the checks CI runs on the code.

``nox -s tests`` runs the suite on every interpreter listed below, ``nox -s tests -p 3.12`` on one.
Interpreters are found on PATH by name (python3.10, ..., python3.13t for a free-threaded build);
those missing are skipped. Arguments after ``--`` go to pytest: ``nox -s tests -- -n auto``.

``nox -s lint`` checks the format (ruff format), the lint rules (ruff check) and the types (mypy),
all configured in pyproject.toml, and the GitHub Actions workflow (its schema, and zizmor's audit
for unsafe patterns, both offline), as CI does.
"""

from pathlib import Path

import nox

nox.options.error_on_missing_interpreters = False

WORKFLOWS = sorted(str(path) for path in Path('.github/workflows').glob('*.yml'))


@nox.session(python=['3.10', '3.11', '3.12', '3.13', '3.13t', '3.14', '3.14t', '3.15', '3.15t'])
def tests(session: nox.Session) -> None:
    session.install('-e', '.[test]')
    session.run('pytest', '-q', *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install('-e', '.[test,lint]')  # mypy reads the tests too, so it needs pytest's types
    session.run('ruff', 'format', '--check')
    session.run('ruff', 'check')
    session.run('mypy')
    session.run('check-jsonschema', '--builtin-schema', 'vendor.github-workflows', *WORKFLOWS)
    session.run('zizmor', '--offline', *WORKFLOWS)
