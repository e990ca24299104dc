"""DeepMimic motion files and character files: joint positions by forward kinematics.

A character file (JSON) lists joints with ``Name``, ``Type`` (``none`` for the root, ``spherical``, ``revolute``,
``fixed``), ``Parent`` and the ``AttachX/Y/Z`` offset from the parent, in metres. A motion file (JSON) is
``{"Loop": ..., "Frames": [[duration, root x y z, root quaternion w x y z, then per non-root joint in file order:
a quaternion (spherical), one angle about the local z axis in radians (revolute), nothing (fixed)], ...]}``.
Positions: ``p_child = p_parent + R_parent @ attach_child``, ``R_child = R_parent @ R(q_child)``; y up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motion_text_node.errors import UserError
from motion_text_node.skeleton.motion import Motion

_WIDTH = {"none": 0, "spherical": 4, "revolute": 1, "fixed": 0}


@dataclass(frozen=True)
class Character:
    """A DeepMimic skeleton: joint names, parents, types and attach offsets (metres)."""

    names: tuple[str, ...]
    parents: tuple[int, ...]
    types: tuple[str, ...]
    offsets: np.ndarray  # (J, 3)

    @property
    def frame_width(self) -> int:
        """Numbers per motion frame: duration, root position and rotation, then the joints' channels."""
        return 1 + 3 + 4 + sum(_WIDTH[t] for t in self.types[1:])


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not a readable DeepMimic {what} ({exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a DeepMimic {what} (not a JSON object)")
    return data


def load_character(path: str | Path) -> Character:
    """Read a DeepMimic character file; UserError naming the problem when it is not one."""
    path = Path(path)
    data = _read_json(path, "character file")
    try:
        joints = sorted(data["Skeleton"]["Joints"], key=lambda j: int(j["ID"]))
        names = tuple(str(j["Name"]) for j in joints)
        parents = tuple(int(j["Parent"]) for j in joints)
        types = tuple(str(j["Type"]) for j in joints)
        offsets = np.array([[float(j["AttachX"]), float(j["AttachY"]), float(j["AttachZ"])] for j in joints])
        thetas = [float(j.get(k, 0.0)) for j in joints for k in ("AttachThetaX", "AttachThetaY", "AttachThetaZ")]
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: not a DeepMimic character file (missing or bad {exc})") from None
    if not joints or parents[0] != -1 or any(not (0 <= p < i) for i, p in enumerate(parents) if i):
        raise UserError(f"{path}: joints must start at the root and list parents before children")
    if unknown := sorted(set(types) - set(_WIDTH)):
        raise UserError(f"{path}: unknown joint type(s) {', '.join(unknown)}")
    if any(thetas):
        raise UserError(f"{path}: rotated attach frames (AttachTheta) are not supported")
    if not np.isfinite(offsets).all():
        raise UserError(f"{path}: non-finite attach offsets")
    return Character(names, parents, types, offsets)


def quaternion_matrices(q: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices of (..., 4) quaternions w x y z (normalized here)."""
    q = q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), 1e-12)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def _z_rotations(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    m = np.zeros(angle.shape + (3, 3))
    m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1], m[..., 2, 2] = c, -s, s, c, 1.0
    return m


def deepmimic_positions(frames: np.ndarray, character: Character) -> np.ndarray:
    """(T, J, 3) joint positions (metres, y up) of motion frames (T, frame_width)."""
    t = len(frames)
    rot = np.zeros((len(character.names), t, 3, 3))
    pos = np.zeros((t, len(character.names), 3))
    pos[:, 0] = frames[:, 1:4]
    rot[0] = quaternion_matrices(frames[:, 4:8])
    col = 8
    for j in range(1, len(character.names)):
        kind, parent = character.types[j], character.parents[j]
        if kind == "spherical":
            local = quaternion_matrices(frames[:, col:col + 4])
        elif kind == "revolute":
            local = _z_rotations(frames[:, col])
        else:
            local = np.broadcast_to(np.eye(3), (t, 3, 3))
        col += _WIDTH[kind]
        rot[j] = rot[parent] @ local
        pos[:, j] = pos[:, parent] + rot[parent] @ character.offsets[j]
    return pos


def load_deepmimic(path: str | Path, character: Character, fps: float | None = None) -> Motion:
    """A DeepMimic motion file as a Motion over the character's joints (metres, y up, file axes).

    Args:
        path: the motion file.
        character: its skeleton (``load_character``).
        fps: the true frame rate; by default from the first frame's duration (which some files get wrong).
    """
    path = Path(path)
    data = _read_json(path, "motion file")
    raw = data.get("Frames")
    if not isinstance(raw, list) or not raw:
        raise UserError(f"{path}: not a DeepMimic motion file (no 'Frames' list)")
    try:
        frames = np.array(raw, dtype=np.float64)
    except (ValueError, TypeError):
        raise UserError(f"{path}: frames must be equally long lists of numbers") from None
    if frames.ndim != 2 or frames.shape[1] != character.frame_width:
        raise UserError(f"{path}: frames of {frames.shape[1:] or '?'} numbers, the character needs "
                        f"{character.frame_width}")
    if not np.isfinite(frames).all():
        raise UserError(f"{path}: NaN or infinite value in the frames")
    rate = fps if fps is not None else (1.0 / frames[0, 0] if frames[0, 0] > 0 else 0.0)
    if not (np.isfinite(rate) and 1.0 <= rate <= 1000.0):
        raise UserError(f"{path}: frame rate {rate} is not plausible (give the true fps)")
    return Motion(deepmimic_positions(frames, character).astype(np.float32), character.names, float(rate))
