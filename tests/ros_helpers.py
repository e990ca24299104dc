"""Bounded waits for tests that talk to real ROS 2 processes."""

from __future__ import annotations

import time

from motion_text_node.ros.service_calls import call_with_resend


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


def service_client(node, srv_type, name: str, timeout: float = 20.0):
    """A client of service ``name`` on ``node``, once the service is there (asserts it appears in ``timeout``)."""
    client = node.create_client(srv_type, name)
    assert client.wait_for_service(timeout_sec=timeout), f"{name} never appeared"
    return client


def call_service(executor, client, request, timeout: float = 20.0):
    """The response to ``request``, spinning ``executor`` until it comes (asserts it comes in ``timeout``).

    Sent again while unanswered, as a user's client should (a response can be dropped while the server
    still discovers the client; see ``motion_text_node.ros.service_calls``).
    """
    response = call_with_resend(executor, client, request, timeout=timeout)
    assert response is not None, f"{client.srv_name} did not answer in {timeout} s"
    return response
