"""Subinterpreters (``concurrent.interpreters``, CPython 3.14+): several interpreters in one
process, each with its own GIL since 3.12 (PEP 684), so their threads run Python code in parallel.

They share no objects: what is passed to an interpreter, or sent through one of their queues,
arrives as a copy, as between processes.
"""

from __future__ import annotations

import importlib
import platform
import sys
from types import ModuleType
from typing import Any

HAS_SUBINTERPRETERS = sys.version_info >= (3, 14)
NEEDS = 'concurrent.interpreters, new in Python 3.14'


def module() -> Any:
    """``concurrent.interpreters``, imported at run time: the type checker reads the code as
    3.10's, which lacks it."""
    if not HAS_SUBINTERPRETERS:
        raise RuntimeError(f'subinterpreters need {NEEDS}; this is {platform.python_version()}')
    found: ModuleType = importlib.import_module('concurrent.interpreters')
    return found
