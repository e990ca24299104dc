"""The CMU motion-capture data in ``shared/data/cmu``: BVH trials with their authors' descriptions.

Clips carry the trial description as their text (plus HumanML3D captions as segments where available), the
subject id, and the split of ``cmu_subject_split_available.tsv`` (by subject: test subjects never train).
Acknowledgement, required wherever this data or a model trained on it ships: "The data used in this project
was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217."
"""

from __future__ import annotations

import csv
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from motion_text_node.data.bvh import load_bvh
from motion_text_node.data.clip import Clip, Segment
from motion_text_node.errors import UserError
from motion_text_node.paths import cache_dir, shared_dir
from motion_text_node.skeleton.adapt import to_canonical
from motion_text_node.skeleton.resample import resample_motion

CMU_ACKNOWLEDGEMENT = (
    "The data used in this project was obtained from mocap.cs.cmu.edu. "
    "The database was created with funding from NSF EIA-0196217."
)


@dataclass(frozen=True)
class CmuTrial:
    """One row of the manifest."""

    trial_id: str
    subject: str
    description: str
    subject_description: str
    informative: bool
    capture_fps: float
    fmt: str


def cmu_data_dir() -> Path:
    """``shared/data/cmu`` (raises UserError when it is missing)."""
    path = shared_dir() / "data" / "cmu"
    if not (path / "cmu_motion_manifest.tsv").is_file():
        raise UserError(f"CMU data not found at {path} (set MOTION_TEXT_SHARED to the shared folder)")
    return path


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def read_manifest(data_dir: Path | None = None) -> list[CmuTrial]:
    """All trials of the manifest."""
    data_dir = data_dir or cmu_data_dir()
    return [
        CmuTrial(
            trial_id=row["trial_id"],
            subject=str(int(row["subject"])),
            description=row["trial_description"].strip(),
            subject_description=row["subject_description"].strip(),
            informative=row["informative_text"].strip() == "True",
            capture_fps=float(row["cmu_capture_fps"]),
            fmt=row["format"],
        )
        for row in _read_tsv(data_dir / "cmu_motion_manifest.tsv")
    ]


def read_subject_split(data_dir: Path | None = None) -> dict[str, str]:
    """Subject id -> "train" / "val" / "test"."""
    data_dir = data_dir or cmu_data_dir()
    return {str(int(r["subject"])): r["split"] for r in _read_tsv(data_dir / "cmu_subject_split_available.tsv")}


def read_humanml3d_captions(data_dir: Path | None = None) -> dict[str, list[Segment]]:
    """Trial id -> HumanML3D caption segments (seconds from the trial's first real frame)."""
    data_dir = data_dir or cmu_data_dir()
    out: dict[str, list[Segment]] = {}
    path = data_dir / "humanml3d_captions.tsv"
    if not path.is_file():
        return out
    for r in _read_tsv(path):
        start, end = float(r["clip_start_s"]), float(r["clip_end_s"])
        s0, s1 = float(r["span_start_s"]), float(r["span_end_s"])
        if s1 > s0:  # a sub-span inside the clip
            start, end = start + s0, start + s1
        out.setdefault(r["trial_id"], []).append(Segment(start, end, label="", text=r["caption"].strip()))
    return out


def read_index_texts(data_dir: Path | None = None) -> list[str]:
    """The distinct trial descriptions of the whole CMU index (2,435 trials; vocabulary for text augmentation)."""
    data_dir = data_dir or cmu_data_dir()
    texts = {r["trial_description"].strip() for r in _read_tsv(data_dir / "cmu_index.tsv")}
    return sorted(t for t in texts if t)


def unpacked_bvh_dir(data_dir: Path | None = None) -> Path:
    """The BVH files, unpacked once from ``cmu_bvh.tar.xz`` into the cache (shared/ is read-only)."""
    data_dir = data_dir or cmu_data_dir()
    out = cache_dir() / "cmu_bvh"
    marker = out / ".complete"
    if marker.is_file():
        return out
    archive = data_dir / "cmu_bvh.tar.xz"
    if not archive.is_file():
        raise UserError(f"{archive}: missing")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(out.parent, filter="data")
    marker.touch()
    return out


def load_trial(trial: CmuTrial, bvh_dir: Path) -> Clip:
    """One trial as a canonical clip at its capture frame rate (the added T-pose frame 0 dropped)."""
    path = bvh_dir / f"{trial.trial_id}.bvh"
    # Headers all say 120 fps; subjects 60 and 61 were captured at 60: trust the manifest.
    raw = load_bvh(path, fps=trial.capture_fps, drop_first_frames=1)
    motion = to_canonical(raw.positions, raw.fps, raw.joint_names, up_axis="y")
    return Clip(
        clip_id=trial.trial_id,
        motion=motion,
        texts=[trial.description],
        subject=trial.subject,
        source=str(path),
    )


def iter_cmu_clips(fps: float | None = 30.0, informative_only: bool = True,
                   data_dir: Path | None = None) -> Iterator[tuple[Clip, str]]:
    """(clip, split) for every trial, resampled to ``fps`` (None keeps the capture rate).

    HumanML3D captions are attached as segments; uninformative descriptions ("clean", "Unknown") are skipped
    unless ``informative_only`` is False.
    """
    data_dir = data_dir or cmu_data_dir()
    split = read_subject_split(data_dir)
    captions = read_humanml3d_captions(data_dir)
    bvh_dir = unpacked_bvh_dir(data_dir)
    for trial in read_manifest(data_dir):
        if informative_only and not trial.informative:
            continue
        clip = load_trial(trial, bvh_dir)
        if fps:
            clip.motion = resample_motion(clip.motion, fps)
        clip.segments = [s for s in captions.get(trial.trial_id, []) if s.start < clip.motion.duration]
        yield clip, split.get(trial.subject, "train")
