"""The frame-count model of the spinner claims, checked on made-up frames."""

from __future__ import annotations

import pytest
from claims import (
    frames_verdict,
)

from concur.testing.framelog import Written

pytestmark = pytest.mark.selfcheck


# ---- the frame-count model ----------------------------------------------------------------------


def frames_every(gap: float, window: float = 0.3) -> list[Written]:
    return [
        Written(i * gap, 0, 0, '\r| x') for i in range(int(window / gap) + 1) if i * gap <= window
    ]


@pytest.mark.parametrize(
    'frames, delay, holds',
    [
        (frames_every(0.030), 0.0, True),
        (frames_every(0.040), 0.0, False),
        (frames_every(0.040), 0.010, True),
        (frames_every(0.010), 0.0, False),
        (frames_every(0.300), 0.0, False),
        ([], 0.0, False),
    ],
    ids=['on time', 'late', 'late by the delay allowed', 'too often', 'stalled', 'none'],
)
def test_the_frame_model_accepts_a_frame_every_interval_plus_the_delay_allowed(
    frames, delay, holds
):
    """A spinner at 30 ms over 0.3 s shows 9 to 11 frames; one held up 10 ms more each time is
    on time only where that delay is modelled; a stalled or hasty one never is."""
    said = frames_verdict(frames, 0.0, 0.3, 0.030, delay)
    assert said.holds is holds, f'{said.measured}, expected {said.expected}: holds={said.holds}'
