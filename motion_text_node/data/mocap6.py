"""mocap6 (``shared/data/mocap6``): exercise labels every 0.1 s on CMU trials, as time-stamped clip segments.

Fox, Hughes, Sudderth and Jordan (Annals of Applied Statistics 8(3), 2014), annotations BSD-3-Clause. Only the
trials whose motion is in ``cmu_bvh.tar.xz`` (13_30, 13_31) are usable: the three AMC trials come without their
ASF skeleton files, and 14_06 has no motion file here. Times are seconds from the first captured frame, which is
the first frame of our CMU clips (the BVH's added T-pose is dropped).
"""

from __future__ import annotations

import csv
from pathlib import Path

from motion_text_node.data.clip import Segment
from motion_text_node.errors import UserError
from motion_text_node.paths import shared_dir

MOCAP6_LICENCE = "BSD-3-Clause"
MOCAP6_ATTRIBUTION = "mocap6 annotations (c) 2015 Mike Hughes, E. Fox; BSD 3-clause"

#: mocap6 label -> (action label in everyday words, a sentence describing it).
EXERCISES: dict[str, tuple[str, str]] = {
    "JumpJack": ("jumping jacks", "a person does jumping jacks"),
    "Jog": ("jog in place", "a person jogs on the spot"),
    "Squat": ("squat", "a person squats down and stands up again"),
    "KneeRaise": ("knee raises", "a person raises the knees one after the other"),
    "ArmCircle": ("arm circles", "a person circles the arms"),
    "Twist": ("twist the torso", "a person twists the upper body from side to side"),
    "SideReach": ("side reach", "a person reaches over to the side"),
    "Box": ("shadow boxing", "a person punches the air like a boxer"),
    "UpDown": ("bend down and stand up", "a person bends down and comes back up"),
    "ToeTouchOneHand": ("touch the toes with one hand", "a person bends down and touches the toes with one hand"),
    "SideBend": ("side bends", "a person bends the upper body to the side"),
    "ToeTouchTwoHands": ("touch the toes with both hands", "a person bends down and touches the toes with both hands"),
}


def mocap6_dir() -> Path:
    """``shared/data/mocap6``."""
    return shared_dir() / "data" / "mocap6"


def read_mocap6_segments(data_dir: Path | None = None, motion_files: tuple[str, ...] = ("cmu_bvh",)
                         ) -> dict[str, list[Segment]]:
    """Trial id -> labelled segments, for trials whose ``motion_file`` is in ``motion_files``.

    An absent mocap6 folder gives no segments (the annotations are optional); a present but malformed table is
    an error naming the row.
    """
    path = (data_dir or mocap6_dir()) / "mocap6_segments.tsv"
    if not path.is_file():
        return {}
    out: dict[str, list[Segment]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f, delimiter="\t"), start=2):
            try:
                start, end, raw = float(row["start_s"]), float(row["end_s"]), row["label"].strip()
                label, text = EXERCISES[raw]
                motion_file, trial = row["motion_file"].strip(), row["trial_id"].strip()
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                raise UserError(f"{path}:{n}: malformed mocap6 row ({exc})") from None
            if not (0 <= start < end):
                raise UserError(f"{path}:{n}: segment times {start}..{end} are not increasing")
            if motion_file in motion_files:
                out.setdefault(trial, []).append(Segment(start, end, label=label, text=text))
    return out
