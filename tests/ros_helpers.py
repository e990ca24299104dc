"""Bounded waits for tests that talk to real ROS 2 processes."""

from __future__ import annotations

import time


def spin_until(executor, predicate, timeout: float = 10.0, action=None, period: float = 0.1) -> bool:
    """Spin ``executor`` until ``predicate()`` is true or ``timeout`` passes; ``action`` runs every ``period``."""
    deadline = time.monotonic() + timeout
    next_action = 0.0
    while time.monotonic() < deadline:
        if predicate():
            return True
        if action is not None and time.monotonic() >= next_action:
            action()
            next_action = time.monotonic() + period
        executor.spin_once(timeout_sec=0.02)
    return predicate()
