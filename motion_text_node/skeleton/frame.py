"""One skeleton of one person at one instant, as arrays: what every pose source (Skeleton messages, bags, PoseArray,
Kinect markers) is turned into before the stream recognizer or the retrieval node sees it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SkeletonFrame:
    """One person's joints at one capture time."""

    stamp: float  # seconds (capture time, e.g. header.stamp)
    track_id: str
    skeleton_format: str
    joint_names: list[str]
    positions: np.ndarray  # (J, 3) float32
    confidences: np.ndarray | None  # (J,) float32 or None
    up_axis: str
    frame_id: str = ""
