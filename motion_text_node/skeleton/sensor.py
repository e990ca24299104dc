"""What other sensors make of a motion: fewer joints, upper body only, a lower frame rate, joint jitter, a tilted
camera. Used as robustness views in evaluation (and as augmentation). Numpy only; canonical (T, 22, 3) input."""

from __future__ import annotations

import numpy as np

from motion_text_node.skeleton.adapt import fill_unknown_frames, impute_missing
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS, JOINT_INDEX
from motion_text_node.skeleton.motion import Motion
from motion_text_node.skeleton.resample import resample_motion

#: Joints a 15-joint tracker (OpenNI/NiTE-style: head, neck, torso, shoulders, elbows, hands, hips, knees, feet)
#: does not deliver; they are imputed from the others and flagged, as the runtime does.
MISSING_IN_15 = ("spine1", "spine3", "left_collar", "right_collar", "left_foot", "right_foot", "neck")
LEGS = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_foot", "right_foot")


def without_joints(motion: Motion, names: tuple[str, ...]) -> Motion:
    """The motion as a sensor without ``names`` would deliver it: those joints re-imputed and flagged missing."""
    pos, valid = motion.positions.copy(), motion.validity().copy()
    valid[:, [JOINT_INDEX[n] for n in names]] = False
    known = impute_missing(pos, valid)
    fill_unknown_frames(pos, known)
    return Motion(pos, CANONICAL_JOINTS, motion.fps, valid)


def fifteen_joints(motion: Motion) -> Motion:
    """A 15-joint skeleton (no collars, feet or separate spine joints)."""
    return without_joints(motion, MISSING_IN_15)


def upper_body(motion: Motion) -> Motion:
    """Upper body only (a desk-height camera, a seated user): no hips, legs or feet."""
    return without_joints(motion, LEGS)


def lower_rate(motion: Motion, fps: float = 15.0) -> Motion:
    """Captured at ``fps`` and brought back to the motion's own rate (detail between frames lost)."""
    return resample_motion(resample_motion(motion, fps), motion.fps)


def jitter(motion: Motion, sigma_m: float = 0.015, seed: int = 0) -> Motion:
    """Depth-sensor-like noise: independent Gaussian jitter per joint and frame (Kinect: about 1-2 cm)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, sigma_m, motion.positions.shape).astype(np.float32)
    return Motion(motion.positions + noise, motion.joint_names, motion.fps, motion.valid)


def tilt(motion: Motion, degrees: float = 10.0) -> Motion:
    """Seen by a camera pitched by ``degrees``: the whole motion rotated about the horizontal x axis."""
    a = np.deg2rad(degrees)
    rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]], dtype=np.float32)
    return Motion(motion.positions @ rot.T, motion.joint_names, motion.fps, motion.valid)


#: Named views for the robustness protocol.
VIEWS = {
    "15 joints": fifteen_joints,
    "upper body only": upper_body,
    "15 fps": lower_rate,
    "jitter 1.5 cm": jitter,
    "camera tilt 10 deg": tilt,
}
