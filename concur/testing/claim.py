"""The ``claim`` fixture, and ``recorder``, where a test records its rows: a test states its trial
and its verdict; the rest is read from where it is already written once.

- the claim's sentence is the test's name, the section its module's ``SECTION``, the variant
  its parameters' id (``every_verdict`` words them the same way for tests that only assert);
- the free cores a timed claim needs are those its ``cpu`` marker holds (every usable core
  unless it says ``cores=N``): a timed claim without the marker is refused, since under
  pytest-xdist it would run beside other timed tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import pytest

from concur import machine
from concur.testing import evidence
from concur.testing.every_verdict import claim_of, variant_of
from concur.testing.evidence import Machine, Verdict
from concur.testing.records import Record, Recorder

T = TypeVar('T')


@dataclass(frozen=True)
class Claim:
    """One test's claim, and the ways to reach its verdict (see ``concur.testing.evidence``)."""

    recorder: Recorder
    section: str
    sentence: str
    variant: str
    cores: float | None  # from the cpu marker; None where the test has none

    def judge(
        self,
        trial: Callable[[], T],
        verdict: Callable[[T, Machine], Verdict],
        *,
        key: str = '',
        pass_needs_quiet: bool = False,
        reads_cpu_time: bool = False,
        pictures: Callable[[T], Iterable[Record]] = lambda _: (),
    ) -> T:
        """Measure the claim until the evidence passes it, fails it, or runs out."""
        __tracebackhide__ = True
        if self.cores is None:
            raise pytest.UsageError(
                f'{self.sentence!r} judges a timing but has no cpu marker: mark it '
                '@pytest.mark.cpu (or cpu(cores=1)), so that timed tests take turns at the cores'
            )
        return evidence.judge(
            trial,
            verdict,
            recorder=self.recorder,
            section=self.section,
            claim=self.sentence,
            variant=self.variant,
            key=key,
            cores=self.cores,
            pass_needs_quiet=pass_needs_quiet,
            reads_cpu_time=reads_cpu_time,
            pictures=pictures,
        )

    def exact(self, said: Verdict, *, key: str = '', pictures: Iterable[Record] = ()) -> None:
        """Record and assert a verdict that does not depend on the machine's speed or load."""
        __tracebackhide__ = True
        evidence.exact(
            said,
            recorder=self.recorder,
            section=self.section,
            claim=self.sentence,
            variant=self.variant,
            key=key,
            pictures=pictures,
        )

    def skip(self, why: str) -> None:
        """Skip a claim this run cannot measure at all, leaving its row."""
        __tracebackhide__ = True
        evidence.skip(
            why,
            recorder=self.recorder,
            section=self.section,
            claim=self.sentence,
            variant=self.variant,
        )


@pytest.fixture
def recorder(request: pytest.FixtureRequest) -> Recorder:
    """Where a test records its verdicts, timelines and worker charts for the end report."""
    return Recorder(request.node.user_properties, request.node.nodeid)


@pytest.fixture
def claim(request: pytest.FixtureRequest, recorder: Recorder) -> Claim:
    """The test's claim, stated by its name, module, parameters and marker."""
    marker = request.node.get_closest_marker('cpu')
    cores = None if marker is None else marker.kwargs.get('cores', machine.usable_cores())
    return Claim(
        recorder,
        getattr(request.module, 'SECTION', ''),
        claim_of(request.node),
        variant_of(request.node),
        cores,
    )
