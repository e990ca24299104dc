"""Pose messages -> SkeletonFrames without a ROS graph: PoseArray, the Azure Kinect body tracker's MarkerArray and
SkeletonArray, built as rclpy messages the way their publishers fill them."""

from __future__ import annotations

import numpy as np
import pytest
from geometry_msgs.msg import Point, Pose, PoseArray
from motion_text_interfaces.msg import Skeleton, SkeletonArray
from visualization_msgs.msg import Marker, MarkerArray

from motion_text_node.errors import UserError
from motion_text_node.ros.conversions import (
    KINECT_JOINTS_PER_BODY,
    MAX_JOINTS,
    MAX_SKELETONS_PER_ARRAY,
    fill_skeleton_msg,
    kinect_markers_to_frames,
    pose_array_to_frame,
    skeleton_array_to_frames,
)

RNG = np.random.default_rng(3)


def _pose(p) -> Pose:
    pose = Pose()
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in p)
    return pose


def test_pose_array_keeps_order_stamp_and_frame() -> None:
    pos = RNG.normal(size=(17, 3)).astype(np.float32)
    msg = PoseArray(poses=[_pose(p) for p in pos])
    msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id = 12, 500_000_000, "camera"
    frame = pose_array_to_frame(msg, "me", "coco17", ["", ""], "y")
    np.testing.assert_array_equal(frame.positions, pos)
    assert (frame.stamp, frame.track_id, frame.skeleton_format, frame.up_axis, frame.frame_id) == \
        (12.5, "me", "coco17", "y", "camera")
    assert frame.joint_names == []  # the parameter's "" placeholders are not names
    with pytest.raises(UserError, match="empty skeleton"):
        pose_array_to_frame(PoseArray(), "me", "coco17", [], "")
    with pytest.raises(UserError, match="more than"):
        pose_array_to_frame(PoseArray(poses=[Pose()] * (MAX_JOINTS + 1)), "me", "custom", [], "")


def test_kinect_markers_become_one_kinect32_frame_per_body() -> None:
    """Marker id = body * 100 + joint, as the Azure Kinect ROS driver numbers them; a body with joints missing
    keeps them missing; ids beyond the 32 joints are not joints."""
    pos = {0: RNG.normal(size=(KINECT_JOINTS_PER_BODY, 3)), 3: RNG.normal(size=(KINECT_JOINTS_PER_BODY, 3))}
    markers = []
    for body, joints in pos.items():
        for j, p in enumerate(joints):
            if body == 3 and j in (8, 9):
                continue  # not tracked in this frame
            m = Marker(id=body * 100 + j, pose=_pose(p))
            m.header.stamp.sec, m.header.frame_id = 7, "depth_camera_link"
            markers.append(m)
    markers.append(Marker(id=3 * 100 + 60, pose=_pose((9.0, 9.0, 9.0))))  # not a joint
    frames = {f.track_id: f for f in kinect_markers_to_frames(MarkerArray(markers=markers))}
    assert sorted(frames) == ["body_0", "body_3"]
    np.testing.assert_allclose(frames["body_0"].positions, pos[0], atol=1e-6)
    assert np.isnan(frames["body_3"].positions[[8, 9]]).all() and np.isfinite(np.delete(
        frames["body_3"].positions, [8, 9], axis=0)).all()
    f = frames["body_0"]
    assert (f.skeleton_format, f.up_axis, f.stamp, f.frame_id) == ("kinect32", "-y", 7.0, "depth_camera_link")
    assert kinect_markers_to_frames(MarkerArray(markers=markers), "z")[0].up_axis == "z"
    with pytest.raises(UserError, match="without body joints"):
        kinect_markers_to_frames(MarkerArray(markers=[Marker(id=50)]))


def _skeleton(track: str, stamp: float = 0.0, frame_id: str = "") -> Skeleton:
    return fill_skeleton_msg(Skeleton(), Point, stamp, track, RNG.normal(size=(22, 3)), frame_id=frame_id)


def test_skeleton_array_fills_in_stamps_and_frames_and_rejects_entries_alone() -> None:
    broken = _skeleton("broken")
    broken.joint_names = ["a"]  # one name for 22 positions
    arr = SkeletonArray(skeletons=[_skeleton("a"), _skeleton("b", stamp=3.25, frame_id="own"), _skeleton(""),
                                   broken])
    arr.header.stamp.sec, arr.header.stamp.nanosec, arr.header.frame_id = 5, 250_000_000, "camera"
    frames, rejected = skeleton_array_to_frames(arr)
    assert [(f.track_id, f.stamp, f.frame_id) for f in frames] == [("a", 5.25, "camera"), ("b", 3.25, "own")]
    assert len(rejected) == 2 and "empty track_id" in rejected[0] and "1 joint_names for 22" in rejected[1]
    assert skeleton_array_to_frames(SkeletonArray()) == ([], [])  # nobody in view
    with pytest.raises(UserError, match="skeletons in one array"):
        skeleton_array_to_frames(SkeletonArray(skeletons=[Skeleton()] * (MAX_SKELETONS_PER_ARRAY + 1)))
