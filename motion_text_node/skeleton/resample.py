"""Temporal resampling to the model frame rate, and fixed-length windows with padding masks."""

from __future__ import annotations

import math

import numpy as np

from motion_text_node.errors import UserError
from motion_text_node.skeleton.motion import Motion, check_duration

#: The most frames one resampling may produce (10 minutes at 240 fps, far above the model's 30 fps): with a sane
#: duration, a huge target rate would still allocate without bound.
MAX_RESAMPLED_FRAMES = 144_000


def resampled_frame_count(span_s: float, fps: float) -> int:
    """Frames of a regular ``fps`` grid over ``span_s`` seconds (first to last frame), checked before anything is
    allocated: UserError (one line, naming the limit) beyond ``MAX_MOTION_SECONDS`` or ``MAX_RESAMPLED_FRAMES``."""
    if not (math.isfinite(fps) and fps > 0):
        raise UserError(f"cannot resample to {fps} fps: the frame rate must be a positive number")
    check_duration(span_s)
    frames = span_s * fps
    if frames >= MAX_RESAMPLED_FRAMES:
        raise UserError(f"resampling {span_s:.4g} s to {fps:g} fps would make {frames:.4g} frames, more than the "
                        f"limit of {MAX_RESAMPLED_FRAMES} (MAX_RESAMPLED_FRAMES)")
    return max(int(np.floor(frames + 1e-6)) + 1, 1)


def resample_times(positions: np.ndarray, times: np.ndarray, fps: float, start: float | None = None,
                   valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Linearly interpolate frames captured at (increasing) ``times`` onto a regular ``fps`` grid.

    Args:
        positions: (T, J, 3) frames.
        times: (T,) strictly increasing capture times in seconds (need not be regular).
        fps: output frame rate.
        start: first output time (default ``times[0]``).
        valid: optional (T, J) validity; an output joint is valid when both neighbouring inputs are.

    Returns:
        (positions (N, J, 3), valid (N, J) or None, output times (N,)).

    Raises:
        UserError: the span is longer than ``MAX_MOTION_SECONDS`` or the grid has ``MAX_RESAMPLED_FRAMES`` frames
            or more (checked before allocating).
    """
    times = np.asarray(times, dtype=np.float64)
    if len(times) != len(positions):
        raise ValueError(f"{len(times)} times for {len(positions)} frames")
    if len(times) > 1 and not np.all(np.diff(times) > 0):
        raise ValueError("times must be strictly increasing")
    t0 = times[0] if start is None else start
    n = resampled_frame_count(float(times[-1] - t0), float(fps))
    out_t = t0 + np.arange(n) / fps
    if len(times) == 1:
        out_valid = None if valid is None else np.asarray(valid)[:1].copy()
        return positions[:1].astype(np.float32), out_valid, out_t[:1]
    hi = np.clip(np.searchsorted(times, out_t, side="right"), 1, len(times) - 1)
    lo = hi - 1
    w = np.clip((out_t - times[lo]) / (times[hi] - times[lo]), 0.0, 1.0)[:, None, None]
    out = (1.0 - w) * positions[lo] + w * positions[hi]
    out_valid = None
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        wv = w[:, :, 0]
        out_valid = (valid[lo] | (wv >= 1.0)) & (valid[hi] | (wv <= 0.0))
    return out.astype(np.float32), out_valid, out_t


def resample_motion(motion: Motion, fps: float) -> Motion:
    """The motion at ``fps`` (linear interpolation; unchanged when the rate already matches)."""
    if abs(motion.fps - fps) < 1e-6:
        return motion
    times = np.arange(motion.num_frames) / motion.fps
    pos, valid, _ = resample_times(motion.positions, times, fps, valid=motion.valid)
    return Motion(pos, motion.joint_names, fps, valid)


def window_starts(num_frames: int, window: int, stride: int) -> list[int]:
    """Start frames of windows of ``window`` frames every ``stride`` frames; a short clip gives one window."""
    if window <= 0 or stride <= 0:
        raise ValueError("window and stride must be positive")
    if num_frames <= window:
        return [0]
    starts = list(range(0, num_frames - window + 1, stride))
    if starts[-1] + window < num_frames:
        starts.append(num_frames - window)  # the tail is covered too
    return starts


def pad_window(frames: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad (or cut) ``frames`` (T, ...) to ``window`` frames; returns (padded, frame mask (window,) bool)."""
    n = min(len(frames), window)
    out = np.zeros((window, *frames.shape[1:]), dtype=frames.dtype)
    out[:n] = frames[:n]
    mask = np.zeros(window, dtype=bool)
    mask[:n] = True
    return out, mask
