"""Put the spec's numbers in place of the book's in a reader's script, without touching its code.

Python imports ``sitecustomize`` at start-up from the path; ``concur.testing.programs`` puts this
folder first on a reader's script's ``PYTHONPATH``, with the numbers in ``CONCUR_NUMBERS`` (JSON:
``[[n, prime], ...]``). When the script, or a process it starts, imports a module named
``primes`` that defines ``PRIME_FIXTURE``, this replaces ``PRIME_FIXTURE`` (and ``NUMBERS``, if
defined) once the module has run, before anything reads them, and notes it in the file named by
``CONCUR_SUBSTITUTED``. A ``primes`` module without ``PRIME_FIXTURE`` is left as it is.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import sys
from collections.abc import Sequence
from types import ModuleType

GIVEN = 'CONCUR_NUMBERS' in os.environ  # an empty list too: a checker's start-up, timed alone
NUMBERS = [(int(n), bool(prime)) for n, prime in json.loads(os.environ.get('CONCUR_NUMBERS', '[]'))]


class _Substituting(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        if hasattr(module, 'PRIME_FIXTURE'):
            setattr(module, 'PRIME_FIXTURE', list(NUMBERS))  # noqa: B010 (mypy: a module's names)
            if hasattr(module, 'NUMBERS'):
                setattr(module, 'NUMBERS', [n for n, _ in NUMBERS])  # noqa: B010
            note = os.environ.get('CONCUR_SUBSTITUTED')
            if note:
                with open(note, 'a') as file:
                    file.write(f'{module.__file__}\n')


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != 'primes':
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Substituting(spec.loader)
        return spec


if GIVEN:
    sys.meta_path.insert(0, _Finder())
