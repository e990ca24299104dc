"""BABEL action annotations of AMASS sequences: parsing, joining to AMASS files, BABEL-60/120 chunks as Clips.

Annotation files (``babel_v1.0_release/{train,val,test}.json``) map a BABEL sequence id to::

    {"babel_sid": 12906, "url": ".../012906.mp4", "feat_p": "CMU/CMU/86/86_04_poses.npz", "dur": 70.0,
     "seq_ann":   {"babel_lid": ..., "anntr_id": ..., "mul_act": true,
                   "labels": [{"raw_label": "walk and turn", "proc_label": "walk and turn", "seg_id": ...,
                               "act_cat": ["walk", "turn"]}]},
     "frame_ann": null | {... same, each label also with "start_t", "end_t" in seconds}}

``extra_{train,val}.json`` hold ``seq_anns`` / ``frame_anns`` lists (several annotators); the first non-null one
of each list is used. ``act_cat`` may be null (no category).

Class subsets: BABEL's ``action_label_2_idx.json`` maps its 150 action categories to indices sorted by frequency;
BABEL-60 / BABEL-120 are the categories with index < 60 / < 120 (``read_action_label_map(path, 60)``).

Chunking (``babel_chunks``), at 30 fps with 150-frame (5 s) chunks:

* ``mode="segment"`` (default; BABEL's action-recognition protocol, ``action_recognition/data_gen``): the dense
  labels are the frame labels, or the sequence labels spanning the whole sequence when there are none. Each
  labelled segment, frames ``int(30 * start_t)`` to ``int(30 * end_t)``, is cut into consecutive 150-frame chunks
  from its start (the last one shorter). Each chunk gives one sample per category in the segment's ``act_cat``;
  samples whose category is not in the class subset are dropped. Overlapping segments give overlapping chunks.
* ``mode="window"``: the sequence is cut into consecutive 150-frame windows from frame 0. A window takes the
  category labelling the most of its frames (frame f carries the categories of the labels with
  ``start_t <= f / 30 < end_t``; ties go to a category in the subset, then to the one that starts first); it is
  dropped when that category covers less than ``min_coverage`` of the window or is not in the subset.

In both modes a chunk shorter than ``min_frames`` is dropped (default 1: keep every tail, as upstream does).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from motion_text_node.data.clip import Clip, Segment
from motion_text_node.errors import UserError
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
from motion_text_node.skeleton.motion import Motion
from motion_text_node.skeleton.resample import resample_motion

logger = logging.getLogger(__name__)

BABEL_FPS = 30.0
CHUNK_FRAMES = 150
SPLITS = ("train", "val", "test")
MODES = ("segment", "window")

# Folder names of AMASS subsets as they appear in feat_p (second part) -> the names of current AMASS downloads.
AMASS_FOLDER_ALIASES: dict[str, str] = {
    "BioMotionLab_NTroje": "BMLrub",
    "DFaust_67": "DFaust",
    "MPI_HDM05": "HDM05",
    "MPI_Limits": "PosePrior",
    "MPI_mosh": "MoSh",
    "SSM_synced": "SSM",
    "Transitions_mocap": "Transitions",
    "Eyes_Japan_Dataset": "EyesJapanDataset",
}


@dataclass
class BabelLabel:
    """One BABEL label: a free-text description, its processed form and its action categories over a time span."""

    raw_label: str
    proc_label: str
    seg_id: str
    act_cat: tuple[str, ...]
    start_t: float
    end_t: float


@dataclass
class BabelSequence:
    """The annotations of one AMASS sequence.

    Attributes:
        sid: BABEL sequence id (``babel_sid``), as a string.
        feat_p: the AMASS file, relative to the AMASS root as BABEL names it (e.g. "CMU/CMU/86/86_04_poses.npz").
        dur: duration in seconds.
        url: the rendering of the sequence.
        seq_labels: sequence-level labels (spanning 0..dur).
        frame_labels: frame-level labels, None when the sequence has none (``frame_ann`` null).
        split: the annotation file it came from ("train", "val", ...).
    """

    sid: str
    feat_p: str
    dur: float
    url: str = ""
    seq_labels: list[BabelLabel] = field(default_factory=list)
    frame_labels: list[BabelLabel] | None = None
    split: str = ""

    @property
    def dense_labels(self) -> list[BabelLabel]:
        """The labels chunks are cut from: frame labels when there are any, else the sequence labels."""
        return self.frame_labels if self.frame_labels is not None else self.seq_labels

    @property
    def segments(self) -> list[Segment]:
        """The dense labels as Segments (label: first action category, else the processed label)."""
        return [Segment(lab.start_t, lab.end_t, _first(lab.act_cat) or lab.proc_label, lab.raw_label)
                for lab in self.dense_labels]

    @property
    def subject(self) -> str:
        """Performer id from ``feat_p``: the CMU subject number ("86"), else "<subset>/<folder>", "" if unknown."""
        parts = PurePosixPath(self.feat_p).parts
        if len(parts) < 3:
            return ""
        folder = parts[-2]
        if parts[0].upper() == "CMU":
            return str(int(folder)) if folder.isdigit() else folder
        return f"{parts[0]}/{folder}"


@dataclass
class BabelChunk:
    """One labelled chunk of a sequence (frames at ``BABEL_FPS``), before any motion is loaded."""

    sid: str
    index: int
    start: int
    stop: int
    label: str
    texts: list[str]
    segments: list[Segment]
    seg_id: str = ""
    chunk_n: int = 0

    @property
    def clip_id(self) -> str:
        """``<sid>_<index>``, unique within the dataset."""
        return f"{self.sid}_{self.index}"


@dataclass
class AmassJoin:
    """BABEL sequences matched to AMASS files under a root."""

    root: Path
    found: list[tuple[BabelSequence, Path]]
    missing: list[BabelSequence]

    def report(self) -> str:
        """One line: how many matched, how many are missing, the first few missing ``feat_p``."""
        total = len(self.found) + len(self.missing)
        line = f"{len(self.found)} of {total} BABEL sequences found under {self.root}"
        if self.missing:
            shown = ", ".join(s.feat_p for s in self.missing[:3]) + (", ..." if len(self.missing) > 3 else "")
            line += f"; {len(self.missing)} AMASS files missing (e.g. {shown})"
        return line


@dataclass
class BabelClips:
    """The result of ``babel_clips``: the clips and what could not be used."""

    clips: list[Clip]
    join: AmassJoin
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    def report(self) -> str:
        """One line summary: clips made, sequences used, AMASS files missing or unreadable."""
        line = f"{len(self.clips)} clips; {self.join.report()}"
        if self.unreadable:
            line += f"; {len(self.unreadable)} unreadable (e.g. {self.unreadable[0][1]})"
        return line


def _first(values: Sequence[str]) -> str:
    return values[0] if values else ""


def _str_or_empty(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UserError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _parse_labels(ann: Any, where: str, dur: float, timed: bool) -> list[BabelLabel]:
    if ann is None:
        return []
    if not isinstance(ann, Mapping) or not isinstance(ann.get("labels"), list):
        raise UserError(f"{where}: expected an object with a 'labels' list")
    labels = []
    for i, lab in enumerate(ann["labels"]):
        at = f"{where}.labels[{i}]"
        if not isinstance(lab, Mapping):
            raise UserError(f"{at}: expected an object, got {type(lab).__name__}")
        cats = lab.get("act_cat") or []
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise UserError(f"{at}.act_cat: expected a list of strings or null, got {cats!r}")
        if timed:
            for key in ("start_t", "end_t"):
                if key not in lab:
                    raise UserError(f"{at}: missing '{key}' in a frame label")
            start, end = _number(lab["start_t"], f"{at}.start_t"), _number(lab["end_t"], f"{at}.end_t")
        else:
            start, end = 0.0, dur
        labels.append(BabelLabel(
            raw_label=_str_or_empty(lab.get("raw_label")),
            proc_label=_str_or_empty(lab.get("proc_label")),
            seg_id=_str_or_empty(lab.get("seg_id")),
            act_cat=tuple(cats),
            start_t=start,
            end_t=end,
        ))
    return labels


def _first_annotation(entry: Mapping, single: str, plural: str) -> Any:
    """``entry[single]``, or for extra_*.json files the first non-null annotation of ``entry[plural]``."""
    if single in entry:
        return entry[single]
    many = entry.get(plural)
    if isinstance(many, list):
        return next((a for a in many if a is not None), None)
    return many


def parse_babel(data: Any, source: str = "BABEL annotations", split: str = "") -> list[BabelSequence]:
    """Sequences from the decoded content of a BABEL annotation file (``UserError`` naming what is malformed)."""
    if not isinstance(data, Mapping):
        raise UserError(f"{source}: expected a JSON object keyed by BABEL sequence id, got {type(data).__name__}")
    sequences = []
    for key, entry in data.items():
        where = f"{source}: sequence {key}"
        if not isinstance(entry, Mapping):
            raise UserError(f"{where}: expected an object, got {type(entry).__name__}")
        for needed in ("feat_p", "dur"):
            if needed not in entry:
                raise UserError(f"{where}: missing '{needed}'")
        feat_p = entry["feat_p"]
        if not isinstance(feat_p, str) or not feat_p:
            raise UserError(f"{where}: 'feat_p' must be a path string, got {feat_p!r}")
        dur = _number(entry["dur"], f"{where}.dur")
        seq_ann = _first_annotation(entry, "seq_ann", "seq_anns")
        frame_ann = _first_annotation(entry, "frame_ann", "frame_anns")
        sequences.append(BabelSequence(
            sid=str(entry.get("babel_sid", key)),
            feat_p=feat_p,
            dur=dur,
            url=_str_or_empty(entry.get("url")),
            seq_labels=_parse_labels(seq_ann, f"{where}.seq_ann", dur, timed=False),
            frame_labels=None if frame_ann is None else _parse_labels(frame_ann, f"{where}.frame_ann", dur, True),
            split=split,
        ))
    return sequences


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from exc


def read_babel_json(path: str | Path) -> list[BabelSequence]:
    """Sequences of one BABEL annotation file (``train.json``, ``val.json``, ``extra_train.json``, ...)."""
    path = Path(path).expanduser()
    return parse_babel(_read_json(path), str(path), split=path.stem)


def load_babel(babel: str | Path, splits: Iterable[str] = ("train", "val")) -> list[BabelSequence]:
    """Sequences of ``<babel>/<split>.json`` for each split (or of ``babel`` itself when it is a .json file)."""
    path = Path(babel).expanduser()
    if path.is_file():
        return read_babel_json(path)
    if not path.is_dir():
        raise UserError(f"BABEL annotations not found: {path} (expected babel_v1.0_release/ with train.json, val.json)")
    sequences: list[BabelSequence] = []
    for split in splits:
        sequences += read_babel_json(path / f"{split}.json")
    return sequences


def read_action_label_map(source: str | Path | Mapping | Sequence, num_classes: int | None = None) -> dict[str, int]:
    """Action category -> class index for a BABEL class subset.

    Accepted ``source``: the path of a JSON file, or its decoded content, being one of
      * ``{"walk": 0, "stand": 1, ...}``: BABEL's ``action_label_2_idx.json`` (150 categories, by frequency);
        ``num_classes`` N keeps the categories with index < N (BABEL-60: 60, BABEL-120: 120), as upstream does;
      * ``["walk", "stand", ...]``: category names, index = position (``num_classes`` keeps the first N);
      * ``{"60": {...}, "120": {...}}``: one mapping per subset, chosen by ``num_classes``.
    Indices must be distinct non-negative integers; the result is never empty.
    """
    where = str(source) if isinstance(source, str | Path) else "action label map"
    data = _read_json(Path(source).expanduser()) if isinstance(source, str | Path) else source
    if isinstance(data, Mapping) and data and all(isinstance(v, Mapping) for v in data.values()):
        if num_classes is None or str(num_classes) not in data:
            raise UserError(f"{where}: holds subsets {', '.join(map(str, data))}; choose one with num_classes")
        data, num_classes = data[str(num_classes)], None
    if isinstance(data, Sequence) and not isinstance(data, str):
        if not all(isinstance(x, str) for x in data):
            raise UserError(f"{where}: a label list must hold category names (strings)")
        data = {name: i for i, name in enumerate(data)}
    if not isinstance(data, Mapping):
        raise UserError(f"{where}: expected {{category: index}}, a list of categories or {{subset: {{...}}}}")
    mapping: dict[str, int] = {}
    for name, idx in data.items():
        if not isinstance(name, str) or isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
            raise UserError(f"{where}: entry {name!r}: {idx!r} is not a category name with an index >= 0")
        mapping[name] = idx
    if len(set(mapping.values())) != len(mapping):
        raise UserError(f"{where}: two categories share an index")
    if num_classes is not None:
        mapping = {k: v for k, v in mapping.items() if v < num_classes}
    if not mapping:
        raise UserError(f"{where}: no categories{'' if num_classes is None else f' with index < {num_classes}'}")
    return mapping


def amass_candidates(amass_root: str | Path, feat_p: str) -> list[Path]:
    """Where ``feat_p`` may lie under an AMASS root, most literal first.

    ``feat_p`` reads "<subset>/<archive folder>/<subject>/<file>" (e.g. "BMLrub/BioMotionLab_NTroje/rub001/...").
    Tried: the path as is; without the subset folder (archives unpacked straight into the root); without the
    archive folder; with the archive folder renamed as in current AMASS downloads (``AMASS_FOLDER_ALIASES``).
    """
    root = Path(amass_root)
    parts = PurePosixPath(feat_p).parts
    out = [root.joinpath(*parts)]
    if len(parts) >= 3:
        out.append(root.joinpath(*parts[1:]))
        out.append(root.joinpath(parts[0], *parts[2:]))
        if parts[1] in AMASS_FOLDER_ALIASES:
            out.append(root.joinpath(AMASS_FOLDER_ALIASES[parts[1]], *parts[2:]))
    return list(dict.fromkeys(out))


def join_amass(sequences: Iterable[BabelSequence], amass_root: str | Path) -> AmassJoin:
    """Match each sequence to its AMASS file (``amass_candidates``); missing files are listed, not raised."""
    root = Path(amass_root).expanduser()
    if not root.is_dir():
        raise UserError(f"AMASS root not found: {root} (expected the folder the AMASS SMPL+H archives unpack into)")
    found, missing = [], []
    for seq in sequences:
        path = next((p for p in amass_candidates(root, seq.feat_p) if p.is_file()), None)
        if path is None:
            missing.append(seq)
        else:
            found.append((seq, path))
    return AmassJoin(root, found, missing)


def _frame_span(label: BabelLabel, fps: float, num_frames: int) -> tuple[int, int]:
    def frame(t: float) -> int:
        return min(max(int(fps * t), 0), num_frames)

    return frame(label.start_t), frame(label.end_t)


def _segments_in(labels: list[BabelLabel], start: int, stop: int, fps: float, label: str,
                 subset: Mapping[str, int] | None) -> list[Segment]:
    """Labels overlapping frames [start, stop), clipped, in seconds from the chunk start."""
    t0, t1 = start / fps, stop / fps
    out = []
    for lab in labels:
        lo, hi = max(lab.start_t, t0), min(lab.end_t, t1)
        if hi <= lo:
            continue
        in_subset = [c for c in lab.act_cat if subset is None or c in subset]
        name = label if label in lab.act_cat else _first(in_subset) or _first(lab.act_cat) or lab.proc_label
        out.append(Segment(round(lo - t0, 6), round(hi - t0, 6), name, lab.raw_label))
    return out


def _texts(labels: Iterable[BabelLabel]) -> list[str]:
    texts = [t for lab in labels for t in (lab.raw_label.strip(), lab.proc_label.strip()) if t]
    return list(dict.fromkeys(texts))


def babel_chunks(
    seq: BabelSequence,
    label_map: Mapping[str, int] | None = None,
    num_frames: int | None = None,
    mode: str = "segment",
    fps: float = BABEL_FPS,
    chunk_frames: int = CHUNK_FRAMES,
    min_frames: int = 1,
    min_coverage: float = 0.5,
) -> list[BabelChunk]:
    """The labelled chunks of one sequence (see the module docstring for the two rules).

    Args:
        seq: the annotations.
        label_map: the class subset (category -> index); None keeps every category.
        num_frames: frames of the motion at ``fps`` (default ``int(fps * seq.dur)``, as upstream).
        mode: "segment" (BABEL's protocol) or "window".
        fps, chunk_frames: chunk grid (30 fps, 150 frames = 5 s).
        min_frames: chunks shorter than this are dropped.
        min_coverage: ("window" only) fraction of the window the winning category must label.
    """
    if mode not in MODES:
        raise UserError(f"unknown BABEL chunking mode {mode!r}: expected one of {', '.join(MODES)}")
    if chunk_frames < 1 or min_frames < 1:
        raise ValueError("chunk_frames and min_frames must be positive")
    total = int(fps * seq.dur) if num_frames is None else num_frames
    if mode == "segment":
        return _segment_chunks(seq, label_map, total, fps, chunk_frames, min_frames)
    return _window_chunks(seq, label_map, total, fps, chunk_frames, min_frames, min_coverage)


def _segment_chunks(seq: BabelSequence, label_map: Mapping[str, int] | None, total: int, fps: float,
                    chunk_frames: int, min_frames: int) -> list[BabelChunk]:
    """``mode="segment"``: each labelled segment cut into chunks from its start, one chunk per category."""
    labels = seq.dense_labels
    chunks: list[BabelChunk] = []
    for lab in labels:
        cats = [c for c in lab.act_cat if label_map is None or c in label_map]
        seg_start, seg_stop = _frame_span(lab, fps, total)
        if not cats or seg_stop <= seg_start:
            continue
        for n, start in enumerate(range(seg_start, seg_stop, chunk_frames)):
            stop = min(start + chunk_frames, seg_stop)
            if stop - start < min_frames:
                continue
            for cat in cats:
                chunks.append(BabelChunk(
                    seq.sid, len(chunks), start, stop, cat, _texts([lab]),
                    _segments_in(labels, start, stop, fps, cat, label_map), lab.seg_id, n,
                ))
    return chunks


def _category_cover(
    labels: list[BabelLabel], total: int, fps: float
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Per category: the frames it labels ((total,) bool) and the earliest start of its labels."""
    times = np.arange(total) / fps
    cover: dict[str, np.ndarray] = {}
    first_start: dict[str, float] = {}
    for lab in labels:
        frames = (times >= lab.start_t) & (times < lab.end_t)
        for cat in lab.act_cat:
            cover[cat] = cover.get(cat, np.zeros(total, dtype=bool)) | frames
            first_start[cat] = min(first_start.get(cat, math.inf), lab.start_t)
    return cover, first_start


def _window_category(cover: dict[str, np.ndarray], first_start: dict[str, float], start: int, stop: int,
                     label_map: Mapping[str, int] | None, min_coverage: float) -> str | None:
    """The category labelling most of frames [start, stop); None when it covers too little or is not kept."""
    counts = {cat: int(mask[start:stop].sum()) for cat, mask in cover.items()}
    best = max(counts, key=lambda c: (counts[c], label_map is None or c in label_map, -first_start[c]))
    if counts[best] < min_coverage * (stop - start) or (label_map is not None and best not in label_map):
        return None
    return best


def _window_chunks(seq: BabelSequence, label_map: Mapping[str, int] | None, total: int, fps: float,
                   chunk_frames: int, min_frames: int, min_coverage: float) -> list[BabelChunk]:
    """``mode="window"``: consecutive windows from frame 0, each labelled by the category covering most of it."""
    labels = seq.dense_labels
    cover, first_start = _category_cover(labels, total, fps)
    chunks: list[BabelChunk] = []
    for n, start in enumerate(range(0, total, chunk_frames)):
        stop = min(start + chunk_frames, total)
        if stop - start < min_frames or not cover:
            continue
        best = _window_category(cover, first_start, start, stop, label_map, min_coverage)
        if best is None:
            continue
        overlapping = [lab for lab in labels if best in lab.act_cat and lab.end_t > start / fps
                       and lab.start_t < stop / fps]
        overlapping.sort(key=lambda lab: -(min(lab.end_t, stop / fps) - max(lab.start_t, start / fps)))
        chunks.append(BabelChunk(
            seq.sid, len(chunks), start, stop, best, _texts(overlapping),
            _segments_in(labels, start, stop, fps, best, label_map),
            overlapping[0].seg_id if overlapping else "", n,
        ))
    return chunks


def _iter_clips(
    join: AmassJoin,
    unreadable: list[tuple[Path, str]],
    body_model_dir: str | Path | None,
    label_map: Mapping[str, int] | None,
    mode: str,
    load_motion: Callable[[Path], Motion] | None,
    fps: float,
    chunk_frames: int,
    min_frames: int,
    min_coverage: float,
    gender_override: str | None,
    device: str,
) -> Iterator[tuple[Clip, BabelSequence]]:
    """(clip, its sequence) for every chunk of the joined sequences; unreadable AMASS files go to ``unreadable``."""
    from motion_text_node.data import amass

    if load_motion is None and body_model_dir is None:
        raise UserError("BABEL clips need AMASS joints: give the SMPL+H body model folder (or a motion loader)")
    for seq, path in join.found:
        if load_motion is not None:
            motion = load_motion(path)
        else:
            try:
                params = amass.read_amass_npz(path, gender_override)
            except UserError as exc:  # one bad file must not stop a dataset build; body-model errors still do
                unreadable.append((path, str(exc)))
                continue
            joints = amass.smplh_joints(params, body_model_dir, gender_override, device)
            motion = Motion(joints[:, : len(CANONICAL_JOINTS)], CANONICAL_JOINTS, params.fps)
        motion = resample_motion(motion, fps)
        for chunk in babel_chunks(seq, label_map, motion.num_frames, mode, fps, chunk_frames, min_frames,
                                  min_coverage):
            clip = Clip(
                clip_id=chunk.clip_id,
                motion=motion.slice(chunk.start, chunk.stop),
                texts=chunk.texts,
                label=chunk.label,
                subject=seq.subject,
                path=str(path),
                segments=chunk.segments,
            )
            yield clip, seq


def babel_clips(
    sequences: Iterable[BabelSequence],
    amass_root: str | Path,
    body_model_dir: str | Path | None = None,
    label_map: Mapping[str, int] | None = None,
    mode: str = "segment",
    load_motion: Callable[[Path], Motion] | None = None,
    fps: float = BABEL_FPS,
    chunk_frames: int = CHUNK_FRAMES,
    min_frames: int = 1,
    min_coverage: float = 0.5,
    gender_override: str | None = None,
    device: str = "cpu",
) -> BabelClips:
    """Clips of BABEL chunks with their AMASS motion (canonical 22 joints, resampled to ``fps``).

    Each chunk (``babel_chunks``) becomes a Clip: id ``<sid>_<k>``, texts the raw then processed labels, label the
    action category, subject from ``feat_p``, source the AMASS file, segments the labels inside the chunk.
    AMASS files that are missing or unreadable are counted in the result, not raised. Motions come from
    ``load_motion(path)`` when given (e.g. a cache), else from the SMPL+H models in ``body_model_dir``.
    """
    join = join_amass(sequences, amass_root)
    result = BabelClips([], join)
    for clip, _ in _iter_clips(join, result.unreadable, body_model_dir, label_map, mode, load_motion, fps,
                               chunk_frames, min_frames, min_coverage, gender_override, device):
        result.clips.append(clip)
    return result


#: ``subset`` names of ``iter_babel_clips`` -> number of classes (None: every category, no label map needed).
SUBSETS: dict[str, int | None] = {"babel60": 60, "babel120": 120, "all": None}
LABEL_MAP_NAME = "action_label_2_idx.json"


def iter_babel_clips(
    amass_root: str | Path | None,
    fps: float = BABEL_FPS,
    babel_dir: str | Path | None = None,
    body_model_dir: str | Path | None = None,
    subset: str = "babel60",
    label_map: str | Path | Mapping | None = None,
    mode: str = "segment",
    splits: Sequence[str] = ("train", "val"),
    device: str = "cpu",
) -> tuple[Iterator[tuple[Clip, str]], int, dict]:
    """(clip, split) pairs of AMASS + BABEL for the dataset cache, with a progress total and cache metadata.

    The split of a clip is the BABEL file it came from (train.json -> "train", val.json -> "val"; BABEL's
    test.json has no public labels). For "babel60"/"babel120" the label map is ``label_map`` or else
    ``<babel_dir>/action_label_2_idx.json`` (from BABEL's repository, ``action_recognition/data/``). The total is
    the chunk count predicted from the annotations; ``meta`` gets the unreadable-file count as the iterator runs.
    """
    _check_source_args(amass_root, babel_dir, body_model_dir, subset, splits)
    mapping = _subset_label_map(subset, label_map, babel_dir)
    join = join_amass(load_babel(babel_dir, splits), amass_root)
    if join.missing:
        logger.warning(join.report())
    total = sum(len(babel_chunks(seq, mapping, mode=mode, fps=fps)) for seq, _ in join.found)
    meta: dict = {
        "source": "amass-babel", "amass_root": str(join.root), "babel_dir": str(babel_dir), "subset": subset,
        "chunking": mode, "classes": sorted(mapping, key=mapping.__getitem__) if mapping else None,
        "sequences": len(join.found), "missing_amass": len(join.missing),
        "missing_examples": [s.feat_p for s in join.missing[:10]], "unreadable_amass": 0,
    }
    return _split_items(join, meta, body_model_dir, mapping, mode, fps, device), total, meta


def _check_source_args(amass_root: str | Path | None, babel_dir: str | Path | None,
                       body_model_dir: str | Path | None, subset: str, splits: Sequence[str]) -> None:
    """UserError for a missing folder, an unknown subset or an unknown split of ``iter_babel_clips``."""
    if amass_root is None:
        raise UserError("AMASS + BABEL needs the AMASS root folder (--path)")
    if babel_dir is None:
        raise UserError("AMASS + BABEL needs the BABEL annotation folder with train.json / val.json (--babel-dir)")
    if body_model_dir is None:
        raise UserError("AMASS + BABEL needs the SMPL+H body models, <dir>/{male,female,neutral}/model.npz "
                        "(--body-model-dir)")
    if not Path(body_model_dir).expanduser().exists():
        raise UserError(f"SMPL+H body models not found: {body_model_dir} "
                        "(expected <dir>/{male,female,neutral}/model.npz)")
    if subset not in SUBSETS:
        raise UserError(f"unknown BABEL subset {subset!r}: expected one of {', '.join(SUBSETS)}")
    for split in splits:
        if split not in SPLITS:
            raise UserError(f"unknown BABEL split {split!r}: expected one of {', '.join(SPLITS)}")


def _subset_label_map(subset: str, label_map: str | Path | Mapping | None,
                      babel_dir: str | Path) -> dict[str, int] | None:
    """The class subset's label map (``label_map``, else BABEL's file in ``babel_dir``); None for "all"."""
    num_classes = SUBSETS[subset]
    if num_classes is None:
        return None
    if label_map is None:
        label_map = Path(babel_dir).expanduser() / LABEL_MAP_NAME
        if not label_map.is_file():
            raise UserError(f"{subset} needs BABEL's {LABEL_MAP_NAME} (action_recognition/data/ in BABEL's "
                            f"repository): put it in {babel_dir} or pass it with --label-map")
    return read_action_label_map(label_map, num_classes)


def _split_items(join: AmassJoin, meta: dict, body_model_dir: str | Path | None, mapping: Mapping[str, int] | None,
                 mode: str, fps: float, device: str) -> Iterator[tuple[Clip, str]]:
    """(clip, split) pairs of the joined sequences, keeping the unreadable-file count in ``meta`` up to date."""
    unreadable: list[tuple[Path, str]] = []
    for clip, seq in _iter_clips(join, unreadable, body_model_dir, mapping, mode, None, fps, CHUNK_FRAMES, 1,
                                 0.5, None, device):
        meta["unreadable_amass"] = len(unreadable)
        yield clip, seq.split
    meta["unreadable_amass"] = len(unreadable)
    meta["unreadable_examples"] = [f"{p}: {msg}" for p, msg in unreadable[:10]]
    if unreadable:
        logger.warning("%d AMASS files unreadable (e.g. %s)", len(unreadable), unreadable[0][1])
