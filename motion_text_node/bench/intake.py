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


def stage_table(model_dir, counts=(1, 30, 240), seconds: float = 5.0, threads: int = 1) -> str:
    """Where the node's CPU goes per 30 Hz frame, stage by stage, without DDS: crowds of ``counts`` people in one
    SkeletonArray per frame (staggered schedules, as the node runs by default), each stage's mean ms per frame
    and its share of the 33 ms a frame lasts."""
    from motion_text_interfaces.msg import ActionLabel

    from motion_text_node.ros.conversions import fill_label_msg, skeleton_array_to_frames
    from motion_text_node.ros.skeleton_wire import decode_skeleton_array
    from motion_text_node.runtime.engine import MotionTextRuntime
    from motion_text_node.runtime.stream import ROUND_STAGES, StreamConfig, StreamRecognizer

    runtime = MotionTextRuntime(model_dir, library=None, providers="cpu", threads=threads)
    stages = ["decode", "intake", *ROUND_STAGES, "label messages"]
    per_frame: dict[int, dict[str, float]] = {}
    labels: dict[int, int] = {}
    for n in counts:
        messages = _serialized_arrays(n, round(seconds * RATE_HZ))
        rec = StreamRecognizer(runtime, StreamConfig(max_tracks=1000))
        spent = dict.fromkeys(("decode", "intake", *ROUND_STAGES, "label messages"), 0.0)
        labels[n] = 0
        for data in messages:
            t0 = time.perf_counter()
            frames, _ = skeleton_array_to_frames(decode_skeleton_array(data))
            t1 = time.perf_counter()
            rec.add_frames(frames)
            spent["decode"] += t1 - t0
            spent["intake"] += time.perf_counter() - t1
            while rec.due_count():
                results = rec.run_due()
                t2 = time.perf_counter()
                [fill_label_msg(ActionLabel(), r) for r in results]
                spent["label messages"] += time.perf_counter() - t2
                labels[n] += len(results)
            for k in ROUND_STAGES:  # the recognizer's own instrumentation, in ms per round
                spent[k] += sum(rec.stage_ms[k]) / 1000.0
                rec.stage_ms[k].clear()
        per_frame[n] = {k: 1000.0 * v / len(messages) for k, v in spent.items()}
    rows = [[stage, *(f"{per_frame[n][stage]:.3f} ({100 * per_frame[n][stage] * RATE_HZ / 1000:.1f} %)"
                      for n in counts)] for stage in stages]
    rows.append(["total", *(f"{sum(per_frame[n].values()):.3f} "
                            f"({100 * sum(per_frame[n].values()) * RATE_HZ / 1000:.1f} %)" for n in counts)])
    rows.append(["labels per second", *(f"{labels[n] / seconds:.0f}" for n in counts)])
    return render(f"Node CPU per 30 Hz frame by stage, without DDS (ms per frame, % of a frame; "
                  f"{threads} ORT thread(s), {seconds:g} s of one SkeletonArray per frame)",
                  ["stage", *(f"{n} people" for n in counts)], rows)
