"""What both nodes share: parameters declared from their table, QoS, diagnostics, lifecycle start-up and the main
loop (user mistakes at start-up are one error line and exit code 1, never a traceback; a node that finds another of
its name on the graph soon after start-up warns once)."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import NameValidationException, ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from motion_text_node.errors import UserError
from motion_text_node.paths import models_dir
from motion_text_node.ros.parameters import EXECUTORS, Param, check_ros_args, check_value, coerce, ros_init_error

#: How long after start-up a node looks for another node of its fully qualified name (discovery of a node that is
#: already running takes 0.1 s, about one start in four 3 s), and how often it looks meanwhile.
NAMESAKE_WATCH_S = 10.0
NAMESAKE_PERIOD_S = 0.5


def qos_profile(reliability: str, depth: int) -> QoSProfile:
    """Keep-last QoS; "best_effort" (sensor data, the default for pose streams) or "reliable"."""
    rel = {"best_effort": ReliabilityPolicy.BEST_EFFORT, "reliable": ReliabilityPolicy.RELIABLE}.get(reliability)
    if rel is None:
        raise ValueError(f"qos_reliability must be best_effort or reliable, got {reliability!r}")
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=max(int(depth), 1), reliability=rel)


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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

    def param(self, name: str):
        """The current value of one of the node's parameters."""
        return self.get_parameter(name).value

    #: The node's name (also in start-up errors raised before the node exists).
    NAME = "node"
    #: Set by ``autostart``: ``run`` prints the one error line itself, so a failed transition logs nothing.
    _quiet_failures = False

    def declare_table(self, table: dict[str, Param]) -> None:
        """Declare every parameter of ``table``, its start value (command line or params file) coerced and checked
        first: UserError naming the parameter for a bad one, instead of rclpy's traceback. At run time integers
        are widened the same way (``stride_s: 1`` is 1.0) before rclpy checks the type."""
        overrides = getattr(self, "_parameter_overrides", None)  # rclpy: this node's -p values and params files
        for name, spec in table.items():
            descriptor = ParameterDescriptor(description=spec.description())
            if overrides is None:  # an rclpy without the attribute: let it apply overrides, then check
                try:
                    value = self.declare_parameter(name, spec.default, descriptor).value
                except ParameterException as exc:
                    raise UserError(f"parameter '{name}': {one_line(exc)}") from None
                check_value(name, spec, value)
                continue
            value = spec.default if name not in overrides else check_value(name, spec, overrides[name].value)
            self.declare_parameter(name, value, descriptor, ignore_override=True)
        self.add_pre_set_parameters_callback(lambda params: [widened(table, p) for p in params])

    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            self.load()
        except Exception as exc:  # a bad file must fail the transition, not kill the process with a traceback
            self._failed("configure", exc)
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state) -> TransitionCallbackReturn:
        try:
            self.start()
        except Exception as exc:  # e.g. a topic name rclpy refuses: the transition fails, the node lives
            self._failed("activate", exc)
            try:
                self.stop()
            except Exception:  # noqa: BLE001 - undoing a partial start
                pass
            return TransitionCallbackReturn.FAILURE
        return super().on_activate(state)

    def _failed(self, transition: str, exc: Exception) -> None:
        """Remember (and, unless autostarting, log) why a transition failed, in one line."""
        self.startup_error = one_line(exc)
        if not self._quiet_failures:
            self.get_logger().error(f"{transition} failed: {self.startup_error}")

    def load(self) -> None:
        """Load models and files; raise an exception with a one-line message on failure (subclasses)."""

    def start(self) -> None:
        """Create subscriptions, services and timers (subclasses)."""

    def stop(self) -> None:
        """Destroy what ``start`` created (subclasses)."""

    def release(self) -> None:
        """Drop what ``load`` loaded (subclasses)."""

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self.stop()
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self.release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        return TransitionCallbackReturn.SUCCESS

    def autostart(self) -> bool:
        """configure + activate when the ``autostart`` parameter is true; False when either failed (the reason in
        ``startup_error``, not logged: the caller prints it)."""
        if not self.get_parameter("autostart").value:
            return True
        self._quiet_failures = True
        try:
            return (self.trigger_configure() == TransitionCallbackReturn.SUCCESS
                    and self.trigger_activate() == TransitionCallbackReturn.SUCCESS)
        finally:
            self._quiet_failures = False


def widened(table: dict[str, Param], param: Parameter) -> Parameter:
    """A run-time ``param`` of the type its table entry has when it widens to it (an integer for a number or a
    text); any other value unchanged, for rclpy to check."""
    spec = table.get(param.name)
    if spec is None or spec.kind not in (float, str) or param.type_ != Parameter.Type.INTEGER:
        return param
    value = coerce(param.name, spec, param.value)
    return Parameter(param.name, Parameter.Type.from_parameter_value(value), value)


def fully_qualified(name: str, namespace: str) -> str:
    """``/ns/name`` from a node name and its namespace ("/" or "/ns", as the graph lists them)."""
    return f"{namespace.rstrip('/')}/{name}"


def namesakes(graph: Iterable[tuple[str, str]], name: str, namespace: str) -> int:
    """How many nodes of ``graph`` ((name, namespace) pairs as ``Node.get_node_names_and_namespaces`` lists them,
    the asking node itself included) besides the asking one have its fully qualified name."""
    mine = fully_qualified(name, namespace)
    return max(sum(fully_qualified(n, ns) == mine for n, ns in graph) - 1, 0)


class NamesakeWatch:
    """Warns once (one log line) when another node with ``node``'s fully qualified name is on the graph: two such
    nodes both serve the same services and topics. Polled from the main loop; looks every ``period`` seconds for
    ``within`` seconds after it was made (a bounded wait for discovery), then never again."""

    def __init__(self, node, within: float = NAMESAKE_WATCH_S, period: float = NAMESAKE_PERIOD_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.node, self.period, self.clock = node, period, clock
        self.deadline = clock() + within
        self.next_check = clock()
        self.warning = ""  # the warning once it was logged
        self.done = False

    def poll(self) -> bool:
        """Look at the graph when a check is due; True when this call logged the warning."""
        now = self.clock()
        if self.done or now < self.next_check:
            return False
        self.next_check = now + self.period
        if now >= self.deadline:
            self.done = True
        try:
            others = namesakes(self.node.get_node_names_and_namespaces(), self.node.get_name(),
                               self.node.get_namespace())
        except Exception:  # noqa: BLE001 - a graph query failing (shutting down) must not take the node down
            return False
        if not others:
            return False
        self.done = True
        name = fully_qualified(self.node.get_name(), self.node.get_namespace())
        self.warning = (f"another node named {name} is already on the graph (or was killed moments ago): both would "
                        "answer its services and topics; give one another name (--ros-args -r __node:=NAME)")
        self.node.get_logger().warning(self.warning)
        return True


def init_rclpy(args: list[str] | None) -> None:
    """rclpy.init with rcl's own error lines kept off stderr; UserError (one line) when it fails (a params file
    rcl cannot parse, a malformed ``-p`` rule, an unknown ROS argument). Whatever it printed on success is kept."""
    check_ros_args(sys.argv if args is None else args)
    sys.stderr.flush()
    saved = os.dup(2)
    error = None
    with tempfile.TemporaryFile() as noise:
        os.dup2(noise.fileno(), 2)
        try:
            rclpy.init(args=args)
        except Exception as exc:  # rcl's errors for user mistakes (RCLError, UnknownROSArgsError)
            error = exc
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        noise.seek(0)
        printed = noise.read()
    if error is not None:
        raise UserError(f"cannot start ROS: {ros_init_error(error)}") from None
    if printed:
        sys.stderr.buffer.write(printed)
        sys.stderr.flush()


def make_executor(kind: str, threads: int = 1, context=None):
    """The executor a node spins with.

    ``threads`` > 1: a MultiThreadedExecutor (services that may run long). Otherwise ``kind`` "single" is rclpy's
    SingleThreadedExecutor and "events" its EventsExecutor (in rclpy.experimental since Jazzy 7.1.4): the wait
    set and dispatch live in C++, which took about 1 ms off every message's path through the recognition node
    when it was measured on this project's 2-core machine (2026-11; ``benchmarks/RESULTS.md`` has the current node
    latency). Without it (an older rclpy), "events" falls back to the single-threaded one.
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
    node's ``executor`` parameter names (see ``make_executor``; single-threaded when it has none). For
    ``NAMESAKE_WATCH_S`` after start-up the loop also looks for another node of the same name (``NamesakeWatch``).
    """
    name = getattr(make_node, "NAME", "node")
    try:
        init_rclpy(args)
    except UserError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 1
    node = None
    try:
        try:
            node = make_node()
        except (UserError, ParameterException, NameValidationException) as exc:  # bad start values, node names
            print(f"{name}: error: {one_line(exc)}", file=sys.stderr)
            return 1
        kind = node.get_parameter("executor").value if node.has_parameter("executor") else "single"
        try:
            executor = make_executor(kind, threads)
        except ValueError as exc:
            print(f"{node.get_name()}: error: {exc}", file=sys.stderr)
            return 1
        if not node.autostart():
            print(f"{node.get_name()}: error: {getattr(node, 'startup_error', 'start-up failed')}", file=sys.stderr)
            return 1
        executor.add_node(node)
        print(f"{node.get_name()} ready", flush=True)
        namesake = NamesakeWatch(node)
        while rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
            namesake.poll()
    except (KeyboardInterrupt, ExternalShutdownException):
        if threading.current_thread() is threading.main_thread():  # only the main thread may set handlers
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not break the clean shutdown
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
