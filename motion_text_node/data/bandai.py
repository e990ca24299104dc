"""Bandai Namco Research Motiondataset 1 and 2 (``shared/data/bandai``): 3.9 h of studio mocap, source ``bandai``.

**CC BY-NC 4.0**: a model trained on these clips is for non-commercial use only (``BANDAI_LICENCE``; the model
card and ``model.json`` say so). Every file is named ``dataset-N_<content>_<style>_<take>.bvh`` (with a ``.json`` of
the content and style indices into ``cfg/content_label.txt`` and ``cfg/style_label.txt``). Texts are built from
content and style in several wordings; the clip label is the content in everyday words (``CONTENTS``).

Facts checked on the files (shared/data/bandai/README.md): 6 channels on every joint whose position channels
replace OFFSET (``bvh.position_mode``), ZXY rotations, centimetres, y up, 30 fps, no T-pose frame, ``_L`` the
actor's left, ``Head`` the base of the skull. The actor is not given, so splits keep takes together instead:
dataset 2 by take order within each content and style (``splits.block_splits``), dataset 1 (two takes per
style) by style (``DATASET1_STYLE_SPLIT``).
"""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from motion_text_node.data.archives import shared_data_dir, unpacked
from motion_text_node.data.bvh import load_bvh
from motion_text_node.data.clip import Clip
from motion_text_node.data.sanity import canonical_body
from motion_text_node.data.splits import block_splits
from motion_text_node.errors import UserError
from motion_text_node.skeleton.resample import resample_motion

BANDAI_LICENCE = "CC-BY-NC-4.0"
BANDAI_ATTRIBUTION = "Bandai-Namco-Research-Motiondataset, (c) 2022 Bandai Namco Research Inc., CC BY-NC 4.0"

#: content -> (label, descriptions). Sides are the actor's own; checked on the motion where the name is vague
#: (bye: the right hand waves above the head; byebye: both hands; guide: the right hand gestures at chest
#: height; respond: the left hand goes up; call: both hands at the mouth).
CONTENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "walk": ("walk", ("a person walks", "someone walks forward", "a person is walking")),
    "run": ("run", ("a person runs", "someone runs forward", "a person is running")),
    "dash": ("sprint", ("a person sprints", "someone dashes forward", "a person runs fast")),
    "walk-back": ("walk backward", ("a person walks backward", "someone walks backwards",
                                    "a person steps backward")),
    "walk-left": ("walk to the left", ("a person walks to the left", "someone walks toward their left",
                                       "a person moves to the left while walking")),
    "walk-right": ("walk to the right", ("a person walks to the right", "someone walks toward their right",
                                         "a person moves to the right while walking")),
    "bow": ("bow", ("a person bows", "someone bows politely", "a person bends forward in a bow")),
    "bye": ("wave goodbye", ("a person waves goodbye with the right hand", "someone waves bye with their right hand",
                             "a person raises the right hand and waves goodbye")),
    "byebye": ("wave goodbye with both hands", ("a person waves goodbye with both hands",
                                                "someone waves both hands to say goodbye",
                                                "a person raises both hands and waves goodbye")),
    "guide": ("show the way", ("a person shows the way with the right hand",
                               "someone points the way with their right hand",
                               "a person guides someone with a gesture of the right hand")),
    "respond": ("raise a hand to answer", ("a person raises the left hand to answer",
                                           "someone raises their left hand in response",
                                           "a person answers by putting the left hand up")),
    "call": ("call out", ("a person calls out with the hands at the mouth",
                          "someone cups the hands around the mouth and calls", "a person calls to someone")),
    "punch": ("punch", ("a person punches", "someone throws punches", "a person punches forward")),
    "kick": ("kick", ("a person kicks", "someone kicks with a leg", "a person kicks forward")),
    "slash": ("slash with a sword", ("a person slashes with a sword", "someone swings a sword with both hands",
                                     "a person strikes with a sword")),
    "dance-short": ("dance", ("a person dances", "someone is dancing", "a person does a dance")),
    "dance-long": ("dance", ("a person dances", "someone is dancing", "a person does a dance")),
    "walk-turn-left": ("walk and turn left", ("a person walks and turns left",
                                              "someone walks while turning to the left",
                                              "a person turns left while walking")),
    "walk-turn-right": ("walk and turn right", ("a person walks and turns right",
                                                "someone walks while turning to the right",
                                                "a person turns right while walking")),
    "wave-both-hands": ("wave both hands", ("a person waves both hands", "someone waves with both hands",
                                            "a person raises both hands and waves")),
    "wave-left-hand": ("wave the left hand", ("a person waves the left hand", "someone waves with their left hand",
                                              "a person raises the left hand and waves")),
    "wave-right-hand": ("wave the right hand", ("a person waves the right hand",
                                                "someone waves with their right hand",
                                                "a person raises the right hand and waves")),
    "raise-up-both-hands": ("raise both hands", ("a person raises both hands", "someone lifts both hands up",
                                                 "a person puts both hands up")),
    "raise-up-left-hand": ("raise the left hand", ("a person raises the left hand", "someone lifts their left hand up",
                                                   "a person puts the left hand up")),
    "raise-up-right-hand": ("raise the right hand", ("a person raises the right hand",
                                                     "someone lifts their right hand up",
                                                     "a person puts the right hand up")),
}

#: style -> ways of saying it after a description ("" for the plain motion).
STYLES: dict[str, tuple[str, ...]] = {
    "normal": ("",),
    "active": ("energetically", "in an active way", "full of energy"),
    "elderly": ("in an elderly way", "like an old person"),
    "old": ("like an old person", "in an elderly way"),
    "exhausted": ("in an exhausted way", "wearily", "as if worn out"),
    "tired": ("tiredly", "as if tired", "wearily"),
    "feminine": ("in a feminine way", "femininely"),
    "masculine": ("in a masculine way", "manly"),
    "masculinity": ("in a masculine way", "manly"),
    "youthful": ("in a youthful way", "like a young person"),
    "childish": ("like a child", "in a childish way"),
    "happy": ("happily", "in a happy mood"),
    "sad": ("sadly", "looking sad"),
    "angry": ("angrily", "in an angry way"),
    "proud": ("proudly", "in a proud way"),
    "not-confident": ("timidly", "without confidence"),
    "musical": ("rhythmically, like in a musical", "in a musical way"),
    "giant": ("heavily, like a giant", "like a giant"),
    "chimpira": ("like a thug", "with a swagger"),
}

#: Dataset 1 has two takes per style: whole styles are held out.
DATASET1_STYLE_SPLIT: dict[str, str] = {"childish": "val", "proud": "test", "tired": "test"}

_NAME = re.compile(r"^dataset-(\d)_(.+)_([a-z-]+)_(\d+)$")


def bandai_dir() -> Path:
    """``shared/data/bandai`` (UserError when missing)."""
    return shared_data_dir("bandai", "bandai_bvh.tar.xz")


def bandai_texts(content: str, style: str) -> list[str]:
    """Descriptions of one content in one style, every wording (the first is the plainest)."""
    if content not in CONTENTS or style not in STYLES:
        raise UserError(f"unknown Bandai content/style {content!r}/{style!r}")
    return [f"{d} {s}".strip() for d, s in itertools.product(CONTENTS[content][1], STYLES[style])]


def parse_name(stem: str) -> tuple[str, str, str, str]:
    """(dataset, content, style, take) of a file stem such as ``dataset-2_walk-turn-left_elderly_012``."""
    m = _NAME.match(stem)
    if not m:
        raise UserError(f"{stem}: not a Bandai file name (dataset-N_<content>_<style>_<take>)")
    return m.group(1), m.group(2), m.group(3), m.group(4)


def _labels_from_json(path: Path, cfg: Path) -> tuple[str, str] | None:
    """(content, style) from the file's .json and the cfg label files, or None when they are absent."""
    meta = path.with_suffix(".json")
    if not meta.is_file():
        return None
    try:
        ids = json.loads(meta.read_text())
        lines = [(cfg / f"{k}_label.txt").read_text().split() for k in ("content", "style")]
        names = lines[0][int(ids["content"])], lines[1][int(ids["style"])]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise UserError(f"{meta}: unreadable Bandai label file ({exc})") from None
    return tuple(n.split("_", 1)[1] for n in names)  # "dataset-2_walk" -> "walk"


def load_bandai_file(path: str | Path) -> Clip:
    """One Bandai BVH file as a canonical clip (30 fps, metres, z up) with texts, label and take."""
    path = Path(path)
    dataset, content, style, _ = parse_name(path.stem)
    from_json = _labels_from_json(path, path.parent.parent / "cfg")
    if from_json is not None and from_json != (content, style):
        raise UserError(f"{path}: its .json says {from_json}, its name says {(content, style)}")
    raw = load_bvh(path, unit_scale="cm", fps=30.0)  # Frame Time 0.0333333 is 30 fps rounded
    motion = canonical_body(raw, str(path), "bandai27")
    return Clip(f"bandai:{path.stem}", motion, bandai_texts(content, style), label=CONTENTS[content][0],
                subject="", source="bandai", path=str(path), licence=BANDAI_LICENCE, take=path.stem)


def bandai_files(root: Path) -> list[Path]:
    """Every BVH file of both datasets under the unpacked archive."""
    files = sorted(root.glob("Bandai-Namco-Research-Motiondataset-*/data/*.bvh"))
    if not files:
        raise UserError(f"{root}: no Bandai BVH files")
    return files


def bandai_splits(files: list[Path]) -> dict[str, str]:
    """File stem -> split (dataset 2: take order within content and style; dataset 1: by style)."""
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    out: dict[str, str] = {}
    for f in files:
        dataset, content, style, _ = parse_name(f.stem)
        if dataset == "1":
            out[f.stem] = DATASET1_STYLE_SPLIT.get(style, "train")
        else:
            groups[(dataset, content, style)].append(f.stem)
    for stems in groups.values():
        out.update(block_splits(stems))
    return out


def iter_bandai_clips(fps: float | None = 30.0, data_dir: Path | None = None, limit: int | None = None
                      ) -> Iterator[tuple[Clip, str]]:
    """(clip, split) for every Bandai file (``limit``: every n-th file only, for a quick subset)."""
    root = unpacked((data_dir or bandai_dir()) / "bandai_bvh.tar.xz", "bandai_bvh", wrap=True)
    files = bandai_files(root)
    split = bandai_splits(files)
    if limit:
        files = files[:: max(1, len(files) // limit)][:limit]
    for f in files:
        clip = load_bandai_file(f)
        if fps:
            clip.motion = resample_motion(clip.motion, fps)
        yield clip, split[f.stem]
