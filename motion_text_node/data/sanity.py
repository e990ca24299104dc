"""Checks that a loaded motion is a human body in metres (catches files in other units or broken rigs)."""

from __future__ import annotations

import numpy as np

from motion_text_node.errors import UserError
from motion_text_node.skeleton.adapt import to_canonical
from motion_text_node.skeleton.canonical import JOINT_INDEX
from motion_text_node.skeleton.motion import Motion

#: Plausible pelvis-to-neck distance of a person, metres (SMPL: 0.52; children and rough rigs go lower).
TORSO_RANGE_M = (0.2, 1.0)


def check_body_size(motion: Motion, where: str) -> Motion:
    """``motion`` unchanged when its torso (pelvis to neck, median over frames) is person-sized, else UserError.

    Works on partial skeletons too: the pelvis and neck are observed or imputed from the hips and shoulders.
    """
    torso = np.linalg.norm(motion.positions[:, JOINT_INDEX["neck"]] - motion.positions[:, JOINT_INDEX["pelvis"]],
                           axis=-1)
    size = float(np.median(torso)) if len(torso) else 0.0
    lo, hi = TORSO_RANGE_M
    if not (np.isfinite(size) and lo <= size <= hi):
        raise UserError(f"{where}: the body's torso is {size:.3g} m long, not {lo}-{hi} m: wrong length units "
                        "or a broken skeleton")
    return motion


def drop_settling_frames(motion: Motion, max_frames: int = 4, ratio: float = 3.0, min_speed: float = 2.0) -> Motion:
    """``motion`` without the leading frames that still blend out of an added T-pose.

    The cgspeed CMU conversions add a T-pose as frame 0 and take about three more frames to reach the capture:
    joints jump 0.1-0.2 m per frame. Leading frames (at most ``max_frames``) whose fastest joint moves faster than
    ``min_speed`` m/s and ``ratio`` times its median speed over the next quarter second are dropped.
    """
    step = np.linalg.norm(np.diff(motion.positions, axis=0), axis=-1).max(axis=1) * motion.fps
    ahead = step[max_frames:max_frames + max(4, int(0.25 * motion.fps))]
    if len(ahead) < 4:
        return motion
    limit = max(min_speed, ratio * float(np.median(ahead)))
    n = 0
    while n < max_frames and step[n] > limit:
        n += 1
    return motion.slice(n, motion.num_frames) if n else motion


def canonical_body(raw: Motion, where: str, skeleton_format: str | None = None, up_axis: str = "y") -> Motion:
    """A loaded file's motion on the canonical body, checked to be person-sized; errors name the file."""
    try:
        motion = to_canonical(raw.positions, raw.fps, raw.joint_names, skeleton_format=skeleton_format,
                              up_axis=up_axis)
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None
    return check_body_size(motion, where)
