"""Map any supported skeleton onto the canonical body: joint mapping, up axis, missing-joint imputation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from motion_text_node.errors import UserError
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS, CANONICAL_PARENTS, JOINT_INDEX, NUM_JOINTS
from motion_text_node.skeleton.formats import FORMATS, Alternative, alias_mapping, get_format
from motion_text_node.skeleton.motion import Motion

#: Rotations taking each supported up axis to z up (proper rotations: left stays left).
UP_AXIS_ROTATIONS: dict[str, np.ndarray] = {
    "z": np.eye(3, dtype=np.float32),
    # y up (BVH, Unity, glTF): x stays, y -> z, z -> -y.
    "y": np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=np.float32),
    # y down, z forward (camera optical frames, MediaPipe world landmarks): REP-103 x = z, y = -x, z = -y.
    "-y": np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], dtype=np.float32),
}

#: How a missing canonical joint is estimated from canonical neighbours (tried in order, per frame).
#: Fractions follow SMPL rest proportions along the pelvis-neck line.
IMPUTATION_RULES: tuple[tuple[str, tuple[Alternative, ...]], ...] = (
    ("pelvis", ({"left_hip": 0.5, "right_hip": 0.5},)),
    ("neck", ({"left_shoulder": 0.5, "right_shoulder": 0.5}, {"left_collar": 0.5, "right_collar": 0.5})),
    ("spine3", ({"pelvis": 0.38, "neck": 0.62},)),
    ("spine2", ({"spine1": 0.5, "spine3": 0.5}, {"pelvis": 0.5, "neck": 0.5})),
    ("spine1", ({"pelvis": 0.8, "neck": 0.2},)),
    ("head", ({"neck": 1.2, "spine3": -0.2},)),
    ("left_collar", ({"spine3": 0.55, "left_shoulder": 0.45},)),
    ("right_collar", ({"spine3": 0.55, "right_shoulder": 0.45},)),
    ("left_shoulder", ({"left_collar": 1.0},)),
    ("right_shoulder", ({"right_collar": 1.0},)),
    ("left_elbow", ({"left_shoulder": 0.5, "left_wrist": 0.5},)),
    ("right_elbow", ({"right_shoulder": 0.5, "right_wrist": 0.5},)),
    ("left_knee", ({"left_hip": 0.5, "left_ankle": 0.5},)),
    ("right_knee", ({"right_hip": 0.5, "right_ankle": 0.5},)),
)


def _key(name: str) -> str:
    """Name as compared across sources: lower case, namespace prefix ("mixamorig:") dropped."""
    return name.rsplit(":", 1)[-1].strip().lower()


def _coverage(mapping: dict[str, tuple[Alternative, ...]], keys: set[str]) -> int:
    return sum(any(all(_key(s) in keys for s in alt) for alt in alts) for alts in mapping.values())


def resolve_mapping(
    skeleton_format: str | None, joint_names: Sequence[str] | None, num_joints: int
) -> tuple[tuple[str, ...], dict[str, tuple[Alternative, ...]], str]:
    """Joint names, canonical mapping and default up axis for a skeleton.

    A named format fixes the joint order (``joint_names`` may then be empty or must equal the format's). For
    ``custom`` (or no format) the names decide: canonical names map to themselves; otherwise the known format
    containing all the names, or the alias table, whichever covers most canonical joints. Custom skeletons
    default to z up.
    """
    fmt_name = (skeleton_format or "custom").strip().lower()
    names = tuple(joint_names or ())
    if fmt_name != "custom":
        try:
            fmt = get_format(fmt_name)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if names and [_key(n) for n in names] != [_key(n) for n in fmt.joint_names[: len(names)]]:
            raise UserError(f"joint_names do not match the {fmt.name} joint order")
        expected = len(names) if names else len(fmt.joint_names)
        if num_joints != expected and not (not names and num_joints in _accepted_counts(fmt)):
            raise UserError(f"{fmt.name} has {len(fmt.joint_names)} joints, got {num_joints}")
        return fmt.joint_names[:num_joints], fmt.mapping, fmt.default_up_axis
    if not names:
        raise UserError("a custom skeleton needs joint_names (canonical SMPL names or known BVH names)")
    if len(names) != num_joints:
        raise UserError(f"{len(names)} joint_names for {num_joints} joints")
    keys = {_key(n) for n in names}
    if len(keys) != len(names):
        raise UserError("joint_names contain duplicates")
    # Custom skeletons follow REP-103 (z up) unless the caller says otherwise.
    canonical_keys = {_key(n) for n in CANONICAL_JOINTS}
    if keys <= canonical_keys:
        return names, {n: ({n: 1.0},) for n in CANONICAL_JOINTS}, "z"
    # Names of a known format (possibly a subset, in any order), else the alias table.
    candidates = [fmt.mapping for fmt in FORMATS.values() if keys <= {_key(n) for n in fmt.joint_names}]
    candidates.append(alias_mapping())
    mapping = max(candidates, key=lambda m: _coverage(m, keys))
    if _coverage(mapping, keys) == 0:
        raise UserError(f"no joint name matches a known skeleton (got {', '.join(names[:5])}...)")
    return names, mapping, "z"


def _is_canonical_prefix(names: tuple[str, ...]) -> bool:
    """Whether the first 22 names are the canonical joints in order (SMPL, SMPL-H, canonical custom)."""
    return len(names) >= NUM_JOINTS and tuple(names[:NUM_JOINTS]) == CANONICAL_JOINTS


def _accepted_counts(fmt) -> set[int]:
    # Formats whose trailing joints are optional extras (end sites, hands) accept the shorter body too.
    return {len(fmt.joint_names), len([n for n in fmt.joint_names if not n.endswith("_end")])}


def _combine(alt: Alternative, index: dict[str, int], pos: np.ndarray, ok: np.ndarray):
    """Weighted sum of the alternative's sources for every frame, and where all sources are valid."""
    idx = [index[_key(s)] for s in alt]
    weights = np.array(list(alt.values()), dtype=np.float32)
    value = np.einsum("tjc,j->tc", np.nan_to_num(pos[:, idx]), weights)
    return value, ok[:, idx].all(axis=1)


def _fill(alternatives, index, pos, ok, out, out_ok, j) -> None:
    for alt in alternatives:
        if not all(_key(s) in index for s in alt):
            continue
        todo = ~out_ok[:, j]
        if not todo.any():
            return
        value, good = _combine(alt, index, pos, ok)
        take = todo & good
        out[take, j] = value[take]
        out_ok[take, j] = True


def impute_missing(positions: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill canonical joints that are not valid, in place, from their neighbours.

    Args:
        positions: (T, 22, 3) canonical positions; invalid entries are overwritten.
        valid: (T, 22) bool, True where observed (not modified).

    Returns:
        (T, 22) bool: where a position is now known (observed or imputed). Frames with no observed joint stay
        unknown; ``fill_unknown_frames`` handles them.
    """
    known = valid.copy()
    index = {name: i for i, name in enumerate(CANONICAL_JOINTS)}
    for target, alternatives in IMPUTATION_RULES:
        _fill(alternatives, index, positions, known, positions, known, JOINT_INDEX[target])
    # Anything left (feet, wrists, hips without a rule) takes its parent's position; the pelvis takes the
    # mean of whatever is known in that frame.
    for j, parent in enumerate(CANONICAL_PARENTS):
        todo = ~known[:, j]
        if not todo.any():
            continue
        if parent >= 0:
            take = todo & known[:, parent]
            positions[take, j] = positions[take, parent]
        else:
            any_known = known.any(axis=1)
            take = todo & any_known
            sums = np.where(known[..., None], positions, 0).sum(axis=1)
            positions[take, j] = sums[take] / known[take].sum(axis=1, keepdims=True)
        known[take, j] = True
    # Children of joints that were filled late (e.g. a wrist under an imputed elbow).
    for j, parent in enumerate(CANONICAL_PARENTS):
        take = ~known[:, j] & known[:, max(parent, 0)]
        positions[take, j] = positions[take, max(parent, 0)]
        known[take, j] = True
    return known


def fill_unknown_frames(positions: np.ndarray, known: np.ndarray) -> None:
    """Frames where nothing is known copy the nearest frame that is (in place); error if none is."""
    frame_known = known.all(axis=1)
    if frame_known.all():
        return
    if not frame_known.any():
        raise UserError("no frame has a usable joint (all missing, NaN or zero confidence)")
    good = np.flatnonzero(frame_known)
    for t in np.flatnonzero(~frame_known):
        nearest = good[np.argmin(np.abs(good - t))]
        positions[t] = positions[nearest]


def _checked_positions(positions: np.ndarray) -> np.ndarray:
    """(T, J, 3) float32 positions ((J, 3) is one frame); UserError for another shape or no data."""
    pos = np.asarray(positions, dtype=np.float32)
    if pos.ndim == 2:
        pos = pos[None]
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise UserError(f"positions must be (frames, joints, 3), got shape {np.shape(positions)}")
    if pos.shape[0] == 0 or pos.shape[1] == 0:
        raise UserError(f"positions are empty (shape {pos.shape})")
    return pos


def _observed(pos: np.ndarray, confidences: np.ndarray | None, min_confidence: float,
              max_abs_coordinate: float) -> np.ndarray:
    """(T, J) True where a joint was seen: finite, within ``max_abs_coordinate``, confident enough."""
    ok = np.isfinite(pos).all(axis=2) & (np.abs(np.nan_to_num(pos, nan=0.0)) <= max_abs_coordinate).all(axis=2)
    if confidences is None or np.size(confidences) == 0:
        return ok
    if np.iscomplexobj(confidences):
        raise UserError("confidences must be real numbers")
    conf = np.asarray(confidences, dtype=np.float32)
    # (J,) one value per joint for every frame (as Skeleton messages carry it), or (T, J)
    if conf.shape not in (pos.shape[1:2], pos.shape[:2]):
        raise UserError(f"confidences must have one value per joint, got {np.shape(confidences)}")
    return ok & (np.nan_to_num(np.broadcast_to(conf, pos.shape[:2]), nan=0.0) >= min_confidence)


def to_canonical(
    positions: np.ndarray,
    fps: float,
    joint_names: Sequence[str] | None = None,
    skeleton_format: str | None = None,
    up_axis: str | None = None,
    confidences: np.ndarray | None = None,
    min_confidence: float = 1e-6,
    max_abs_coordinate: float = 1000.0,
) -> Motion:
    """Convert positions of any supported skeleton to a canonical SMPL-22 motion (metres, z up).

    Args:
        positions: (T, J, 3) or (J, 3) joint positions in metres.
        fps: frame rate of ``positions``.
        joint_names: J names (required for ``custom``; optional for named formats).
        skeleton_format: a name from ``formats.FORMATS`` or ``custom``/None (decided by names).
        up_axis: "z", "y" or "-y"; None uses the format's default ("z" for custom).
        confidences: optional (T, J) or (J,) per-joint confidence; below ``min_confidence`` is missing.
        max_abs_coordinate: coordinates beyond this (metres) are treated as missing (sensor glitches).

    Returns:
        A Motion over the canonical joints whose ``valid`` says which joints were observed (others imputed).

    Raises:
        UserError: wrong shapes, unknown format or names, no usable joint.
    """
    pos = _checked_positions(positions)
    names, mapping, default_up = resolve_mapping(skeleton_format, joint_names, pos.shape[1])
    up = (up_axis or default_up).strip().lower()
    if up not in UP_AXIS_ROTATIONS:
        raise UserError(f"up_axis must be one of {', '.join(UP_AXIS_ROTATIONS)}, got {up_axis!r}")

    ok = _observed(pos, confidences, min_confidence, max_abs_coordinate)
    if _is_canonical_prefix(names) and ok[:, :NUM_JOINTS].all():
        # Fast path (live SMPL-family streams): every canonical joint present and observed, nothing to map.
        out = pos[:, :NUM_JOINTS] @ UP_AXIS_ROTATIONS[up].T
        return Motion(out, CANONICAL_JOINTS, fps, np.ones((pos.shape[0], NUM_JOINTS), dtype=bool))
    index = {_key(n): i for i, n in enumerate(names)}
    out = np.zeros((pos.shape[0], NUM_JOINTS, 3), dtype=np.float32)
    observed = np.zeros((pos.shape[0], NUM_JOINTS), dtype=bool)
    for j, canon in enumerate(CANONICAL_JOINTS):
        _fill(mapping.get(canon, ()), index, pos, ok, out, observed, j)
    if not observed.any():
        raise UserError("no joint maps to the canonical body (check skeleton_format / joint_names)")
    out = out @ UP_AXIS_ROTATIONS[up].T
    known = impute_missing(out, observed)
    fill_unknown_frames(out, known)
    return Motion(out, CANONICAL_JOINTS, fps, observed)
