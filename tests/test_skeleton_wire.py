"""ros.skeleton_wire reads Skeleton and SkeletonArray bytes as rclpy writes them, field for field, and refuses
(for rclpy to decode) what it does not take."""

from __future__ import annotations

import numpy as np
import pytest
from geometry_msgs.msg import Point
from motion_text_interfaces.msg import Skeleton, SkeletonArray
from rclpy.serialization import deserialize_message, serialize_message

from motion_text_node.ros.conversions import skeleton_array_to_frames, skeleton_msg_to_frame
from motion_text_node.ros.skeleton_wire import WireFormatError, decode_skeleton, decode_skeleton_array


def _random_skeleton(rng: np.random.Generator) -> Skeleton:
    """Every field exercised, with lengths that move the alignment of what follows (odd strings, 0-n items)."""
    n = int(rng.integers(0, 40))
    words = ["", "a", "pelvis", "left_wrist", "Ünïcødé", "x" * int(rng.integers(1, 9))]
    msg = Skeleton()
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(rng.integers(-5, 2**31 - 1)), int(rng.integers(0, 10**9))
    msg.header.frame_id = str(rng.choice(words))
    msg.track_id, msg.skeleton_format, msg.up_axis = (str(rng.choice(words)) for _ in range(3))
    msg.joint_names = [str(rng.choice(words)) for _ in range(int(rng.choice([0, n])))]
    msg.positions = [Point(x=float(a), y=float(b), z=float(c)) for a, b, c in rng.normal(size=(n, 3)) * 3]
    msg.confidences = rng.random(int(rng.choice([0, n]))).astype(np.float32).tolist()
    return msg


def _same(wire, msg) -> None:
    assert (wire.header.stamp.sec, wire.header.stamp.nanosec, wire.header.frame_id) == (
        msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id)
    assert (wire.track_id, wire.skeleton_format, wire.up_axis) == (msg.track_id, msg.skeleton_format, msg.up_axis)
    assert wire.joint_names == list(msg.joint_names)
    np.testing.assert_array_equal(wire.positions, np.array([(p.x, p.y, p.z) for p in msg.positions]).reshape(-1, 3))
    np.testing.assert_array_equal(wire.confidences, np.asarray(msg.confidences, np.float32))


def test_skeletons_decode_field_for_field_as_rclpy_writes_them() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        msg = _random_skeleton(rng)
        _same(decode_skeleton(serialize_message(msg)), msg)


def test_arrays_decode_field_for_field_and_give_the_same_frames() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        arr = SkeletonArray(skeletons=[_random_skeleton(rng) for _ in range(int(rng.integers(0, 6)))])
        arr.header.stamp.sec, arr.header.frame_id = 7, str(rng.choice(["", "camera", "ü"]))
        wire = decode_skeleton_array(serialize_message(arr))
        assert (wire.header.stamp.sec, wire.header.frame_id) == (7, arr.header.frame_id)
        assert len(wire.skeletons) == len(arr.skeletons)
        for w, m in zip(wire.skeletons, arr.skeletons, strict=True):
            _same(w, m)
        frames_w, rejected_w = skeleton_array_to_frames(wire)
        frames_m, rejected_m = skeleton_array_to_frames(deserialize_message(serialize_message(arr), SkeletonArray))
        assert rejected_w == rejected_m and len(frames_w) == len(frames_m)
        for a, b in zip(frames_w, frames_m, strict=True):
            assert (a.stamp, a.track_id, a.skeleton_format, a.joint_names, a.up_axis, a.frame_id) == (
                b.stamp, b.track_id, b.skeleton_format, b.joint_names, b.up_axis, b.frame_id)
            np.testing.assert_array_equal(a.positions, b.positions)
            assert a.positions.dtype == b.positions.dtype == np.float32


def test_a_frame_from_the_wire_is_the_frame_from_rclpy() -> None:
    msg = _random_skeleton(np.random.default_rng(2))
    msg.positions = [Point(x=1.0, y=2.0, z=3.0)] * 22
    msg.joint_names, msg.confidences = [], []
    a = skeleton_msg_to_frame(decode_skeleton(serialize_message(msg)))
    b = skeleton_msg_to_frame(msg)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert (a.stamp, a.confidences) == (b.stamp, b.confidences)


@pytest.mark.parametrize("damage", ["truncate", "big_endian", "count", "no_nul", "not_utf8", "empty"])
def test_bytes_it_does_not_take_are_refused_for_rclpy(damage: str) -> None:
    msg = _random_skeleton(np.random.default_rng(3))
    msg.track_id, msg.positions = "walker", [Point(x=1.0, y=2.0, z=3.0)] * 5
    data = bytearray(serialize_message(msg))
    where = data.index(b"walker")  # the track_id's text; its length word is just before it
    if damage == "truncate":
        data = data[: len(data) - 30]
    elif damage == "big_endian":
        data[1] = 0
    elif damage == "count":  # the track_id claims 4 GB
        data[where - 4: where] = b"\xff\xff\xff\xff"
    elif damage == "no_nul":
        data[where + 6] = ord("x")
    elif damage == "not_utf8":
        data[where] = 0xFF
    else:
        data = bytearray()
    with pytest.raises(WireFormatError):
        decode_skeleton(bytes(data))
    with pytest.raises(WireFormatError):
        decode_skeleton_array(bytes(data))
