"""Publishing at a steady rate: the loop the benchmark publisher and the test publishers share.

``paced_ticks`` yields tick numbers against one start time (tick k is due at start + k / rate), so a slow tick
is caught up by the next sleep instead of drifting the whole stream; ``wait_for_subscribers`` spins a node until
enough subscribers have matched its publisher (DDS discovery takes a moment), bounded by a timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator


def wait_for_subscribers(node, publisher, count: int = 1, timeout: float = 30.0) -> bool:
    """Spin ``node`` until ``publisher`` has ``count`` subscribers or ``timeout`` s pass; whether it has them."""
    import rclpy

    deadline = time.monotonic() + timeout
    while publisher.get_subscription_count() < count and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    return publisher.get_subscription_count() >= count


def paced_ticks(rate_hz: float, *, ticks: int | None = None, seconds: float | None = None,
                running: Callable[[], bool] = lambda: True) -> Iterator[int]:
    """0, 1, 2, ... one every 1 / ``rate_hz`` s, until ``ticks`` were given, ``seconds`` passed or ``running()`` is
    false. The body of the loop runs between ticks; the sleep after it waits for the next tick's due time."""
    if not rate_hz > 0:
        raise ValueError(f"rate must be above 0, got {rate_hz}")
    t0, k = time.monotonic(), 0
    while (ticks is None or k < ticks) and (seconds is None or time.monotonic() - t0 < seconds) and running():
        yield k
        k += 1
        delay = t0 + k / rate_hz - time.monotonic()
        if delay > 0:
            time.sleep(delay)
