"""Build a dataset cache from a source: the CMU data, a folder of BVH or npz files, or AMASS + BABEL."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from motion_text_node.data.bvh import load_bvh
from motion_text_node.data.cache import write_cache
from motion_text_node.data.clip import Clip
from motion_text_node.data.npz_format import load_npz_clip
from motion_text_node.errors import UserError
from motion_text_node.skeleton.adapt import to_canonical
from motion_text_node.skeleton.resample import resample_motion

SOURCES = ("cmu", "bvh-dir", "npz-dir", "amass-babel")


def hash_split(key: str, val_fraction: float = 0.1, test_fraction: float = 0.1) -> str:
    """Deterministic split of a subject (or file) key: the same key always lands in the same split."""
    u = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if u < test_fraction else "val" if u < test_fraction + val_fraction else "train"


def subject_of(stem: str) -> str:
    """Subject id from a CMU-style file name ("02_05" -> "2"); otherwise the stem itself."""
    m = re.match(r"^(\d+)_\d+", stem)
    return str(int(m.group(1))) if m else stem


def _text_for(path: Path) -> list[str]:
    side = path.with_suffix(".txt")
    if side.is_file():
        return [line.strip() for line in side.read_text(encoding="utf-8").splitlines() if line.strip()]
    return []


def iter_bvh_dir(folder: Path, fps: float, up_axis: str = "y", unit_scale: str | float = "auto",
                 drop_first_frames: int = 0) -> Iterator[tuple[Clip, str]]:
    """Every ``*.bvh`` under ``folder``; descriptions from a sibling ``<name>.txt`` (one per line)."""
    files = sorted(folder.rglob("*.bvh"))
    if not files:
        raise UserError(f"{folder}: no .bvh files")
    for path in files:
        raw = load_bvh(path, unit_scale=unit_scale, drop_first_frames=drop_first_frames)
        motion = resample_motion(to_canonical(raw.positions, raw.fps, raw.joint_names, up_axis=up_axis), fps)
        subject = subject_of(path.stem)
        yield Clip(path.stem, motion, _text_for(path), subject=subject, source=str(path)), hash_split(subject)


def iter_npz_dir(folder: Path, fps: float) -> Iterator[tuple[Clip, str]]:
    """Every ``*.npz`` in the plain joint-position format under ``folder``."""
    files = sorted(folder.rglob("*.npz"))
    if not files:
        raise UserError(f"{folder}: no .npz files")
    for path in files:
        clip = load_npz_clip(path)
        clip.motion = resample_motion(clip.motion, fps)
        clip.subject = subject_of(path.stem)
        if not clip.texts:
            clip.texts = _text_for(path)
        yield clip, hash_split(clip.subject)


def build_cache(source: str, out: Path, fps: float = 30.0, path: Path | None = None, progress: bool = True,
                **options) -> dict:
    """Preprocess ``source`` into a cache at ``out``; returns the summary.

    Args:
        source: one of ``SOURCES``.
        out: cache folder to write.
        fps: frame rate of the cached motions.
        path: input folder for ``bvh-dir`` / ``npz-dir`` (the AMASS root for ``amass-babel``).
        options: source-specific (``informative_only`` for cmu; ``babel_dir``, ``body_model_dir``,
            ``babel_subset`` for amass-babel; ``up_axis``, ``unit_scale`` for bvh-dir).
    """
    if source == "cmu":
        from motion_text_node.data.cmu import CMU_ACKNOWLEDGEMENT, iter_cmu_clips, read_manifest

        total = len(read_manifest())
        items = iter_cmu_clips(fps=fps, informative_only=options.get("informative_only", True))
        meta = {"source": "cmu", "acknowledgement": CMU_ACKNOWLEDGEMENT}
    elif source in ("bvh-dir", "npz-dir"):
        if path is None or not path.is_dir():
            raise UserError(f"--source {source} needs --path to an existing folder (got {path})")
        if source == "bvh-dir":
            items = iter_bvh_dir(path, fps, options.get("up_axis", "y"), options.get("unit_scale", "auto"))
        else:
            items = iter_npz_dir(path, fps)
        total = None
        meta = {"source": source, "path": str(path)}
    elif source == "amass-babel":
        from motion_text_node.data.babel import iter_babel_clips

        items, total, meta = iter_babel_clips(amass_root=path, fps=fps, **options)
    else:
        raise UserError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    meta["fps"] = fps
    bar = tqdm(items, total=total, desc=f"building {source}", unit="clip", disable=not progress)
    return write_cache(bar, out, meta)
