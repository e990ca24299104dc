"""Node processes started by tools (bag eval, demo, benchmarks): start, wait for 'ready', stop cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from motion_text_node.errors import UserError


def node_command(module: str, params: dict[str, object] | None = None, *, params_file: str | Path | None = None,
                 ros_args: Sequence[str] = ()) -> list[str]:
    """Command line running ``motion_text_node.ros.<module>``: its ``--params-file``, ``-p name:=value`` for each
    of ``params``, then ``ros_args`` as given (e.g. ``["-p", "top_k:=abc"]``, raw on purpose)."""
    cmd = [sys.executable, "-m", f"motion_text_node.ros.{module}", "--ros-args"]
    if params_file is not None:
        cmd += ["--params-file", str(params_file)]
    for name, value in (params or {}).items():
        cmd += ["-p", f"{name}:={value}"]
    return cmd + list(ros_args)


def start_node(cmd: list[str], timeout: float = 90.0) -> tuple[subprocess.Popen, float]:
    """Start a node process and wait until it prints 'ready'; (process, monotonic ready time)."""
    # SIGINT back to its default in the child: a tool started in the background by a non-interactive shell
    # inherits "ignore SIGINT", and the node could then not be stopped cleanly.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        for line in proc.stdout:
            lines.append(line.rstrip())
            if "ready" in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(timeout):
        proc.kill()
        raise UserError(f"{cmd[2]} did not start:\n" + "\n".join(lines[-5:]))
    return proc, time.monotonic()


def stop_node(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGINT, then SIGKILL after ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
