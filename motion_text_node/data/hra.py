"""``shared/data/human_robot_animations``: Vicon upper-body captures of people working with a robot at a table
(human-robot-gym, TU Munich, MIT licence), source ``hra``.

Facts checked on the files: 12 joints (no legs: the canonical legs are imputed and flagged missing), millimetres,
y up, 100 fps, no T-pose frame; the root height follows the simulator's table layout (meaningless: normalization
works relative to the lowest joint, and captions must not read posture from it); the ``head`` joint is not
anatomical and is left unmapped (``skeleton.formats.HRA15``). The task folder is the only label; six tasks have a
description in the benchmark's documentation (``task_description`` in the manifest). Files that are byte-identical
across ``HumanRobotHandover`` and ``RobotHumanHandover`` (which describe opposite handovers) get a neutral text.
Splits: by take order within each task (``splits.block_splits``); the performer is not given.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from motion_text_node.data.archives import read_tsv, shared_data_dir, unpacked
from motion_text_node.data.bvh import load_bvh
from motion_text_node.data.clip import Clip
from motion_text_node.data.sanity import canonical_body
from motion_text_node.data.splits import block_splits
from motion_text_node.errors import UserError
from motion_text_node.skeleton.resample import resample_motion

HRA_LICENCE = "MIT"
HRA_ATTRIBUTION = "human-robot-animations (c) 2023 Jakob Thumm, MIT licence"

#: task folder -> (label, short descriptions).
TASKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "CollaborativeHammering": ("hold a board for hammering", (
        "a person lays a board on a table, waits while a nail is driven in, and lifts it again",
        "someone holds a board down on a table for hammering")),
    "CollaborativeLifting": ("lift a board together", (
        "a person lifts a board with both hands to different heights", "someone lifts a board together with a robot")),
    "CollaborativeStacking": ("stack cubes", (
        "a person places cubes on a table one at a time to build a stack", "someone stacks cubes on a table")),
    "HumanRobotHandover": ("hand over a hammer", (
        "a person holds out a hammer to hand it over", "someone walks up and hands a hammer to a robot")),
    "RobotHumanHandover": ("receive a hammer", (
        "a person holds a hand out over a table to receive a hammer", "someone takes a hammer handed to them")),
    "ObjectInspection": ("inspect an object", (
        "a person inspects an object held in front of the face from different sides",
        "someone looks closely at an object in front of them")),
    "PickPlaceCloseHuman": ("pick and place objects", (
        "a person picks up objects and puts them down close by", "someone moves objects on a table")),
    "PickPlacePointingHuman": ("point at a place", (
        "a person points at places on a table", "someone points to where an object should go")),
    "RobotHandball": ("throw and catch a ball", (
        "a person throws and catches a ball with a robot", "someone plays catch")),
    "TossTheCan": ("toss a can", ("a person tosses a can", "someone throws a can")),
}
AMBIGUOUS_HANDOVER = ("hand over an object", (
    "a person holds a hand out over a table during a handover", "someone hands over or receives a hammer"))


def hra_dir() -> Path:
    """``shared/data/human_robot_animations`` (UserError when missing)."""
    return shared_data_dir("human_robot_animations", "hra_manifest.tsv")


def read_hra_manifest(data_dir: Path | None = None) -> list[dict[str, str]]:
    """Manifest rows (file, task, task_description, frames, header_fps, ..., identical_to)."""
    return read_tsv((data_dir or hra_dir()) / "hra_manifest.tsv")


def load_hra_file(path: str | Path, task: str, ambiguous: bool = False, description: str = "") -> Clip:
    """One capture as a canonical clip (upper body observed, legs imputed and flagged)."""
    path = Path(path)
    if task not in TASKS:
        raise UserError(f"{path}: unknown task {task!r}")
    raw = load_bvh(path, unit_scale="mm")
    motion = canonical_body(raw, str(path), "hra15")
    label, texts = AMBIGUOUS_HANDOVER if ambiguous else TASKS[task]
    if description and not ambiguous and not description.startswith("("):
        texts = (description.replace("human ", "a person ", 1), *texts)
    take = f"{task}/{path.stem}"
    return Clip(f"hra:{take}", motion, list(texts), label=label, subject="", source="hra", path=str(path),
                licence=HRA_LICENCE, take=take)


def iter_hra_clips(fps: float | None = 30.0, data_dir: Path | None = None) -> Iterator[tuple[Clip, str]]:
    """(clip, split) for every capture in the archive."""
    data_dir = data_dir or hra_dir()
    root = unpacked(data_dir / "hra_bvh.tar.xz", "hra_bvh")
    rows = read_hra_manifest(data_dir)
    ambiguous = {r["identical_to"].strip() for r in rows if r.get("identical_to", "").strip()}
    present = [r for r in rows if not r.get("identical_to", "").strip()]
    by_task: dict[str, list[str]] = defaultdict(list)
    for r in present:
        by_task[r["task"]].append(Path(r["file"]).stem)
    split = {(task, stem): s for task, stems in by_task.items() for stem, s in block_splits(stems).items()}
    for r in present:
        path = root / r["file"]
        clip = load_hra_file(path, r["task"], ambiguous=r["file"] in ambiguous, description=r["task_description"])
        if fps:
            clip.motion = resample_motion(clip.motion, fps)
        yield clip, split[(r["task"], path.stem)]
