"""Build a dataset cache from a source: the CMU data, a folder of BVH or npz files, or AMASS + BABEL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from motion_text_node.data.bvh import load_bvh
from motion_text_node.data.cache import write_cache
from motion_text_node.data.clip import Clip
from motion_text_node.data.npz_format import load_npz_clip
from motion_text_node.data.splits import hash_split
from motion_text_node.errors import UserError
from motion_text_node.skeleton.adapt import to_canonical
from motion_text_node.skeleton.resample import resample_motion

#: Sources read from a folder the user gives (``--path``), beside the named sources of ``data.sources``.
FOLDER_SOURCES = ("bvh-dir", "npz-dir", "amass-babel")


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
        yield Clip(path.stem, motion, _text_for(path), subject=subject, source="bvh-dir", path=str(path)), \
            hash_split(subject)


def iter_npz_dir(folder: Path, fps: float) -> Iterator[tuple[Clip, str]]:
    """Every ``*.npz`` in the plain joint-position format under ``folder``."""
    files = sorted(folder.rglob("*.npz"))
    if not files:
        raise UserError(f"{folder}: no .npz files")
    for path in files:
        clip = load_npz_clip(path)
        clip.motion = resample_motion(clip.motion, fps)
        clip.subject = subject_of(path.stem)
        clip.source = "npz-dir"
        if not clip.texts:
            clip.texts = _text_for(path)
        yield clip, hash_split(clip.subject)


def parse_sources(source: str) -> list[str]:
    """``all``, one source name or a comma-separated list -> source names of ``data.sources.SOURCES``."""
    from motion_text_node.data.sources import ALL_SOURCES, get_source

    names = list(ALL_SOURCES) if source.strip() == "all" else [n.strip() for n in source.split(",") if n.strip()]
    for name in names:
        get_source(name)
    if not names:
        raise UserError("no source given")
    return names


def build_cache(source: str, out: Path, fps: float = 30.0, path: Path | None = None, progress: bool = True,
                **options) -> dict:
    """Preprocess ``source`` into a cache at ``out``; returns the summary.

    Args:
        source: ``all``, a name of ``data.sources.SOURCES`` (or several, comma-separated), or a folder source
            (``bvh-dir``, ``npz-dir``, ``amass-babel``).
        out: cache folder to write.
        fps: frame rate of the cached motions.
        path: input folder for ``bvh-dir`` / ``npz-dir`` (the AMASS root for ``amass-babel``).
        options: source-specific (``informative_only`` for the CMU sources, ``limit`` for bandai (every n-th file
            up to ``limit``); ``babel_dir``, ``body_model_dir``, ``babel_subset`` for amass-babel; ``up_axis``,
            ``unit_scale`` for bvh-dir).
    """
    if not (isinstance(fps, (int, float)) and np.isfinite(fps) and 1.0 <= fps <= 1000.0):
        raise UserError(f"fps must be a number between 1 and 1000, got {fps}")
    total = None
    if source in FOLDER_SOURCES[:2]:
        if path is None or not path.is_dir():
            raise UserError(f"--source {source} needs --path to an existing folder (got {path})")
        if source == "bvh-dir":
            items = iter_bvh_dir(path, fps, options.get("up_axis", "y"), options.get("unit_scale", "auto"))
        else:
            items = iter_npz_dir(path, fps)
        meta = {"source": source, "path": str(path)}
    elif source == "amass-babel":
        from motion_text_node.data.babel import iter_babel_clips

        items, total, meta = iter_babel_clips(amass_root=path, fps=fps, **options)
    else:
        from motion_text_node.data.sources import SOURCES, iter_sources

        names = parse_sources(source)
        items = iter_sources(names, fps, **options)
        meta = {"source": ",".join(names),
                "sources": {n: {"licence": SOURCES[n].licence, "attribution": SOURCES[n].attribution,
                                "description": SOURCES[n].description} for n in names}}
        if any(n.startswith("cmu") or n == "mocap6" for n in names):
            from motion_text_node.data.cmu import CMU_ACKNOWLEDGEMENT

            meta["acknowledgement"] = CMU_ACKNOWLEDGEMENT
    meta["fps"] = fps
    bar = tqdm(items, total=total, desc=f"building {source}", unit="clip", disable=not progress)
    return write_cache(bar, out, meta)
