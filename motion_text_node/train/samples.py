"""Training and evaluation windows: crops of canonical clips with their texts, augmented, normalized.

Everything here is numpy; the trainer turns batches into tensors.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import numpy as np

from motion_text_node.data.clip import Clip
from motion_text_node.data.labels import PROMPT_TEMPLATES
from motion_text_node.skeleton.adapt import fill_unknown_frames, impute_missing
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS, JOINT_INDEX
from motion_text_node.skeleton.mirror import mirror_positions, mirror_text
from motion_text_node.skeleton.motion import Motion
from motion_text_node.skeleton.normalize import NormalizationConfig, normalize_window
from motion_text_node.skeleton.resample import pad_window, resample_times, window_starts
from motion_text_node.skeleton.sensor import random_sensor_effect
from motion_text_node.train.config import AugmentConfig

#: Label synonyms swapped into training texts (word -> alternatives), for vocabulary beyond the data's.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "walk": ("stroll", "walking", "step forward"),
    "run": ("jog", "running", "sprint"),
    "jump": ("hop", "leap", "jumping"),
    "climb": ("climbing", "clamber"),
    "dance": ("dancing", "dance moves"),
    "kick": ("kicking", "boot"),
    "punch": ("hit", "jab"),
    "drink": ("sip", "drinking"),
    "laugh": ("laughing", "chuckle"),
    "wave": ("waving", "wave hello"),
    "sit": ("sitting", "take a seat"),
    "wash": ("clean", "washing"),
    "dribble": ("bounce the ball", "dribbling"),
}
_SYN_RE = re.compile(r"\b(" + "|".join(SYNONYMS) + r")\b")

#: Joint groups dropped together by the joint-dropout augmentation (what partial sensors typically miss).
DROPOUT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("spine1", "spine2", "spine3"),
    ("left_collar", "right_collar"),
    ("left_foot", "right_foot"),
    ("spine1", "spine2", "spine3", "left_collar", "right_collar", "left_foot", "right_foot"),
    ("left_wrist",), ("right_wrist",), ("left_ankle", "left_foot"), ("right_ankle", "right_foot"), ("head",),
)


#: Phrases naming the limb that moves most (added by ``side_phrase``; mirroring swaps their side words).
SIDE_PHRASES: tuple[str, ...] = tuple(f", mostly moving the {side} {limb}" for side in ("left", "right")
                                      for limb in ("arm", "leg"))
_LIMBS = {"arm": ("left_wrist", "right_wrist", "spine3"), "leg": ("left_ankle", "right_ankle", "pelvis")}


def dominant_limb(positions: np.ndarray, fps: float, ratio: float = 2.0, min_speed: float = 0.25
                  ) -> tuple[str, str] | None:
    """(side, limb) when one arm (or leg) clearly moves more than the other in (T, 22, 3) positions.

    Activity is the mean speed of the wrist (ankle) relative to the chest (pelvis); a side dominates when its
    activity is ``ratio`` times the other's and above ``min_speed`` m/s. None when no limb stands out.
    """
    if len(positions) < 3:
        return None
    best = None
    for limb, (left, right, anchor) in _LIMBS.items():
        rel = positions[:, [JOINT_INDEX[left], JOINT_INDEX[right]]] - positions[:, [JOINT_INDEX[anchor]]]
        speed = np.linalg.norm(np.diff(rel, axis=0), axis=-1).mean(axis=0) * fps  # (2,) left, right
        hi = int(np.argmax(speed))
        r = speed[hi] / max(float(speed[1 - hi]), 1e-6)
        if speed[hi] >= min_speed and r >= ratio and (best is None or r > best[0]):
            best = (r, ("left", "right")[hi], limb)
    return None if best is None else (best[1], best[2])


def side_phrase(side: str, limb: str) -> str:
    """The phrase appended to a text for a dominant limb."""
    return f", mostly moving the {side} {limb}"


@dataclass
class Window:
    """One model input: features (T, F), frame mask (T,), its text, and where it came from."""

    features: np.ndarray
    mask: np.ndarray
    text: str
    clip_id: str
    start: int
    hard_negative: str = ""  # a near-miss text that does not describe the window ("" when none)


def paraphrase(text: str, rng: random.Random) -> str:
    """A random prompt template around ``text``, sometimes with a synonym swapped in."""
    if rng.random() < 0.3:
        text = _SYN_RE.sub(lambda m: rng.choice(SYNONYMS[m.group(1)]), text, count=1)
    return rng.choice(PROMPT_TEMPLATES).format(text)


def text_variants(text: str) -> list[str]:
    """Every text ``paraphrase`` can produce from ``text`` (for pre-computing frozen embeddings)."""
    bases = {text}
    for m in _SYN_RE.finditer(text):
        for alt in SYNONYMS[m.group(1)]:
            bases.add(text[: m.start()] + alt + text[m.end():])
    return sorted({t.format(b) for b in bases for t in PROMPT_TEMPLATES})


def drop_joints(positions: np.ndarray, valid: np.ndarray, rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    """Mark a random joint group missing and re-impute it, as a partial sensor would deliver it."""
    group = rng.choice(DROPOUT_GROUPS)
    pos, ok = positions.copy(), valid.copy()
    ok[:, [JOINT_INDEX[n] for n in group]] = False
    known = impute_missing(pos, ok)
    fill_unknown_frames(pos, known)
    return pos, ok


class WindowSampler:
    """Draws augmented training windows (with their texts) from clips."""

    def __init__(self, clips: list[Clip], norm: NormalizationConfig, augment: AugmentConfig, seed: int = 0) -> None:
        if not clips:
            raise ValueError("no training clips")
        self.clips = clips
        self.norm = norm
        self.aug = augment
        self.rng = random.Random(seed)
        # Kinematic captions of every window (``captions`` module), computed once; their own random stream, so
        # the window sampling is the same with and without them.
        self.caption_times: list[np.ndarray] = []
        self.caption_texts: list[list[list[str]]] = []
        self.caption_misses: list[list[list[str]]] = []  # near-miss phrases per captioned window
        if augment.kinematic_captions > 0:
            self._caption_clips(random.Random(seed + 1))
        groups: dict[str, list[int]] = {}
        for i, c in enumerate(clips):
            groups.setdefault(c.text.lower(), []).append(i)
        self.groups = list(groups.values())
        weights = np.array([len(g) ** 0.5 if augment.balanced else len(g) for g in self.groups], dtype=np.float64)
        if augment.source_balance > 0:
            # Each source gets a share ~ (its clips)**source_balance, so 3,000 Bandai clips do not drown CMU.
            source = np.array([clips[g[0]].source for g in self.groups])
            for name in set(source):
                of = source == name
                n = sum(len(g) for g, o in zip(self.groups, of, strict=True) if o)
                weights[of] *= n ** augment.source_balance / weights[of].sum()
        self.group_p = weights / weights.sum()

    def _caption_clips(self, rng: random.Random) -> None:
        from motion_text_node.captions import caption_motion, caption_sentences
        from motion_text_node.captions.near_miss import near_miss_phrases

        window_s = self.norm.window_frames / self.norm.fps
        facts = []
        for c in self.clips:
            windows = caption_motion(c.motion, window_s=window_s, stride_s=self.aug.caption_stride_s)
            self.caption_times.append(np.array([w[0] for w in windows], dtype=np.float64))
            self.caption_texts.append([caption_sentences(w[2], rng, n=self.aug.caption_sentences) for w in windows])
            facts.append([w[2] for w in windows])
        if self.aug.near_miss_negatives > 0:
            self.caption_misses = [[near_miss_phrases(window) for window in per_clip] for per_clip in facts]

    def _nearest_caption(self, clip_index: int, t0: float) -> int | None:
        if not self.caption_times or not len(self.caption_times[clip_index]):
            return None
        return int(np.abs(self.caption_times[clip_index] - t0).argmin())

    def caption_for(self, clip_index: int, t0: float) -> list[str]:
        """Caption sentences of the captioned window nearest to a window starting at ``t0`` s ([] when none)."""
        k = self._nearest_caption(clip_index, t0)
        return [] if k is None else self.caption_texts[clip_index][k]

    def near_misses_for(self, clip_index: int, t0: float) -> list[str]:
        """Near-miss phrases (``captions.near_miss``) of the captioned window nearest to ``t0`` s ([] when none)."""
        k = self._nearest_caption(clip_index, t0)
        return [] if k is None or not self.caption_misses else self.caption_misses[clip_index][k]

    def training_texts(self) -> list[str]:
        """Every text a training window can carry (for pre-computing frozen text embeddings)."""
        bases = {t for per_clip in (*self.caption_texts, *self.caption_misses) for window in per_clip for t in window}
        if self.aug.mirror > 0:
            bases |= {mirror_text(t) for t in bases}
        phrases = ("", *SIDE_PHRASES) if self.aug.side_phrases > 0 else ("",)
        for c in self.clips:
            for t in [*c.texts, *(s.text for s in c.segments if s.text)]:
                for p in phrases:
                    bases.update({t + p, mirror_text(t + p)} if self.aug.mirror > 0 else {t + p})
        if not self.aug.paraphrase:
            return sorted(bases)
        return sorted({v for b in bases for v in text_variants(b)})

    def sample(self) -> Window:
        """One random window."""
        rng, aug, norm = self.rng, self.aug, self.norm
        group = self.groups[int(np.searchsorted(np.cumsum(self.group_p), rng.random() * 0.999999))]
        index = rng.choice(group)
        clip = self.clips[index]
        m = clip.motion
        speed = rng.uniform(*aug.speed) if aug.speed[1] > aug.speed[0] else 1.0
        span = int(round(norm.window_frames * speed))  # source frames covering one window after re-timing
        start = rng.randint(0, max(m.num_frames - span, 0))
        stop = min(start + span, m.num_frames)
        pos, valid = m.positions[start:stop], m.validity()[start:stop]
        if abs(speed - 1.0) > 1e-3 and len(pos) > 1:
            times = np.arange(len(pos)) / (m.fps * speed)
            pos, valid, _ = resample_times(pos, times, norm.fps, valid=valid)
        text = self._text_for(clip, start / m.fps, stop / m.fps)
        captioned, hard = False, ""
        if aug.kinematic_captions > 0 and (not text or rng.random() < aug.kinematic_captions):
            sentences = self.caption_for(index, start / m.fps)
            if sentences:
                text, captioned = rng.choice(sentences), True
                # Only beside its own caption: a dataset text may say what the rules missed.
                misses = self.near_misses_for(index, start / m.fps)  # [] unless near_miss_negatives > 0
                if misses and rng.random() < aug.near_miss_negatives:
                    hard = rng.choice(misses)
        if not captioned and aug.side_phrases > 0 and rng.random() < aug.side_phrases:
            dominant = dominant_limb(pos[: norm.window_frames], norm.fps)
            if dominant is not None:
                text += side_phrase(*dominant)
        if aug.joint_dropout > 0 and rng.random() < aug.joint_dropout:
            pos, valid = drop_joints(pos, valid, rng)
        if aug.sensor > 0 and rng.random() < aug.sensor and len(pos):
            seen = random_sensor_effect(Motion(pos, CANONICAL_JOINTS, norm.fps, valid), rng)
            pos, valid = seen.positions, seen.validity()
        if aug.scale[1] > aug.scale[0]:
            pos = pos * np.float32(rng.uniform(*aug.scale))
        if aug.mirror > 0 and rng.random() < aug.mirror:
            pos, valid = mirror_positions(pos), valid[:, _mirror_index()]
            text, hard = mirror_text(text), mirror_text(hard)
        if aug.paraphrase:
            text = paraphrase(text, rng)
            hard = paraphrase(hard, rng) if hard else hard
        feats = normalize_window(pos[: norm.window_frames], valid[: norm.window_frames], norm)
        x, mask = pad_window(feats, norm.window_frames)
        return Window(x, mask, text, clip.clip_id, start, hard)

    def _text_for(self, clip: Clip, t0: float, t1: float) -> str:
        captions = [s for s in clip.segments if s.text and _overlap(s.start, s.end, t0, t1) >= 0.5 * (t1 - t0)]
        if captions and self.rng.random() < self.aug.captions:
            return self.rng.choice(captions).text
        # Clips with several wordings (Bandai's content x style phrasings) teach all of them.
        return self.rng.choice(clip.texts) if len(clip.texts) > 1 else clip.text

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(B, T, F) features, (B, T) mask, B texts."""
        return self.batch_with_negatives(size)[:3]

    def batch_with_negatives(self, size: int) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
        """``batch`` and each window's near-miss hard negative text ("" where it has none)."""
        ws = [self.sample() for _ in range(size)]
        return (np.stack([w.features for w in ws]), np.stack([w.mask for w in ws]), [w.text for w in ws],
                [w.hard_negative for w in ws])


def _mirror_index() -> list[int]:
    from motion_text_node.skeleton.canonical import MIRROR_INDEX

    return list(MIRROR_INDEX)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def clip_windows(clip: Clip, norm: NormalizationConfig, stride: int | None = None,
                 mirror: bool = False) -> list[Window]:
    """Deterministic windows over a whole clip (stride defaults to half a window), for evaluation."""
    m = clip.motion
    stride = stride or max(norm.window_frames // 2, 1)
    pos, valid = m.positions, m.validity()
    text = clip.text
    if mirror:
        pos, valid, text = mirror_positions(pos), valid[:, _mirror_index()], mirror_text(text)
    out = []
    for s in window_starts(m.num_frames, norm.window_frames, stride):
        feats = normalize_window(pos[s:s + norm.window_frames], valid[s:s + norm.window_frames], norm)
        x, mask = pad_window(feats, norm.window_frames)
        out.append(Window(x, mask, text, clip.clip_id, s))
    return out


def center_window(clip: Clip, norm: NormalizationConfig) -> Window:
    """The window in the middle of a clip (one sample per clip for retrieval evaluation)."""
    m = clip.motion
    s = max((m.num_frames - norm.window_frames) // 2, 0)
    feats = normalize_window(m.positions[s:s + norm.window_frames], m.validity()[s:s + norm.window_frames], norm)
    x, mask = pad_window(feats, norm.window_frames)
    return Window(x, mask, clip.text, clip.clip_id, s)
