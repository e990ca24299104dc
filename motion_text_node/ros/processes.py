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


def _default_sigint() -> None:
    """In the child: SIGINT back to its default. A tool started in the background by a non-interactive shell
    inherits "ignore SIGINT", and the node could then not be stopped cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class ChildProcess:
    """A child process (a node, a tool) whose output lines (stdout and stderr together) are collected as it runs;
    with ``ready_line``, the constructor waits until a line contains it (UserError with the last lines if it does
    not in ``timeout`` s, the process stopped)."""

    def __init__(self, args: list[str], ready_line: str | None = None, timeout: float = 90.0,
                 cwd: str | Path | None = None, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.lines: list[str] = []
        self.ready_at: float | None = None  # monotonic time of the ready line
        self._ready_line = ready_line
        self._ended = False  # the output reached its end (the process closed it or exited)
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                                     env=env, preexec_fn=_default_sigint)
        threading.Thread(target=self._pump, daemon=True).start()
        if ready_line is not None and not self.wait_for(lambda: self.ready_at is not None, timeout):
            self.stop()
            name = args[2] if len(args) > 2 and args[1] == "-m" else args[0]
            raise UserError(f"{name} did not print {ready_line!r} in {timeout} s:\n" + "\n".join(self.lines[-20:]))

    def _pump(self) -> None:
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                if self._ready_line and self.ready_at is None and self._ready_line in line:
                    self.ready_at = time.monotonic()
                self._changed.notify_all()
        with self._changed:  # the output ended: waiters decide now
            self._ended = True
            self._changed.notify_all()

    def wait_for(self, predicate, timeout: float) -> bool:
        """Wait until ``predicate()`` holds (checked whenever a line arrives or the output ends); its last value."""
        with self._changed:
            self._changed.wait_for(lambda: predicate() or self._ended, timeout)
            return bool(predicate())

    def wait_for_line(self, prefix: str, timeout: float) -> bool:
        """Wait until a line starts with ``prefix``; whether one did."""
        return self.wait_for(lambda: any(line.startswith(prefix) for line in self.lines), timeout)

    def output(self) -> str:
        """Everything the process printed so far."""
        return "\n".join(self.lines)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGINT, then SIGKILL after ``timeout``; the exit code."""
        stop_node(self.proc, timeout)
        return self.proc.returncode


def start_node(cmd: list[str], timeout: float = 90.0) -> tuple[subprocess.Popen, float]:
    """Start a node process and wait until it prints 'ready'; (process, monotonic ready time)."""
    child = ChildProcess(cmd, ready_line="ready", timeout=timeout)
    return child.proc, child.ready_at


def stop_node(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGINT, then SIGKILL after ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
