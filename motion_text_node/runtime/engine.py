"""One object with everything a node or command needs: encoders, label bank, motion library."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motion_text_node.data.clip import Clip
from motion_text_node.errors import UserError
from motion_text_node.runtime.bundle import load_bundle
from motion_text_node.runtime.encoders import OnnxMotionEncoder, OnnxTextEncoder
from motion_text_node.runtime.label_bank import LabelBank
from motion_text_node.runtime.library import LibraryHit, MotionLibrary
from motion_text_node.runtime.text_input import is_blank
from motion_text_node.skeleton.motion import Motion

MAX_TOP_K = 100


@dataclass
class WindowResult:
    """Recognition of one window."""

    start_s: float
    end_s: float
    top_labels: list[str]
    top_scores: list[float]


@dataclass
class Recognition:
    """Recognition of a whole motion: per-window results and the clip-level top-k."""

    top_labels: list[str]
    top_scores: list[float]
    windows: list[WindowResult] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON form: ``{"clip": {...}, "windows": [...]}``."""
        return {"clip": {"top_labels": self.top_labels, "top_scores": self.top_scores},
                "windows": [vars(w) for w in self.windows]}


class MotionTextRuntime:
    """Torch-free motion-text inference on a model folder.

    Args:
        model_dir: folder with model.json (see ``runtime.bundle``).
        labels: recognition labels (list, comma string or file); default: the model's labels.
        library: motion library file; "default" uses the one named in model.json if present, None none.
        providers: "auto", "cpu" or "cuda".
        threads: ONNX Runtime intra-op threads (0 = its default).
        precision: motion encoder "auto" (int8 on CPU when the model has it), "fp32" or "int8".
    """

    def __init__(self, model_dir: str | Path, labels=None, library: str | Path | None = "default",
                 providers: str = "auto", threads: int = 0, precision: str = "auto") -> None:
        self.bundle = load_bundle(model_dir)
        self.motion_encoder = OnnxMotionEncoder(self.bundle, providers, threads, precision=precision)
        self.text_encoder = OnnxTextEncoder(self.bundle, providers, threads)
        self.labels = LabelBank(self.text_encoder, labels or self.bundle.default_labels or ["walk"],
                                self.bundle.prompt_templates)
        self.library: MotionLibrary | None = None
        if library == "default":
            path = self.bundle.library_path
            if path is not None and path.is_file():
                self.library = MotionLibrary.load(path)
        elif library:
            self.load_library(library)

    @property
    def norm(self):
        """The model's normalization config (fps, window, features)."""
        return self.bundle.norm

    def load_library(self, path: str | Path) -> MotionLibrary:
        """(Re)load the motion library; checks that its embeddings fit this model."""
        lib = MotionLibrary.load(path)
        if len(lib) and lib.embeddings.shape[1] != self.bundle.embed_dim:
            raise UserError(f"{path}: embeddings of size {lib.embeddings.shape[1]}, the model's are "
                            f"{self.bundle.embed_dim} (rebuild the library with this model)")
        self.library = lib
        return lib

    def recognize(self, motion: Motion, top_k: int = 5, stride: int | None = None) -> Recognition:
        """Labels of a canonical motion: per window and for the whole clip."""
        clip, windows, starts = self.motion_encoder.encode_motion(motion, stride)
        fps, w = self.norm.fps, self.norm.window_frames
        out = Recognition(*self.labels.top_k(self.labels.scores(clip), top_k))
        scores = self.labels.scores(windows)
        duration = motion.duration
        for s, row in zip(starts, scores, strict=True):
            labels, vals = self.labels.top_k(row, top_k)
            out.windows.append(WindowResult(s / fps, min((s + w) / fps, duration), labels, vals))
        return out

    def retrieve(self, text: str, top_k: int = 5) -> list[LibraryHit]:
        """Library motions closest to ``text`` (UserError for bad input or no library)."""
        if self.library is None:
            raise UserError("no motion library loaded")
        if not isinstance(text, str) or is_blank(text):
            raise UserError("empty text")
        if not 1 <= top_k <= MAX_TOP_K:
            raise UserError(f"top_k must be between 1 and {MAX_TOP_K}")
        return self.library.search(self.text_encoder.encode([text])[0], top_k)

    def describe(self, motion: Motion, top_k: int = 5, candidates: list[str] | None = None
                 ) -> tuple[list[str], list[float]]:
        """Texts closest to a motion: among ``candidates``, else the labels and library descriptions."""
        if not 1 <= top_k <= MAX_TOP_K:
            raise UserError(f"top_k must be between 1 and {MAX_TOP_K}")
        clip, _, _ = self.motion_encoder.encode_motion(motion)
        if candidates:
            texts = list(dict.fromkeys(t for t in candidates if not is_blank(t)))
            emb = self.text_encoder.encode(texts)
        else:
            current = self.labels.current  # names and embeddings of one label set, even during set_labels
            texts, emb = list(current.labels), current.embeddings
            if self.library is not None and len(self.library):
                extra = sorted(set(self.library.descriptions) - set(texts))
                texts += extra
                emb = np.concatenate([emb, self.text_encoder.encode(extra)]) if extra else emb
        sims = emb @ clip
        order = np.argsort(-sims)[:top_k]
        return [texts[i] for i in order], [float(sims[i]) for i in order]


def motion_captions(motion: Motion, max_sentences: int = 8, seed: int = 0) -> list[str]:
    """Kinematic captions of a motion in time order: one sentence per 2-s window whose facts differ from the
    window before (``captions`` module: rules over the joints, no model)."""
    import random

    from motion_text_node.captions import caption_motion, caption_sentences

    rng, out, last = random.Random(seed), [], None
    for _, _, facts in caption_motion(motion, window_s=2.0, stride_s=1.0):
        names = tuple(sorted(f.name for f in facts))
        if facts and names != last:
            out += caption_sentences(facts, rng, n=1)
        last = names
        if len(out) >= max_sentences:
            break
    return out


def build_library(runtime: MotionTextRuntime, clips: list[Clip], store_motion: bool = True,
                  progress: bool = True, motion_seconds: float | None = None) -> MotionLibrary:
    """Embed clips into a library (whole-clip embeddings; positions at the model fps when stored, at most
    ``motion_seconds`` from the middle of each clip). A clip without text or label is described by its first
    kinematic caption. Each entry keeps its source and licence."""
    from tqdm import tqdm

    from motion_text_node.skeleton.resample import resample_motion

    ids, descs, embs, fps, chunks = [], [], [], [], []
    for clip in tqdm(clips, desc="embedding library", unit="clip", disable=not progress):
        emb, _, _ = runtime.motion_encoder.encode_motion(clip.motion)
        ids.append(clip.clip_id)
        descs.append(clip.text or clip.label or next(iter(motion_captions(clip.motion, 1)), clip.clip_id))
        embs.append(emb)
        fps.append(runtime.norm.fps)
        if store_motion:
            pos = resample_motion(clip.motion, runtime.norm.fps).positions
            if motion_seconds is not None and len(pos) > motion_seconds * runtime.norm.fps:
                keep = max(int(motion_seconds * runtime.norm.fps), 1)
                pos = pos[(len(pos) - keep) // 2:][:keep]
            chunks.append(pos.astype(np.float16))
    if not ids:
        raise UserError("no clips to put in the library")
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in chunks])]) if store_motion else None
    positions = np.concatenate(chunks) if store_motion else None
    return MotionLibrary(ids, descs, np.stack(embs), np.array(fps), offsets, positions,
                         runtime.bundle.meta.get("model_version", ""), sources=[c.source for c in clips],
                         licences=[c.licence for c in clips])
