"""Run the spec on each CPython that this machine has: ``nox`` for all of them, ``nox -p 3.12`` for one.

Interpreters are found on PATH by name (python3.10, ..., python3.13t for a free-threaded build);
those missing are skipped. Arguments after ``--`` go to pytest: ``nox -- -n auto``.
"""

import nox

nox.options.error_on_missing_interpreters = False


@nox.session(python=['3.10', '3.11', '3.12', '3.13', '3.13t', '3.14', '3.14t'])
def tests(session: nox.Session) -> None:
    session.install('-e', '.[test]')
    session.run('pytest', '-q', *session.posargs)
