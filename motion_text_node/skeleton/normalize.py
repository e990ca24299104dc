"""Normalization of canonical motion windows into model features. One function, used by training and runtime.

Per window: optional retargeting to canonical bone lengths, floor at zero, facing direction canonicalized at
the window start (the person faces +x, their left is +y), root-relative joint positions, root trajectory,
velocities and the joint-validity mask. The parameters (``NormalizationConfig``) are saved with the model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from motion_text_node.checks import is_finite_number, is_int
from motion_text_node.errors import refuse_unknown_keys
from motion_text_node.skeleton.canonical import (
    CANONICAL_BONE_LENGTHS,
    CANONICAL_PARENTS,
    JOINT_INDEX,
    NUM_JOINTS,
)

NORMALIZATION_VERSION = 1


@dataclass(frozen=True)
class NormalizationConfig:
    """How windows become features; stored with a trained model and reproduced exactly at run time.

    Attributes:
        fps: model frame rate; motions are resampled to it first.
        window_frames: frames per model window.
        retarget: rescale bones to ``CANONICAL_BONE_LENGTHS`` (keeps directions) so bodies of different
            proportions look alike.
        velocities: append per-joint velocities (m/s).
        mask: append the per-joint validity mask (1 observed, 0 imputed).
        version: feature layout version.
    """

    fps: float = 30.0
    window_frames: int = 90
    retarget: bool = True
    velocities: bool = True
    mask: bool = True
    version: int = NORMALIZATION_VERSION

    @property
    def feature_dim(self) -> int:
        """Features per frame."""
        return NUM_JOINTS * 3 + 2 + (NUM_JOINTS * 3 if self.velocities else 0) + (NUM_JOINTS if self.mask else 0)

    def to_dict(self) -> dict:
        """Plain dict (for YAML/JSON metadata)."""
        return asdict(self)

    def check(self) -> None:
        """ValueError naming the first value a model cannot run with (fps, window length, feature flags)."""
        fps = self.fps
        if not (is_finite_number(fps) and 1.0 <= fps <= 1000.0):
            raise ValueError(f"normalization.fps must be a number in [1, 1000], got {fps!r}")
        frames = self.window_frames
        if not (is_int(frames) and 1 <= frames <= 10_000):
            raise ValueError(f"normalization.window_frames must be an integer in [1, 10000], got {frames!r}")
        for flag in ("retarget", "velocities", "mask"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"normalization.{flag} must be true or false")

    @classmethod
    def from_dict(cls, data: dict) -> NormalizationConfig:
        """Rebuild from ``to_dict`` output; unknown keys or another version raise ValueError."""
        refuse_unknown_keys(data, cls, "normalization")
        config = cls(**data)
        config.check()
        if config.version != NORMALIZATION_VERSION:
            raise ValueError(f"normalization version {config.version} is not supported (expected "
                             f"{NORMALIZATION_VERSION})")
        return config


#: Rest offsets (metres, in a body frame: x forward, y to the body's left, z up) of the joints that hang
#: rigidly off the torso, from SMPL's mean shape. Retargeting places them from these rather than from the
#: source's directions, because sources disagree most here (CMU's shoulders are 0.24 m apart, SMPL's 0.35).
GIRDLE_OFFSETS: dict[str, tuple[str, tuple[float, float, float]]] = {
    "left_hip": ("pelvis", (0.0, 0.06, -0.09)),
    "right_hip": ("pelvis", (0.0, -0.06, -0.09)),
    "left_collar": ("spine3", (0.0, 0.08, 0.11)),
    "right_collar": ("spine3", (0.0, -0.08, 0.11)),
    "left_shoulder": ("left_collar", (0.0, 0.095, 0.035)),
    "right_shoulder": ("right_collar", (0.0, -0.095, 0.035)),
}


def _body_frame(left: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotation whose columns are forward, left, up, from rough left and up vectors (T, 3)."""
    up = up / np.maximum(np.sqrt((up * up).sum(-1, keepdims=True)), 1e-9)
    left = left - (left * up).sum(-1, keepdims=True) * up
    left = left / np.maximum(np.sqrt((left * left).sum(-1, keepdims=True)), 1e-9)
    lx, ly, lz = left[..., 0], left[..., 1], left[..., 2]
    ux, uy, uz = up[..., 0], up[..., 1], up[..., 2]
    out = np.empty(left.shape + (3,), dtype=np.result_type(left, up))  # columns: forward = left x up, left, up
    out[..., 0, 0], out[..., 1, 0], out[..., 2, 0] = ly * uz - lz * uy, lz * ux - lx * uz, lx * uy - ly * ux
    out[..., :, 1] = left
    out[..., :, 2] = up
    return out


def _girdle_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Joint indices placed from GIRDLE_OFFSETS, whether each hangs off the pelvis frame, their offsets, and the
    (22, 22) path matrix: ``path[j, k]`` is 1 when bone k (child k) lies on the chain from the root to joint j."""
    girdle = np.array([JOINT_INDEX[n] for n in GIRDLE_OFFSETS])
    on_pelvis = np.array([anchor == "pelvis" for anchor, _ in GIRDLE_OFFSETS.values()])
    offsets = np.array([off for _, off in GIRDLE_OFFSETS.values()], dtype=np.float32)
    for name, (anchor, _) in GIRDLE_OFFSETS.items():  # retarget relies on this: every offset is from the parent
        assert CANONICAL_PARENTS[JOINT_INDEX[name]] == JOINT_INDEX[anchor], name
    path = np.zeros((NUM_JOINTS, NUM_JOINTS), dtype=np.float32)
    for j in range(NUM_JOINTS):
        k = j
        while CANONICAL_PARENTS[k] >= 0:
            path[j, k] = 1.0
            k = CANONICAL_PARENTS[k]
    return girdle, on_pelvis, offsets, path


_GIRDLE, _ON_PELVIS, _GIRDLE_OFFSETS, _PATH = _girdle_tables()
_PARENTS = np.array(CANONICAL_PARENTS)
_ROOT = int(np.flatnonzero(_PARENTS < 0)[0])


def retarget(positions: np.ndarray, bone_lengths: np.ndarray = CANONICAL_BONE_LENGTHS) -> np.ndarray:
    """Give (T, 22, 3) canonical positions canonical proportions.

    Spine, neck, head and limb bones keep their directions and get ``bone_lengths``; hips, collars and
    shoulders are placed at ``GIRDLE_OFFSETS`` in the pelvis / chest frame of each frame. The root stays where
    it is; a zero-length bone (a joint imputed at its parent) stays zero. Vectorized: every joint is its parent
    plus a new bone vector, so all joints are the root plus a sum of bones along a precomputed path.
    """
    p = positions
    pelvis_frame = _body_frame(p[:, JOINT_INDEX["left_hip"]] - p[:, JOINT_INDEX["right_hip"]],
                               p[:, JOINT_INDEX["spine1"]] - p[:, JOINT_INDEX["pelvis"]])
    chest_frame = _body_frame(p[:, JOINT_INDEX["left_shoulder"]] - p[:, JOINT_INDEX["right_shoulder"]],
                              p[:, JOINT_INDEX["neck"]] - p[:, JOINT_INDEX["spine3"]])
    bones = p - p[:, np.maximum(_PARENTS, 0)]  # (T, 22, 3); the root's "bone" is zero
    length = np.linalg.norm(bones, axis=-1, keepdims=True)
    direction = np.divide(bones, length, out=np.zeros_like(bones), where=length > 1e-6)
    new_bones = direction * np.asarray(bone_lengths, dtype=np.float32)[:, None]
    new_bones[:, _GIRDLE[_ON_PELVIS]] = (pelvis_frame @ _GIRDLE_OFFSETS[_ON_PELVIS].T).transpose(0, 2, 1)
    new_bones[:, _GIRDLE[~_ON_PELVIS]] = (chest_frame @ _GIRDLE_OFFSETS[~_ON_PELVIS].T).transpose(0, 2, 1)
    new_bones[:, _ROOT] = 0.0
    out = p[:, _ROOT, None] + _PATH @ new_bones
    return out.astype(positions.dtype, copy=False)


def facing_angle(frame: np.ndarray) -> float:
    """Heading (radians, about z) of a (22, 3) canonical pose: the direction the body faces.

    From the hip and shoulder lines: the person's left points along ``left - right``; forward is that
    vector turned -90 degrees about z.
    """
    return float(facing_angles(frame))


def facing_angles(frames: np.ndarray) -> np.ndarray:
    """``facing_angle`` of every (22, 3) pose of ``frames`` (..., 22, 3) -> (...)."""
    across = (frames[..., JOINT_INDEX["left_hip"], :] - frames[..., JOINT_INDEX["right_hip"], :]) + (
        frames[..., JOINT_INDEX["left_shoulder"], :] - frames[..., JOINT_INDEX["right_shoulder"], :]
    )
    return np.arctan2(-across[..., 0], across[..., 1])


def rotation_z(angle) -> np.ndarray:
    """3x3 rotation by ``angle`` radians about z; (..., 3, 3) for an array of angles."""
    angle = np.asarray(angle, np.float64)
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros(angle.shape + (3, 3), np.float32)
    out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1], out[..., 2, 2] = c, -s, s, c, 1.0
    return out


def canonicalize(positions: np.ndarray, retarget_bones: bool = True) -> np.ndarray:
    """(T, 22, 3) positions -> floor at zero, pelvis at the origin in xy and facing +x at the first frame; (B, T,
    22, 3) windows each on their own."""
    lead = positions.shape[:-3]
    frames = positions.reshape(-1, NUM_JOINTS, 3)
    pos = (retarget(frames) if retarget_bones else frames.astype(np.float32, copy=True)).reshape(positions.shape)
    pos[..., 2] -= pos[..., 2].min(axis=(-2, -1))[..., None, None]
    pelvis = JOINT_INDEX["pelvis"]
    pos[..., :2] -= pos[..., :1, pelvis:pelvis + 1, :2]  # each window's first-frame pelvis
    turn = rotation_z(-facing_angles(pos[..., 0, :, :]).astype(np.float64))  # (*lead, 3, 3)
    return pos @ np.swapaxes(turn, -1, -2).reshape(*lead, 1, 3, 3)


def normalize_window(positions: np.ndarray, valid: np.ndarray | None, config: NormalizationConfig) -> np.ndarray:
    """Features (T, config.feature_dim) float32 of one window of canonical positions (T, 22, 3) at config.fps.

    Layout per frame: joints relative to the pelvis in xy (absolute height), 66; pelvis xy trajectory from
    the window start, 2; joint velocities in m/s, 66 (optional); validity mask, 22 (optional).
    """
    if positions.ndim != 3 or positions.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"expected (T, {NUM_JOINTS}, 3) canonical positions, got {positions.shape}")
    return normalize_windows(positions[None], None if valid is None else valid[None], config)[0]


def normalize_windows(positions: np.ndarray, valid: np.ndarray | None, config: NormalizationConfig) -> np.ndarray:
    """``normalize_window`` of B windows of one length at once: (B, T, 22, 3) positions, (B, T, 22) valid or None
    -> (B, T, feature_dim) float32, each window exactly as alone (a live crowd's round in one pass)."""
    if positions.ndim != 4 or positions.shape[2:] != (NUM_JOINTS, 3):
        raise ValueError(f"expected (B, T, {NUM_JOINTS}, 3) canonical positions, got {positions.shape}")
    b, t = positions.shape[:2]
    pos = canonicalize(positions, config.retarget)
    root_xy = pos[:, :, JOINT_INDEX["pelvis"], :2]
    local = pos.copy()
    local[..., :2] -= root_xy[:, :, None, :]
    parts = [local.reshape(b, t, -1), root_xy]
    if config.velocities:
        vel = np.zeros_like(pos)
        vel[:, 1:] = (pos[:, 1:] - pos[:, :-1]) * config.fps
        parts.append(vel.reshape(b, t, -1))
    if config.mask:
        m = np.ones((b, t, NUM_JOINTS), dtype=np.float32) if valid is None else valid.astype(np.float32)
        parts.append(m)
    return np.concatenate(parts, axis=2).astype(np.float32)
