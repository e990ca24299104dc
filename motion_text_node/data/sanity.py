"""Checks that a loaded motion is a human body in metres (catches files in other units or broken rigs)."""

from __future__ import annotations

import numpy as np

from motion_text_node.errors import UserError
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
