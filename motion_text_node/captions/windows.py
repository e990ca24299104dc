"""Statistics of per-frame signals over many windows at once (cumulative sums and strided views, no frame loops).

A ``Windows`` holds W windows of L frames each (starting at ``starts``) over a clip of T frames; every method
takes a (T,) per-frame array and returns a (W,) array.
"""

from __future__ import annotations

import numpy as np


def hysteresis_state(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """(T,) state in {-1, 0, +1}: +1 after ``x`` rose above ``high``, -1 after it fell below ``low``, held in between.

    0 before the first crossing. Vectorized: the last crossing at or before each frame is carried forward.
    """
    sign = np.where(x > high, 1, np.where(x < low, -1, 0))
    idx = np.where(sign != 0, np.arange(len(x)), -1)
    idx = np.maximum.accumulate(idx) if len(idx) else idx
    return np.where(idx >= 0, sign[np.maximum(idx, 0)], 0)


def state_changes(state: np.ndarray, to: int | None = None) -> np.ndarray:
    """(T,) True where a {-1, 0, +1} state flips between -1 and +1 (to ``to`` only, when given)."""
    prev = np.concatenate([state[:1], state[:-1]])
    flip = (state != prev) & (state != 0) & (prev != 0)
    return flip if to is None else flip & (state == to)


class Windows:
    """W windows of ``length`` frames starting at ``starts`` in a clip of ``n_frames`` frames at ``fps``."""

    def __init__(self, starts: np.ndarray, length: int, n_frames: int, fps: float) -> None:
        self.starts = np.asarray(starts, dtype=np.int64)
        self.length = int(min(length, n_frames))
        if self.length < 1:
            raise ValueError("windows need at least one frame")
        if len(self.starts) and (self.starts.min() < 0 or self.starts.max() + self.length > n_frames):
            raise ValueError("windows must lie inside the clip")
        self.n_frames = n_frames
        self.fps = fps
        self.cache: dict[str, object] = {}

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def duration(self) -> float:
        """Window length in seconds."""
        return self.length / self.fps

    def frames(self, seconds: float) -> int:
        """A duration in frames, at least 1 and at most the window length."""
        return int(min(self.length, max(1, round(seconds * self.fps))))

    def _cumsum(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(np.asarray(x, dtype=np.float64))])

    def sum(self, x: np.ndarray, offset: int = 0, length: int | None = None) -> np.ndarray:
        """Sum of ``x`` over frames ``offset .. offset + length`` of each window (default: the whole window)."""
        length = self.length - offset if length is None else length
        c = self._cumsum(x)
        a = self.starts + offset
        return c[a + length] - c[a]

    def mean(self, x: np.ndarray, offset: int = 0, length: int | None = None) -> np.ndarray:
        """Mean of ``x`` over (part of) each window; NaN frames are skipped (NaN when all are)."""
        x = np.asarray(x, dtype=np.float64)
        good = np.isfinite(x)
        total = self.sum(np.where(good, x, 0.0), offset, length)
        count = self.sum(good, offset, length)
        return np.divide(total, count, out=np.full(len(total), np.nan), where=count > 0)

    def frac(self, mask: np.ndarray, offset: int = 0, length: int | None = None) -> np.ndarray:
        """Fraction of (part of) each window where ``mask`` holds."""
        length = self.length - offset if length is None else length
        return self.sum(mask, offset, length) / max(length, 1)

    def head(self, x: np.ndarray, seconds: float) -> np.ndarray:
        """Mean of ``x`` over the first ``seconds`` of each window."""
        return self.mean(x, 0, self.frames(seconds))

    def tail(self, x: np.ndarray, seconds: float) -> np.ndarray:
        """Mean of ``x`` over the last ``seconds`` of each window."""
        n = self.frames(seconds)
        return self.mean(x, self.length - n, n)

    def view(self, x: np.ndarray) -> np.ndarray:
        """(W, L) copy of ``x`` in each window."""
        return np.lib.stride_tricks.sliding_window_view(np.asarray(x), self.length)[self.starts]

    def max(self, x: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        """Largest ``x`` in each window (over frames where ``where`` holds; -inf when none; NaN skipped)."""
        x = np.asarray(x, dtype=np.float64)
        keep = np.isfinite(x) if where is None else (np.isfinite(x) & where)
        return self.view(np.where(keep, x, -np.inf)).max(1)

    def min(self, x: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        """Smallest ``x`` in each window (over frames where ``where`` holds; +inf when none; NaN skipped)."""
        x = np.asarray(x, dtype=np.float64)
        keep = np.isfinite(x) if where is None else (np.isfinite(x) & where)
        return self.view(np.where(keep, x, np.inf)).min(1)

    def count(self, events: np.ndarray) -> np.ndarray:
        """Number of event frames in each window, the first frame excluded (it may continue the previous one)."""
        return self.sum(events, 1, self.length - 1) if self.length > 1 else np.zeros(len(self))

    def runs(self, mask: np.ndarray) -> np.ndarray:
        """Number of separate runs of ``mask`` frames that overlap each window."""
        mask = np.asarray(mask, dtype=bool)
        onset = mask & ~np.concatenate([[False], mask[:-1]])
        return self.count(onset) + mask[self.starts]

    def longest_run(self, mask: np.ndarray) -> np.ndarray:
        """Longest run (frames) of consecutive ``mask`` frames inside each window."""
        mask = np.asarray(mask, dtype=bool)
        idx = np.arange(len(mask))
        last_false = np.maximum.accumulate(np.where(~mask, idx, -1)) if len(mask) else idx
        run = idx - last_false  # run length ending at each frame
        runs = np.minimum(self.view(run), np.arange(1, self.length + 1))  # runs may not start before the window
        return runs.max(1)

    def span(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first, last) frame offsets inside each window where ``mask`` holds (-1 where it never does)."""
        v = self.view(np.asarray(mask, dtype=bool))
        anyv = v.any(1)
        first = np.where(anyv, v.argmax(1), -1)
        last = np.where(anyv, self.length - 1 - v[:, ::-1].argmax(1), -1)
        return first, last
