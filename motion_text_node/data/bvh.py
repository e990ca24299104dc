"""BVH motion files: a general parser (any channel order, any units) with forward kinematics."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motion_text_node.errors import UserError
from motion_text_node.skeleton.motion import Motion, check_duration

#: Candidate length units (metres per file unit) for automatic detection: m, cm, mm, inch, CMU ASF unit.
UNIT_SCALES: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu_asf": 0.0254 / 0.45}

_AXES = {"X": 0, "Y": 1, "Z": 2}
#: Shortest frame time accepted (seconds): 10 kHz, above any capture system; a smaller one is a broken header.
MIN_FRAME_TIME = 1e-4


@dataclass
class BvhJoint:
    """One node of the hierarchy (joints and End Sites, which have no channels)."""

    name: str
    parent: int
    offset: np.ndarray
    channels: list[str] = field(default_factory=list)
    channel_start: int = 0


@dataclass
class BvhData:
    """A parsed BVH file: hierarchy, frame time and the raw channel values (frames x channels)."""

    joints: list[BvhJoint]
    frame_time: float
    values: np.ndarray
    path: str = ""

    @property
    def joint_names(self) -> list[str]:
        """Names of all nodes; End Sites are named ``<parent>_end``."""
        return [j.name for j in self.joints]


def _error(path: str, msg: str) -> UserError:
    return UserError(f"{path}: not a valid BVH file: {msg}")


class _Tokens:
    """A cursor over the whitespace-separated tokens of a BVH text."""

    def __init__(self, text: str, path: str) -> None:
        self.tokens = text.split()
        self.pos = 0
        self.path = path

    def take(self) -> str:
        """The next token; UserError at the end of the file."""
        if self.pos >= len(self.tokens):
            raise _error(self.path, "unexpected end of file")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def take_float(self) -> float:
        """The next token as a number; UserError naming it when it is not one."""
        tok = self.take()
        try:
            return float(tok)
        except ValueError:
            raise _error(self.path, f"expected a number, got {tok!r}") from None

    def peek(self) -> str | None:
        """The next token without taking it (None at the end of the file)."""
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def rest(self) -> list[str]:
        """All tokens not taken yet."""
        return self.tokens[self.pos:]


def _parse_channels(tok: _Tokens, name: str) -> list[str]:
    """``CHANNELS <count> <names...>`` of joint ``name``, each name checked."""
    if tok.take() != "CHANNELS":
        raise _error(tok.path, f"expected CHANNELS in {name}")
    count_tok = tok.take()
    if not (count_tok.isascii() and count_tok.isdigit() and len(count_tok) <= 9):
        raise _error(tok.path, f"bad channel count {count_tok[:20]!r} in {name}")
    channels = [tok.take() for _ in range(int(count_tok))]
    for ch in channels:
        if len(ch) != 9 or ch[0] not in _AXES or ch[1:] not in ("position", "rotation"):
            raise _error(tok.path, f"unknown channel {ch!r} in {name}")
    return channels


def _parse_joint(tok: _Tokens, name: str, parent: int, channel_start: int) -> BvhJoint:
    """The ``{ OFFSET x y z [CHANNELS ...]`` opening of node ``name`` (End Sites may lack CHANNELS)."""
    if tok.take() != "{":
        raise _error(tok.path, f"expected '{{' after {name}")
    if tok.take() != "OFFSET":
        raise _error(tok.path, f"expected OFFSET in {name}")
    offset = np.array([tok.take_float() for _ in range(3)])
    if not np.isfinite(offset).all():
        raise _error(tok.path, f"OFFSET of {name} is not finite")
    joint = BvhJoint(name, parent, offset)
    if not name.endswith("_end") or tok.peek() == "CHANNELS":
        joint.channels = _parse_channels(tok, name)
        joint.channel_start = channel_start
    return joint


def _next_node_name(tok: _Tokens, joints: list[BvhJoint], stack: list[int]) -> str | None:
    """The name of the next JOINT or End Site after closing braces; None once the ROOT is closed."""
    while True:
        kw = tok.take()
        if kw == "JOINT":
            return tok.take()
        if kw == "End":
            if tok.take() != "Site":
                raise _error(tok.path, "expected 'End Site'")
            return joints[stack[-1]].name + "_end"
        if kw == "}":
            stack.pop()
            if not stack:
                return None
            continue
        raise _error(tok.path, f"unexpected {kw!r} in hierarchy")


def _parse_hierarchy(tok: _Tokens) -> tuple[list[BvhJoint], int]:
    """The HIERARCHY section: every node (joints and End Sites) and the total channel count."""
    if tok.take() != "HIERARCHY":
        raise _error(tok.path, "does not start with HIERARCHY")
    joints: list[BvhJoint] = []
    stack: list[int] = []
    n_channels = 0
    kw = tok.take()
    if kw != "ROOT":
        raise _error(tok.path, f"expected ROOT, got {kw!r}")
    name: str | None = tok.take()
    while name is not None:
        joint = _parse_joint(tok, name, stack[-1] if stack else -1, n_channels)
        n_channels += len(joint.channels)
        joints.append(joint)
        stack.append(len(joints) - 1)
        name = _next_node_name(tok, joints, stack)
    return joints, n_channels


def _parse_motion_header(tok: _Tokens) -> tuple[int, float]:
    """``MOTION Frames: <n> Frame Time: <t>``: the frame count and the checked frame time."""
    if tok.take() != "MOTION":
        raise _error(tok.path, "expected MOTION after the hierarchy")
    if tok.take() != "Frames:":
        raise _error(tok.path, "expected 'Frames:'")
    n_frames_tok = tok.take()
    if not (n_frames_tok.isascii() and n_frames_tok.isdigit() and len(n_frames_tok) <= 12):
        raise _error(tok.path, f"bad frame count {n_frames_tok[:20]!r}")
    if tok.take() != "Frame" or tok.take() != "Time:":
        raise _error(tok.path, "expected 'Frame Time:'")
    frame_time = tok.take_float()
    if not (np.isfinite(frame_time) and frame_time >= MIN_FRAME_TIME):
        raise _error(
            tok.path, f"frame time must be a number of at least {MIN_FRAME_TIME} s (10 kHz), got {frame_time}"
        )
    return int(n_frames_tok), frame_time


def _parse_frame_values(tok: _Tokens, n_frames: int, n_channels: int) -> np.ndarray:
    """The (frames x channels) motion values after the header, checked numeric and finite."""
    if n_frames and not n_channels:  # no values to read would leave the frame count unbounded by the file
        raise _error(tok.path, f"{n_frames} frames announced but no joint has channels")
    data = tok.rest()
    if len(data) < n_frames * n_channels:
        raise _error(tok.path, f"{n_frames} frames x {n_channels} channels announced, {len(data)} values found")
    try:
        values = np.array(data[: n_frames * n_channels], dtype=np.float64).reshape(n_frames, n_channels)
    except ValueError:
        raise _error(tok.path, "non-numeric value in the motion data") from None
    if not np.isfinite(values).all():
        raise _error(tok.path, "NaN or infinite value in the motion data")
    return values


def parse_bvh(text: str, path: str = "<string>") -> BvhData:
    """Parse BVH text into hierarchy and channel values; raises UserError naming the problem."""
    tok = _Tokens(text, path)
    joints, n_channels = _parse_hierarchy(tok)
    n_frames, frame_time = _parse_motion_header(tok)
    values = _parse_frame_values(tok, n_frames, n_channels)
    return BvhData(joints, frame_time, values, path)


def _axis_rotation(axis: int, angles_deg: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotation matrices about one axis."""
    a = np.deg2rad(angles_deg)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros((len(a), 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m[:, axis, axis] = 1.0
    m[:, i, i] = c
    m[:, j, j] = c
    m[:, i, j] = -s
    m[:, j, i] = s
    return m


#: How position channels combine with a joint's OFFSET: "add" (the usual root convention), "replace" (exporters
#: that put position channels on every joint and write the joint's offset into them, e.g. Bandai Namco's),
#: or "auto": replace when any non-root joint has position channels, else add.
POSITION_MODES = ("auto", "add", "replace")


def position_mode(bvh: BvhData, mode: str = "auto") -> str:
    """The position-channel convention of a file: "add" or "replace" (see ``POSITION_MODES``)."""
    if mode not in POSITION_MODES:
        raise UserError(f"position_channels must be one of {', '.join(POSITION_MODES)}, got {mode!r}")
    if mode != "auto":
        return mode
    with_positions = any(j.parent >= 0 and any(c[1:] == "position" for c in j.channels) for j in bvh.joints)
    return "replace" if with_positions else "add"


def forward_kinematics(bvh: BvhData, positions_mode: str = "auto") -> np.ndarray:
    """Global joint positions (T, N, 3) in file units, for every node including End Sites.

    Rotation channels compose in the order listed (``Zrotation Xrotation Yrotation`` is Rz @ Rx @ Ry);
    position channels add to the offset, or replace it (``positions_mode``, see ``POSITION_MODES``).
    """
    replace = position_mode(bvh, positions_mode) == "replace"
    n_frames = bvh.values.shape[0]
    positions = np.zeros((n_frames, len(bvh.joints), 3))
    rotations = np.zeros((len(bvh.joints), n_frames, 3, 3))
    for k, joint in enumerate(bvh.joints):
        local_rot = np.broadcast_to(np.eye(3), (n_frames, 3, 3)).copy()
        translation = np.broadcast_to(joint.offset, (n_frames, 3)).copy()
        if replace:
            translation[:, [_AXES[ch[0]] for ch in joint.channels if ch[1:] == "position"]] = 0.0
        for c, ch in enumerate(joint.channels):
            col = bvh.values[:, joint.channel_start + c]
            axis = _AXES[ch[0]]
            if ch[1:] == "position":
                translation[:, axis] += col
            else:
                local_rot = local_rot @ _axis_rotation(axis, col)
        if joint.parent < 0:
            rotations[k] = local_rot
            positions[:, k] = translation
        else:
            parent_rot = rotations[joint.parent]
            rotations[k] = parent_rot @ local_rot
            positions[:, k] = positions[:, joint.parent] + np.einsum("tij,tj->ti", parent_rot, translation)
    return positions


def rest_extent(bvh: BvhData) -> float:
    """Largest extent (file units) of the skeleton built from its offsets alone (rest pose)."""
    rest = np.zeros((len(bvh.joints), 3))
    for k, joint in enumerate(bvh.joints):
        rest[k] = joint.offset + (rest[joint.parent] if joint.parent >= 0 else 0.0)
    return float((rest.max(axis=0) - rest.min(axis=0)).max())


def detect_unit_scale(bvh: BvhData, expected_height_m: float = 1.7) -> float:
    """Metres per file unit, chosen among ``UNIT_SCALES`` so the rest skeleton is closest to a human height."""
    extent = rest_extent(bvh)
    if extent <= 0:
        raise _error(bvh.path, "skeleton has zero size")
    return min(UNIT_SCALES.values(), key=lambda s: abs(np.log(extent * s / expected_height_m)))


def load_bvh(
    path: str | Path, unit_scale: float | str = "auto", fps: float | None = None, drop_first_frames: int = 0,
    position_channels: str = "auto",
) -> Motion:
    """Read a BVH file as a Motion over all its nodes (End Sites named ``<parent>_end``), metres, file axes.

    Args:
        path: the .bvh file.
        unit_scale: metres per file unit, a name from ``UNIT_SCALES`` or "auto" (from the rest skeleton size).
        fps: override the frame rate (e.g. when the header's Frame Time is known to be wrong).
        drop_first_frames: frames to skip (e.g. an added T-pose in frame 0).
        position_channels: how position channels combine with OFFSET (``POSITION_MODES``).

    The axes stay as in the file (BVH is usually y up): pass the result through ``skeleton.adapt`` with
    ``up_axis="y"`` to get a canonical motion.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    bvh = parse_bvh(text, str(path))
    mode = position_mode(bvh, position_channels)
    if isinstance(unit_scale, str):
        if unit_scale == "auto":
            scale = detect_unit_scale(bvh)
        elif unit_scale in UNIT_SCALES:
            scale = UNIT_SCALES[unit_scale]
        else:
            raise UserError(f"unit_scale must be a number, 'auto' or one of {', '.join(UNIT_SCALES)}")
    else:
        scale = float(unit_scale)
    if bvh.values.shape[0] <= drop_first_frames:
        raise UserError(f"{path}: only {bvh.values.shape[0]} frames, nothing left after dropping {drop_first_frames}")
    bvh.values = bvh.values[drop_first_frames:]
    rate = fps or 1.0 / bvh.frame_time
    frames = bvh.values.shape[0]
    check_duration(frames / rate, f"{path}: {frames} frames at {rate:.4g} fps")  # e.g. `Frame Time: 100`
    positions = forward_kinematics(bvh, mode) * scale
    return Motion(positions.astype(np.float32), tuple(bvh.joint_names), rate)
