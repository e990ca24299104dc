"""``shared/data/cmu_humanoid3d``: CMU trials retargeted onto DeepMimic's 15-joint humanoid (source
``cmu_humanoid3d``), from "Discovering Diverse Athletic Jumping Strategies" (repository arpspoof/Jump, MIT).

Texts are the CMU index descriptions; subjects and splits are CMU's (``cmu.read_subject_split``), so a trial that
is also in ``cmu`` lands in the same split there and here. Frame rates come from the manifest's ``true_fps``
(subject 88 was resampled as if it were 120 fps: its frame durations are wrong).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from motion_text_node.data.archives import read_tsv, shared_data_dir, unpacked
from motion_text_node.data.clip import Clip
from motion_text_node.data.cmu import CMU_LICENCE, cmu_data_dir, read_subject_split
from motion_text_node.data.deepmimic import load_character, load_deepmimic
from motion_text_node.data.sanity import canonical_body
from motion_text_node.skeleton.resample import resample_motion

HUMANOID3D_LICENCE = f"MIT AND {CMU_LICENCE}"


def humanoid3d_dir() -> Path:
    """``shared/data/cmu_humanoid3d`` (UserError when missing)."""
    return shared_data_dir("cmu_humanoid3d", "cmu_humanoid3d_manifest.tsv")


def read_humanoid3d_manifest(data_dir: Path | None = None) -> list[dict[str, str]]:
    """The manifest rows (trial_id, subject, trial_description, informative_text, also_in, true_fps, ...)."""
    return read_tsv((data_dir or humanoid3d_dir()) / "cmu_humanoid3d_manifest.tsv")


def load_humanoid3d_trial(row: dict[str, str], folder: Path, character=None) -> Clip:
    """One manifest row as a canonical clip at its true frame rate."""
    character = character or load_character(folder / "humanoid3d.txt")
    path = folder / f"{row['trial_id']}.txt"
    raw = load_deepmimic(path, character, fps=float(row["true_fps"]))
    motion = canonical_body(raw, str(path), "humanoid3d15")
    return Clip(f"cmu_humanoid3d:{row['trial_id']}", motion, [row["trial_description"].strip()],
                subject=str(int(row["subject"])), source="cmu_humanoid3d", path=str(path),
                licence=HUMANOID3D_LICENCE, take=row["trial_id"])


def iter_humanoid3d_clips(fps: float | None = 30.0, informative_only: bool = True,
                          data_dir: Path | None = None) -> Iterator[tuple[Clip, str]]:
    """(clip, split) for every trial of the manifest, split by CMU subject."""
    data_dir = data_dir or humanoid3d_dir()
    folder = unpacked(data_dir / "cmu_humanoid3d.tar.xz", "cmu_humanoid3d")
    character = load_character(folder / "humanoid3d.txt")
    split = read_subject_split(cmu_data_dir())
    for row in read_humanoid3d_manifest(data_dir):
        if informative_only and row.get("informative_text", "True").strip() != "True":
            continue
        clip = load_humanoid3d_trial(row, folder, character)
        if fps:
            clip.motion = resample_motion(clip.motion, fps)
        yield clip, split.get(clip.subject, "train")
