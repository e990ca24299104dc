"""Intake benchmark: what one SkeletonArray costs the recognition node before any inference, from its serialized
bytes to the people buffered in the stream recognizer, for crowds of 1 to 240 people.

Baseline (same run): rclpy's ``deserialize_message`` (a Python object per joint), the conversion of each
Skeleton, and ``add_frame`` person by person, as the node did before; against the node's path today:
``ros.skeleton_wire`` (positions read straight from the bytes) and ``add_frames`` (one canonicalization per
skeleton layout for the whole message).
"""

from __future__ import annotations

import time

import numpy as np

from motion_text_node.bench.table import pct, render

RATE_HZ = 30.0


def _serialized_arrays(people: int, frames: int) -> list[bytes]:
    from geometry_msgs.msg import Point
    from motion_text_interfaces.msg import Skeleton, SkeletonArray
    from rclpy.serialization import serialize_message

    from motion_text_node.bench.nodes import _synthetic_walk
    from motion_text_node.ros.conversions import fill_skeleton_msg, sec_to_stamp_fields

    motion = _synthetic_walk()
    out = []
    for k in range(frames):
        arr = SkeletonArray(skeletons=[fill_skeleton_msg(Skeleton(), Point, 0.0, f"t{i}",
                                                         motion[(k + 7 * i) % len(motion)]) for i in range(people)])
        arr.header.stamp.sec, arr.header.stamp.nanosec = sec_to_stamp_fields(1000.0 + k / RATE_HZ)
        out.append(serialize_message(arr))
    return out


def _time_path(runtime, messages: list[bytes], wire: bool) -> np.ndarray:
    """ms per message through one intake path, into a fresh recognizer (no inference)."""
    from motion_text_interfaces.msg import SkeletonArray
    from rclpy.serialization import deserialize_message

    from motion_text_node.ros.conversions import skeleton_array_to_frames
    from motion_text_node.ros.skeleton_wire import decode_skeleton_array
    from motion_text_node.runtime.stream import StreamConfig, StreamRecognizer

    rec = StreamRecognizer(runtime, StreamConfig(max_tracks=1000))
    ms = []
    for data in messages:
        t0 = time.perf_counter()
        if wire:
            frames, _ = skeleton_array_to_frames(decode_skeleton_array(data))
            rec.add_frames(frames)
        else:
            frames, _ = skeleton_array_to_frames(deserialize_message(data, SkeletonArray))
            for frame in frames:
                rec.add_frame(frame)
        ms.append((time.perf_counter() - t0) * 1000.0)
    return np.array(ms)


def intake_table(model_dir, counts=(1, 30, 120, 240), frames: int = 60) -> str:
    """ms per SkeletonArray from bytes to buffered people: rclpy + one by one vs wire decoding + together."""
    from motion_text_node.runtime.engine import MotionTextRuntime

    runtime = MotionTextRuntime(model_dir, library=None, providers="cpu", threads=1)
    rows = []
    for n in counts:
        messages = _serialized_arrays(n, frames)
        old, new = _time_path(runtime, messages, wire=False), _time_path(runtime, messages, wire=True)
        rows.append([n, pct(old, 50), pct(old, 95), pct(new, 50), pct(new, 95), pct(old, 50) / pct(new, 50),
                     1000.0 * pct(new, 50) / n, 100.0 * pct(new, 50) * RATE_HZ / 1000.0])
    header = ["people per array", "rclpy + one by one p50", "p95", "wire + together p50", "p95", "speed-up (p50)",
              "us per person", "share of one core at 30 Hz %"]
    return render(f"Intake of one SkeletonArray, bytes to buffered people (ms, {frames} messages each, no inference)",
                  header, rows)
