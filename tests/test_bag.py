"""Bag tools on real CMU clips: convert (MCAP, sqlite3), read back with rosbags and the mcap library, info, play
to a live subscriber, record a high-rate burst from another process, CLI errors."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from ros_helpers import spin_until

from motion_text_node.bag.convert import DEFAULT_START_TIME, GROUND_TRUTH_TOPIC, SKELETON_TOPIC, read_ground_truth
from motion_text_node.bag.types import ACTION_LABEL_TYPE, MOTION_CLIP_TYPE, SKELETON_TYPE, typestore
from motion_text_node.cli import main
from motion_text_node.data.cache import DatasetCache
from motion_text_node.data.labels import cmu_action_label

GAP = 0.5


@pytest.fixture(scope="module")
def test_clips(cmu_cache):
    """The two shortest clips of the real CMU test split (about 4 s each)."""
    cache = DatasetCache(cmu_cache)
    entries = sorted((e for e in cache.entries if e["split"] == "test"), key=lambda e: e["length"])[:2]
    return [cache.clip(e["id"]) for e in entries]


@pytest.fixture(scope="module")
def mcap_bag(cmu_cache, test_clips, tmp_path_factory) -> Path:
    """The two clips converted through the CLI into an MCAP bag, 0.5 s apart."""
    out = tmp_path_factory.mktemp("bags") / "two_clips"
    ids = ",".join(c.clip_id for c in test_clips)
    assert main(["bag", "convert", str(cmu_cache), "--split", "test", "--ids", ids, "--gap", str(GAP), "--out",
                 str(out), "--no-progress"]) == 0
    return out


def _read_all(bag: Path) -> list[tuple[str, int, object]]:
    from rosbags.highlevel import AnyReader

    with AnyReader([bag], default_typestore=typestore()) as reader:  # checks the stored type hashes too
        return [(c.topic, t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages()]


def _stamp_ns(t) -> int:
    return t.sec * 1_000_000_000 + t.nanosec


# -- types -------------------------------------------------------------------------------------------------


def _assert_same_wire_format(store, bag_msg, rcl_msg, msgtype: str) -> None:
    """rosbags' CDR of ``bag_msg`` is rclpy's CDR of the equal ``rcl_msg``, byte for byte except alignment padding.

    Fast CDR (rclpy) leaves padding bytes uninitialized (whatever the buffer held), rosbags writes zeros, so raw
    bytes may differ exactly there. rclpy's bytes re-encoded by rosbags (padding zeroed) must equal rosbags' own.
    """
    from rclpy.serialization import deserialize_message, serialize_message

    ours, theirs = bytes(store.serialize_cdr(bag_msg, msgtype)), serialize_message(rcl_msg)
    assert len(ours) == len(theirs)
    assert all(a == b or a == 0 for a, b in zip(ours, theirs, strict=True))  # differences only where we pad
    assert bytes(store.serialize_cdr(store.deserialize_cdr(theirs, msgtype), msgtype)) == ours
    assert deserialize_message(ours, type(rcl_msg)) == rcl_msg


def test_rosbags_types_serialize_like_rclpy(ros_node) -> None:
    from builtin_interfaces.msg import Time
    from geometry_msgs.msg import Point
    from motion_text_interfaces.msg import ActionLabel, MotionClip, Skeleton
    from std_msgs.msg import Header

    store = typestore()
    T = store.types
    stamp = dict(sec=1_700_000_123, nanosec=456_789)
    rcl_skeleton = Skeleton(header=Header(stamp=Time(**stamp), frame_id="body"), track_id="person_1",
                            skeleton_format="custom", joint_names=["pelvis", "head"],
                            positions=[Point(x=0.1, y=-0.2, z=0.9), Point(x=0.0, y=0.05, z=1.7)],
                            confidences=[1.0, 0.5], up_axis="z")
    Point_ = T["geometry_msgs/msg/Point"]
    bag_skeleton = T[SKELETON_TYPE](
        header=T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](**stamp), frame_id="body"),
        track_id="person_1", skeleton_format="custom", joint_names=["pelvis", "head"],
        positions=[Point_(x=0.1, y=-0.2, z=0.9), Point_(x=0.0, y=0.05, z=1.7)],
        confidences=np.array([1.0, 0.5], np.float32), up_axis="z")
    _assert_same_wire_format(store, bag_skeleton, rcl_skeleton, SKELETON_TYPE)

    rcl_label = ActionLabel(header=Header(stamp=Time(**stamp), frame_id="map"), track_id="p", label="wave",
                            score=0.75, top_labels=["wave", "walk"], top_scores=[0.75, 0.25],
                            window_start=Time(sec=1, nanosec=2), window_end=Time(sec=3, nanosec=4))
    bag_label = T[ACTION_LABEL_TYPE](
        header=T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](**stamp), frame_id="map"),
        track_id="p", label="wave", score=0.75, top_labels=["wave", "walk"],
        top_scores=np.array([0.75, 0.25], np.float32), window_start=T["builtin_interfaces/msg/Time"](sec=1, nanosec=2),
        window_end=T["builtin_interfaces/msg/Time"](sec=3, nanosec=4))
    _assert_same_wire_format(store, bag_label, rcl_label, ACTION_LABEL_TYPE)
    rcl_clip = MotionClip(id="02_05", description="punch", fps=30.0, skeleton_format="smpl22",
                          joint_names=["pelvis"], num_frames=2, positions=[0.1 * i for i in range(6)], score=0.5,
                          source="cmu", licence="CMU-mocap")
    bag_clip = T[MOTION_CLIP_TYPE](id="02_05", description="punch", fps=30.0, skeleton_format="smpl22",
                                   joint_names=["pelvis"], num_frames=2,
                                   positions=np.array([0.1 * i for i in range(6)], np.float32), score=0.5,
                                   source="cmu", licence="CMU-mocap")
    _assert_same_wire_format(store, bag_clip, rcl_clip, MOTION_CLIP_TYPE)

    # The RIHS01 hashes rosbags computes are the ones rclpy announces on the graph.
    node, _ = ros_node
    for cls, name in ((Skeleton, SKELETON_TYPE), (ActionLabel, ACTION_LABEL_TYPE), (MotionClip, MOTION_CLIP_TYPE)):
        node.create_publisher(cls, f"hash_check/{cls.__name__}", 1)
        (info,) = node.get_publishers_info_by_topic(f"/hash_check/{cls.__name__}")
        assert str(info.topic_type_hash) == store.hash_rihs01(name)


def test_unknown_types_are_registered_from_installed_msg_files(tmp_path, monkeypatch) -> None:
    from rosbags.typesys import Stores, get_typestore

    from motion_text_node.bag.types import ensure_type
    from motion_text_node.errors import UserError

    msg = tmp_path / "prefix" / "share" / "my_pkg" / "msg"
    msg.mkdir(parents=True)
    (msg / "Inner.msg").write_text("float32 value\n")
    (msg / "Outer.msg").write_text("std_msgs/Header header\nInner[] inners\ngeometry_msgs/Point where\n")
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path / "prefix"))
    store = get_typestore(Stores.ROS2_JAZZY)
    ensure_type("my_pkg/msg/Outer", store)
    Outer, Inner = store.types["my_pkg/msg/Outer"], store.types["my_pkg/msg/Inner"]
    header = store.types["std_msgs/msg/Header"](stamp=store.types["builtin_interfaces/msg/Time"](sec=1, nanosec=2),
                                                frame_id="f")
    value = Outer(header=header, inners=[Inner(value=1.5)], where=store.types["geometry_msgs/msg/Point"](x=1, y=2, z=3))
    back = store.deserialize_cdr(store.serialize_cdr(value, "my_pkg/msg/Outer"), "my_pkg/msg/Outer")
    assert back.inners[0].value == 1.5 and back.where.z == 3
    with pytest.raises(UserError, match="unknown message type my_pkg/msg/Missing"):
        ensure_type("my_pkg/msg/Missing", store)


# -- convert -----------------------------------------------------------------------------------------------


def test_metadata_is_standard_rosbag2(mcap_bag, test_clips) -> None:
    meta = yaml.safe_load((mcap_bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    frames = sum(c.motion.num_frames for c in test_clips)
    assert meta["version"] == 9 and meta["storage_identifier"] == "mcap"
    assert meta["relative_file_paths"] == ["two_clips.mcap"] and (mcap_bag / "two_clips.mcap").is_file()
    topics = {t["topic_metadata"]["name"]: t for t in meta["topics_with_message_count"]}
    assert topics[SKELETON_TOPIC]["topic_metadata"]["type"] == SKELETON_TYPE
    assert topics[SKELETON_TOPIC]["message_count"] == frames
    assert topics[GROUND_TRUTH_TOPIC]["topic_metadata"]["type"] == ACTION_LABEL_TYPE
    assert topics[GROUND_TRUTH_TOPIC]["message_count"] == 2
    assert topics[SKELETON_TOPIC]["topic_metadata"]["serialization_format"] == "cdr"
    assert topics[SKELETON_TOPIC]["topic_metadata"]["offered_qos_profiles"][0]["reliability"] == "reliable"
    assert meta["message_count"] == frames + 2
    assert meta["starting_time"]["nanoseconds_since_epoch"] == int(DEFAULT_START_TIME * 1e9)
    c1, c2 = test_clips
    span = c1.motion.num_frames / 30.0 + GAP + (c2.motion.num_frames - 1) / 30.0
    assert meta["duration"]["nanoseconds"] == pytest.approx(span * 1e9, abs=2)


def test_rosbags_reads_back_frames_and_ground_truth(mcap_bag, test_clips) -> None:
    messages = _read_all(mcap_bag)
    skeletons = [(t, m) for topic, t, m in messages if topic == SKELETON_TOPIC]
    labels = [(t, m) for topic, t, m in messages if topic == GROUND_TRUTH_TOPIC]
    assert len(skeletons) == sum(c.motion.num_frames for c in test_clips)
    times = [t for _, t, _ in messages]
    assert times == sorted(times)
    # Frames: log time == header stamp, 1/fps apart inside a clip, the gap between clips, real positions.
    start = 0
    for clip, (t_label, label) in zip(test_clips, labels, strict=True):
        n = clip.motion.num_frames
        part = skeletons[start:start + n]
        stamps = np.array([_stamp_ns(m.header.stamp) for _, m in part])
        assert all(t == _stamp_ns(m.header.stamp) for t, m in part)
        assert np.abs(np.diff(stamps) - 1e9 / clip.motion.fps).max() <= 1
        assert all(m.track_id == "person_1" and m.skeleton_format == "smpl22" and m.up_axis == "z" for _, m in part)
        positions = np.array([[(p.x, p.y, p.z) for p in m.positions] for _, m in part])
        np.testing.assert_allclose(positions, clip.motion.positions, atol=1e-6)
        # Ground truth at the clip's first frame, window = first..last frame.
        assert t_label == stamps[0]
        assert label.label == cmu_action_label(clip.text) != ""
        assert list(label.top_labels) == [clip.text] and label.track_id == "person_1"
        assert _stamp_ns(label.window_start) == stamps[0] and _stamp_ns(label.window_end) == stamps[-1]
        start += n
    first_end = _stamp_ns(skeletons[test_clips[0].motion.num_frames - 1][1].header.stamp)
    second_start = _stamp_ns(skeletons[test_clips[0].motion.num_frames][1].header.stamp)
    assert second_start - first_end == pytest.approx((GAP + 1 / 30.0) * 1e9, abs=2)


def test_mcap_library_reads_the_bag(mcap_bag, test_clips) -> None:
    from mcap.reader import make_reader

    with open(mcap_bag / "two_clips.mcap", "rb") as f:
        reader = make_reader(f)
        assert reader.get_header().profile == "ros2"
        summary = reader.get_summary()
        schemas = {s.id: s for s in summary.schemas.values()}
        channels = {c.topic: c for c in summary.channels.values()}
        assert set(channels) == {SKELETON_TOPIC, GROUND_TRUTH_TOPIC}
        assert schemas[channels[SKELETON_TOPIC].schema_id].name == SKELETON_TYPE
        assert schemas[channels[GROUND_TRUTH_TOPIC].schema_id].name == ACTION_LABEL_TYPE
        assert all(s.encoding == "ros2msg" for s in schemas.values())
        assert all(c.message_encoding == "cdr" for c in channels.values())
        assert b"geometry_msgs/Point[] positions" in schemas[channels[SKELETON_TOPIC].schema_id].data
        frames = sum(c.motion.num_frames for c in test_clips)
        assert summary.statistics.message_count == frames + 2
        assert summary.statistics.channel_message_counts[channels[SKELETON_TOPIC].id] == frames
        log_times = [m.log_time for _, _, m in reader.iter_messages(log_time_order=True)]
        assert len(log_times) == frames + 2 and log_times[0] == int(DEFAULT_START_TIME * 1e9)


def test_ground_truth_sidecar(mcap_bag, test_clips) -> None:
    segments = read_ground_truth(mcap_bag)
    assert [s.clip_id for s in segments] == [c.clip_id for c in test_clips]
    assert [s.label for s in segments] == [cmu_action_label(c.text) for c in test_clips]
    assert [s.text for s in segments] == [c.text for c in test_clips]
    assert segments[0].start == DEFAULT_START_TIME
    assert segments[0].end == pytest.approx(DEFAULT_START_TIME + (test_clips[0].motion.num_frames - 1) / 30.0)
    assert segments[1].start == pytest.approx(DEFAULT_START_TIME + test_clips[0].motion.num_frames / 30.0 + GAP)
    sidecar = json.loads((mcap_bag / "ground_truth.json").read_text())
    assert sidecar["tracks"] == ["person_1"] and sidecar["gap"] == GAP


def test_sqlite3_storage_multi_track_and_npz_input(cmu_cache, test_clips, tmp_path) -> None:
    from motion_text_node.bag.convert import convert_to_bag
    from motion_text_node.skeleton.canonical import CANONICAL_JOINTS

    clip = test_clips[0]
    npz = tmp_path / "mine.npz"
    np.savez(npz, positions=clip.motion.positions, joint_names=np.array(CANONICAL_JOINTS), fps=30.0, up_axis="z",
             text="wave the right hand", label="wave")
    out = tmp_path / "sq"
    result = convert_to_bag([npz, cmu_cache], out, storage="sqlite3", ids=[test_clips[1].clip_id], tracks=2,
                            track_offset=0.25, start_time=100.0, progress=False)
    assert (out / "sq.db3").is_file()
    meta = yaml.safe_load((out / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert meta["storage_identifier"] == "sqlite3"
    messages = _read_all(out)
    frames = clip.motion.num_frames + test_clips[1].motion.num_frames
    by_track: dict[str, list] = {}
    for topic, _t, m in messages:
        if topic == SKELETON_TOPIC:
            by_track.setdefault(m.track_id, []).append(m)
    assert {k: len(v) for k, v in by_track.items()} == {"person_1": frames, "person_2": frames}
    assert _stamp_ns(by_track["person_1"][0].header.stamp) == 100 * 10**9
    assert _stamp_ns(by_track["person_2"][0].header.stamp) == 100_250_000_000
    # Track 2 plays the clips rotated: the cache clip first, then the npz clip.
    seg = {s.track_id: [x.clip_id for x in result.segments if x.track_id == s.track_id] for s in result.segments}
    assert seg == {"person_1": ["mine", test_clips[1].clip_id], "person_2": [test_clips[1].clip_id, "mine"]}
    labels = [m for topic, _t, m in messages if topic == GROUND_TRUTH_TOPIC]
    assert {(m.track_id, m.label) for m in labels} >= {("person_1", "wave"), ("person_2", "wave")}
    assert [t for _, t, _ in messages] == sorted(t for _, t, _ in messages)


def test_skeleton_array_bag_holds_every_track_of_a_stamp_in_one_message(cmu_cache, test_clips, tmp_path) -> None:
    """--skeleton-array: the same frames as /skeleton would carry, joined per stamp, as a multi-person tracker
    publishes them; tracks 0.1 s apart share stamps (0.1 s is 3 frames at 30 fps), the first frames are alone."""
    out = tmp_path / "crowd"
    ids = ",".join(c.clip_id for c in test_clips)
    assert main(["bag", "convert", str(cmu_cache), "--ids", ids, "--tracks", "3", "--track-offset", "0.1",
                 "--skeleton-array", "--out", str(out), "--no-progress"]) == 0
    messages = _read_all(out)
    assert {topic for topic, _, _ in messages} == {"/skeleton_array", GROUND_TRUTH_TOPIC}
    arrays = [(t, m) for topic, t, m in messages if topic == "/skeleton_array"]
    frames = sum(c.motion.num_frames for c in test_clips)
    per_track: dict[str, int] = {}
    for t, arr in arrays:
        assert _stamp_ns(arr.header.stamp) == t and arr.header.frame_id == "body"
        tracks = [s.track_id for s in arr.skeletons]
        assert len(tracks) == len(set(tracks)) and 1 <= len(tracks) <= 3  # one frame per track and stamp
        assert all(_stamp_ns(s.header.stamp) == t for s in arr.skeletons)
        for tid in tracks:
            per_track[tid] = per_track.get(tid, 0) + 1
    assert per_track == {"person_1": frames, "person_2": frames, "person_3": frames}
    assert max(len(a.skeletons) for _, a in arrays) == 3 and len(arrays[0][1].skeletons) == 1
    assert len(arrays) < 3 * frames  # joined, not one message per skeleton
    sidecar = json.loads((out / "ground_truth.json").read_text())
    assert sidecar["topics"]["skeleton"] == "/skeleton_array"


def test_info_cli(mcap_bag, test_clips, capsys) -> None:
    assert main(["bag", "info", str(mcap_bag)]) == 0
    out = capsys.readouterr().out
    frames = sum(c.motion.num_frames for c in test_clips)
    assert "Storage id:        mcap" in out
    assert f"Messages:          {frames + 2}" in out
    assert f"Topic: /skeleton | Type: {SKELETON_TYPE} | Count: {frames} | Serialization Format: cdr" in out
    assert "Ground truth:      2 segments" in out
    assert "Nov 14 2023 22:13:20.000000000" in out
    from motion_text_node.commands import bag as bag_command

    assert bag_command.DEFAULT_START_TIME == DEFAULT_START_TIME  # the CLI's copy of the default


# -- play --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_bag(cmu_cache, test_clips, tmp_path_factory) -> Path:
    """One real clip (about 4.3 s) as an MCAP bag."""
    from motion_text_node.bag.convert import convert_to_bag

    out = tmp_path_factory.mktemp("bags") / "one_clip"
    convert_to_bag([cmu_cache], out, ids=[test_clips[0].clip_id], progress=False)
    return out


def _subscribe(node, topic: str, msg_type, sink: list) -> None:
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(msg_type, topic, lambda m: sink.append((time.monotonic(), time.time_ns(), m)), qos)


def _play_collecting(ros_node, bag: Path, remap: dict[str, str], skeletons: int, labels: int, **player_args):
    """Play ``bag`` remapped, once both topics are matched, until ``skeletons`` and ``labels`` messages arrived;
    (play stats, received skeletons, received labels) with arrival times (monotonic, wall ns)."""
    from motion_text_interfaces.msg import ActionLabel, Skeleton

    from motion_text_node.bag.play import BagPlayer

    node, executor = ros_node
    got_skeletons: list = []
    got_labels: list = []
    _subscribe(node, remap["/skeleton"], Skeleton, got_skeletons)
    _subscribe(node, remap["/ground_truth"], ActionLabel, got_labels)
    result: dict = {}
    with BagPlayer(bag, remap=remap, wait_for_subscribers=1, wait_timeout=20, **player_args) as player:
        # Both topics matched before playing (the player's own wait needs only one: the first message is a label).
        assert spin_until(executor, lambda: min(player.subscriber_counts().values()) >= 1, timeout=20)
        thread = threading.Thread(target=lambda: result.setdefault("stats", player.play()), daemon=True)
        thread.start()
        assert spin_until(executor, lambda: len(got_skeletons) >= skeletons and len(got_labels) >= labels,
                          timeout=20)
        thread.join(10)
    return result["stats"], got_skeletons, got_labels


def test_play_delivers_every_message_in_order_on_time(short_bag, test_clips, ros_node) -> None:
    from motion_text_node.bag.play import parse_remaps

    rate, n = 4.0, test_clips[0].motion.num_frames
    remap = parse_remaps(["/skeleton:=/play_test/skeleton", "ground_truth:=play_test/ground_truth"])
    stats, skeletons, labels = _play_collecting(ros_node, short_bag, remap, n, 1, rate=rate)
    assert stats.published == {"/play_test/skeleton": n, "/play_test/ground_truth": 1} and stats.loops == 1
    stamps = [_stamp_ns(m.header.stamp) for _, _, m in skeletons]
    assert len(stamps) == n and stamps == sorted(stamps) and stamps[0] == int(DEFAULT_START_TIME * 1e9)
    assert labels[0][2].label == cmu_action_label(test_clips[0].text)
    # Arrivals follow the bag's timing at 4x: paced, not a burst. The typical arrival is on schedule; a single
    # message may be late on a loaded machine (the test's own executor delivers it), so no bound on the worst one.
    arrival = np.array([t for t, _, _ in skeletons]) - skeletons[0][0]
    schedule = (np.array(stamps) - stamps[0]) / 1e9 / rate
    assert np.median(np.abs(arrival - schedule)) < 0.02
    assert arrival[-1] >= 0.9 * schedule[-1]
    assert stats.wall_duration == pytest.approx(schedule[-1], abs=0.1)
    assert stats.max_lateness < 0.25


def test_play_restamp_and_loop(short_bag, test_clips, ros_node) -> None:
    rate, n = 8.0, test_clips[0].motion.num_frames
    remap = {"/skeleton": "/loop_test/skeleton", "/ground_truth": "/loop_test/ground_truth"}
    stats, skeletons, labels = _play_collecting(ros_node, short_bag, remap, 2 * n, 2, rate=rate, loop=True,
                                                max_loops=2, restamp=True)
    assert stats.loops == 2 and stats.published["/loop_test/skeleton"] == 2 * n
    stamps = np.array([_stamp_ns(m.header.stamp) for _, _, m in skeletons])
    assert (np.diff(stamps) > 0).all()  # still increasing across the loop boundary
    # Stamps are "now" (not 2023) and spaced 1/fps / rate, exactly.
    received_ns = np.array([t for _, t, _ in skeletons])
    assert np.abs(received_ns - stamps).max() < 0.1e9
    inner = np.diff(stamps[:n])
    assert np.abs(inner - 1e9 / 30.0 / rate).max() <= 2
    # The ground truth windows moved with the frames.
    for k in range(2):
        label = labels[k][2]
        assert _stamp_ns(label.header.stamp) == _stamp_ns(label.window_start) == stamps[k * n]
        assert _stamp_ns(label.window_end) == stamps[k * n + n - 1]


def test_play_cli_start_offset_and_topic_filter(short_bag, test_clips, ros_node, start_process) -> None:
    from motion_text_interfaces.msg import Skeleton

    node, executor = ros_node
    n = test_clips[0].motion.num_frames
    skeletons: list = []
    _subscribe(node, "/cli_play/skeleton", Skeleton, skeletons)
    proc = start_process([sys.executable, "-m", "motion_text_node.cli", "bag", "play", str(short_bag), "--rate", "2",
                          "--start-offset", "4", "--topics", "/skeleton", "--remap", "/skeleton:=/cli_play/skeleton",
                          "--wait-for-subscribers", "1", "--wait-timeout", "20"], ready_line="playing")
    expected = n - 120  # frames stamped at least 4 s (120 frames at 30 fps) after the start
    spin_until(executor, lambda: len(skeletons) >= expected and proc.proc.poll() is not None, timeout=60)
    assert proc.proc.wait(5) == 0, proc.output()
    assert len(skeletons) == expected, f"received {len(skeletons)} of {expected}:\n{proc.output()}"
    assert _stamp_ns(skeletons[0][2].header.stamp) == int(DEFAULT_START_TIME * 1e9) + round(4e9)
    assert f"published {expected} messages" in proc.output()


# -- record ------------------------------------------------------------------------------------------------


def test_record_high_rate_burst_without_loss(tmp_path, start_process, fixture_script) -> None:
    from motion_text_node.bag.record import BagRecorder

    count = 1000
    publisher = start_process(fixture_script("burst_publisher.py", "/burst", str(count), "500"))
    out = tmp_path / "burst"
    stats = BagRecorder(["burst"], out, discovery_timeout=20).record(max_messages=count, duration=30)
    assert stats.stop_reason == "max-messages", publisher.output()
    assert stats.counts == {"/burst": count}
    messages = _read_all(out)
    assert len(messages) == count
    assert [m.header.frame_id for _, _, m in messages] == [str(i) for i in range(count)]
    receive = np.array([t for _, t, _ in messages])
    assert (np.diff(receive) >= 0).all()
    # Sent at 500 Hz: the receive times span about 2 s.
    assert 1.5e9 < receive[-1] - receive[0] < 4e9
    meta = yaml.safe_load((out / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    (topic,) = meta["topics_with_message_count"]
    assert topic["message_count"] == count and topic["topic_metadata"]["type"] == SKELETON_TYPE
    assert topic["topic_metadata"]["offered_qos_profiles"][0]["reliability"] == "reliable"


def test_record_cli_stops_cleanly_on_sigint(tmp_path, start_process, fixture_script) -> None:
    count = 50
    publisher = start_process(fixture_script("burst_publisher.py", "/burst_cli", str(count), "200"))
    out = tmp_path / "cli_rec"
    recorder = start_process([sys.executable, "-m", "motion_text_node.cli", "bag", "record", "/burst_cli", "--out",
                              str(out), "--storage", "sqlite3", "--discovery-timeout", "20"], ready_line="recording")
    assert publisher.wait_for_line("DONE", timeout=20), publisher.output()
    assert recorder.stop(timeout=30) == 0, recorder.output()
    assert "stopped: interrupted" in recorder.output()
    assert len(_read_all(out)) == count
    assert (out / "cli_rec.db3").is_file()


# -- CLI errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, message", [
    (["bag", "convert", "/no/such/clip.bvh", "--out", "{tmp}/x"], "no such file or folder"),
    (["bag", "convert", "{cache}", "--ids", "99_99", "--out", "{tmp}/x"], "no clip with id 99_99"),
    (["bag", "convert", "{cache}", "--tracks", "0", "--out", "{tmp}/x"], "--tracks must be at least 1"),
    (["bag", "convert", "{cache}", "--split", "test", "--out", "{bag}"], "exists already"),
    (["bag", "info", "{tmp}"], "not a rosbag2 folder"),
    (["bag", "play", "{bag}", "--remap", "skeleton"], "bad remap 'skeleton'"),
    (["bag", "play", "{bag}", "--remap", "/nothing:=/x"], "cannot remap /nothing"),
    (["bag", "play", "{bag}", "--rate", "0"], "--rate must be positive"),
    (["bag", "record", "/never_published", "--out", "{tmp}/r", "--discovery-timeout", "0.3"], "did not appear"),
])
def test_cli_errors_are_one_line(argv, message, mcap_bag, cmu_cache, tmp_path, capsys) -> None:
    argv = [a.format(tmp=tmp_path, cache=cmu_cache, bag=mcap_bag) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("motion-text bag: error: ") and message in err and "\n" not in err
    assert not (tmp_path / "x").exists() and not (tmp_path / "r").exists()


def test_bag_runtime_modules_do_not_import_torch() -> None:
    code = ("import sys; import motion_text_node.bag.play, motion_text_node.bag.record, motion_text_node.bag.info, "
            "motion_text_node.bag.convert, motion_text_node.commands.bag; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
