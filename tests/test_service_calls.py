"""call_with_resend: a dropped response is recovered by sending again; a slow answer is not flooded."""

from __future__ import annotations

import time

from rclpy.task import Future

from motion_text_node.ros.service_calls import call_with_resend


class DroppingClient:
    """Answers copy number ``answered`` of each request ``delay`` seconds after it is sent; drops the others."""

    def __init__(self, answered: int | None, delay: float = 0.0) -> None:
        self.answered, self.delay = answered, delay
        self.sent: list[tuple[float, Future]] = []
        self.withdrawn: list[Future] = []

    def call_async(self, request) -> Future:
        future = Future()
        self.sent.append((time.monotonic(), future))
        return future

    def remove_pending_request(self, future: Future) -> None:
        self.withdrawn.append(future)

    def deliver(self) -> None:
        if self.answered is not None and len(self.sent) > self.answered:
            sent_at, future = self.sent[self.answered]
            if not future.done() and time.monotonic() - sent_at >= self.delay:
                future.set_result(f"answer to copy {self.answered}")


class Executor:
    """Stands in for an rclpy executor: one spin delivers what the client has due."""

    def __init__(self, client: DroppingClient) -> None:
        self.client = client

    def spin_once(self, timeout_sec: float) -> None:
        time.sleep(min(timeout_sec, 0.01))
        self.client.deliver()


def test_a_dropped_first_response_is_recovered_by_the_second_copy() -> None:
    client = DroppingClient(answered=1)
    t0 = time.monotonic()
    assert call_with_resend(Executor(client), client, "req", timeout=5.0, resend_after=0.2) == "answer to copy 1"
    assert len(client.sent) == 2 and time.monotonic() - t0 < 2.0
    assert [f for _, f in client.sent] == client.withdrawn  # nothing stays pending on the client


def test_a_slow_server_is_sent_few_copies_and_its_first_answer_wins() -> None:
    client = DroppingClient(answered=0, delay=1.0)
    assert call_with_resend(Executor(client), client, "req", timeout=5.0, resend_after=0.2) == "answer to copy 0"
    # Copies at 0.2, 0.6 (waits double), then the answer at 1.0 s: not one copy per 0.2 s.
    assert len(client.sent) == 3


def test_no_answer_is_none_after_the_timeout() -> None:
    client = DroppingClient(answered=None)
    t0 = time.monotonic()
    assert call_with_resend(Executor(client), client, "req", timeout=0.5, resend_after=0.1) is None
    assert 0.5 <= time.monotonic() - t0 < 1.5
    assert len(client.withdrawn) == len(client.sent) >= 2
