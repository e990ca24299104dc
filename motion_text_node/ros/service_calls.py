"""Service calls that survive a lost first response.

Right after ``wait_for_service`` returns, the server may not yet have matched the client's response
reader. Fast DDS then waits 100 ms and drops the response ("client will not receive response"), and a
plain ``call_async`` waits forever. On a loaded machine discovery takes longer than that, so a caller
sends the request again when no answer came within ``resend_after`` seconds. Only for idempotent
services (ours: retrieve_motion, describe_motion, lifecycle queries).
"""

from __future__ import annotations

import time


def call_with_resend(executor, client, request, timeout: float = 20.0, resend_after: float = 2.0):
    """The response to ``request``, or None when none came in ``timeout`` seconds.

    ``executor`` must spin the node that owns ``client``. While no answer has come, the request is sent
    again after ``resend_after`` seconds, then after twice that, and so on; the first answer to any copy
    is returned and the other copies are withdrawn. A slow server thus answers once per copy at most,
    and one dropped response costs a few seconds instead of the whole call.
    """
    deadline = time.monotonic() + timeout
    wait = resend_after
    futures = [client.call_async(request)]
    next_send = time.monotonic() + wait
    try:
        while True:
            for future in futures:
                if future.done():
                    return future.result()
            now = time.monotonic()
            if now >= deadline:
                return None
            if now >= next_send:
                futures.append(client.call_async(request))
                wait *= 2
                next_send = now + wait
            executor.spin_once(timeout_sec=max(0.0, min(0.05, deadline - now)))
    finally:
        for future in futures:
            client.remove_pending_request(future)
