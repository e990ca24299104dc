"""Skeleton messages <-> arrays. Duck-typed: works on rclpy messages and on rosbags' message classes alike.

No rclpy import here, so bag tools and tests use it without a ROS graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_text_node.errors import UserError

#: Largest joint count a message may carry (rejects absurd messages before allocating for them).
MAX_JOINTS = 256


@dataclass
class SkeletonFrame:
    """One Skeleton message as arrays."""

    stamp: float  # seconds (header.stamp)
    track_id: str
    skeleton_format: str
    joint_names: list[str]
    positions: np.ndarray  # (J, 3) float32
    confidences: np.ndarray | None  # (J,) float32 or None
    up_axis: str
    frame_id: str = ""


def stamp_to_sec(stamp) -> float:
    """builtin_interfaces/Time -> float seconds."""
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


def sec_to_stamp_fields(t: float) -> tuple[int, int]:
    """Float seconds -> (sec, nanosec), nanosec in [0, 1e9)."""
    sec = int(np.floor(t))
    nanosec = int(round((t - sec) * 1e9))
    if nanosec >= 1_000_000_000:
        sec, nanosec = sec + 1, nanosec - 1_000_000_000
    return sec, nanosec


def skeleton_msg_to_frame(msg) -> SkeletonFrame:
    """Validate a Skeleton message and convert it; UserError (a reason to count) for anything malformed."""
    n = len(msg.positions)
    if n == 0:
        raise UserError("empty skeleton (no positions)")
    if n > MAX_JOINTS:
        raise UserError(f"{n} joints is more than the {MAX_JOINTS} a skeleton may have")
    names = list(msg.joint_names)
    if names and len(names) != n:
        raise UserError(f"{len(names)} joint_names for {n} positions")
    conf = np.asarray(msg.confidences, dtype=np.float32) if len(msg.confidences) else None
    if conf is not None and len(conf) != n:
        raise UserError(f"{len(conf)} confidences for {n} positions")
    pos = np.array([(p.x, p.y, p.z) for p in msg.positions], dtype=np.float32)
    return SkeletonFrame(stamp_to_sec(msg.header.stamp), str(msg.track_id), str(msg.skeleton_format or "custom"),
                         names, pos, conf, str(msg.up_axis or ""), str(msg.header.frame_id))


def fill_skeleton_msg(msg, point_type, stamp: float, track_id: str, positions: np.ndarray,
                      skeleton_format: str = "smpl22", joint_names: list[str] | None = None,
                      up_axis: str = "z", frame_id: str = "body", confidences: np.ndarray | None = None):
    """Fill a Skeleton message (rclpy or rosbags class) from arrays; ``point_type`` builds geometry_msgs/Point."""
    sec, nanosec = sec_to_stamp_fields(stamp)
    msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
    msg.header.frame_id = frame_id
    msg.track_id = track_id
    msg.skeleton_format = skeleton_format
    msg.joint_names = list(joint_names or [])
    msg.positions = [point_type(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in positions]
    msg.confidences = [] if confidences is None else [float(c) for c in confidences]
    msg.up_axis = up_axis
    return msg
