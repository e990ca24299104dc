"""Skeleton messages <-> arrays. Duck-typed: works on rclpy messages and on rosbags' message classes alike.

No rclpy import here, so bag tools and tests use it without a ROS graph.
"""

from __future__ import annotations

import numpy as np

from motion_text_node.errors import UserError
from motion_text_node.skeleton.frame import SkeletonFrame

#: Largest joint count a message may carry (rejects absurd messages before allocating for them).
MAX_JOINTS = 256


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
    if isinstance(msg.positions, np.ndarray):  # decoded from the wire by ros.skeleton_wire: (n, 3) already
        pos = msg.positions.astype(np.float32)
    else:
        pos = np.array([(p.x, p.y, p.z) for p in msg.positions], dtype=np.float32)
    return SkeletonFrame(stamp_to_sec(msg.header.stamp), str(msg.track_id), str(msg.skeleton_format or "custom"),
                         names, pos, conf, str(msg.up_axis or ""), str(msg.header.frame_id))


#: Most skeletons one SkeletonArray may carry (a message beyond it is rejected whole, before any conversion).
MAX_SKELETONS_PER_ARRAY = 1000
#: Joints per body in the Azure Kinect body tracker's MarkerArray (marker id = body * 100 + joint).
KINECT_JOINTS_PER_BODY = 32


def skeleton_array_to_frames(msg) -> tuple[list[SkeletonFrame], list[str]]:
    """A SkeletonArray's people as frames, and the reasons its unusable entries were rejected (the others still
    count). A skeleton with a zero stamp or an empty frame_id takes the array's; an empty track_id is rejected.
    UserError for an array of more than MAX_SKELETONS_PER_ARRAY skeletons (nothing of it is used)."""
    if len(msg.skeletons) > MAX_SKELETONS_PER_ARRAY:
        raise UserError(f"{len(msg.skeletons)} skeletons in one array is more than the {MAX_SKELETONS_PER_ARRAY} "
                        "an array may have")
    array_stamp = stamp_to_sec(msg.header.stamp)
    frames, rejected = [], []
    for skel in msg.skeletons:
        if not skel.track_id:
            rejected.append("empty track_id in a skeleton array (people of one frame need their own ids)")
            continue
        try:
            frame = skeleton_msg_to_frame(skel)
        except UserError as exc:
            rejected.append(str(exc))
            continue
        if frame.stamp == 0.0:
            frame.stamp = array_stamp
        frame.frame_id = frame.frame_id or str(msg.header.frame_id)
        frames.append(frame)
    return frames, rejected


def pose_array_to_frame(msg, track_id: str, skeleton_format: str, joint_names: list[str],
                        up_axis: str) -> SkeletonFrame:
    """A geometry_msgs/PoseArray (one pose per joint, positions only) as a frame of the given format; UserError
    for an empty or oversized one."""
    if not msg.poses:
        raise UserError("empty skeleton (no positions)")
    if len(msg.poses) > MAX_JOINTS:
        raise UserError(f"{len(msg.poses)} joints is more than the {MAX_JOINTS} a skeleton may have")
    pos = np.array([(p.position.x, p.position.y, p.position.z) for p in msg.poses], dtype=np.float32)
    return SkeletonFrame(stamp_to_sec(msg.header.stamp), track_id, skeleton_format, [n for n in joint_names if n],
                         pos, None, up_axis, str(msg.header.frame_id))


def kinect_markers_to_frames(msg, up_axis: str = "") -> list[SkeletonFrame]:
    """The Azure Kinect body tracker's visualization MarkerArray (marker id = body * 100 + joint) as one kinect32
    frame per body (track ``body_<n>``; joints without a marker are missing); UserError when it holds no joint."""
    bodies: dict[int, dict] = {}
    for m in msg.markers:
        body, joint = divmod(int(m.id), 100)
        if joint >= KINECT_JOINTS_PER_BODY:
            continue
        b = bodies.setdefault(body, {"pos": np.full((KINECT_JOINTS_PER_BODY, 3), np.nan, np.float32),
                                     "stamp": stamp_to_sec(m.header.stamp), "frame": str(m.header.frame_id)})
        b["pos"][joint] = (m.pose.position.x, m.pose.position.y, m.pose.position.z)
    if not bodies:
        raise UserError("marker array without body joints")
    return [SkeletonFrame(b["stamp"], f"body_{body}", "kinect32", [], b["pos"], None, up_axis or "-y", b["frame"])
            for body, b in bodies.items()]


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


def fill_label_msg(msg, result, stamp=None):
    """Fill an ActionLabel message (rclpy or rosbags class) from a recognition result (``runtime.stream``);
    ``stamp`` (a builtin_interfaces/Time, or None to leave it) is the header stamp."""
    if stamp is not None:
        msg.header.stamp = stamp
    msg.header.frame_id = result.frame_id
    msg.track_id, msg.label, msg.score = result.track_id, result.label, result.score
    msg.top_labels, msg.top_scores = result.top_labels, result.top_scores
    msg.window_start.sec, msg.window_start.nanosec = sec_to_stamp_fields(result.window_start)
    msg.window_end.sec, msg.window_end.nanosec = sec_to_stamp_fields(result.window_end)
    return msg
