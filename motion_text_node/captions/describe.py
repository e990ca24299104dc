"""Facts for motion windows: one window, every window of a clip, or many clips, all vectorized over time.

Speed, measured on one core of the project's 2-core machine with the default rules (``benchmarks/captions.md``):
all of Bandai (232 minutes at 30 fps, 12,264 windows of 2 s at 1-s stride) takes about 17 s, 262 CMU trials
(45 minutes, 2,581 windows) about 2 s. ``python -m motion_text_node.captions.describe`` reruns ``benchmark`` on
synthetic motion; ``python -m motion_text_node.bench.captions`` measures on the real data.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from motion_text_node.captions.body import Body
from motion_text_node.captions.facts import Fact
from motion_text_node.captions.rules import DEFAULT_ENABLED, FUNCTIONS, RULES, Hit
from motion_text_node.captions.windows import Windows
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
from motion_text_node.skeleton.motion import Motion
from motion_text_node.skeleton.resample import window_starts

WindowFacts = tuple[float, float, list[Fact]]


def _active(enabled: Iterable[str] | None) -> tuple[set[str], set[str] | None]:
    """Rules to run and, when ``enabled`` names single facts, the fact names to keep (None: all of them)."""
    if enabled is None:
        return set(DEFAULT_ENABLED), None
    enabled = set(enabled)
    unknown = enabled - set(RULES) - {f for r in RULES.values() for f in r.facts}
    if unknown:
        raise ValueError(f"unknown rules or facts: {', '.join(sorted(unknown))}")
    rules = {n for n, r in RULES.items() if n in enabled or enabled & set(r.facts)}
    names = {f for n in rules for f in RULES[n].facts if n in enabled or f in enabled}
    return rules, names


def _facts(body: Body, windows: Windows, enabled: Iterable[str] | None) -> list[list[Fact]]:
    rules, names = _active(enabled)
    hits: dict[str, list[Hit]] = {n: FUNCTIONS[n](body, windows, RULES[n].thresholds) for n in sorted(rules)}
    fired = {n: np.logical_or.reduce([h.fire for h in hs]) if hs else np.zeros(len(windows), dtype=bool)
             for n, hs in hits.items()}
    blocked = {n: np.zeros(len(windows), dtype=bool) for n in hits}
    for n in hits:
        for target in RULES[n].suppresses:
            if target in blocked:
                blocked[target] |= fired[n]
    out: list[list[Fact]] = [[] for _ in range(len(windows))]
    fps = windows.fps
    for rule_name, rule_hits in hits.items():
        base = RULES[rule_name].salience
        for h in rule_hits:
            if names is not None and h.name not in names:
                continue
            idx = np.flatnonzero(h.fire & ~blocked[rule_name])
            if not len(idx):
                continue
            strength = np.broadcast_to(np.clip(np.nan_to_num(np.asarray(h.strength, dtype=np.float64)), 0, 1),
                                       (len(windows),))
            salience = base * (0.75 + 0.25 * strength)
            first, last = windows.span(h.frames) if h.frames is not None else (None, None)
            amount = None if h.amount is None else np.broadcast_to(np.asarray(h.amount, dtype=np.float64),
                                                                   (len(windows),))
            for i in idx:
                start = end = None
                if first is not None and first[i] >= 0:
                    start, end = round(first[i] / fps, 3), round((last[i] + 1) / fps, 3)
                out[i].append(Fact(h.name, rule_name, h.phrase, h.side, round(float(salience[i]), 4), start, end,
                                   h.variants, None if amount is None else float(amount[i])))
    for facts in out:
        facts.sort(key=lambda f: (-f.salience, f.start_s if f.start_s is not None else 0.0))
    return out


def describe_windows(positions: np.ndarray, fps: float, starts: Sequence[int], length: int,
                     valid: np.ndarray | None = None, enabled: Iterable[str] | None = None) -> list[list[Fact]]:
    """Facts of many windows of one clip: ``positions[s:s + length]`` for each ``s`` in ``starts``.

    Vectorized: the body measurements are computed once over the clip and every rule over all windows at once
    (measurements near a window's edges may look a few frames beyond it, which smooths them).

    Args:
        positions: (T, 22, 3) canonical positions (metres, z up).
        fps: frame rate.
        starts: first frame of each window.
        length: frames per window (cut to T when the clip is shorter).
        valid: (T, 22) joint validity (imputed joints False), or None.
        enabled: rule ids and/or fact names to run (None: the rules ``enabled_by_default``).

    Returns:
        Per window, its facts, most salient first.
    """
    body = Body(positions, fps, valid)
    windows = Windows(np.asarray(starts, dtype=np.int64), length, body.n, fps)
    return _facts(body, windows, enabled)


def describe_window(positions: np.ndarray, fps: float, valid: np.ndarray | None = None,
                    enabled: set[str] | None = None) -> list[Fact]:
    """Facts of one window (T, 22, 3) of canonical motion, most salient first."""
    return describe_windows(positions, fps, [0], len(positions), valid, enabled)[0]


def caption_motion(motion: Motion, window_s: float = 2.0, stride_s: float = 1.0,
                   enabled: Iterable[str] | None = None) -> list[WindowFacts]:
    """(start_s, end_s, facts) for every window of ``window_s`` every ``stride_s`` over a canonical motion.

    Windows follow ``skeleton.resample.window_starts`` (the tail is covered; a short clip gives one window).
    """
    if tuple(motion.joint_names) != CANONICAL_JOINTS:
        raise ValueError("caption_motion needs a canonical motion (the 22 SMPL joints in SMPL order)")
    length = max(1, int(round(window_s * motion.fps)))
    stride = max(1, int(round(stride_s * motion.fps)))
    starts = window_starts(motion.num_frames, length, stride)
    length = min(length, motion.num_frames)
    facts = describe_windows(motion.positions, motion.fps, starts, length, motion.valid, enabled)
    return [(s / motion.fps, (s + length) / motion.fps, f) for s, f in zip(starts, facts, strict=True)]


def caption_windows_batch(motions: Iterable[Motion], window_s: float = 2.0, stride_s: float = 1.0,
                          enabled: Iterable[str] | None = None) -> list[list[WindowFacts]]:
    """``caption_motion`` for many motions (one list of windows per motion)."""
    enabled = None if enabled is None else set(enabled)
    return [caption_motion(m, window_s, stride_s, enabled) for m in motions]


def benchmark(minutes: float = 10.0, fps: float = 30.0, clip_s: float = 60.0, seed: int = 0) -> dict[str, float]:
    """Time ``caption_windows_batch`` (2-s windows, 1-s stride) on ``minutes`` of synthetic jittering motion.

    Returns the minutes captioned, the seconds taken and the extrapolation to 300 minutes. Few rules fire on
    this motion, so it runs a little faster than real motion (about 5 s per 300 minutes against 10 s).
    """
    rng = np.random.default_rng(seed)
    n_clips = max(1, int(round(minutes * 60 / clip_s)))
    frames = int(clip_s * fps)
    rest = rng.normal(0, 0.3, (1, len(CANONICAL_JOINTS), 3)).astype(np.float32)
    rest[..., 2] = np.abs(rest[..., 2]) + 0.1
    motions = []
    for _ in range(n_clips):
        drift = np.cumsum(rng.normal(0, 0.01, (frames, 1, 3)), axis=0).astype(np.float32)
        motions.append(Motion(rest + drift + rng.normal(0, 0.02, (frames, len(CANONICAL_JOINTS), 3)),
                              CANONICAL_JOINTS, fps))
    t0 = time.perf_counter()
    caption_windows_batch(motions)
    took = time.perf_counter() - t0
    return {"minutes": n_clips * clip_s / 60, "seconds": took, "seconds_per_300_minutes": took * 300 * 60 /
            (n_clips * clip_s)}


if __name__ == "__main__":
    print(benchmark())
