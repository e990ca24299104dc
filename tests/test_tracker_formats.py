"""Body trackers' own skeletons: ZED BODY_18/34/38, Nuitrack and OpenPose BODY_25, through a Skeleton message.

Every frame here is made from one standing person described anatomically in their own body frame (x forward, y to
their left, z up; metres) and placed 2.5 m in front of the sensor, facing it, with the sensor 1.2 m above the
floor. Each format's frame is then written the way its tracker delivers it: ZED in the REP-103 camera frame the ZED
ROS 2 wrapper publishes (x forward, y left, z up), OpenPose in the camera optical frame (x right, y down, z
forward), Nuitrack in its own millimetre frame (x to the sensor's right, y up, z away from it) converted by the
bridge that ``formats.NUITRACK19`` documents. The frames are converted exactly as a user's messages are
(``skeleton_msg_to_frame`` then ``to_canonical`` with the message's fields, as ``StreamRecognizer.add_frame``
does), so the canonical body comes out in the sensor's REP-103 frame: the person stands at x = 2.5 facing -x, and
their own left is the sensor's right (-y).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from motion_text_node.ros.conversions import skeleton_msg_to_frame
from motion_text_node.skeleton.adapt import UP_AXIS_ROTATIONS, to_canonical
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
from motion_text_node.skeleton.canonical import JOINT_INDEX as J
from motion_text_node.skeleton.formats import get_format
from motion_text_node.skeleton.normalize import facing_angle

DISTANCE, SENSOR_HEIGHT = 2.5, 1.2

#: Midline points of a standing adult (body frame, metres; SMPL-like heights, feet on z = 0).
MIDLINE = {
    "pelvis": (0.0, 0.0, 0.93), "spine1": (0.0, 0.0, 1.03), "navel": (0.02, 0.0, 1.08), "spine2": (0.0, 0.0, 1.17),
    "spine3": (0.0, 0.0, 1.23), "chest": (0.0, 0.0, 1.25), "sternum": (0.0, 0.0, 1.40), "neck": (0.0, 0.0, 1.44),
    "head": (0.0, 0.0, 1.53), "nose": (0.10, 0.0, 1.58),
}
#: The person's left side; the right side mirrors it (y -> -y).
LEFT_SIDE = {
    "hip": (0.0, 0.08, 0.85), "knee": (0.0, 0.08, 0.47), "ankle": (0.0, 0.08, 0.08), "foot": (0.13, 0.08, 0.02),
    "heel": (-0.05, 0.08, 0.02), "big_toe": (0.18, 0.06, 0.02), "small_toe": (0.15, 0.11, 0.02),
    "collar": (0.0, 0.08, 1.36), "shoulder": (0.0, 0.18, 1.40), "elbow": (0.0, 0.20, 1.14), "wrist": (0.0, 0.21, 0.89),
    "hand": (0.0, 0.21, 0.81), "handtip": (0.0, 0.21, 0.72), "thumb": (0.04, 0.19, 0.82),
    "thumb_tip": (0.05, 0.19, 0.78), "index_base": (0.02, 0.21, 0.80), "middle_tip": (0.0, 0.21, 0.71),
    "pinky_base": (-0.02, 0.22, 0.80), "eye": (0.08, 0.03, 1.62), "ear": (0.0, 0.075, 1.58),
}
#: The left arm raised straight overhead (the left side only).
LEFT_ARM_UP = {
    "elbow": (0.0, 0.21, 1.66), "wrist": (0.0, 0.22, 1.91), "hand": (0.0, 0.22, 1.99), "handtip": (0.0, 0.22, 2.08),
    "thumb": (0.04, 0.20, 1.97), "thumb_tip": (0.05, 0.20, 2.01), "index_base": (0.02, 0.22, 2.00),
    "middle_tip": (0.0, 0.22, 2.09), "pinky_base": (-0.02, 0.23, 2.00),
}


def body(left_arm_up: bool = False) -> dict[str, np.ndarray]:
    """Anatomical points in the person's body frame."""
    left = {**LEFT_SIDE, **(LEFT_ARM_UP if left_arm_up else {})}
    points = {name: np.array(p) for name, p in MIDLINE.items()}
    for name, (x, y, z) in left.items():
        points[f"left_{name}"] = np.array((x, y, z))
    for name, (x, y, z) in LEFT_SIDE.items():
        points[f"right_{name}"] = np.array((x, -y, z))
    return points


def sensor_ros(p: np.ndarray) -> np.ndarray:
    """Body frame -> the sensor's REP-103 frame: the person faces the sensor (their forward is its -x, their
    left its -y)."""
    return np.array((DISTANCE - p[0], -p[1], p[2] - SENSOR_HEIGHT))


def optical_from_ros(p: np.ndarray) -> np.ndarray:
    """REP-103 camera frame -> camera optical frame (x right, y down, z forward)."""
    return np.array((-p[1], -p[2], p[0]))


def nuitrack_native_from_ros(p: np.ndarray) -> np.ndarray:
    """REP-103 sensor frame -> Nuitrack's Joint.real: millimetres, x to the sensor's right, y up, z away from it."""
    return np.array((-p[1], p[2], p[0])) * 1000.0


def nuitrack_bridge(real_mm: np.ndarray) -> np.ndarray:
    """What a Nuitrack bridge publishes, as ``formats.NUITRACK19`` documents it: x = z, y = -x, z = y, metres."""
    return np.array((real_mm[2], -real_mm[0], real_mm[1])) / 1000.0


def lr(prefix_left: str, prefix_right: str, suffix: str, point: str) -> list[tuple[str, str]]:
    return [(f"{prefix_left}{suffix}", f"left_{point}"), (f"{prefix_right}{suffix}", f"right_{point}")]


#: Each format's joints in the vendor's order, with the anatomical point each one tracks (None: a slot the
#: vendor leaves unused). Orders as the vendors declare them: ZED SDK BODY_18/34/38_PARTS (zed-python-api
#: sl_c.pxd), Nuitrack JointType 1..24 (nuitrack/types/Skeleton.h), OpenPose POSE_BODY_25_BODY_PARTS 0..24
#: (poseParameters.cpp).
TABLES: dict[str, list[tuple[str, str | None]]] = {
    "zed18": [
        ("NOSE", "nose"), ("NECK", "neck"), ("RIGHT_SHOULDER", "right_shoulder"), ("RIGHT_ELBOW", "right_elbow"),
        ("RIGHT_WRIST", "right_wrist"), ("LEFT_SHOULDER", "left_shoulder"), ("LEFT_ELBOW", "left_elbow"),
        ("LEFT_WRIST", "left_wrist"), ("RIGHT_HIP", "right_hip"), ("RIGHT_KNEE", "right_knee"),
        ("RIGHT_ANKLE", "right_ankle"), ("LEFT_HIP", "left_hip"), ("LEFT_KNEE", "left_knee"),
        ("LEFT_ANKLE", "left_ankle"), ("RIGHT_EYE", "right_eye"), ("LEFT_EYE", "left_eye"),
        ("RIGHT_EAR", "right_ear"), ("LEFT_EAR", "left_ear"),
    ],
    "zed34": [
        ("PELVIS", "pelvis"), ("NAVAL_SPINE", "navel"), ("CHEST_SPINE", "chest"), ("NECK", "neck"),
        ("LEFT_CLAVICLE", "left_collar"), ("LEFT_SHOULDER", "left_shoulder"), ("LEFT_ELBOW", "left_elbow"),
        ("LEFT_WRIST", "left_wrist"), ("LEFT_HAND", "left_hand"), ("LEFT_HANDTIP", "left_handtip"),
        ("LEFT_THUMB", "left_thumb"), ("RIGHT_CLAVICLE", "right_collar"), ("RIGHT_SHOULDER", "right_shoulder"),
        ("RIGHT_ELBOW", "right_elbow"), ("RIGHT_WRIST", "right_wrist"), ("RIGHT_HAND", "right_hand"),
        ("RIGHT_HANDTIP", "right_handtip"), ("RIGHT_THUMB", "right_thumb"), ("LEFT_HIP", "left_hip"),
        ("LEFT_KNEE", "left_knee"), ("LEFT_ANKLE", "left_ankle"), ("LEFT_FOOT", "left_foot"),
        ("RIGHT_HIP", "right_hip"), ("RIGHT_KNEE", "right_knee"), ("RIGHT_ANKLE", "right_ankle"),
        ("RIGHT_FOOT", "right_foot"), ("HEAD", "head"), ("NOSE", "nose"), ("LEFT_EYE", "left_eye"),
        ("LEFT_EAR", "left_ear"), ("RIGHT_EYE", "right_eye"), ("RIGHT_EAR", "right_ear"), ("LEFT_HEEL", "left_heel"),
        ("RIGHT_HEEL", "right_heel"),
    ],
    "zed38": [
        ("PELVIS", "pelvis"), ("SPINE_1", "spine1"), ("SPINE_2", "spine2"), ("SPINE_3", "spine3"), ("NECK", "neck"),
        ("NOSE", "nose"), *lr("LEFT_", "RIGHT_", "EYE", "eye"), *lr("LEFT_", "RIGHT_", "EAR", "ear"),
        *lr("LEFT_", "RIGHT_", "CLAVICLE", "collar"), *lr("LEFT_", "RIGHT_", "SHOULDER", "shoulder"),
        *lr("LEFT_", "RIGHT_", "ELBOW", "elbow"), *lr("LEFT_", "RIGHT_", "WRIST", "wrist"),
        *lr("LEFT_", "RIGHT_", "HIP", "hip"), *lr("LEFT_", "RIGHT_", "KNEE", "knee"),
        *lr("LEFT_", "RIGHT_", "ANKLE", "ankle"), *lr("LEFT_", "RIGHT_", "BIG_TOE", "big_toe"),
        *lr("LEFT_", "RIGHT_", "SMALL_TOE", "small_toe"), *lr("LEFT_", "RIGHT_", "HEEL", "heel"),
        *lr("LEFT_", "RIGHT_", "HAND_THUMB_4", "thumb_tip"), *lr("LEFT_", "RIGHT_", "HAND_INDEX_1", "index_base"),
        *lr("LEFT_", "RIGHT_", "HAND_MIDDLE_4", "middle_tip"), *lr("LEFT_", "RIGHT_", "HAND_PINKY_1", "pinky_base"),
    ],
    # The SDK's Unity sample: "Right and left collars are currently located at the same point".
    "nuitrack19": [
        ("JOINT_HEAD", "head"), ("JOINT_NECK", "neck"), ("JOINT_TORSO", "spine2"), ("JOINT_WAIST", "pelvis"),
        ("JOINT_LEFT_COLLAR", "sternum"), ("JOINT_LEFT_SHOULDER", "left_shoulder"),
        ("JOINT_LEFT_ELBOW", "left_elbow"), ("JOINT_LEFT_WRIST", "left_wrist"), ("JOINT_LEFT_HAND", "left_hand"),
        ("JOINT_LEFT_FINGERTIP", None), ("JOINT_RIGHT_COLLAR", "sternum"), ("JOINT_RIGHT_SHOULDER", "right_shoulder"),
        ("JOINT_RIGHT_ELBOW", "right_elbow"), ("JOINT_RIGHT_WRIST", "right_wrist"), ("JOINT_RIGHT_HAND", "right_hand"),
        ("JOINT_RIGHT_FINGERTIP", None), ("JOINT_LEFT_HIP", "left_hip"), ("JOINT_LEFT_KNEE", "left_knee"),
        ("JOINT_LEFT_ANKLE", "left_ankle"), ("JOINT_LEFT_FOOT", None), ("JOINT_RIGHT_HIP", "right_hip"),
        ("JOINT_RIGHT_KNEE", "right_knee"), ("JOINT_RIGHT_ANKLE", "right_ankle"), ("JOINT_RIGHT_FOOT", None),
    ],
    # OpenPose's neck keypoint is the shoulder centre.
    "openpose25": [
        ("Nose", "nose"), ("Neck", "sternum"), ("RShoulder", "right_shoulder"), ("RElbow", "right_elbow"),
        ("RWrist", "right_wrist"), ("LShoulder", "left_shoulder"), ("LElbow", "left_elbow"), ("LWrist", "left_wrist"),
        ("MidHip", "pelvis"), ("RHip", "right_hip"), ("RKnee", "right_knee"), ("RAnkle", "right_ankle"),
        ("LHip", "left_hip"), ("LKnee", "left_knee"), ("LAnkle", "left_ankle"), ("REye", "right_eye"),
        ("LEye", "left_eye"), ("REar", "right_ear"), ("LEar", "left_ear"), ("LBigToe", "left_big_toe"),
        ("LSmallToe", "left_small_toe"), ("LHeel", "left_heel"), ("RBigToe", "right_big_toe"),
        ("RSmallToe", "right_small_toe"), ("RHeel", "right_heel"),
    ],
}
FORMAT_NAMES = sorted(TABLES)

#: How each tracker's frame is written: ZED as its ROS 2 wrapper publishes, OpenPose lifted into the optical frame,
#: Nuitrack's own coordinates through the documented bridge.
WRITE = {
    "zed18": sensor_ros, "zed34": sensor_ros, "zed38": sensor_ros,
    "openpose25": lambda p: optical_from_ros(sensor_ros(p)),
    "nuitrack19": lambda p: nuitrack_bridge(nuitrack_native_from_ros(sensor_ros(p))),
}


def make_frame(fmt: str, left_arm_up: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(J, 3) positions in the format's order and convention, and (J,) confidences (0 for unused slots, whose
    positions are zeros as Nuitrack leaves them)."""
    points = body(left_arm_up)
    pos = np.zeros((len(TABLES[fmt]), 3))
    conf = np.ones(len(TABLES[fmt]), dtype=np.float32)
    for i, (_, point) in enumerate(TABLES[fmt]):
        if point is None:
            conf[i] = 0.0
        else:
            pos[i] = WRITE[fmt](points[point])
    return pos, conf


def message(fmt: str, positions: np.ndarray, confidences=None, up_axis: str = "") -> SimpleNamespace:
    """A Skeleton message (duck-typed, as rosbags and the fuzzer build them) with no joint_names."""
    return SimpleNamespace(
        header=SimpleNamespace(stamp=SimpleNamespace(sec=100, nanosec=0), frame_id="sensor"), track_id="person",
        skeleton_format=fmt, joint_names=[],
        positions=[SimpleNamespace(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in positions],
        confidences=[] if confidences is None else [float(c) for c in confidences], up_axis=up_axis,
    )


def convert(msg):
    """The path of a user's message: Skeleton -> SkeletonFrame -> canonical body (StreamRecognizer.add_frame)."""
    frame = skeleton_msg_to_frame(msg)
    return to_canonical(frame.positions, 30.0, frame.joint_names or None, frame.skeleton_format,
                        frame.up_axis or None, frame.confidences)


def truth(name: str, left_arm_up: bool = False) -> np.ndarray:
    """Where a canonical joint really is, in the sensor's REP-103 frame."""
    return sensor_ros(body(left_arm_up)[name])


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_joint_order_and_names_are_the_vendors(fmt) -> None:
    names = get_format(fmt).joint_names
    assert names == tuple(name for name, _ in TABLES[fmt])
    assert len(names) == {"zed18": 18, "zed34": 34, "zed38": 38, "nuitrack19": 24, "openpose25": 25}[fmt]
    # Spot checks against the vendors' indices.
    index = {
        "zed18": {0: "NOSE", 1: "NECK", 7: "LEFT_WRIST", 17: "LEFT_EAR"},
        "zed34": {0: "PELVIS", 7: "LEFT_WRIST", 14: "RIGHT_WRIST", 26: "HEAD", 33: "RIGHT_HEEL"},
        "zed38": {4: "NECK", 16: "LEFT_WRIST", 17: "RIGHT_WRIST", 37: "RIGHT_HAND_PINKY_1"},
        # JointType value - 1 (JOINT_NONE = 0 is not sent): WAIST = 4, LEFT_WRIST = 8, RIGHT_FOOT = 24.
        "nuitrack19": {3: "JOINT_WAIST", 7: "JOINT_LEFT_WRIST", 23: "JOINT_RIGHT_FOOT"},
        "openpose25": {4: "RWrist", 7: "LWrist", 8: "MidHip", 24: "RHeel"},
    }[fmt]
    assert {i: names[i] for i in index} == index


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_a_standing_person_lands_on_the_canonical_body_facing_the_sensor(fmt) -> None:
    pos, conf = make_frame(fmt)
    m = convert(message(fmt, pos, conf))
    assert m.positions.shape == (1, 22, 3) and np.isfinite(m.positions).all()
    p, valid = m.positions[0], m.valid[0]
    err = {n: float(np.linalg.norm(p[J[n]] - truth(n))) for n in CANONICAL_JOINTS}
    observed = {n: e for n, e in err.items() if valid[J[n]]}
    assert max(observed.values()) < 0.10, observed
    assert max(err.values()) < 0.20, err
    # Up axis: the head is well above the pelvis and the ankles below it, in the canonical z-up body.
    assert p[J["head"], 2] - p[J["pelvis"], 2] > 0.4
    assert p[J["left_ankle"], 2] < p[J["pelvis"], 2] - 0.6 and p[J["right_ankle"], 2] < p[J["pelvis"], 2] - 0.6
    # Handedness: the person faces the sensor (-x here) and their own left is the sensor's right (-y).
    assert np.cos(facing_angle(p)) < -0.95
    assert p[J["left_hip"], 1] < p[J["right_hip"], 1] and p[J["left_shoulder"], 1] < p[J["right_shoulder"], 1]


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_raising_only_the_left_arm_raises_the_canonical_left_wrist(fmt) -> None:
    pos, conf = make_frame(fmt, left_arm_up=True)
    m = convert(message(fmt, pos, conf))
    p = m.positions[0]
    assert m.valid[0, J["left_wrist"]] and m.valid[0, J["right_wrist"]]
    np.testing.assert_allclose(p[J["left_wrist"]], truth("left_wrist", left_arm_up=True), atol=1e-4)
    np.testing.assert_allclose(p[J["right_wrist"]], truth("right_wrist"), atol=1e-4)
    assert p[J["left_wrist"], 2] > p[J["head"], 2] + 0.2
    assert p[J["left_elbow"], 2] > p[J["left_shoulder"], 2] + 0.15
    assert p[J["right_wrist"], 2] < p[J["right_shoulder"], 2] - 0.3


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_the_up_axis_check_fails_when_the_axis_is_wrong(fmt) -> None:
    """The same frame declared with another up axis does not stand up: the checks above can fail."""
    pos, conf = make_frame(fmt)
    wrong = "y" if get_format(fmt).default_up_axis == "z" else "z"
    p = convert(message(fmt, pos, conf, up_axis=wrong)).positions[0]
    assert p[J["head"], 2] - p[J["pelvis"], 2] < 0.2


def test_nuitrack_coordinates_sent_without_the_bridge_come_out_mirrored() -> None:
    """Why the bridge is needed: Nuitrack's own frame is left-handed, so declaring its y as up (a proper rotation)
    turns the person to face away from the sensor while keeping their face towards it."""
    points = body()
    names = TABLES["nuitrack19"]
    raw = np.array([nuitrack_native_from_ros(sensor_ros(points[pt])) / 1000.0 if pt else np.zeros(3)
                    for _, pt in names])
    conf = [0.0 if pt is None else 1.0 for _, pt in names]
    p = convert(message("nuitrack19", raw, conf, up_axis="y")).positions[0]
    facing = facing_angle(p)
    towards_sensor = -p[J["pelvis"], :2] / np.linalg.norm(p[J["pelvis"], :2])  # the sensor is at the origin
    assert np.dot((np.cos(facing), np.sin(facing)), towards_sensor) < -0.95


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_missing_joints_are_imputed_and_flagged(fmt) -> None:
    missing = {
        "zed18": ["LEFT_ELBOW", "NECK"], "zed34": ["LEFT_ELBOW", "NECK", "NAVAL_SPINE"],
        "zed38": ["LEFT_ELBOW", "NECK", "SPINE_1"], "nuitrack19": ["JOINT_LEFT_ELBOW", "JOINT_NECK", "JOINT_TORSO"],
        "openpose25": ["LElbow", "Neck", "MidHip"],
    }[fmt]
    names = [n for n, _ in TABLES[fmt]]
    pos, conf = make_frame(fmt)
    pos[names.index(missing[0])] = np.nan  # a dropped joint
    for name in missing[1:]:
        conf[names.index(name)] = 0.0  # joints the tracker is not sure of
    m = convert(message(fmt, pos, conf))
    p, valid = m.positions[0], m.valid[0]
    assert np.isfinite(p).all()
    assert not valid[J["left_elbow"]]
    np.testing.assert_allclose(p[J["left_elbow"]], 0.5 * (p[J["left_shoulder"]] + p[J["left_wrist"]]), atol=1e-5)
    assert valid[J["left_wrist"]] and valid[J["head"]]
    assert p[J["head"], 2] - p[J["pelvis"], 2] > 0.4
    # Canonical joints a format never observes (ZED BODY_18 and Nuitrack have no usable feet) are imputed.
    no_feet = fmt in ("zed18", "nuitrack19")
    assert valid[J["left_foot"]] != no_feet and valid[J["right_foot"]] != no_feet
    if no_feet:
        np.testing.assert_allclose(p[J["left_foot"]], p[J["left_ankle"]])


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_joints_the_mapping_does_not_use_can_hold_anything(fmt) -> None:
    fmt_obj = get_format(fmt)
    used = {src for alts in fmt_obj.mapping.values() for alt in alts for src in alt}
    unused = [i for i, n in enumerate(fmt_obj.joint_names) if n not in used]
    assert unused, "every tracker has joints beyond the canonical body (face, hands, heels, ...)"
    pos, conf = make_frame(fmt)
    clean = convert(message(fmt, pos, conf))
    noisy = pos.copy()
    noisy[unused] = np.where(np.arange(len(unused))[:, None] % 2, np.nan, 7.5)
    m = convert(message(fmt, noisy, np.ones(len(pos))))
    np.testing.assert_array_equal(m.positions, clean.positions)
    np.testing.assert_array_equal(m.valid, clean.valid)


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_directly_mapped_joints_are_copied_exactly(fmt) -> None:
    """The suite-wide check of tests/test_skeleton.py (direct joints land exactly, in the format's own up axis),
    here on the made standing body: the new formats must pass it too."""
    fmt_obj = get_format(fmt)
    canon = np.stack([truth(n) for n in CANONICAL_JOINTS])[None].astype(np.float32)
    source = np.full((1, len(fmt_obj.joint_names), 3), np.nan, dtype=np.float32)
    index = {n: i for i, n in enumerate(fmt_obj.joint_names)}
    for canon_name, alts in fmt_obj.mapping.items():
        for alt in alts:
            if len(alt) == 1:
                (src,) = alt
                if np.isnan(source[:, index[src]]).all():
                    source[:, index[src]] = canon[:, J[canon_name]]
    for name, i in index.items():
        if np.isnan(source[:, i]).all():
            low = name.lower()
            anchor = "head" if any(k in low for k in ("eye", "ear", "nose", "mouth")) else (
                "left_wrist" if "left" in low else "right_wrist" if "right" in low else "pelvis")
            source[:, i] = canon[:, J[anchor]]
    m = to_canonical(source @ UP_AXIS_ROTATIONS[fmt_obj.default_up_axis], 30.0, skeleton_format=fmt)
    direct = [c for c, alts in fmt_obj.mapping.items() if len(alts[0]) == 1]
    assert len(direct) >= 12
    for name in direct:
        np.testing.assert_allclose(m.positions[:, J[name]], canon[:, J[name]], atol=1e-5, err_msg=name)
    assert m.valid[:, [J[n] for n in direct]].all()
