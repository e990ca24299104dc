"""Publish a bag's messages with rclpy at their recorded timing, like ``ros2 bag play``.

Messages go out as the bag's CDR bytes (``Publisher.publish(bytes)``), so nothing is re-encoded unless
``restamp`` rewrites their times: then every ``builtin_interfaces/Time`` in a message (``header.stamp``,
ActionLabel's window, ...) is mapped onto the wall clock (``now_at_start + (t - bag_start) / rate``, so spacing
is exact and live nodes see current times), and it is serialized again.

Every message is read through ``integrity.checked_messages``: it is decoded with rosbags first (while waiting for
its time), so damaged data is never published. Unless ``skip_corrupt``, playback stops at the first damaged data
and ``PlayStats.error`` says what and where (the CLI exits non-zero with that line); with it, damaged data is
skipped and counted in ``PlayStats.damage``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path

from motion_text_node.bag.info import open_reader
from motion_text_node.bag.integrity import BagDamage, CorruptBagError, checked_messages
from motion_text_node.bag.types import absolute_topic, ensure_type, rclpy_message_class
from motion_text_node.errors import UserError

TIME_TYPE = "builtin_interfaces/msg/Time"


@dataclass
class PlayStats:
    """What a ``BagPlayer.play`` did."""

    published: dict[str, int] = field(default_factory=dict)  # per output topic
    wall_duration: float = 0.0  # seconds from the first to the last publication
    bag_duration: float = 0.0  # seconds of bag time played (over all loops)
    max_lateness: float = 0.0  # worst delay of a publication behind its scheduled time, seconds
    loops: int = 0  # complete passes over the bag
    interrupted: bool = False  # stopped by the stop event or Ctrl-C
    unacked: list[str] = field(default_factory=list)  # topics whose subscribers had not acknowledged everything
    damage: BagDamage = field(default_factory=BagDamage)  # damaged data met (skipped, never published)
    error: str = ""  # why playback stopped at damaged data ("" when it did not)

    @property
    def total(self) -> int:
        """Messages published on all topics."""
        return sum(self.published.values())


def parse_remaps(items: Sequence[str] | None) -> dict[str, str]:
    """``["old:=new", ...]`` -> ``{"/old": "/new"}``; UserError for anything else."""
    remaps: dict[str, str] = {}
    for item in items or []:
        old, sep, new = item.partition(":=")
        if not sep or not old.strip() or not new.strip() or ":=" in new:
            raise UserError(f"bad remap {item!r}: write OLD_TOPIC:=NEW_TOPIC, e.g. /skeleton:=/camera/skeleton")
        remaps[absolute_topic(old)] = absolute_topic(new)
    return remaps


@dataclass
class _PassTimes:
    """What passes over a bag carry on: wall times of the first and last publication, the last restamped stamp."""

    first: float | None = None
    last: float | None = None
    last_stamp: int = 0


class BagPlayer:
    """Plays a rosbag2 folder on a ROS 2 graph.

    Use as a context manager (or call ``close``). With no ``node``, the player creates its own rclpy Context
    and node (so it can run in a thread of a process that has its own ROS set-up); with a ``node``, publishers
    are created on it and the caller keeps ownership.

    Args:
        bag: rosbag2 folder.
        rate: playback speed factor (2.0 = twice as fast).
        loop: start over at the end, until stopped (or ``max_loops`` passes).
        max_loops: with ``loop``, stop after this many passes.
        start_offset: skip the first seconds of the bag.
        remap: ``{"/old": "/new"}`` topic renames (see ``parse_remaps``).
        topics: play only these bag topics (all when None).
        restamp: map every Time field onto the current wall clock (see the module docstring).
        clock: also publish ``/clock`` (rosgraph_msgs/Clock) with the playback time at ``clock_hz``.
        qos_depth: KEEP_LAST depth of the reliable, volatile publishers.
        wait_for_subscribers: before starting, wait until some played topic has this many subscribers.
        wait_timeout: seconds to wait for them (UserError after that).
        ack_timeout: at the end, seconds to wait for reliable subscribers to acknowledge every message.
        skip_corrupt: skip damaged data (counted in the stats) instead of stopping at it.
    """

    def __init__(self, bag: str | Path, *, rate: float = 1.0, loop: bool = False, max_loops: int | None = None,
                 start_offset: float = 0.0, remap: dict[str, str] | None = None, topics: Sequence[str] | None = None,
                 restamp: bool = False, clock: bool = False, clock_hz: float = 100.0, qos_depth: int = 100,
                 wait_for_subscribers: int = 0, wait_timeout: float = 30.0, ack_timeout: float = 5.0,
                 skip_corrupt: bool = False, node=None) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise UserError(f"--rate must be positive and finite, got {rate}")
        for option, value in (("--start-offset", start_offset), ("--wait-timeout", wait_timeout),
                              ("--ack-timeout", ack_timeout), ("--clock-hz", clock_hz)):
            if not math.isfinite(value):  # nan/inf seconds cannot become nanoseconds
                raise UserError(f"{option} must be a finite number, got {value}")
        if start_offset < 0:
            raise UserError(f"--start-offset must not be negative, got {start_offset}")
        if qos_depth < 1:
            raise UserError(f"--qos-depth must be at least 1, got {qos_depth}")
        if max_loops is not None and max_loops < 1:
            raise UserError(f"max_loops must be at least 1, got {max_loops}")
        if clock and not clock_hz > 0:
            raise UserError(f"--clock-hz must be positive, got {clock_hz}")
        self.bag = Path(bag)
        self.rate = float(rate)
        self.loop = loop
        self.max_loops = max_loops if loop else 1
        self.start_offset = float(start_offset)
        self.restamp = restamp
        self.clock_period_ns = int(1e9 / clock_hz) if clock else None
        self.wait_for_subscribers = int(wait_for_subscribers)
        self.wait_timeout = float(wait_timeout)
        self.ack_timeout = float(ack_timeout)
        self.skip_corrupt = skip_corrupt
        remap = dict(remap or {})

        with open_reader(self.bag) as reader:
            self._bag_start = reader.start_time if reader.message_count else 0
            self._bag_end = reader.end_time - 1 if reader.message_count else 0
            by_topic: dict[str, str] = {}
            for conn in reader.connections:
                if by_topic.setdefault(conn.topic, conn.msgtype) != conn.msgtype:
                    raise UserError(f"{self.bag}: topic {conn.topic} holds two types ({by_topic[conn.topic]}, "
                                    f"{conn.msgtype}); play it with --topics excluding it")
        known = ", ".join(sorted(by_topic)) or "none"
        if unknown := [t for t in remap if t not in by_topic]:
            raise UserError(f"cannot remap {unknown[0]}: no such topic in {self.bag} (topics: {known})")
        selected = [absolute_topic(t) for t in topics] if topics else sorted(by_topic)
        if unknown := [t for t in selected if t not in by_topic]:
            raise UserError(f"no topic {unknown[0]} in {self.bag} (topics: {known})")
        if not selected:
            raise UserError(f"{self.bag}: no topics to play")
        if self._bag_start + int(self.start_offset * 1e9) > self._bag_end:
            raise UserError(f"--start-offset {self.start_offset} s is past the end of the bag "
                            f"({(self._bag_end - self._bag_start) / 1e9:.3f} s long)")
        self.topics = {t: by_topic[t] for t in selected}  # bag topic -> msgtype
        self.output_topics = {t: remap.get(t, t) for t in selected}  # bag topic -> published topic
        if len(set(self.output_topics.values())) != len(self.output_topics):
            raise UserError("two topics are remapped onto the same name")
        self._store = self._decoding_store(restamp)
        self._classes = {t: rclpy_message_class(m) for t, m in self.topics.items()}
        self._setup_node(node, qos_depth)

    def _decoding_store(self, restamp: bool):
        """The rosbags store that decodes (checks) the played types; types it cannot find play unchecked.

        With ``restamp`` every type must be found (UserError otherwise): its times are rewritten.
        """
        try:
            store = ensure_type(TIME_TYPE)
        except UserError:
            if restamp:
                raise
            return None
        for msgtype in self.topics.values():
            try:
                ensure_type(msgtype, store).get_msgdef(msgtype)  # generates the (de)serializers now
            except UserError:
                if restamp:
                    raise
        return store

    # -- ROS set-up -------------------------------------------------------------------------------------

    def _setup_node(self, node, qos_depth: int) -> None:
        import rclpy
        from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

        self._own_context = None
        if node is None:
            self._own_context = rclpy.Context()
            rclpy.init(context=self._own_context)
            node = rclpy.create_node(f"bag_player_{time.time_ns() % 10**9}", context=self._own_context)
        self.node = node
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=qos_depth, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.VOLATILE)
        self._publishers = {}
        try:
            for topic, out in self.output_topics.items():
                self._publishers[topic] = node.create_publisher(self._classes[topic], out, qos)
            self._clock_pub = None
            if self.clock_period_ns is not None:
                from rosgraph_msgs.msg import Clock

                self._clock_cls = Clock
                self._clock_pub = node.create_publisher(Clock, "/clock", 10)
        except Exception as exc:  # e.g. rclpy's InvalidTopicNameException for a bad remap target
            self.close()
            raise UserError(f"cannot create publishers: {exc}") from None

    def close(self) -> None:
        """Destroy the publishers (and the node and context when the player created them)."""
        import rclpy

        for pub in list(getattr(self, "_publishers", {}).values()) + [getattr(self, "_clock_pub", None)]:
            if pub is not None:
                self.node.destroy_publisher(pub)
        self._publishers = {}
        self._clock_pub = None
        if self._own_context is not None:
            self.node.destroy_node()
            rclpy.try_shutdown(context=self._own_context)
            self._own_context = None

    def __enter__(self) -> BagPlayer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- playback ---------------------------------------------------------------------------------------

    def subscriber_counts(self) -> dict[str, int]:
        """Matched subscriptions per published topic."""
        return {self.output_topics[t]: p.get_subscription_count() for t, p in self._publishers.items()}

    def wait_for_subscribers_matched(self, count: int, timeout: float, stop: threading.Event | None = None) -> bool:
        """Wait (bounded) until some played topic has ``count`` matched subscribers; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if max(self.subscriber_counts().values(), default=0) >= count:
                return True
            if stop is not None and stop.is_set():
                return False
            time.sleep(0.02)
        return max(self.subscriber_counts().values(), default=0) >= count

    def _restamped(self, msg, msgtype: str, offset_ns: int, t_first: int) -> bytes:
        """The decoded ``msg`` with every Time mapped onto the wall clock, serialized again."""
        store = self._store
        Time = store.types[TIME_TYPE]

        def remap_time(t) -> None:
            t_ns = t.sec * 1_000_000_000 + t.nanosec
            new = offset_ns + int((t_ns - t_first) / self.rate)
            t.sec, t.nanosec = divmod(new, 1_000_000_000)

        def walk(obj, depth: int = 0) -> None:
            for f in fields(obj):
                value = getattr(obj, f.name)
                if isinstance(value, Time):
                    remap_time(value)
                elif is_dataclass(value) and depth < 8:
                    walk(value, depth + 1)

        walk(msg)
        return bytes(store.serialize_cdr(msg, msgtype))

    def _sleep_until(self, target: float, stop: threading.Event | None) -> bool:
        """Sleep until monotonic ``target``; False when ``stop`` was set meanwhile."""
        while (remaining := target - time.monotonic()) > 0:
            if stop is not None:
                if stop.wait(min(remaining, 0.05)):
                    return False
            else:
                time.sleep(min(remaining, 0.05))
        return not (stop is not None and stop.is_set())

    def play(self, stop: threading.Event | None = None) -> PlayStats:
        """Publish the bag (once, or looping); returns when done, when ``stop`` is set, or on Ctrl-C."""
        stats = PlayStats(published={out: 0 for out in self.output_topics.values()},
                          damage=BagDamage(str(self.bag), self._bag_start))
        if not self._subscribers_ready(stop):
            stats.interrupted = True
            return stats
        first_ns = self._bag_start + int(round(self.start_offset * 1e9))
        walls = _PassTimes()
        try:
            with open_reader(self.bag) as reader:
                conns = [c for c in reader.connections if c.topic in self.topics]
                while self.max_loops is None or stats.loops < self.max_loops:
                    if not self._play_pass(reader, conns, first_ns, stats, walls, stop):
                        stats.interrupted = True
                        return stats
                    stats.loops += 1
                    stats.bag_duration += (self._bag_end - first_ns) / 1e9
        except KeyboardInterrupt:
            stats.interrupted = True
        except CorruptBagError as exc:
            stats.error = (f"{exc}; {stats.total} messages were published (--skip-corrupt plays past damaged "
                           "data)")
        finally:
            if walls.first is not None:
                stats.wall_duration = walls.last - walls.first
        if not stats.interrupted:
            stats.unacked = self.wait_for_acks(self.ack_timeout)
        return stats

    def _subscribers_ready(self, stop: threading.Event | None) -> bool:
        """Wait for ``wait_for_subscribers`` subscribers; False when ``stop`` ended the wait, UserError on timeout."""
        if self.wait_for_subscribers <= 0 or self.wait_for_subscribers_matched(self.wait_for_subscribers,
                                                                               self.wait_timeout, stop):
            return True
        if stop is not None and stop.is_set():
            return False
        raise UserError(f"fewer than {self.wait_for_subscribers} subscribers on "
                        f"{', '.join(self.output_topics.values())} after {self.wait_timeout:g} s")

    def _play_pass(self, reader, conns, first_ns: int, stats: PlayStats, walls: _PassTimes,
                   stop: threading.Event | None) -> bool:
        """One pass over the bag from ``first_ns``, paced by ``rate``; False when ``stop`` interrupted it."""
        wall0 = None
        next_clock = first_ns
        for conn, t_ns, data, decoded in checked_messages(reader, conns, damage=stats.damage, start=first_ns,
                                                          store=self._store, skip_corrupt=self.skip_corrupt):
            if wall0 is None:  # the clock starts once the first message is read
                wall0 = time.monotonic()
                now0 = max(time.time_ns(), walls.last_stamp + 1_000_000)
            target = wall0 + (t_ns - first_ns) / 1e9 / self.rate
            if not self._sleep_until(target, stop):
                return False
            if self._clock_pub is not None and t_ns >= next_clock:
                self._publish_clock(now0 + int((t_ns - first_ns) / self.rate) if self.restamp else t_ns)
                next_clock = t_ns + int(self.clock_period_ns * self.rate)  # clock_hz in wall time
            if self.restamp:
                payload = self._restamped(decoded, conn.msgtype, now0, first_ns)
                walls.last_stamp = now0 + int((t_ns - first_ns) / self.rate)
            else:
                payload = bytes(data)
            now = time.monotonic()
            stats.max_lateness = max(stats.max_lateness, now - target)
            self._publishers[conn.topic].publish(payload)
            stats.published[self.output_topics[conn.topic]] += 1
            walls.first = now if walls.first is None else walls.first
            walls.last = now
        return True

    def _publish_clock(self, clock_ns: int) -> None:
        msg = self._clock_cls()
        msg.clock.sec, msg.clock.nanosec = divmod(clock_ns, 1_000_000_000)
        self._clock_pub.publish(msg)

    def wait_for_acks(self, timeout: float) -> list[str]:
        """Wait (bounded) until reliable subscribers acknowledged every message; returns the topics that did not.

        Without this, a player process that exits right after its last publication can take the messages still in
        flight with it.
        """
        from rclpy.duration import Duration

        deadline = time.monotonic() + max(timeout, 0.0)
        late = []
        for topic, pub in self._publishers.items():
            remaining = max(deadline - time.monotonic(), 0.0)
            if not pub.wait_for_all_acked(Duration(nanoseconds=int(remaining * 1e9))):
                late.append(self.output_topics[topic])
        return late


def format_play_stats(stats: PlayStats) -> str:
    """One line per topic plus totals."""
    lines = [f"  {topic}: {count} messages" for topic, count in stats.published.items()]
    state = ("interrupted" if stats.interrupted else "stopped at damaged data" if stats.error
             else f"{stats.loops} pass{'es' if stats.loops != 1 else ''}")
    lines.append(f"published {stats.total} messages in {stats.wall_duration:.2f} s ({state}), "
                 f"max lateness {stats.max_lateness * 1000:.1f} ms")
    if stats.unacked:
        lines.append(f"warning: not every message was acknowledged on {', '.join(stats.unacked)} "
                     "(a subscriber lagged or went away)")
    if stats.damage and not stats.error:
        lines.append(f"warning: skipped {stats.damage.describe()}")
    return "\n".join(lines)
