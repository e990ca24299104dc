"""Load "any motion": a .bvh or .npz file, or a clip of a dataset cache by id, as a canonical clip."""

from __future__ import annotations

from pathlib import Path

from motion_text_node.data.bvh import load_bvh
from motion_text_node.data.clip import Clip
from motion_text_node.data.npz_format import load_npz_clip
from motion_text_node.errors import UserError
from motion_text_node.skeleton.adapt import to_canonical


def load_any_clip(clip: str, data: Path | None = None, up_axis: str | None = None) -> Clip:
    """A clip from a cache id (``data`` given) or from a .bvh / .npz file path (canonical).

    BVH files are read with their own joint names (any known skeleton or the alias table), y up unless
    ``up_axis`` says otherwise; npz files carry their skeleton and up axis themselves.
    """
    if data is not None:
        from motion_text_node.data.cache import DatasetCache

        return DatasetCache(data).clip(clip)
    path = Path(clip)
    if path.suffix.lower() == ".bvh":
        raw = load_bvh(path)
        try:
            motion = to_canonical(raw.positions, raw.fps, raw.joint_names, up_axis=up_axis or "y")
        except UserError as exc:
            raise UserError(f"{path}: {exc}") from None
        return Clip(path.stem, motion, path=str(path))
    if path.suffix.lower() == ".npz":
        return load_npz_clip(path)
    raise UserError(f"{clip}: give a .bvh or .npz file, or a clip id with --data CACHE")
