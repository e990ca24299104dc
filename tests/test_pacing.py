"""The shared publishing loop: ticks at a steady rate against one start time, bounded by count, time or a flag."""

from __future__ import annotations

import time

import pytest

from motion_text_node.ros.pacing import paced_ticks


def test_ticks_are_due_at_start_plus_k_over_rate() -> None:
    t0 = time.monotonic()
    due = []
    for k in paced_ticks(200.0, ticks=6):
        due.append(time.monotonic() - t0)
        if k == 2:
            time.sleep(0.02)  # a slow tick
    assert len(due) == 6
    assert all(t >= k / 200.0 - 1e-3 for k, t in enumerate(due))  # never early, whatever the load


def test_ticks_stop_on_time_or_flag() -> None:
    assert list(paced_ticks(1000.0, seconds=0.0)) == []
    seen = []
    for k in paced_ticks(1000.0, running=lambda: len(seen) < 3):
        seen.append(k)
    assert seen == [0, 1, 2]
    with pytest.raises(ValueError, match="rate"):
        next(paced_ticks(0.0))
