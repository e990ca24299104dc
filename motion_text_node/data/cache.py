"""The preprocessed dataset cache: canonical clips in one folder that loads in milliseconds.

Layout of a cache folder:

* ``positions.npy``: float32 [sum of frames, 22, 3], every clip's canonical positions back to back;
* ``valid.npy``: bool [sum of frames, 22], joint validity;
* ``index.json``: ``{"meta": {...}, "clips": [{id, offset, length, fps, texts, label, subject, source, split,
  segments, path, licence, take}, ...]}``; ``source`` names the data source (``data.sources``) and ``licence``
  its licence, so a config can include or exclude clips by either.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from motion_text_node.checks import is_finite_number, is_int
from motion_text_node.data.clip import Clip, Segment
from motion_text_node.errors import UserError
from motion_text_node.outputs import writing
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS, NUM_JOINTS
from motion_text_node.skeleton.motion import Motion
from motion_text_node.skeleton.resample import resample_motion

CACHE_VERSION = 1
SPLITS = ("train", "val", "test")
SEGMENT_KEYS = frozenset(f.name for f in fields(Segment))


class DatasetCache:
    """A cache folder opened for reading (positions memory-mapped)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        index_path = self.root / "index.json"
        if not index_path.is_file():
            raise UserError(f"{self.root}: not a dataset cache (no index.json; build one with `motion-text data "
                            "build`)")
        try:
            index = json.loads(index_path.read_text())
            if not isinstance(index, dict) or not isinstance(index.get("meta"), dict) \
                    or not isinstance(index.get("clips"), list):
                raise ValueError("index.json must be an object with 'meta' (an object) and 'clips' (a list)")
            self.meta: dict = index["meta"]
            self.entries: list[dict] = index["clips"]
            self.positions = np.load(self.root / "positions.npy", mmap_mode="r")
            self.valid = np.load(self.root / "valid.npy", mmap_mode="r")
        except (OSError, ValueError, KeyError, EOFError, OverflowError) as exc:  # EOF: empty .npy, Overflow: shape < 0
            raise UserError(f"{self.root}: corrupt dataset cache ({exc})") from None
        if self.meta.get("version") != CACHE_VERSION:
            raise UserError(f"{self.root}: cache version {self.meta.get('version')} is not {CACHE_VERSION}; rebuild it")
        problem = _arrays_problem(self.positions, self.valid) or _entries_problem(self.entries, len(self.positions))
        if problem:
            raise UserError(f"{self.root}: corrupt dataset cache ({problem}); rebuild it with `motion-text data build`")
        self._by_id = {e["id"]: i for i, e in enumerate(self.entries)}

    def __len__(self) -> int:
        return len(self.entries)

    def ids(self, split: str | None = None) -> list[str]:
        """Clip ids, optionally of one split."""
        return [e["id"] for e in self.entries if split is None or e["split"] == split]

    def clip(self, clip_id: str) -> Clip:
        """One clip by id (UserError listing a few ids when unknown)."""
        if clip_id not in self._by_id:
            sample = ", ".join(self.ids()[:5])
            raise UserError(f"no clip {clip_id!r} in {self.root} (e.g. {sample})")
        return self._make(self.entries[self._by_id[clip_id]])

    def split_of(self, clip_id: str) -> str:
        """The split a clip belongs to."""
        return self.entries[self._by_id[clip_id]]["split"]

    def clips(self, split: str | None = None, fps: float | None = None) -> list[Clip]:
        """All clips (of one split), positions copied into memory; resampled to ``fps`` when given (training and
        evaluation take windows of a model's frame count, so they need clips at the model's rate)."""
        clips = [self._make(e) for e in self.entries if split is None or e["split"] == split]
        if fps is not None:
            for c in clips:
                c.motion = resample_motion(c.motion, fps)
        return clips

    def _make(self, e: dict) -> Clip:
        sl = slice(e["offset"], e["offset"] + e["length"])
        motion = Motion(np.array(self.positions[sl]), CANONICAL_JOINTS, e["fps"], np.array(self.valid[sl]))
        segments = [Segment(**s) for s in e.get("segments", [])]
        return Clip(e["id"], motion, list(e["texts"]), e.get("label", ""), e.get("subject", ""), e.get("source", ""),
                    segments, e.get("path", ""), e.get("licence", ""), e.get("take", ""))


def _arrays_problem(positions: object, valid: object) -> str:
    """What is wrong with the cache arrays ('' when nothing): positions (frames, 22, 3), valid (frames, 22)."""
    if not isinstance(positions, np.ndarray) or positions.ndim != 3 or positions.shape[1:] != (NUM_JOINTS, 3):
        return f"positions.npy must be an array (frames, {NUM_JOINTS}, 3), got {_shape(positions)}"
    if not isinstance(valid, np.ndarray) or valid.shape != positions.shape[:2]:
        return f"valid.npy must be an array {positions.shape[:2]} to match positions.npy, got {_shape(valid)}"
    return ""


def _shape(value: object) -> str:
    return str(value.shape) if isinstance(value, np.ndarray) else f"a {type(value).__name__}"


def _is_count(value: object) -> bool:
    return is_int(value) and value >= 0


def _entries_problem(entries: list, frames: int) -> str:
    """What is wrong with the index entries ('' when nothing): every clip an object with an id, a split, a list of
    texts, a finite fps above 0 and frames ``offset .. offset + length`` inside the ``frames`` stored; segments
    (optional) objects with start, end and label."""
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            return f"clip {i} of index.json is not an object"
        name = f"clip {e.get('id')!r}"
        if not isinstance(e.get("id"), str):
            return f"clip {i} of index.json has no id"
        if not (_is_count(e.get("offset")) and _is_count(e.get("length"))):
            return f"{name} needs whole-number offset and length >= 0, got {e.get('offset')!r}, {e.get('length')!r}"
        if e["offset"] + e["length"] > frames:
            return f"{name} spans frames {e['offset']}..{e['offset'] + e['length']}, positions.npy holds {frames}"
        if not (is_finite_number(e.get("fps")) and e["fps"] > 0):
            return f"{name} has fps {e.get('fps')!r}; it must be a number above 0"
        if e.get("split") not in SPLITS:
            return f"{name} has split {e.get('split')!r}, not one of {', '.join(SPLITS)}"
        if not (isinstance(e.get("texts"), list) and all(isinstance(t, str) for t in e["texts"])):
            return f"{name} needs a list of texts"
        segments = e.get("segments", [])
        if not isinstance(segments, list) or not all(
                isinstance(s, dict) and is_finite_number(s.get("start")) and is_finite_number(s.get("end"))
                and isinstance(s.get("label"), str) and set(s) <= SEGMENT_KEYS for s in segments):
            return f"{name} has malformed segments (objects with start, end, label and text expected)"
    return ""


def write_cache(items: Iterable[tuple[Clip, str]], out: str | Path, meta: dict | None = None) -> dict:
    """Write (clip, split) pairs as a cache folder; returns the summary (also stored in the index meta)."""
    out = Path(out)
    with writing(out, "the dataset cache"):
        out.mkdir(parents=True, exist_ok=True)
    entries, chunks, valids, offset = [], [], [], 0
    for clip, split in items:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        m = clip.motion
        if m.joint_names != CANONICAL_JOINTS:
            raise ValueError(f"clip {clip.clip_id} is not canonical")
        chunks.append(m.positions.astype(np.float32))
        valids.append(m.validity())
        entries.append({
            "id": clip.clip_id, "offset": offset, "length": m.num_frames, "fps": m.fps, "texts": clip.texts,
            "label": clip.label, "subject": clip.subject, "source": clip.source, "split": split,
            "segments": [asdict(s) for s in clip.segments], "path": clip.path, "licence": clip.licence,
            "take": clip.take,
        })
        offset += m.num_frames
    if not entries:
        raise UserError("no clips to write")
    ids = [e["id"] for e in entries]
    if len(set(ids)) != len(ids):
        dup = [i for i, c in Counter(ids).items() if c > 1][:3]
        raise UserError(f"duplicate clip ids: {', '.join(dup)}")
    positions = np.concatenate(chunks) if chunks else np.zeros((0, NUM_JOINTS, 3), np.float32)
    summary = summarize(entries)
    full_meta = {"version": CACHE_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                 "joints": list(CANONICAL_JOINTS), **(meta or {}), "summary": summary}
    with writing(out, "the dataset cache"):
        np.save(out / "positions.npy", positions)
        np.save(out / "valid.npy", np.concatenate(valids))
        (out / "index.json").write_text(json.dumps({"meta": full_meta, "clips": entries}, indent=1))
    return summary


def summarize(entries: list[dict]) -> dict:
    """Clips, minutes, subjects, distinct texts and words, overall and per split, and the same per source."""

    def stats(es: list[dict]) -> dict:
        texts = {t for e in es for t in e["texts"]} | {s["text"] for e in es for s in e.get("segments", [])
                                                       if s.get("text")}
        words = {w for t in texts for w in re.findall(r"[a-z]+", t.lower())}
        return {
            "clips": len(es),
            "minutes": round(sum(e["length"] / e["fps"] for e in es) / 60.0, 2),
            "subjects": len({e["subject"] for e in es if e["subject"]}),
            "distinct_texts": len(texts),
            "words": len(words),
        }

    def by_split(es: list[dict]) -> dict:
        return {"all": stats(es), **{s: stats([e for e in es if e["split"] == s]) for s in SPLITS}}

    sources = sorted({e.get("source", "") for e in entries})
    return {**by_split(entries),
            "by_source": {src or "unknown": by_split([e for e in entries if e.get("source", "") == src])
                          for src in sources}}


def format_summary(summary: dict) -> str:
    """The summary as a small table: every split, then every source and split (when there are several)."""
    cols = ("clips", "minutes", "subjects", "distinct_texts", "words")
    lines = [f"{'source':<16}{'split':<6}" + "".join(f"{c:>15}" for c in cols)]

    def rows(name: str, part: dict) -> None:
        for split in ("all", *SPLITS):
            lines.append(f"{name:<16}{split:<6}" + "".join(f"{part[split][c]:>15}" for c in cols))

    rows("all", summary)
    per_source = summary.get("by_source", {})
    if len(per_source) > 1:
        for name, part in per_source.items():
            rows(name, part)
    return "\n".join(lines)
