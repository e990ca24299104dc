"""The one in-memory motion representation: joint positions over time, with per-frame validity."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from motion_text_node.errors import UserError

#: The longest motion accepted from a file or a message (10 minutes; real clips last seconds to about a minute). A
#: wrong frame rate or time stamp (fps 1e-3, ``Frame Time: 100``) makes a few frames last hours, and resampling them
#: would allocate millions of frames: such a motion is refused before anything is allocated.
MAX_MOTION_SECONDS = 600.0


def check_duration(seconds: float, what: str = "motion") -> float:
    """``seconds`` when it is a finite length of at most ``MAX_MOTION_SECONDS``; else one UserError line that says
    the limit (``what`` names the motion: a file, "the frames", ...)."""
    if not math.isfinite(seconds) or seconds > MAX_MOTION_SECONDS:
        raise UserError(f"{what} lasts {seconds:.4g} s, longer than the limit of {MAX_MOTION_SECONDS:g} s "
                        f"(MAX_MOTION_SECONDS, 10 minutes): check its frame rate or time stamps")
    return seconds


@dataclass
class Motion:
    """Joint positions over time.

    Attributes:
        positions: (T, J, 3) float32, metres. Canonical motions are z up (see ``skeleton.formats``).
        joint_names: J names, in the order of ``positions``' second axis.
        fps: frames per second.
        valid: (T, J) bool, False where a joint was not observed (missing, NaN, zero confidence) and its
            position was imputed. None means every joint was observed in every frame.
    """

    positions: np.ndarray
    joint_names: tuple[str, ...]
    fps: float
    valid: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        self.positions = np.asarray(self.positions, dtype=np.float32)
        self.joint_names = tuple(self.joint_names)
        if self.positions.ndim != 3 or self.positions.shape[2] != 3:
            raise ValueError(f"positions must be (T, J, 3), got {self.positions.shape}")
        if self.positions.shape[1] != len(self.joint_names):
            raise ValueError(f"{self.positions.shape[1]} joints in positions but {len(self.joint_names)} names")
        if not self.fps > 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.valid is not None:
            self.valid = np.asarray(self.valid, dtype=bool)
            if self.valid.shape != self.positions.shape[:2]:
                raise ValueError(f"valid must be {self.positions.shape[:2]}, got {self.valid.shape}")

    @property
    def num_frames(self) -> int:
        """Number of frames T."""
        return int(self.positions.shape[0])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_frames / self.fps

    def validity(self) -> np.ndarray:
        """(T, J) bool validity, all True when ``valid`` is None."""
        if self.valid is None:
            return np.ones(self.positions.shape[:2], dtype=bool)
        return self.valid

    def slice(self, start: int, stop: int) -> Motion:
        """Frames ``start:stop`` as a new Motion."""
        valid = None if self.valid is None else self.valid[start:stop]
        return Motion(self.positions[start:stop], self.joint_names, self.fps, valid)
