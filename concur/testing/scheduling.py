"""How pytest-xdist hands the suite's tests to its workers: one at a time, as its ``load`` mode
does, except for the tests marked ``xdist_group``, each group sent to one worker together.

Such tests share something costly that keeps running between them, such as a module's Dask
cluster: a second or two of CPU to start, then some CPU even while it idles. Spread over the
workers, each worker would start its own; and the tests of other modules that measure
time or CPU (marked ``cpu``) would run beside it, on cores it takes. So a group goes to one worker
first, and until its last test has ended (its shared fixtures torn down), the other workers are
given only tests that measure nothing.

A worker given a test that needs every core is given the next such test too, while any is left:
the core locks (``guards.py``) then stay held from one to the next, rather than each waiting for
a one-core test of another worker to end while the other cores idle.

pytest-xdist's own ``--dist loadgroup`` sends a group to one worker by adding the group's name to
each test's id, which pytest 9.2 no longer lets a plugin change, so that mode sends each test
alone. The controller sees only the tests' ids: each worker writes what it collected (the
groups, the ``cpu`` tests, those that need every core) to the run's shared folder
(``guards.py``), where the controller reads it once every worker has collected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

from concur.testing import guards

# The file in the run's shared folder that says which tests are grouped, which measure, and which
# of those need every core.
COLLECTED_FILE = 'collected.json'


def write_collected(folder: Path, worker: str, items: list[pytest.Item]) -> None:
    """Record each collected test's group (``xdist_group``, named as pytest-xdist names it),
    whether it is marked ``cpu``, and whether it needs every core. Every worker collects the same
    tests, so whichever replaces the file last writes the same record."""
    groups = {}
    for item in items:
        marker = item.get_closest_marker('xdist_group')
        if marker is not None:
            groups[item.nodeid] = str(marker.args[0] if marker.args else marker.kwargs['name'])
    timed = [item.nodeid for item in items if item.get_closest_marker('cpu') is not None]
    every = [item.nodeid for item in items if guards.needs_every_core(item)]
    written = folder / f'{COLLECTED_FILE}.{worker}'
    collected = {'groups': groups, 'timed': timed, 'every_core': every}
    written.write_text(json.dumps(collected), encoding='utf-8')
    written.replace(folder / COLLECTED_FILE)


class GroupsApart(LoadScopeScheduling):  # type: ignore[misc]
    """pytest-xdist's scheduler by scope, where a test's scope is its group, or else the test
    alone. Larger scopes go first, so that a group starts on one worker at once."""

    def __init__(self, config: pytest.Config, log: Any, folder: Path) -> None:
        super().__init__(config, log)
        self._folder = folder
        self._groups: dict[str, str] | None = None
        self._timed: set[str] = set()
        self._every_core: set[str] = set()
        self._last: dict[Any, str] = {}  # the scope a worker was given last

    def _split_scope(self, nodeid: str) -> str:
        if self._groups is None:  # first asked once every worker has collected
            file = self._folder / COLLECTED_FILE
            collected = json.loads(file.read_text(encoding='utf-8'))
            self._groups = {test: f'group {name}' for test, name in collected['groups'].items()}
            self._timed = set(collected['timed'])
            self._every_core = set(collected['every_core'])
        return self._groups.get(nodeid, nodeid)

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        """A test ended: every worker may now take more (the end of a group frees the others
        to take tests that measure)."""
        nodeid = self.registered_collections[node][item_index]
        self.assigned_work[node][self._split_scope(nodeid)][nodeid] = True
        for each in self.nodes:
            self._reschedule(each)

    def _reschedule(self, node: Any) -> None:
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        # As pytest-xdist's scheduler does: more once a worker has at most 2 tests to go.
        if self._pending_of(self.assigned_work[node]) <= 2:
            self._assign_work_unit(node)

    def _assign_work_unit(self, node: Any) -> None:
        """Give ``node`` the first scope waiting; while another worker runs a group, the first
        that measures nothing, or nothing until that group ends; after a test that needs every
        core, the next such test."""
        scope = next(iter(self.workqueue))
        if self._group_elsewhere(node):
            scope = next((s for s, tests in self.workqueue.items() if self._quiet(tests)), '')
            if not scope:
                return
        elif self._last.get(node) in self._every_core:
            scope = next((s for s in self.workqueue if s in self._every_core), scope)
        self._last[node] = scope
        work_unit = self.workqueue.pop(scope)
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        collection = self.registered_collections[node]
        node.send_runtest_some([collection.index(test) for test in work_unit])

    def _group_elsewhere(self, node: Any) -> bool:
        return any(
            scope.startswith('group ') and not all(tests.values())
            for other, work in self.assigned_work.items()
            if other is not node
            for scope, tests in work.items()
        )

    def _quiet(self, tests: dict[str, bool]) -> bool:
        """True for a scope of tests that neither measure nor keep anything running between them."""
        return len(tests) == 1 and not any(test in self._timed for test in tests)
