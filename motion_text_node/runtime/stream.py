"""Live recognition over skeleton streams: per-track buffers ordered by capture time, windowed inference,
score smoothing and label hysteresis. Plain Python (no ROS): the recognition node wires it to topics.

Robustness rules: frames are ordered by their capture stamps, not arrival; a duplicate stamp replaces nothing
and is counted; a frame older than the buffered span is dropped as late; a stamp far behind the newest frame
(a clock jump backwards) resets the track; buffers are bounded; silent tracks are dropped after a timeout and,
when ``max_tracks`` are kept, a new track evicts the stalest one (a flood of fake ids cannot lock people out);
inference always takes the newest window, so a slow consumer skips windows instead of building a backlog.
Rejections are counted under a fixed set of reasons (``Rejections``), and messages lost before intake are counted
from the publisher's sequence numbers where they can be seen (``SequenceGaps``).
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice

import numpy as np

from motion_text_node.errors import UserError
from motion_text_node.runtime.engine import MotionTextRuntime
from motion_text_node.runtime.text_input import shown
from motion_text_node.skeleton.adapt import to_canonical
from motion_text_node.skeleton.frame import SkeletonFrame
from motion_text_node.skeleton.resample import resample_times

#: A frame stamped this far (s) behind the newest one means the sender's clock jumped back: start over.
CLOCK_JUMP_S = 2.0
#: Coordinates beyond this (m) are treated as sensor glitches (missing joints).
ABSURD_COORDINATE_M = 50.0
#: What an inference round spends its time on: copying the due windows out of the buffers, resampling them to the
#: model rate, normalizing them into features, the ONNX motion encoder, and scoring, smoothing and deciding labels.
ROUND_STAGES = ("window", "resample", "features", "encoder", "decide")
#: (sqrt(5) - 1) / 2: successive multiples modulo 1 fill [0, 1) evenly for any count (track phases).
GOLDEN_FRACTION = 0.6180339887498949
#: Rejections the node itself words, by how their message starts (the rest holds an exception's text).
PREFIX_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("undecodable message", "undecodable message"),
    ("inference error", "inference error"),
    ("internal error", "internal error"),
)
#: Rejection reasons: the category whose phrase comes first in the message counts it (none: "other"). The messages
#: hold user-controlled values (up_axis, skeleton_format, joint names) after their fixed wording, so they are never
#: keys themselves and cannot choose the category.
REJECTION_CATEGORIES: tuple[tuple[str, str], ...] = PREFIX_CATEGORIES + (
    ("empty skeleton", "empty skeleton"),
    ("empty track_id", "empty track_id"),
    ("skeletons in one array", "too many skeletons"),
    ("joints is more than", "too many joints"),
    ("joint_names for", "joint_names count"),
    ("confidences", "confidences count"),
    ("bad stamp", "bad stamp"),
    ("no finite coordinate", "no finite coordinate"),
    ("fewer than 4 usable joints", "too few usable joints"),
    ("unknown skeleton format", "unknown skeleton_format"),
    ("up_axis must be", "unknown up_axis"),
    ("joints, got", "joint count of the format"),
    ("joint_names", "joint_names not recognized"),
    ("no joint name matches", "joint_names not recognized"),
    ("no joint maps", "no joint maps to the body"),
    ("without body joints", "no body joints"),
    ("positions", "bad positions"),
)
OTHER_REJECTION = "other"
#: Longest rejection message kept as the last example (the offending value is cut, never a key).
REJECTION_EXAMPLE_CHARS = 160


@dataclass
class StreamConfig:
    """Live recognition settings (node parameters)."""

    stride_s: float = 1 / 3  # recognize every this many seconds of new motion per track
    smoothing: float = 0.5  # EMA weight of the previous scores (0 = no smoothing)
    min_score: float = 0.2  # below this the label is "" (nothing recognized)
    hysteresis: float = 0.02  # a new label must beat the current one by this margin
    top_k: int = 5
    track_timeout_s: float = 2.0  # wall-clock silence after which a track is dropped
    max_tracks: int = 64
    min_window_fraction: float = 0.25  # do not recognize before this fraction of a window is buffered
    max_batch: int = 64  # windows in one inference round at most; the others wait for the next round
    # Spread the tracks' recognitions over the stride: people who appear in one frame (one array message) would
    # otherwise all fall due at the same frame forever, a burst every stride instead of a few windows per frame.
    stagger: bool = True


@dataclass
class TrackResult:
    """One recognition of one track."""

    track_id: str
    label: str
    score: float
    top_labels: list[str]
    top_scores: list[float]
    window_start: float
    window_end: float
    frame_id: str = ""
    latest_arrival: float = 0.0  # wall time the newest frame of the window arrived (latency accounting)


@dataclass
class Track:
    """Buffered canonical frames of one person, ordered by capture time."""

    times: list[float] = field(default_factory=list)
    positions: deque = field(default_factory=deque)
    valid: deque = field(default_factory=deque)
    last_arrival: float = 0.0
    last_inferred: float = -np.inf  # capture time of the last recognized window's newest frame
    phase: float | None = None  # fraction of a stride the track's schedule is shifted by (stagger)
    inferred_at: float = -np.inf  # wall time (monotonic) of that recognition: who waited longest goes first
    smoothed: np.ndarray | None = None
    smoothed_for: object = None  # the LabelSet the smoothed scores belong to
    label: str = ""
    frame_id: str = ""
    arrivals: deque = field(default_factory=lambda: deque(maxlen=120))


def rejection_category(message: str) -> str:
    """The fixed category of a rejection message ("up_axis must be one of z, y, -y, got 'q'" -> "unknown up_axis"):
    the node's own errors by their start, others by the category phrase found first; "other" when none is."""
    for prefix, category in PREFIX_CATEGORIES:
        if message.startswith(prefix):
            return category
    found = [(message.find(phrase), i, category)
             for i, (phrase, category) in enumerate(REJECTION_CATEGORIES[len(PREFIX_CATEGORIES):])]
    return min((f for f in found if f[0] >= 0), default=(0, 0, OTHER_REJECTION))[2]


class Rejections:
    """Rejected messages counted by fixed category (so diagnostics and log throttling stay bounded whatever the
    senders put in their messages), with the last message as a bounded example. Thread-safe."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.last = ""
        self._lock = threading.Lock()

    def add(self, message: str) -> str:
        """Count one rejection; its category (use it as a log-throttle key)."""
        category = rejection_category(message)
        with self._lock:
            self.counts[category] += 1
            self.last = f"{category}: {shown(message, REJECTION_EXAMPLE_CHARS)}"
        return category

    @property
    def total(self) -> int:
        """All rejections so far."""
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return bool(self.counts)


#: rmw's "no sequence number" values (0 and RMW_MESSAGE_INFO_SEQUENCE_NUMBER_UNSUPPORTED, UINT64_MAX).
_NO_SEQUENCE = (0, 2**64 - 1)


class SequenceGaps:
    """Messages lost between a publisher and the subscriber (a burst beyond the QoS depth, best-effort loss),
    counted from the gaps in the publication sequence numbers that rmw reports with each message.

    Sequence numbers count per publisher and rmw does not say which publisher sent a message, so a gap counts only
    while exactly one publisher is matched (``single_publisher()``, asked only on a gap); a number that goes back
    (a restarted or another publisher) starts a new baseline.
    """

    def __init__(self) -> None:
        self.last: int | None = None
        self.lost = 0

    def observe(self, seq: int | None, single_publisher: Callable[[], bool]) -> int:
        """Account for one received message; how many messages were lost just before it."""
        if seq is None or seq in _NO_SEQUENCE:
            return 0
        last, self.last = self.last, seq
        if last is None or seq == last + 1 or seq <= last or not single_publisher():
            return 0
        self.lost += seq - last - 1
        return seq - last - 1


def _screen(stamps: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    """(people, joints, 3) positions of frames with glitching (absurdly far) joints made missing, and per frame
    the reason it cannot be used whatever its joints (bad stamp, nothing finite), None for the usable ones."""
    finite = np.isfinite(pos)
    reasons = ["bad stamp" if not (np.isfinite(t) and t > 0) else None if f else "no finite coordinate"
               for t, f in zip(stamps.tolist(), finite.reshape(len(pos), -1).any(axis=1).tolist(), strict=True)]
    with np.errstate(invalid="ignore"):
        absurd = finite & (np.abs(pos) > ABSURD_COORDINATE_M)
    if absurd.any():
        pos = np.where(absurd, np.nan, pos)
    return pos, reasons


def _canonical_one(frame: SkeletonFrame, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray] | str:
    """(canonical positions, valid joints) of one screened frame, or the reason it cannot be used."""
    try:
        m = to_canonical(pos, 30.0, frame.joint_names or None, frame.skeleton_format, frame.up_axis or None,
                         frame.confidences)
    except UserError as exc:
        return str(exc)
    if m.valid.sum() < 4:
        return "fewer than 4 usable joints"
    return m.positions[0], m.valid[0]


def _canonical_alone(frame: SkeletonFrame) -> tuple[np.ndarray, np.ndarray] | str:
    """``_canonical_group`` of a single frame."""
    pos, reasons = _screen(np.array([frame.stamp], np.float64), np.asarray(frame.positions, np.float32)[None])
    return reasons[0] or _canonical_one(frame, pos[0])


def _canonical_group(frames: list[SkeletonFrame]) -> list[tuple[np.ndarray, np.ndarray] | str]:
    """Per frame of one layout (format, joint names, up axis, shapes): its canonical positions and valid joints,
    or the reason it cannot be used. Screened and canonicalized as one (people, joints, 3) array; canonicalization
    treats each row on its own except where a row has no usable joint, so those rows (and a group the array call
    refuses) are done one by one, for exactly the answer they get alone."""
    first = frames[0]
    if len(frames) == 1 or np.ndim(first.positions) != 2 or np.shape(first.positions)[1] != 3:
        return [_canonical_alone(f) for f in frames]  # one person, or positions of no (joints, 3) shape
    pos, reasons = _screen(np.array([f.stamp for f in frames], np.float64),
                           np.stack([np.asarray(f.positions, np.float32) for f in frames]))
    good = [i for i, r in enumerate(reasons) if r is None]
    out: list = list(reasons)
    if not good:
        return out
    conf = None if first.confidences is None else np.stack([frames[i].confidences for i in good])
    try:
        m = to_canonical(pos[good], 30.0, first.joint_names or None, first.skeleton_format, first.up_axis or None,
                         conf)
        enough = (m.valid.sum(axis=1) >= 4).tolist()
    except UserError:
        m, enough = None, [False] * len(good)
    for row, i in enumerate(good):
        out[i] = (m.positions[row], m.valid[row]) if enough[row] else _canonical_one(frames[i], pos[i])
    return out


class StreamRecognizer:
    """Per-track buffers and windowed recognition. ``add_frame``, ``update_config``, ``reset_labels`` and
    ``drop_silent`` may be called from any thread (subscription and parameter callbacks) while one inference
    worker calls ``run_due``: the buffers and the config are read and changed under one lock, and a round's scores
    and label names come from one label set. ``run_due`` itself is not meant to run on two threads at once."""

    def __init__(self, runtime: MotionTextRuntime, config: StreamConfig | None = None) -> None:
        self.runtime = runtime
        self.config = config or StreamConfig()
        self.tracks: dict[str, Track] = {}
        self.rejected: Counter = Counter()
        self.events: Counter = Counter()
        self.latencies_ms: deque = deque(maxlen=500)
        #: ms per inference round in each stage (instrumentation: diagnostics and the benchmark read it)
        self.stage_ms: dict[str, deque] = {stage: deque(maxlen=500) for stage in ROUND_STAGES}
        self._lock = threading.Lock()
        self._phases = 0  # tracks given a phase so far
        norm = runtime.norm
        self.window_s = norm.window_frames / norm.fps
        self.capacity = int(norm.window_frames * 8)  # raw frames kept per track (sources up to 8x model fps)

    # --- input ---------------------------------------------------------------------------------------------
    def add_frame(self, frame: SkeletonFrame, arrival: float | None = None) -> bool:
        """Add one skeleton; True when its track now has a stride of new motion to recognize (``run_due`` has
        work). Raises UserError (the reason to count) for a frame that cannot be used."""
        due, rejected = self.add_frames([frame], arrival)
        if rejected:
            raise UserError(rejected[0][1])
        return due

    def add_frames(self, frames: list[SkeletonFrame],
                   arrival: float | None = None) -> tuple[bool, list[tuple[SkeletonFrame, str]]]:
        """Add the people of one message (a SkeletonArray) together: the skeletons of one layout (format, joint
        names, up axis) are canonicalized as one array instead of one by one, each with the same outcome as
        alone. Whether any track now has a stride to recognize, and the frames that cannot be used with their
        reasons (the others still count)."""
        arrival = time.monotonic() if arrival is None else arrival
        groups: dict[tuple, list[SkeletonFrame]] = {}
        for frame in frames:
            conf = frame.confidences
            key = (frame.skeleton_format, tuple(frame.joint_names), frame.up_axis, np.shape(frame.positions),
                   None if conf is None else np.shape(conf))
            groups.setdefault(key, []).append(frame)
        accepted, rejected = [], []
        for group in groups.values():
            for frame, canonical in zip(group, _canonical_group(group), strict=True):
                (rejected if isinstance(canonical, str) else accepted).append((frame, canonical))
        due = False
        with self._lock:
            for frame, (positions, valid) in accepted:
                track = self.tracks.get(frame.track_id)
                if track is None:
                    self._evict_stalest(self.config.max_tracks - 1)
                    track = self.tracks[frame.track_id] = Track()
                self._insert(track, frame.stamp, positions, valid)
                track.last_arrival = arrival
                track.frame_id = frame.frame_id
                track.arrivals.append(arrival)
                due = self._is_due(track) or due
        return due, rejected

    def _evict_stalest(self, keep: int) -> None:
        """Drop the tracks that arrived least recently until at most ``keep`` are left (lock held)."""
        excess = len(self.tracks) - max(keep, 0)
        if excess <= 0:
            return
        for tid in heapq.nsmallest(excess, self.tracks, key=lambda k: self.tracks[k].last_arrival):
            del self.tracks[tid]
        self.events["track_evicted"] += excess

    def update_config(self, **changes) -> None:
        """New settings (``StreamConfig`` fields, already validated) at once; a lower ``max_tracks`` evicts the
        stalest tracks right away."""
        with self._lock:
            self.config = dataclasses.replace(self.config, **changes)
            self._evict_stalest(self.config.max_tracks)

    def _is_due(self, track: Track) -> bool:
        """A stride of new motion since the last recognition, and enough of a window buffered (lock held)."""
        return (len(track.times) >= 2 and track.times[-1] - track.last_inferred >= self.config.stride_s - 1e-6
                and track.times[-1] - track.times[0] >= self.config.min_window_fraction * self.window_s)

    def _insert(self, track: Track, t: float, pos: np.ndarray, valid: np.ndarray) -> None:
        if track.times and t < track.times[-1] - CLOCK_JUMP_S:
            self.events["clock_jump_reset"] += 1
            track.times.clear(), track.positions.clear(), track.valid.clear()
            track.last_inferred, track.smoothed = -np.inf, None
        i = bisect.bisect_left(track.times, t)
        if i < len(track.times) and abs(track.times[i] - t) < 1e-6:
            self.events["duplicate_stamp"] += 1
            return
        if track.times and t < track.times[-1] - self.window_s:
            self.events["late_frame"] += 1
            return
        if i == len(track.times):
            track.times.append(t)
            track.positions.append(pos)
            track.valid.append(valid)
        else:  # out of order but recent: insert in place
            self.events["reordered"] += 1
            track.times.insert(i, t)
            track.positions.insert(i, pos)
            track.valid.insert(i, valid)
        while len(track.times) > self.capacity or (track.times and track.times[0] < track.times[-1] - 2 *
                                                   self.window_s):
            track.times.pop(0)
            track.positions.popleft()
            track.valid.popleft()

    # --- inference -----------------------------------------------------------------------------------------
    def drop_silent(self, now: float | None = None) -> list[str]:
        """Remove tracks silent for longer than the timeout; returns their ids."""
        now = time.monotonic() if now is None else now
        with self._lock:
            gone = [k for k, tr in self.tracks.items() if now - tr.last_arrival > self.config.track_timeout_s]
            for k in gone:
                del self.tracks[k]
        self.events["track_timeout"] += len(gone)
        return gone

    def _due_windows(self):
        """The newest window of at most ``max_batch`` due tracks, those recognized longest ago first."""
        due = []
        with self._lock:
            ready = [(tid, tr) for tid, tr in self.tracks.items() if self._is_due(tr)]
            if len(ready) > self.config.max_batch:
                ready = heapq.nsmallest(self.config.max_batch, ready, key=lambda item: item[1].inferred_at)
            now = time.monotonic()
            for tid, tr in ready:
                end = tr.times[-1]
                lo = bisect.bisect_left(tr.times, end - self.window_s)
                times = np.array(tr.times[lo:])
                pos = np.array(list(islice(tr.positions, lo, None)))
                valid = np.array(list(islice(tr.valid, lo, None)))
                tr.last_inferred, tr.inferred_at = end - self._phase_shift(tr), now
                due.append((tid, times, pos, valid, tr.last_arrival))
        return due

    def _phase_shift(self, track: Track) -> float:
        """Seconds the next recognition of a track comes early, once: at its first recognition it is given a
        phase from a golden-ratio sequence (0, 0.62, 0.24, 0.85, ... of a stride: spread evenly whatever the
        number of tracks), so its second label comes that much sooner and the later ones keep the new cadence.
        No label is ever delayed (lock held)."""
        if track.phase is not None:
            return 0.0
        track.phase = (self._phases * GOLDEN_FRACTION) % 1.0 if self.config.stagger else 0.0
        self._phases += self.config.stagger
        return track.phase * self.config.stride_s

    def due_count(self) -> int:
        """Tracks with a new stride of motion waiting to be recognized."""
        with self._lock:
            return sum(self._is_due(tr) for tr in self.tracks.values())

    def run_due(self) -> list[TrackResult]:
        """One inference round: recognize up to ``max_batch`` tracks with a new stride of motion in one batched
        ONNX call (call again while ``due_count()`` is not zero)."""
        t_start = time.perf_counter()
        due = self._due_windows()
        if not due:
            return []
        fps = self.runtime.norm.fps
        t0 = time.perf_counter()
        windows = []
        for _, times, pos, valid, _ in due:
            rpos, rvalid, _ = resample_times(pos, times, fps, valid=valid)
            windows.append((rpos, rvalid))
        t_resampled = time.perf_counter()
        encoder = self.runtime.motion_encoder
        emb = encoder.encode_windows(windows)
        t_encoded = time.perf_counter()
        label_set = self.runtime.labels.current  # scores and names from one label set, even during set_labels
        scores = label_set.scores(emb)
        results = []
        with self._lock:
            for (tid, times, _, _, arrival), row in zip(due, scores, strict=True):
                tr = self.tracks.get(tid)
                if tr is None:
                    continue
                results.append(self._decide(tid, tr, row, float(times[0]), float(times[-1]), arrival, label_set))
        t_end = time.perf_counter()
        self.latencies_ms.append((t_end - t0) * 1000.0)
        features_ms = encoder.last_features_ms
        for stage, ms in (("window", (t0 - t_start) * 1000.0), ("resample", (t_resampled - t0) * 1000.0),
                          ("features", features_ms), ("encoder", (t_encoded - t_resampled) * 1000.0 - features_ms),
                          ("decide", (t_end - t_encoded) * 1000.0)):
            self.stage_ms[stage].append(ms)
        return results

    def _decide(self, tid: str, tr: Track, row: np.ndarray, t0: float, t1: float, arrival: float,
                label_set=None) -> TrackResult:
        c = self.config
        label_set = label_set if label_set is not None else self.runtime.labels.current
        if (tr.smoothed is None or tr.smoothed_for is not label_set or tr.smoothed.shape != row.shape
                or not np.isfinite(tr.smoothed).all()):
            tr.smoothed = row.copy()  # first window, new labels, or scores spoiled before: start from this one
        else:
            tr.smoothed = c.smoothing * tr.smoothed + (1.0 - c.smoothing) * row
        tr.smoothed_for = label_set
        labels = list(label_set.labels)
        top_labels, top_scores = label_set.top_k(tr.smoothed, c.top_k)
        best, best_score = top_labels[0], top_scores[0]
        current = tr.label if tr.label in labels else ""
        if best_score < c.min_score:
            tr.label = ""
        elif current and current != best:
            cur_score = float(tr.smoothed[labels.index(current)])
            if best_score > cur_score + c.hysteresis or cur_score < c.min_score:
                tr.label = best
        else:
            tr.label = best
        score = float(tr.smoothed[labels.index(tr.label)]) if tr.label else best_score
        return TrackResult(tid, tr.label, score, top_labels, top_scores, t0, t1, tr.frame_id, arrival)

    def reset_labels(self, labels: list[str]) -> None:
        """New label set: re-embed and forget smoothed scores."""
        self.runtime.labels.set_labels(labels)
        with self._lock:
            for tr in self.tracks.values():
                tr.smoothed, tr.label = None, ""

    def input_rates(self) -> dict[str, float]:
        """Messages per second per track over the recent arrivals."""
        with self._lock:
            out = {}
            for tid, tr in self.tracks.items():
                a = tr.arrivals
                out[tid] = (len(a) - 1) / (a[-1] - a[0]) if len(a) > 1 and a[-1] > a[0] else 0.0
            return out
