"""The CMU motion-capture data in ``shared/data/cmu``: BVH trials with their authors' descriptions.

Two sources: ``cmu`` (``cmu_bvh.tar.xz``, 173 trials of 16 subjects) and ``cmu_extra`` (``cmu_bvh_extra.tar.xz``,
17 trials of subjects 62 and 16). Clips carry the trial description as their text (plus HumanML3D captions and
mocap6 exercise labels as segments where available), the subject id, and the split of
``cmu_subject_split_available.tsv`` extended by ``EXTRA_SUBJECT_SPLIT`` (by subject: test subjects never train,
in any source that holds CMU trials).
Acknowledgement, required wherever this data or a model trained on it ships: "The data used in this project
was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217."
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from motion_text_node.data.archives import read_tsv, shared_data_dir, unpacked
from motion_text_node.data.bvh import load_bvh
from motion_text_node.data.clip import Clip, Segment
from motion_text_node.data.sanity import canonical_body, drop_settling_frames
from motion_text_node.skeleton.resample import resample_motion

CMU_ACKNOWLEDGEMENT = (
    "The data used in this project was obtained from mocap.cs.cmu.edu. "
    "The database was created with funding from NSF EIA-0196217."
)


#: Licence id of CMU motion (free, with the acknowledgement above; no resale of the data itself).
CMU_LICENCE = "CMU-mocap"

#: Splits of the subjects that ``cmu_subject_split_available.tsv`` does not list (cmu_extra, cmu_humanoid3d).
#: Chosen so each source gets held-out subjects: 16 (jumps; run/jog, veer left/right) and 90 (jump kick, falls)
#: are test, 43 (playground swing) and 88 (flip backward) val.
EXTRA_SUBJECT_SPLIT: dict[str, str] = {
    "62": "train", "49": "train", "85": "train", "127": "train", "43": "val", "88": "val", "16": "test", "90": "test",
}


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
    return shared_data_dir("cmu", "cmu_motion_manifest.tsv")


def read_manifest(data_dir: Path | None = None, extra: bool = False) -> list[CmuTrial]:
    """All trials of the manifest (``extra``: of ``cmu_bvh_extra_manifest.tsv``, same columns)."""
    data_dir = data_dir or cmu_data_dir()
    name = "cmu_bvh_extra_manifest.tsv" if extra else "cmu_motion_manifest.tsv"
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
        for row in read_tsv(data_dir / name)
    ]


def read_subject_split(data_dir: Path | None = None) -> dict[str, str]:
    """Subject id -> "train" / "val" / "test" (the shared split file, then ``EXTRA_SUBJECT_SPLIT``)."""
    data_dir = data_dir or cmu_data_dir()
    listed = {str(int(r["subject"])): r["split"] for r in read_tsv(data_dir / "cmu_subject_split_available.tsv")}
    return {**EXTRA_SUBJECT_SPLIT, **listed}


def read_humanml3d_captions(data_dir: Path | None = None) -> dict[str, list[Segment]]:
    """Trial id -> HumanML3D caption segments (seconds from the trial's first real frame)."""
    data_dir = data_dir or cmu_data_dir()
    out: dict[str, list[Segment]] = {}
    path = data_dir / "humanml3d_captions.tsv"
    if not path.is_file():
        return out
    for r in read_tsv(path):
        start, end = float(r["clip_start_s"]), float(r["clip_end_s"])
        s0, s1 = float(r["span_start_s"]), float(r["span_end_s"])
        if s1 > s0:  # a sub-span inside the clip
            start, end = start + s0, start + s1
        out.setdefault(r["trial_id"], []).append(Segment(start, end, label="", text=r["caption"].strip()))
    return out


def read_index_texts(data_dir: Path | None = None) -> list[str]:
    """The distinct trial descriptions of the whole CMU index (2,435 trials; vocabulary for text augmentation)."""
    data_dir = data_dir or cmu_data_dir()
    texts = {r["trial_description"].strip() for r in read_tsv(data_dir / "cmu_index.tsv")}
    return sorted(t for t in texts if t)


def unpacked_bvh_dir(data_dir: Path | None = None) -> Path:
    """The BVH files, unpacked once from ``cmu_bvh.tar.xz`` into the cache (shared/ is read-only)."""
    return unpacked((data_dir or cmu_data_dir()) / "cmu_bvh.tar.xz", "cmu_bvh")


def unpacked_extra_dir(data_dir: Path | None = None) -> Path:
    """The cmu_extra BVH files, unpacked once from ``cmu_bvh_extra.tar.xz`` into the cache."""
    return unpacked((data_dir or cmu_data_dir()) / "cmu_bvh_extra.tar.xz", "cmu_bvh_extra")


def load_trial(trial: CmuTrial, bvh_dir: Path, source: str = "cmu", segments: list[Segment] | None = None) -> Clip:
    """One trial as a canonical clip at its capture frame rate (the manifest's, not the header's).

    The cgspeed conversions add a T-pose as frame 0 (dropped, with the frames that blend out of it; ``segments``,
    in seconds from the first captured frame, are shifted to match) and need their units detected; files with the ASF
    bone names (16_xx) have no T-pose and are in ASF length units.
    """
    path = bvh_dir / f"{trial.trial_id}.bvh"
    if trial.fmt == "bvh-cmu-asf-names":
        raw = load_bvh(path, unit_scale="cmu_asf", fps=trial.capture_fps)
        motion = canonical_body(raw, str(path), "cmu_asf38")
    else:
        raw = load_bvh(path, fps=trial.capture_fps, drop_first_frames=1)
        motion = drop_settling_frames(canonical_body(raw, str(path)))
        shift = (raw.num_frames - motion.num_frames) / motion.fps  # segment times count from the first capture
        segments = [Segment(max(0.0, s.start - shift), s.end - shift, s.label, s.text) for s in segments or []]
    return Clip(
        clip_id=trial.trial_id,
        motion=motion,
        texts=[trial.description],
        subject=trial.subject,
        source=source,
        path=str(path),
        licence=CMU_LICENCE,
        take=trial.trial_id,
        segments=[s for s in segments or [] if s.start < motion.duration and s.end > 0],
    )


def iter_cmu_clips(fps: float | None = 30.0, informative_only: bool = True, data_dir: Path | None = None,
                   extra: bool = False, trials: set[str] | None = None) -> Iterator[tuple[Clip, str]]:
    """(clip, split) for every trial of ``cmu`` (or, with ``extra``, ``cmu_extra``), resampled to ``fps`` (None
    keeps the capture rate).

    HumanML3D captions and mocap6 exercise labels are attached as segments; uninformative descriptions ("clean",
    "Unknown") are skipped unless ``informative_only`` is False; ``trials`` keeps only those trial ids.
    """
    from motion_text_node.data.mocap6 import read_mocap6_segments

    data_dir = data_dir or cmu_data_dir()
    split = read_subject_split(data_dir)
    segments = read_humanml3d_captions(data_dir)
    for trial_id, exercise in read_mocap6_segments().items():
        segments.setdefault(trial_id, []).extend(exercise)
    bvh_dir = unpacked_extra_dir(data_dir) if extra else unpacked_bvh_dir(data_dir)
    for trial in read_manifest(data_dir, extra=extra):
        if (informative_only and not trial.informative) or (trials is not None and trial.trial_id not in trials):
            continue
        clip = load_trial(trial, bvh_dir, source="cmu_extra" if extra else "cmu", segments=segments.get(trial.trial_id))
        if fps:
            clip.motion = resample_motion(clip.motion, fps)
        yield clip, split.get(trial.subject, "train")
