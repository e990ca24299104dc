"""What other sensors make of a motion: fewer joints, upper body only, a lower frame rate, joint jitter, a tilted
camera, joints that flicker out, left and right swapped for a few frames. The fixed ``VIEWS`` are the robustness
protocol of evaluation; ``random_sensor_effect`` draws the same kinds of damage (with random strength) as a
training augmentation. Numpy only; canonical (T, 22, 3) input."""

from __future__ import annotations

import random

import numpy as np

from motion_text_node.skeleton.adapt import fill_unknown_frames, impute_missing
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS, JOINT_INDEX, MIRROR_INDEX
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


def tilt(motion: Motion, degrees: float = 10.0, roll_degrees: float = 0.0) -> Motion:
    """Seen by a camera pitched by ``degrees`` (about the horizontal x axis) and rolled by ``roll_degrees``
    (about y)."""
    a, b = np.deg2rad(degrees), np.deg2rad(roll_degrees)
    pitch = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]], dtype=np.float32)
    roll = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]], dtype=np.float32)
    return Motion(motion.positions @ (roll @ pitch).T, motion.joint_names, motion.fps, motion.valid)


def flicker(motion: Motion, rate: float = 0.05, seed: int = 0) -> Motion:
    """Joints lost in single frames (occlusion, low confidence): each joint-frame missing with probability
    ``rate``, re-imputed and flagged as the runtime does."""
    rng = np.random.default_rng(seed)
    pos, valid = motion.positions.copy(), motion.validity().copy()
    valid &= rng.random(valid.shape) >= rate
    valid[:, JOINT_INDEX["pelvis"]] = True  # the root is what trackers report last
    known = impute_missing(pos, valid)
    fill_unknown_frames(pos, known)
    return Motion(pos, CANONICAL_JOINTS, motion.fps, valid)


def side_swap_burst(motion: Motion, frames: int = 3, seed: int = 0) -> Motion:
    """Left and right joints exchanged for a burst of ``frames`` frames (a depth tracker confused by a turn)."""
    rng = np.random.default_rng(seed)
    pos = motion.positions.copy()
    if motion.num_frames > frames:
        s = int(rng.integers(0, motion.num_frames - frames + 1))
        pos[s:s + frames] = pos[s:s + frames][:, list(MIRROR_INDEX)]
    return Motion(pos, motion.joint_names, motion.fps, motion.valid)


def random_sensor_effect(motion: Motion, rng: random.Random) -> Motion:
    """One randomly chosen sensor effect of random strength (training augmentation)."""
    seed = rng.randrange(2**31)
    kind = rng.choice(("15 joints", "upper body", "jitter", "tilt", "flicker", "swap"))
    if kind == "15 joints":
        return fifteen_joints(motion)
    if kind == "upper body":
        return upper_body(motion)
    if kind == "jitter":
        return jitter(motion, sigma_m=rng.uniform(0.005, 0.025), seed=seed)
    if kind == "tilt":
        return tilt(motion, rng.uniform(-12.0, 12.0), rng.uniform(-5.0, 5.0))
    if kind == "flicker":
        return flicker(motion, rate=rng.uniform(0.02, 0.1), seed=seed)
    return side_swap_burst(motion, frames=rng.randint(1, 4), seed=seed)


#: Named views for the robustness protocol.
VIEWS = {
    "15 joints": fifteen_joints,
    "upper body only": upper_body,
    "15 fps": lower_rate,
    "jitter 1.5 cm": jitter,
    "camera tilt 10 deg": tilt,
}
