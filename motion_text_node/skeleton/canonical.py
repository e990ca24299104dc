"""The canonical body: the 22 SMPL body joints in SMPL order, metres, z up.

Every source skeleton is mapped onto this body (``formats``/``adapt``) before normalization, training
and recognition.
"""

from __future__ import annotations

import numpy as np

#: The 22 SMPL body joints, in SMPL order.
CANONICAL_JOINTS: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)

#: Parent of each canonical joint in the SMPL kinematic tree (-1 for the root).
CANONICAL_PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)

NUM_JOINTS = len(CANONICAL_JOINTS)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(CANONICAL_JOINTS)}

#: Index of each joint's left/right counterpart (itself for joints on the midline).
MIRROR_INDEX: tuple[int, ...] = tuple(
    JOINT_INDEX[n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")] for n in CANONICAL_JOINTS
)

#: Bone lengths (metres) of a mid-sized adult in SMPL proportions, indexed by child joint (0 for the root).
#: Retargeting rescales every bone to these so bodies from different sources look alike to the model.
CANONICAL_BONE_LENGTHS: np.ndarray = np.array(
    [
        0.0,    # pelvis (root)
        0.108,  # left_hip     <- pelvis (normalize.GIRDLE_OFFSETS)
        0.108,  # right_hip    <- pelvis
        0.11,   # spine1       <- pelvis
        0.38,   # left_knee    <- left_hip
        0.38,   # right_knee   <- right_hip
        0.14,   # spine2       <- spine1
        0.40,   # left_ankle   <- left_knee
        0.40,   # right_ankle  <- right_knee
        0.06,   # spine3       <- spine2
        0.14,   # left_foot    <- left_ankle
        0.14,   # right_foot   <- right_ankle
        0.21,   # neck         <- spine3
        0.136,  # left_collar  <- spine3 (normalize.GIRDLE_OFFSETS)
        0.136,  # right_collar <- spine3
        0.09,   # head         <- neck
        0.101,  # left_shoulder  <- left_collar (normalize.GIRDLE_OFFSETS)
        0.101,  # right_shoulder <- right_collar
        0.26,   # left_elbow   <- left_shoulder
        0.26,   # right_elbow  <- right_shoulder
        0.25,   # left_wrist   <- left_elbow
        0.25,   # right_wrist  <- right_elbow
    ],
    dtype=np.float32,
)

#: Bones (parent, child) for drawing stick figures.
CANONICAL_BONES: tuple[tuple[int, int], ...] = tuple(
    (p, c) for c, p in enumerate(CANONICAL_PARENTS) if p >= 0
)
