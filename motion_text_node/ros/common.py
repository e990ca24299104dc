"""What both nodes share: parameters with descriptions, QoS, diagnostics, lifecycle start-up and the main loop."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from motion_text_node.paths import models_dir


def qos_profile(reliability: str, depth: int) -> QoSProfile:
    """Keep-last QoS; "best_effort" (sensor data, the default for pose streams) or "reliable"."""
    rel = {"best_effort": ReliabilityPolicy.BEST_EFFORT, "reliable": ReliabilityPolicy.RELIABLE}.get(reliability)
    if rel is None:
        raise ValueError(f"qos_reliability must be best_effort or reliable, got {reliability!r}")
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=max(int(depth), 1), reliability=rel)


def model_dir_param(value: str) -> str:
    """The model folder parameter: empty means the shipped model (``models/`` or $MOTION_TEXT_MODELS)."""
    return value or str(models_dir())


def percentile_ms(values, q: float) -> float:
    """Percentile of a sequence of milliseconds (0 when empty)."""
    return float(np.percentile(list(values), q)) if len(values) else 0.0


def diagnostic(node_name: str, hardware_id: str, level: int, message: str, values: dict) -> DiagnosticArray:
    """One-status DiagnosticArray."""
    status = DiagnosticStatus(level=bytes([level]), name=node_name, message=message, hardware_id=hardware_id,
                              values=[KeyValue(key=str(k), value=str(v)) for k, v in values.items()])
    return DiagnosticArray(status=[status])


class ManagedNode(LifecycleNode):
    """Lifecycle node base: ``configure`` loads (``load``), ``activate`` starts I/O (``start``)."""

    def load(self) -> None:
        """Load models and files; raise an exception with a one-line message on failure (subclasses)."""

    def start(self) -> None:
        """Create subscriptions, services and timers (subclasses)."""

    def stop(self) -> None:
        """Destroy what ``start`` created (subclasses)."""

    def release(self) -> None:
        """Drop what ``load`` loaded (subclasses)."""

    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            self.load()
        except Exception as exc:  # a bad file must fail the transition, not kill the process with a traceback
            self.startup_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.get_logger().error(f"configure failed: {self.startup_error}")
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state) -> TransitionCallbackReturn:
        self.start()
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self.stop()
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self.release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        return TransitionCallbackReturn.SUCCESS

    def autostart(self) -> bool:
        """configure + activate when the ``autostart`` parameter is true; False when configure failed."""
        if not self.get_parameter("autostart").value:
            return True
        if self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            return False
        self.trigger_activate()
        return True


EXECUTORS = ("events", "single")


def make_executor(kind: str, threads: int = 1, context=None):
    """The executor a node spins with.

    ``threads`` > 1: a MultiThreadedExecutor (services that may run long). Otherwise ``kind`` "single" is rclpy's
    SingleThreadedExecutor and "events" its EventsExecutor (in rclpy.experimental since Jazzy 7.1.4): the wait
    set and dispatch live in C++, which took about 1 ms off every message's path through the recognition node
    here. Without it (an older rclpy), "events" falls back to the single-threaded one.
    """
    if threads > 1:
        return MultiThreadedExecutor(num_threads=threads, context=context)
    if kind not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {kind!r}")
    if kind == "events":
        try:
            from rclpy.experimental import EventsExecutor
        except ImportError:
            return SingleThreadedExecutor(context=context)
        return EventsExecutor(context=context)
    return SingleThreadedExecutor(context=context)


def run(make_node: Callable[[], ManagedNode], args=None, threads: int = 3) -> int:
    """Init rclpy, build the node, autostart it and spin until shutdown; 1 when start-up failed.

    ``threads`` > 1 spins with a MultiThreadedExecutor (services that may run long); 1 with the executor the
    node's ``executor`` parameter names (see ``make_executor``; single-threaded when it has none).
    """
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        kind = node.get_parameter("executor").value if node.has_parameter("executor") else "single"
        try:
            executor = make_executor(kind, threads)
        except ValueError as exc:
            print(f"{node.get_name()}: error: {exc}", file=sys.stderr)
            return 1
        if not node.autostart():
            print(f"{node.get_name()}: error: {getattr(node, 'startup_error', 'configure failed')}", file=sys.stderr)
            return 1
        executor.add_node(node)
        print(f"{node.get_name()} ready", flush=True)
        while rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            try:
                node.stop()  # joins worker threads before the node goes away
            except Exception:  # noqa: BLE001 - shutting down anyway
                pass
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


class RateLimitedLog:
    """At most one warning per ``period`` seconds per key (throttled warnings for rejected messages)."""

    def __init__(self, logger, period: float = 5.0) -> None:
        self.logger, self.period, self.last = logger, period, {}

    def warn(self, key: str, message: str) -> None:
        now = time.monotonic()
        if now - self.last.get(key, -1e9) >= self.period:
            self.last[key] = now
            self.logger.warning(message)
