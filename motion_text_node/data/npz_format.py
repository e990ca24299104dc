"""The plain joint-position format: what users export from their own pose estimators.

An ``.npz`` with:

* ``positions``: float [T, J, 3], metres;
* ``joint_names``: str [J], canonical SMPL names (any subset) or known BVH names; optional when
  ``skeleton_format`` names a fixed joint order;
* ``fps``: scalar frame rate;
* ``up_axis``: ``'y'``, ``'z'`` or ``'-y'`` (optional: the format's default, ``'z'`` for custom);
* optional ``skeleton_format`` (``smpl22``, ``kinect32``, ``mediapipe33``, ``coco17``, ...), ``confidences``
  [T, J], ``text`` (description) and ``label`` (action label).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motion_text_node.checks import real_array
from motion_text_node.data.clip import Clip
from motion_text_node.data.npz_io import open_npz
from motion_text_node.errors import UserError
from motion_text_node.skeleton.adapt import to_canonical
from motion_text_node.skeleton.motion import Motion, check_duration

#: The arrays of the format (see the module docstring); other members of a file are not read.
FIELDS = ("positions", "joint_names", "fps", "up_axis", "skeleton_format", "confidences", "text", "label")


def _scalar_str(value: np.ndarray) -> str:
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError("expected a single string")
    item = value.reshape(()).item()
    return item.decode() if isinstance(item, bytes) else str(item)


def load_npz_clip(path: str | Path) -> Clip:
    """Read a joint-position ``.npz`` as a canonical clip; one clear UserError for anything malformed."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    with open_npz(path) as data:  # only the fields of the format are read; other members are left alone
        arrays = {k: data[k] for k in FIELDS if k in data}
    if "positions" not in arrays:
        raise UserError(f"{path}: no 'positions' array (expected float [T, J, 3] in metres)")
    if "fps" not in arrays:
        raise UserError(f"{path}: no 'fps' value")
    try:
        fps = float(np.asarray(arrays["fps"]).reshape(()))
    except (TypeError, ValueError):
        raise UserError(f"{path}: 'fps' must be one number") from None
    if not np.isfinite(fps) or fps <= 0:
        raise UserError(f"{path}: fps must be positive, got {fps}")
    positions = arrays["positions"]
    if not real_array(positions):
        raise UserError(f"{path}: positions must be real numbers, got {positions.dtype}")
    confidences = arrays.get("confidences")
    if confidences is not None and not (np.issubdtype(confidences.dtype, np.number) or confidences.dtype == bool):
        raise UserError(f"{path}: confidences must be numbers, got {confidences.dtype}")
    frames = positions.shape[0] if positions.ndim == 3 else 1  # (J, 3) is one frame
    check_duration(frames / fps, f"{path}: {frames} frames at {fps:g} fps")  # before anything is resampled
    try:
        names = [str(n) for n in np.atleast_1d(arrays["joint_names"]).tolist()] if "joint_names" in arrays else None
        fmt = _scalar_str(arrays["skeleton_format"]) if "skeleton_format" in arrays else None
        up = _scalar_str(arrays["up_axis"]) if "up_axis" in arrays else None
        text = _scalar_str(arrays["text"]) if "text" in arrays else ""
        label = _scalar_str(arrays["label"]) if "label" in arrays else ""
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: bad metadata field ({exc})") from None
    try:
        motion = to_canonical(positions, fps, names, fmt, up, confidences)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None
    return Clip(path.stem, motion, [text] if text else [], label=label, path=str(path))


def save_npz_clip(path: str | Path, motion: Motion, text: str = "", label: str = "", up_axis: str = "z") -> Path:
    """Write a motion in the plain format (the inverse of ``load_npz_clip`` for canonical motions)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {"text": np.array(text)} if text else {}
    if label:
        extra["label"] = np.array(label)
    np.savez_compressed(path, positions=motion.positions, joint_names=np.array(motion.joint_names),
                        fps=np.float32(motion.fps), up_axis=np.array(up_axis), **extra)
    return path
