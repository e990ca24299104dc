"""Record topics of a live ROS 2 graph into a rosbag2 (MCAP by default), like ``ros2 bag record``.

Types are discovered from the graph; subscriptions are raw (``raw=True``), so the CDR bytes go to disk
unchanged with their receive time (system clock, ns). The subscription callback only appends to a queue; a
background thread writes, so a slow disk never stalls DDS delivery. The subscription QoS follows the
publishers (reliable unless one offers best effort; transient local when all of them do), and their offered
QoS is stored in the bag's metadata.

The writer thread puts the schemas and channels on disk at once, and what it wrote at most ``flush_interval``
seconds later (``recovery.flush_writer``), so a recorder that is killed, or stopped by a full disk, leaves a file
``motion-text bag reindex`` turns into a readable bag; metadata.yaml itself is written when the recording ends.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from motion_text_node.bag.recovery import FLUSH_INTERVAL, flush_writer
from motion_text_node.bag.types import absolute_topic, ensure_type, rclpy_message_class
from motion_text_node.errors import UserError


@dataclass
class RecordStats:
    """What a recording wrote."""

    path: Path
    storage: str
    counts: dict[str, int] = field(default_factory=dict)  # messages written per topic
    duration: float = 0.0  # seconds recorded
    stop_reason: str = ""  # "duration", "max-messages", "stopped" or "interrupted"

    @property
    def total(self) -> int:
        """Messages written on all topics."""
        return sum(self.counts.values())


def check_seconds(option: str, value: float | None, *, positive: bool = False) -> float | None:
    """A duration or timeout option in seconds: a finite number, not negative (above 0 when ``positive``); None
    (not given) stays None. UserError in one line otherwise (``nan`` used to make the recorder wait forever)."""
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0 \
            or (positive and value == 0):
        least = "above 0" if positive else "at least 0"
        raise UserError(f"{option} must be a finite number of seconds, {least}, got {value}")
    return float(value)


def _rosbags_qos(profile):
    """An rclpy QoSProfile (as the graph reports it) -> a rosbags ``Qos`` for the metadata."""
    from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime

    def duration(d) -> QosTime:
        return QosTime(*divmod(int(d.nanoseconds), 1_000_000_000))

    return Qos(QosHistory(int(profile.history)), int(profile.depth), QosReliability(int(profile.reliability)),
               QosDurability(int(profile.durability)), duration(profile.deadline), duration(profile.lifespan),
               QosLiveliness(int(profile.liveliness)), duration(profile.liveliness_lease_duration),
               bool(profile.avoid_ros_namespace_conventions))


class BagRecorder:
    """Records topics into a new bag folder.

    ``start()`` waits (bounded) for every topic to appear on the graph, opens the bag and subscribes;
    ``spin()`` receives until a stop condition and closes the bag; ``record()`` does both. The recorder has its
    own rclpy Context, so it can run in any thread of a process.

    Args:
        topics: topic names to record (a leading "/" is added when missing).
        out: bag folder to create (must not exist).
        storage: ``"mcap"`` or ``"sqlite3"``.
        qos_depth: KEEP_LAST depth of the subscriptions (a burst longer than this that the process cannot
            keep up with would lose messages).
        discovery_timeout: seconds to wait for the topics to appear (UserError after that).
        flush_interval: at most this many seconds after a message was written it is on disk (in the storage
            file, recoverable with ``motion-text bag reindex`` if the recorder dies).
    """

    def __init__(self, topics: Sequence[str], out: str | Path, *, storage: str = "mcap", qos_depth: int = 1000,
                 discovery_timeout: float = 10.0, flush_interval: float = FLUSH_INTERVAL) -> None:
        from motion_text_node.bag.convert import STORAGES

        if not topics:
            raise UserError("no topics to record")
        if storage not in STORAGES:
            raise UserError(f"--storage must be one of {', '.join(STORAGES)}, got {storage!r}")
        if qos_depth < 1:
            raise UserError(f"--qos-depth must be at least 1, got {qos_depth}")
        self.flush_interval = check_seconds("--flush-interval", flush_interval, positive=True)
        self.discovery_timeout = check_seconds("--discovery-timeout", discovery_timeout)
        self.topics = list(dict.fromkeys(absolute_topic(t) for t in topics))
        self.out = Path(out)
        if self.out.exists():
            raise UserError(f"{self.out} exists already; choose another --out")
        self.storage = storage
        self.qos_depth = qos_depth
        self.counts: Counter[str] = Counter()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._done = threading.Event()
        self._accepting = False
        self._max_messages: int | None = None
        self._received = 0
        self._thread: threading.Thread | None = None
        self._writer_error: BaseException | None = None
        self._bag_created = False
        self._context = None
        self.node = None
        self._subscriptions: list = []
        self._t_start = 0.0

    # -- set-up -----------------------------------------------------------------------------------------

    def _discover(self) -> dict[str, str]:
        """Topic -> type for every requested topic, waiting up to ``discovery_timeout``."""
        deadline = time.monotonic() + self.discovery_timeout
        while True:
            graph = dict(self.node.get_topic_names_and_types())
            found = {t: graph[t] for t in self.topics if graph.get(t)}
            if len(found) == len(self.topics):
                break
            if time.monotonic() >= deadline:
                missing = [t for t in self.topics if t not in found]
                raise UserError(f"topic{'s' if len(missing) > 1 else ''} {', '.join(missing)} did not appear on "
                                f"the graph within {self.discovery_timeout:g} s (is the publisher running, with "
                                "the same ROS_DOMAIN_ID?)")
            time.sleep(0.05)
        types = {}
        for topic, names in found.items():
            if len(names) > 1:
                print(f"warning: {topic} has several types ({', '.join(names)}); recording {names[0]}", flush=True)
            types[topic] = names[0]
        return types

    def _subscription_qos(self, topic: str):
        from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

        infos = self.node.get_publishers_info_by_topic(topic)
        best_effort = any(i.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT for i in infos)
        latched = bool(infos) and all(i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for i in infos)
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=self.qos_depth,
                         reliability=ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)
        offered = []
        for info in infos:
            try:
                offered.append(_rosbags_qos(info.qos_profile))
            except (ValueError, TypeError, AttributeError):
                pass
        hashes = {str(i.topic_type_hash) for i in infos if str(i.topic_type_hash).startswith("RIHS01_")}
        return qos, offered, hashes

    def start(self) -> None:
        """Discover the topics, open the bag, subscribe and start the writer thread."""
        import rclpy

        self._context = rclpy.Context()
        rclpy.init(context=self._context)
        try:
            self.node = rclpy.create_node(f"bag_recorder_{time.time_ns() % 10**9}", context=self._context)
            types = self._discover()
            store = None
            for msgtype in set(types.values()):
                store = ensure_type(msgtype, store)
            classes = {t: rclpy_message_class(m) for t, m in types.items()}
            plan = {}
            for topic, msgtype in types.items():
                qos, offered, hashes = self._subscription_qos(topic)
                ours = store.hash_rihs01(msgtype)
                if hashes and ours not in hashes:
                    raise UserError(f"{topic}: the publishers' {msgtype} (hash {sorted(hashes)[0]}) differs from the "
                                    f"definition found here ({ours}); the bag could not be decoded")
                plan[topic] = (msgtype, qos, offered)
            # The writer thread owns the bag from open to close (sqlite3 connections are bound to one thread).
            opened = threading.Event()
            self._thread = threading.Thread(target=self._write_main, args=(store, plan, opened), name="bag-writer",
                                            daemon=True)
            self._thread.start()
            opened.wait()
            if self._writer_error is not None:
                raise UserError(f"cannot create {self.out}: {self._writer_error}")
            self._accepting = True
            self._t_start = time.monotonic()
            for topic, (_m, qos, _o) in plan.items():
                self._subscriptions.append(self.node.create_subscription(
                    classes[topic], topic, self._callback(topic), qos, raw=True))
        except BaseException:
            self._abort()
            raise

    def _callback(self, topic: str):
        put = self._queue.put

        def on_message(data: bytes) -> None:
            if not self._accepting:
                return
            put((topic, time.time_ns(), data))
            self.counts[topic] += 1
            self._received += 1
            if self._max_messages is not None and self._received >= self._max_messages:
                self._accepting = False
                self._done.set()

        return on_message

    def _write_main(self, store, plan: dict, opened: threading.Event) -> None:
        """Writer thread: open the bag, write queued messages until the None (close) or "abort" sentinel."""
        from rosbags.rosbag2 import StoragePlugin, Writer

        from motion_text_node.bag.convert import BAG_VERSION

        writer = Writer(self.out, version=BAG_VERSION, storage_plugin=StoragePlugin[self.storage.upper()])
        try:
            writer.open()
            self._bag_created = True
            conns = {t: writer.add_connection(t, m, typestore=store, offered_qos_profiles=offered)
                     for t, (m, _qos, offered) in plan.items()}
            flush_writer(writer)  # schemas and channels on disk before the first message
        except BaseException as exc:
            self._writer_error = exc
            opened.set()
            return
        opened.set()
        try:
            flush_due: float | None = None  # when what was written since the last flush must be on disk
            while True:
                try:
                    timeout = None if flush_due is None else max(flush_due - time.monotonic(), 0.0)
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    item = ()
                if item is None:
                    break
                if item == "abort":
                    writer.abort()
                    return
                if item:
                    topic, t_ns, data = item
                    writer.write(conns[topic], t_ns, data)
                    flush_due = flush_due or time.monotonic() + self.flush_interval
                if flush_due is not None and time.monotonic() >= flush_due:
                    flush_writer(writer)
                    flush_due = None
            writer.close()
        except BaseException as exc:  # disk full, ...: stop recording and report it from close()
            self._writer_error = exc
            self._accepting = False
            self._done.set()
            try:
                writer.abort()
            except Exception:
                pass

    # -- running ----------------------------------------------------------------------------------------

    @property
    def received(self) -> int:
        """Messages accepted so far (all topics)."""
        return self._received

    def spin(self, *, duration: float | None = None, max_messages: int | None = None,
             stop: threading.Event | None = None) -> RecordStats:
        """Receive until ``duration`` seconds, ``max_messages`` messages, ``stop`` is set or Ctrl-C; close the bag."""
        from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

        if self.node is None:
            raise RuntimeError("call start() first")
        if max_messages is not None and max_messages < 1:
            raise UserError(f"--max-messages must be at least 1, got {max_messages}")
        duration = check_seconds("--duration", duration, positive=True)
        self._max_messages = max_messages
        if max_messages is not None and self._received >= max_messages:
            self._accepting = False
            self._done.set()
        executor = SingleThreadedExecutor(context=self._context)
        executor.add_node(self.node)
        reason = "stopped"
        deadline = None if duration is None else self._t_start + duration
        try:
            while True:
                if self._done.is_set():
                    reason = "max-messages"
                    break
                if stop is not None and stop.is_set():
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    reason = "duration"
                    break
                executor.spin_once(timeout_sec=0.05)
        except (KeyboardInterrupt, ExternalShutdownException):
            reason = "interrupted"
        finally:
            executor.shutdown(timeout_sec=1.0)
        return self.close(reason)

    def record(self, *, duration: float | None = None, max_messages: int | None = None,
               stop: threading.Event | None = None) -> RecordStats:
        """``start()`` then ``spin()``."""
        self.start()
        return self.spin(duration=duration, max_messages=max_messages, stop=stop)

    def close(self, reason: str = "stopped") -> RecordStats:
        """Stop receiving, write what is queued, close the bag (metadata.yaml) and the ROS context."""
        self._accepting = False
        elapsed = time.monotonic() - self._t_start if self._t_start else 0.0
        for sub in self._subscriptions:
            self.node.destroy_subscription(sub)
        self._subscriptions = []
        if self._thread is not None:
            self._queue.put(None)  # the writer thread writes what is queued, then closes the bag
            self._thread.join()
            self._thread = None
        self._release_ros()
        if self._writer_error is not None:
            raise UserError(f"writing {self.out} failed: {self._writer_error}; what reached the disk before is kept "
                            f"(`motion-text bag reindex {self.out}` makes it a readable bag)")
        return RecordStats(self.out, self.storage, {t: self.counts.get(t, 0) for t in self.topics}, elapsed, reason)

    def _abort(self) -> None:
        """Tear down after a failed start (no bag left behind)."""
        import shutil

        self._accepting = False
        if self._thread is not None:
            self._queue.put("abort")
            self._thread.join()
            self._thread = None
        if self._bag_created:
            shutil.rmtree(self.out, ignore_errors=True)
        self._release_ros()

    def _release_ros(self) -> None:
        """Destroy the recorder's node and shut its own rclpy context down."""
        import rclpy

        if self.node is not None:
            self.node.destroy_node()
            self.node = None
        if self._context is not None:
            rclpy.try_shutdown(context=self._context)
            self._context = None


def format_record_stats(stats: RecordStats) -> str:
    """One line per topic plus totals."""
    lines = [f"  {topic}: {count} messages" for topic, count in stats.counts.items()]
    lines.append(f"wrote {stats.total} messages in {stats.duration:.2f} s to {stats.path} ({stats.storage}, "
                 f"stopped: {stats.stop_reason})")
    return "\n".join(lines)
