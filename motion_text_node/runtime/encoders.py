"""Motion and text encoders on ONNX Runtime, with the preprocessing of the model folder reproduced exactly."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from motion_text_node.errors import UserError
from motion_text_node.runtime.bundle import ModelBundle
from motion_text_node.runtime.providers import choose_providers, make_session
from motion_text_node.runtime.text_input import is_blank
from motion_text_node.skeleton.motion import Motion
from motion_text_node.skeleton.normalize import normalize_windows
from motion_text_node.skeleton.resample import resample_motion, window_starts

MAX_TEXT_CHARS = 2000


PRECISIONS = ("auto", "fp32", "int8")


def motion_encoder_file(bundle: ModelBundle, precision: str, providers: list[str]) -> Path:
    """Which motion-encoder file to run: "auto" takes the int8 one on CPU when the model has it (about 2x faster
    at batch 1), float32 on CUDA (no CUDA kernels for dynamic int8) or when there is none."""
    if precision not in PRECISIONS:
        raise UserError(f"motion precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    int8 = bundle.int8_motion_path
    if precision == "int8":
        if int8 is None:
            raise UserError(f"{bundle.root}: this model has no int8 motion encoder (re-export it, or use fp32)")
        return int8
    if precision == "auto" and int8 is not None and providers[0] == "CPUExecutionProvider":
        return int8
    return bundle.motion_path


def check_inputs(session, path: Path, expected: dict[str, int]) -> None:
    """UserError unless the ONNX file takes exactly the named inputs with these ranks (swapped or foreign files)."""
    got = {i.name: len(i.shape) for i in session.get_inputs()}
    if got != expected:
        raise UserError(f"{path}: inputs {got} are not the expected {expected} (a file of another kind or model?)")


class OnnxMotionEncoder:
    """Canonical motion windows -> unit-norm embeddings (B, D)."""

    def __init__(self, bundle: ModelBundle, providers: str = "auto", threads: int = 0, warmup: bool = True,
                 precision: str = "auto") -> None:
        self.bundle = bundle
        self.norm = bundle.norm
        self.path = motion_encoder_file(bundle, precision, choose_providers(providers))
        self.precision = "int8" if self.path == bundle.int8_motion_path else "fp32"
        self.last_features_ms = 0.0  # of the last encode_windows call: its normalization, the rest is ONNX Runtime
        self.session = make_session(self.path, providers, threads)
        check_inputs(self.session, self.path, {"x": 3, "mask": 2})
        width = self.session.get_inputs()[0].shape[-1]
        if isinstance(width, int) and width != self.norm.feature_dim:
            raise UserError(f"{self.path}: takes {width} features per frame, model.json's normalization gives "
                            f"{self.norm.feature_dim} (files of different models mixed?)")
        if warmup:
            self.encode_features(np.zeros((1, self.norm.window_frames, self.norm.feature_dim), np.float32),
                                 np.ones((1, self.norm.window_frames), bool))

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def encode_features(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(B, T, F) normalized features and (B, T) frame mask -> (B, D)."""
        return self.session.run(None, {"x": x.astype(np.float32, copy=False), "mask": mask.astype(bool)})[0]

    def features(self, windows: list[tuple[np.ndarray, np.ndarray | None]]) -> tuple[np.ndarray, np.ndarray]:
        """Windows (each T <= window_frames frames, canonical, at model fps; longer ones keep their newest) ->
        padded features (N, window_frames, F) and frame mask (N, window_frames). Windows of one length are
        normalized together (the same features as one by one)."""
        w = self.norm.window_frames
        feats = np.zeros((len(windows), w, self.norm.feature_dim), np.float32)
        mask = np.zeros((len(windows), w), bool)
        groups: dict[tuple[int, bool], list[int]] = {}
        for i, (p, v) in enumerate(windows):
            groups.setdefault((min(len(p), w), v is None), []).append(i)
        for (t, no_valid), idx in groups.items():
            pos = np.stack([windows[i][0][-w:] for i in idx])
            valid = None if no_valid else np.stack([windows[i][1][-w:] for i in idx])
            feats[idx, :t] = normalize_windows(pos, valid, self.norm)
            mask[idx, :t] = True
        return feats, mask

    def encode_windows(self, windows: list[tuple[np.ndarray, np.ndarray | None]], batch: int = 32) -> np.ndarray:
        """Embeddings of several (positions, valid) windows, (N, D), ``batch`` windows per ONNX call."""
        out, features_s = [], 0.0
        for i in range(0, len(windows), batch):
            t0 = time.perf_counter()
            feats, mask = self.features(windows[i:i + batch])
            features_s += time.perf_counter() - t0
            out.append(self.encode_features(feats, mask))
        self.last_features_ms = features_s * 1000.0
        return np.concatenate(out) if out else np.zeros((0, self.bundle.embed_dim), np.float32)

    def encode_motion(self, motion: Motion, stride: int | None = None) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """A whole canonical motion: (clip embedding (D,), window embeddings (N, D), window start frames)."""
        m = resample_motion(motion, self.norm.fps)
        w = self.norm.window_frames
        starts = window_starts(m.num_frames, w, stride or max(w // 2, 1))
        valid = m.validity()
        emb = self.encode_windows([(m.positions[s:s + w], valid[s:s + w]) for s in starts])
        clip = emb.mean(0)
        return clip / max(float(np.linalg.norm(clip)), 1e-9), emb, starts


class OnnxTextEncoder:
    """Texts -> unit-norm embeddings (N, D), tokenized with the model's ``tokenizer.json`` (no transformers)."""

    def __init__(self, bundle: ModelBundle, providers: str = "auto", threads: int = 0, warmup: bool = True) -> None:
        from tokenizers import Tokenizer

        self.bundle = bundle
        try:
            self.tokenizer = Tokenizer.from_file(str(bundle.tokenizer_path))
        except Exception as exc:
            raise UserError(f"{bundle.tokenizer_path}: not a valid tokenizer.json ({exc})") from None
        self.max_length = int(bundle.meta["text_encoder"].get("max_length", 64))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.session = make_session(bundle.text_path, providers, threads)
        check_inputs(self.session, bundle.text_path, {"input_ids": 2, "attention_mask": 2})
        proj = bundle.text_projection_path
        self.projection = make_session(proj, providers, threads) if proj else None
        if self.projection is not None:
            check_inputs(self.projection, proj, {"sentence_embedding": 2})
        if warmup:
            self.encode(["warm up"])

    def encode(self, texts: list[str], batch: int = 64) -> np.ndarray:
        """Unit-norm embeddings of ``texts``; UserError for empty or oversized text."""
        for t in texts:
            if not isinstance(t, str) or is_blank(t):
                raise UserError("empty text")
            if len(t) > MAX_TEXT_CHARS:
                raise UserError(f"text longer than {MAX_TEXT_CHARS} characters")
        out = []
        for i in range(0, len(texts), batch):
            enc = self.tokenizer.encode_batch(texts[i:i + batch])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            emb = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            if self.projection is not None:
                emb = self.projection.run(None, {"sentence_embedding": emb})[0]
            out.append(emb)
        return np.concatenate(out) if out else np.zeros((0, self.bundle.embed_dim), np.float32)

