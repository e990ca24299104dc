"""AMASS SMPL+H sequences (``*_poses.npz``) to joint positions, by smplx forward kinematics.

An AMASS file holds body-model parameters, not joints: ``poses`` (T, 156) axis-angle (root 3, body 63, left hand
45, right hand 45), ``trans`` (T, 3) metres, ``betas`` (16,), ``gender`` and ``mocap_framerate``. Joints come from
the SMPL+H body model the fit was made with, which the user downloads separately (AMASS's "Extended SMPL+H model":
``<dir>/{male,female,neutral}/model.npz``, 16 shape components). The world of AMASS is z up (the root orientation
rotates the y-up body model upright), so the joints are already canonical: metres, z up.

Joint positions are those of ``smplx.SMPLH`` (``use_pca=False, flat_hand_mean=True``): the rest joints regressed
from the shaped template (``J_regressor``), posed by smplx's ``batch_rigid_transform``, plus ``trans``. Skinning
the 6890 vertices is skipped: joints do not depend on it, and it is most of the cost.

torch and smplx are imported inside the functions that need them; importing this module needs only numpy.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from motion_text_node.checks import real_array
from motion_text_node.data.npz_io import GuardedNpz, open_npz
from motion_text_node.errors import UserError
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
from motion_text_node.skeleton.formats import SMPL_HAND_JOINTS
from motion_text_node.skeleton.motion import Motion

#: The 52 SMPL+H joints in model order: the 22 canonical body joints, then 15 left-hand and 15 right-hand joints.
SMPLH_JOINTS: tuple[str, ...] = CANONICAL_JOINTS + SMPL_HAND_JOINTS
NUM_SMPLH_JOINTS = len(SMPLH_JOINTS)
#: Values per frame in an AMASS SMPL+H ``poses`` array: 52 joints x 3 (axis-angle).
SMPLH_POSE_DIM = 3 * NUM_SMPLH_JOINTS
#: Shape components of AMASS's SMPL+H fits and body models.
AMASS_NUM_BETAS = 16
GENDERS = ("male", "female", "neutral")
#: Frames pushed through forward kinematics at once (bounds memory on long sequences).
DEFAULT_CHUNK_FRAMES = 2048

# What smplx.SMPLH reads from a model file, with the trailing shape each must have (None: any size).
_MODEL_KEYS: dict[str, tuple[int | None, ...]] = {
    "v_template": (None, 3),
    "f": (None, 3),
    "J_regressor": (NUM_SMPLH_JOINTS, None),
    "kintree_table": (2, NUM_SMPLH_JOINTS),
    "weights": (None, NUM_SMPLH_JOINTS),
    "shapedirs": (None, 3, None),
    "posedirs": (None, 3, (NUM_SMPLH_JOINTS - 1) * 9),
    "hands_componentsl": (45, 45),
    "hands_componentsr": (45, 45),
    "hands_meanl": (45,),
    "hands_meanr": (45,),
}
# smplx picks extra keypoints by fixed vertex ids up to 6787 (SMPL topology has 6890 vertices).
_MIN_VERTICES = 6788

_PKL_ADVICE = (
    "pickled (.pkl) body models need chumpy, which does not work with Python 3.11 / numpy >= 1.24; "
    "use AMASS's SMPL+H .npz body models instead (the 'Extended SMPL+H model' download: "
    "<dir>/{male,female,neutral}/model.npz)"
)
_MODEL_LAYOUT = "a folder with {male,female,neutral}/model.npz (AMASS's SMPL+H body models) or one model.npz file"


@dataclass
class AmassSequence:
    """The parameters of one AMASS SMPL+H sequence, validated.

    Attributes:
        path: the file they came from.
        poses: (T, 156) float32 axis-angle: root (3), 21 body joints (63), left hand (45), right hand (45).
        trans: (T, 3) float32 root translation, metres, z up.
        betas: (S,) float32 shape coefficients (S = 16 in AMASS).
        gender: "male", "female" or "neutral" (the body model the fit used; "" when the file's was unreadable).
        fps: capture frame rate (``mocap_framerate``).
    """

    path: Path
    poses: np.ndarray
    trans: np.ndarray
    betas: np.ndarray
    gender: str
    fps: float

    @property
    def num_frames(self) -> int:
        """Number of frames T."""
        return int(self.poses.shape[0])


def _normalize_gender(value: Any) -> str | None:
    """'male'/'female'/'neutral' from a str, bytes or 0-d/1-element array; None when it is none of them."""
    arr = np.asarray(value)
    if arr.size != 1:
        return None
    item = arr.reshape(()).item()
    if isinstance(item, bytes):
        item = item.decode("utf-8", "replace")
    if not isinstance(item, str):
        return None
    item = item.strip().lower()
    return item if item in GENDERS else None


def _check_gender_override(gender: str | None) -> str | None:
    if gender is None:
        return None
    norm = _normalize_gender(gender)
    if norm is None:
        raise UserError(f"unknown gender {gender!r}: expected one of {', '.join(GENDERS)}")
    return norm


@dataclass
class _AmassMembers:
    """The members of an AMASS npz as read, not yet checked (``fps_key`` names the frame-rate member)."""

    poses: np.ndarray
    trans: np.ndarray
    betas: np.ndarray
    fps: np.ndarray
    fps_key: str
    gender: str


def _read_gender(data: GuardedNpz, path: Path) -> str:
    """The file's ``gender`` member, normalised; UserError asking for an override when it is unusable."""
    try:
        raw_gender = data["gender"]
    except UserError as exc:  # e.g. a pickled object, which is not read
        raise UserError(f"{exc}; pass a gender override") from None
    gender = _normalize_gender(raw_gender)
    if gender is None:
        shown = raw_gender.reshape(()).item() if raw_gender.size == 1 else raw_gender.tolist()
        raise UserError(f"{path}: gender {shown!r} is not one of {', '.join(GENDERS)}; pass a gender override")
    return gender


def _load_amass_members(path: Path, override: str | None) -> _AmassMembers:
    """Read the members of an AMASS npz through the guarded reader; UserError listing any that are missing."""
    with open_npz(path) as data:
        keys = set(data.files)
        fps_key = "mocap_framerate" if "mocap_framerate" in keys else "mocap_frame_rate"
        need = ["poses", "trans", "betas", fps_key] + ([] if override else ["gender"])
        missing = [k for k in need if k not in keys]
        if missing:
            hint = " (a shape.npz holds only betas: use the *_poses.npz files)" if "poses" in missing else ""
            raise UserError(
                f"{path}: not an AMASS SMPL+H sequence, missing {', '.join(missing)} "
                f"(found: {', '.join(sorted(keys)) or 'nothing'}){hint}"
            )
        poses, trans, betas, fps = (np.asarray(data[k]) for k in ("poses", "trans", "betas", fps_key))
        gender = override if override is not None else _read_gender(data, path)
    return _AmassMembers(poses, trans, betas, fps, fps_key, gender)


def _check_real(path: Path, members: _AmassMembers) -> None:
    """Every numeric member holds real numbers (no strings, objects or complex values)."""
    arrays = (("poses", members.poses), ("trans", members.trans), ("betas", members.betas),
              (members.fps_key, members.fps))
    for name, arr in arrays:
        if not real_array(arr):
            raise UserError(f"{path}: '{name}' is not real numbers (dtype {arr.dtype})")


def _check_shapes(path: Path, poses: np.ndarray, trans: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Shapes of poses (T, 156), trans (T, 3) and betas (S,); returns betas with a (1, S) row flattened."""
    if poses.ndim != 2 or poses.shape[0] < 1:
        raise UserError(f"{path}: 'poses' must be (T, {SMPLH_POSE_DIM}) with T >= 1, got {poses.shape}")
    if poses.shape[1] != SMPLH_POSE_DIM:
        what = {165: "SMPL-X (165 values per frame)", 72: "SMPL (72 values per frame)"}.get(poses.shape[1])
        reason = f"looks like {what}" if what else f"{poses.shape[1]} values per frame"
        raise UserError(f"{path}: 'poses' {reason}; expected AMASS SMPL+H ({SMPLH_POSE_DIM} per frame)")
    num_frames = poses.shape[0]
    if trans.shape != (num_frames, 3):
        raise UserError(f"{path}: 'trans' must be ({num_frames}, 3) to match 'poses', got {trans.shape}")
    if betas.ndim == 2 and betas.shape[0] == 1:
        betas = betas[0]
    if betas.ndim != 1 or not 1 <= betas.shape[0] <= 300:
        raise UserError(f"{path}: 'betas' must be (S,) shape coefficients, got {betas.shape}")
    return betas


def _check_fps(path: Path, fps_key: str, fps: np.ndarray) -> float:
    """The frame rate member as one positive finite number."""
    if fps.size != 1:
        raise UserError(f"{path}: '{fps_key}' must be one number, got shape {fps.shape}")
    fps_value = float(fps.reshape(()))
    if not np.isfinite(fps_value) or fps_value <= 0:
        raise UserError(f"{path}: '{fps_key}' must be a positive frame rate, got {fps_value}")
    return fps_value


def _check_finite(path: Path, arrays: Iterable[tuple[str, np.ndarray]]) -> None:
    """No NaN/inf in the named arrays; the error names the first few bad frames of 2-D ones."""
    for name, arr in arrays:
        bad = ~np.isfinite(arr)
        if bad.any():
            where = ""
            if arr.ndim == 2:
                rows = np.unique(np.nonzero(bad)[0])
                where = f" (frames {', '.join(map(str, rows[:5]))}{', ...' if len(rows) > 5 else ''})"
            raise UserError(f"{path}: '{name}' has {int(bad.sum())} NaN/inf values{where}")


def _checked_sequence(path: Path, members: _AmassMembers) -> AmassSequence:
    """Check the members read from ``path`` (dtypes, shapes, frame rate, finite values) into an AmassSequence."""
    _check_real(path, members)
    poses, trans = members.poses, members.trans
    betas = _check_shapes(path, poses, trans, members.betas)
    fps_value = _check_fps(path, members.fps_key, members.fps)
    _check_finite(path, (("poses", poses), ("trans", trans), ("betas", betas)))
    return AmassSequence(
        path=path,
        poses=poses.astype(np.float32),
        trans=trans.astype(np.float32),
        betas=betas.astype(np.float32),
        gender=members.gender,
        fps=fps_value,
    )


def read_amass_npz(npz_path: str | Path, gender_override: str | None = None) -> AmassSequence:
    """Read and validate an AMASS SMPL+H ``*_poses.npz`` file (no body model needed).

    Raises ``UserError`` naming the file when it is missing, unreadable, lacks a key, has arrays of the wrong
    shape or non-finite values (an SMPL-X ``*_stageii.npz`` file is recognised and refused with that reason).
    """
    path = Path(npz_path).expanduser()
    override = _check_gender_override(gender_override)
    if not path.is_file():
        raise UserError(f"AMASS file not found: {path}")
    return _checked_sequence(path, _load_amass_members(path, override))


def resolve_body_model(body_model: str | Path, gender: str) -> Path:
    """The SMPL+H ``model.npz`` to use for ``gender``.

    ``body_model`` is either one model ``.npz`` file (used whatever the gender) or a folder in AMASS's layout,
    ``<dir>/<gender>/model.npz`` (``<dir>/smplh/<gender>/model.npz`` is accepted too). Raises ``UserError`` when
    nothing fits, and for ``.pkl`` models (they need chumpy).
    """
    path = Path(body_model).expanduser()
    if not path.exists():
        raise UserError(f"SMPL+H body model not found: {path} (expected {_MODEL_LAYOUT})")
    if path.is_file():
        if path.suffix.lower() == ".pkl":
            raise UserError(f"{path}: {_PKL_ADVICE}")
        if path.suffix.lower() != ".npz":
            raise UserError(f"{path}: not a body model (expected {_MODEL_LAYOUT})")
        return path
    candidates = [path / gender / "model.npz", path / "smplh" / gender / "model.npz"]
    for cand in candidates:
        if cand.is_file():
            return cand
    pkls = sorted(path.glob("*.pkl")) + sorted(path.glob(f"{gender}/*.pkl"))
    if pkls:
        raise UserError(f"{path}: no {gender}/model.npz but {pkls[0].name}: {_PKL_ADVICE}")
    raise UserError(f"SMPL+H body model for gender '{gender}' not found: {candidates[0]} (expected {_MODEL_LAYOUT})")


def _read_model_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays smplx.SMPLH reads, checked for presence and shape (other keys are left unread)."""
    with open_npz(path, "SMPL+H model .npz") as data:
        missing = [k for k in _MODEL_KEYS if k not in data.files]
        if missing:
            raise UserError(f"{path}: not an SMPL+H body model, missing {', '.join(missing)}")
        arrays = {k: np.asarray(data[k]) for k in _MODEL_KEYS}
    num_vertices = arrays["v_template"].shape[0]
    for key, expected in _MODEL_KEYS.items():
        shape = arrays[key].shape
        ok = len(shape) == len(expected) and all(e is None or s == e for s, e in zip(shape, expected, strict=True))
        if not ok:
            want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
            raise UserError(f"{path}: '{key}' has shape {shape}, an SMPL+H model has {want}")
    for key in ("J_regressor", "weights", "shapedirs", "posedirs"):
        vert_axis = 1 if key == "J_regressor" else 0
        if arrays[key].shape[vert_axis] != num_vertices:
            raise UserError(f"{path}: '{key}' is for {arrays[key].shape[vert_axis]} vertices, v_template has "
                            f"{num_vertices}")
    if num_vertices < _MIN_VERTICES:
        raise UserError(f"{path}: {num_vertices} vertices; SMPL+H models have 6890")
    return arrays


@dataclass
class _JointRig:
    """What joint positions need from an SMPL+H model (a few MB), taken from a constructed smplx.SMPLH."""

    v_template: Any  # torch (V, 3)
    shapedirs: Any  # torch (V, 3, S)
    j_regressor: Any  # torch (52, V)
    parents: Any  # torch long (52,), -1 for the root
    pose_mean: Any  # torch (156,): zero with flat_hand_mean=True
    num_betas: int


@functools.lru_cache(maxsize=1)
def _smplh_class() -> type:
    import smplx

    class AmassSMPLH(smplx.SMPLH):
        """smplx.SMPLH that keeps all 16 AMASS shape components (smplx caps models under 300 at 10)."""

        SHAPE_SPACE_DIM = AMASS_NUM_BETAS

    return AmassSMPLH


def build_smplh(model_path: str | Path, num_betas: int = AMASS_NUM_BETAS, device: str = "cpu") -> Any:
    """An ``smplx.SMPLH`` for an AMASS ``model.npz`` (16 betas, full 45-value hand poses, flat hand mean).

    Built from the file's arrays directly: ``smplx.create`` cannot tell the model type from ``model.npz``.
    """
    import torch

    path = Path(model_path).expanduser()
    if path.suffix.lower() == ".pkl":
        raise UserError(f"{path}: {_PKL_ADVICE}")
    if not path.is_file():
        raise UserError(f"SMPL+H body model not found: {path} (expected {_MODEL_LAYOUT})")
    arrays = _read_model_arrays(path)
    available = arrays["shapedirs"].shape[-1]
    if num_betas > min(available, AMASS_NUM_BETAS):
        raise UserError(
            f"{path}: the model has {available} shape components but {num_betas} betas are needed "
            f"(AMASS fits use {AMASS_NUM_BETAS}); use AMASS's SMPL+H body models"
        )
    from smplx.utils import Struct

    model = _smplh_class()(
        model_path=str(path),
        data_struct=Struct(**arrays),
        num_betas=num_betas,
        use_pca=False,
        flat_hand_mean=True,
        ext="npz",
        batch_size=1,
        dtype=torch.float32,
    )
    return model.to(device).eval()


@functools.lru_cache(maxsize=8)
def _cached_rig(path: str, mtime_ns: int, num_betas: int, device: str) -> _JointRig:
    del mtime_ns  # part of the cache key only: a replaced file is read again
    model = build_smplh(path, num_betas, device)
    return _JointRig(
        v_template=model.v_template,
        shapedirs=model.shapedirs,
        j_regressor=model.J_regressor,
        parents=model.parents,
        pose_mean=model.pose_mean,
        num_betas=model.num_betas,
    )


def _rig(model_path: Path, num_betas: int, device: str) -> _JointRig:
    return _cached_rig(str(model_path.resolve()), model_path.stat().st_mtime_ns, num_betas, str(device))


def smplh_joints(
    seq: AmassSequence,
    body_model_dir: str | Path,
    gender_override: str | None = None,
    device: str = "cpu",
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
) -> np.ndarray:
    """(T, 52, 3) float32 SMPL+H joint positions of ``seq`` (metres, AMASS world: z up), in ``SMPLH_JOINTS`` order.

    Equals the first 52 ``joints`` of ``smplx.SMPLH(use_pca=False, flat_hand_mean=True).forward`` with the
    sequence's betas, poses and ``trans``. Frames go through in chunks of ``chunk_frames``.
    """
    import torch
    from smplx.lbs import batch_rigid_transform, batch_rodrigues, blend_shapes, vertices2joints

    gender = _check_gender_override(gender_override) or seq.gender
    if not gender:
        raise UserError(f"{seq.path}: gender unknown; pass a gender override")
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be positive, got {chunk_frames}")
    model_path = resolve_body_model(body_model_dir, gender)
    rig = _rig(model_path, len(seq.betas), device)
    dtype = rig.v_template.dtype
    out = np.empty((seq.num_frames, NUM_SMPLH_JOINTS, 3), dtype=np.float32)
    with torch.no_grad():
        betas = torch.as_tensor(seq.betas, dtype=dtype, device=device)[None]  # (1, S)
        v_shaped = rig.v_template + blend_shapes(betas, rig.shapedirs)  # (1, V, 3)
        rest = vertices2joints(rig.j_regressor, v_shaped)  # (1, 52, 3)
        for start in range(0, seq.num_frames, chunk_frames):
            stop = min(start + chunk_frames, seq.num_frames)
            pose = torch.as_tensor(seq.poses[start:stop], dtype=dtype, device=device) + rig.pose_mean  # (B, 156)
            batch = stop - start
            rot = batch_rodrigues(pose.reshape(-1, 3)).reshape(batch, NUM_SMPLH_JOINTS, 3, 3)
            posed, _ = batch_rigid_transform(rot, rest.expand(batch, -1, -1), rig.parents, dtype=dtype)
            posed = posed + torch.as_tensor(seq.trans[start:stop], dtype=dtype, device=device)[:, None]
            out[start:stop] = posed.cpu().numpy()
    return out


def load_amass_joints(
    npz_path: str | Path,
    body_model_dir: str | Path,
    gender_override: str | None = None,
    device: str = "cpu",
) -> Motion:
    """All 52 SMPL+H joints of an AMASS file as a Motion (``SMPLH_JOINTS``, metres, z up, fps of the capture)."""
    seq = read_amass_npz(npz_path, gender_override)
    positions = smplh_joints(seq, body_model_dir, gender_override, device)
    return Motion(positions, SMPLH_JOINTS, seq.fps)


def load_amass_motion(
    npz_path: str | Path,
    body_model_dir: str | Path,
    gender_override: str | None = None,
    device: str = "cpu",
) -> Motion:
    """The canonical body (22 SMPL joints, metres, z up) of an AMASS file, at its capture rate.

    A pure function of the two paths and the gender: callers may cache the result keyed on them.
    """
    motion = load_amass_joints(npz_path, body_model_dir, gender_override, device)
    return Motion(motion.positions[:, : len(CANONICAL_JOINTS)], CANONICAL_JOINTS, motion.fps)
