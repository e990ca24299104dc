"""Motion clips -> a rosbag2 (MCAP or sqlite3) that replays like a live skeleton tracker, with ground truth.

Topics written:

* ``/skeleton`` (``motion_text_interfaces/msg/Skeleton``): one message per frame, canonical SMPL-22 joints in
  metres, z up, ``header.stamp`` = capture time, spaced 1/fps of the clip; joints a clip marks as not
  observed get confidence 0 (``confidences`` is empty when every joint was observed).
* or, with ``skeleton_array``, ``/skeleton_array`` (``motion_text_interfaces/msg/SkeletonArray``): the frames of
  every track that share a stamp in one message, as a body tracker publishes all people of a camera frame (tracks
  share stamps when their clips have one frame rate and ``track_offset`` is a multiple of the frame time).
* ``/ground_truth`` (``motion_text_interfaces/msg/ActionLabel``): one message per clip at its first frame,
  ``label`` = the clip's action label, ``top_labels`` = [its description], ``window_start``/``window_end`` =
  the stamps of its first and last frame.

Several clips are concatenated into one continuous stream per track (an optional gap between clips); the
segments are also listed in ``ground_truth.json`` next to ``metadata.yaml``.

The bag is written into a hidden folder beside ``out`` and renamed into place only when it is complete, so a
conversion that fails (full disk, Ctrl-C, a bad clip) leaves ``out`` as it was, the old bag included when
replacing one.
"""

from __future__ import annotations

import heapq
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer

from motion_text_node.bag.record import check_seconds
from motion_text_node.bag.types import ACTION_LABEL_TYPE, SKELETON_ARRAY_TYPE, SKELETON_TYPE, typestore
from motion_text_node.data.clip import Clip
from motion_text_node.data.labels import clip_action_label
from motion_text_node.errors import UserError

SKELETON_TOPIC = "/skeleton"
SKELETON_ARRAY_TOPIC = "/skeleton_array"
GROUND_TRUTH_TOPIC = "/ground_truth"
GROUND_TRUTH_FILE = "ground_truth.json"
#: Default stamp of the first frame (2023-11-14 22:13:20 UTC): fixed so converted bags are reproducible.
DEFAULT_START_TIME = 1_700_000_000.0
STORAGES = ("mcap", "sqlite3")
#: Stamps must stay below this many seconds after the epoch: builtin_interfaces/Time.sec is an int32.
MAX_STAMP_S = 2**31 - 1
#: rosbag2 metadata version written (Jazzy's rosbag2 writes and reads version 9).
BAG_VERSION = 9
#: Name under which ``convert_to_bag`` parks the bag it replaces, inside its staging folder, until the swap.
_REPLACED = "replaced"

_ZERO = QosTime(0, 0)
#: The QoS recorded as "offered" for converted topics: what a live tracker would publish with.
RELIABLE_QOS = Qos(QosHistory.KEEP_LAST, 100, QosReliability.RELIABLE, QosDurability.VOLATILE, _ZERO, _ZERO,
                   QosLiveliness.AUTOMATIC, _ZERO, False)


@dataclass
class GroundTruthSegment:
    """One clip's span in the bag's stream (times in seconds since the epoch, as in the message stamps).

    ``start`` and ``end`` are the stamps of the clip's first and last frame (as ActionLabel's window).
    """

    track_id: str
    clip_id: str
    label: str
    text: str
    start: float
    end: float
    num_frames: int
    fps: float


@dataclass
class ConvertResult:
    """What ``convert_to_bag`` wrote."""

    path: Path
    storage: str
    segments: list[GroundTruthSegment]
    counts: dict[str, int] = field(default_factory=dict)
    start_time: float = 0.0
    end_time: float = 0.0

    @property
    def duration(self) -> float:
        """Seconds from the first to the last message."""
        return self.end_time - self.start_time


def _is_cache(path: Path) -> bool:
    return path.is_dir() and (path / "index.json").is_file()


def collect_clips(inputs: Sequence[str | Path], *, split: str | None = None, ids: Sequence[str] | None = None,
                  limit: int | None = None, up_axis: str | None = None) -> list[Clip]:
    """The clips named by ``inputs``: .bvh / .npz files, and dataset cache folders (all clips, one split, or ids).

    ``ids`` are looked up in the cache inputs, in the order given; ``limit`` keeps the first N clips overall.
    """
    from motion_text_node.data.cache import SPLITS, DatasetCache
    from motion_text_node.data.files import load_any_clip

    if not inputs:
        raise UserError("no input: give .bvh / .npz files or a dataset cache folder")
    if split is not None and split not in SPLITS:
        raise UserError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be at least 1, got {limit}")
    paths = [Path(p) for p in inputs]
    for path in paths:
        if not path.exists():
            raise UserError(f"{path}: no such file or folder")
        if path.is_dir() and not _is_cache(path):
            raise UserError(f"{path}: a folder that is not a dataset cache (no index.json)")
    caches = [DatasetCache(p) for p in paths if p.is_dir()]
    if (split is not None or ids) and not caches:
        raise UserError("--split and --ids select clips of a dataset cache folder, and no input is one")
    wanted = list(dict.fromkeys(ids or []))
    if wanted:
        found = {clip_id: cache for clip_id in wanted for cache in reversed(caches) if clip_id in cache.ids(split)}
        if missing := [i for i in wanted if i not in found]:
            where = f" of split {split!r}" if split else ""
            raise UserError(f"no clip{where} with id {', '.join(missing[:5])} in "
                            f"{', '.join(str(c.root) for c in caches)}")
    clips: list[Clip] = []
    for path in paths:
        if path.is_dir():
            cache = next(c for c in caches if c.root == path)
            names = [i for i in wanted if found[i] is cache] if wanted else cache.ids(split)
            clips.extend(cache.clip(clip_id) for clip_id in names[:None if limit is None else limit - len(clips)])
        else:
            clips.append(load_any_clip(str(path), None, up_axis))
        if limit is not None and len(clips) >= limit:
            break
    if not clips:
        raise UserError("the selection holds no clips")
    if empty := [c.clip_id for c in clips if c.motion.num_frames == 0]:
        raise UserError(f"clip {empty[0]} has no frames")
    return clips


def _ns(seconds: float) -> int:
    return int(round(seconds * 1e9))


def _time(store, t_ns: int):
    return store.types["builtin_interfaces/msg/Time"](sec=t_ns // 1_000_000_000, nanosec=t_ns % 1_000_000_000)


def _clip_messages(store, clip: Clip, start_ns: int, track_id: str, frame_id: str,
                   order: int) -> Iterator[tuple[int, int, str, bytes]]:
    """(timestamp ns, tie-break order, topic, CDR bytes) of one clip: its ground truth, then every frame."""
    Skeleton = store.types[SKELETON_TYPE]
    ActionLabel = store.types[ACTION_LABEL_TYPE]
    Header = store.types["std_msgs/msg/Header"]
    Point = store.types["geometry_msgs/msg/Point"]
    motion = clip.motion
    fps = float(motion.fps)
    stamps = [start_ns + _ns(i / fps) for i in range(motion.num_frames)]
    text = clip.text
    label = ActionLabel(
        header=Header(stamp=_time(store, stamps[0]), frame_id=frame_id), track_id=track_id,
        label=clip_action_label(clip),
        score=1.0, top_labels=[text] if text else [],
        top_scores=np.ones(1 if text else 0, dtype=np.float32),
        window_start=_time(store, stamps[0]), window_end=_time(store, stamps[-1]))
    yield stamps[0], order, GROUND_TRUTH_TOPIC, bytes(store.serialize_cdr(label, ACTION_LABEL_TYPE))
    valid = motion.validity()
    positions = motion.positions.astype(np.float64)
    all_valid = bool(valid.all())
    for i, t_ns in enumerate(stamps):
        msg = Skeleton(
            header=Header(stamp=_time(store, t_ns), frame_id=frame_id), track_id=track_id, skeleton_format="smpl22",
            joint_names=[], positions=[Point(x=p[0], y=p[1], z=p[2]) for p in positions[i].tolist()],
            confidences=np.zeros(0, np.float32) if all_valid else valid[i].astype(np.float32), up_axis="z")
        yield t_ns, order + 1, SKELETON_TOPIC, bytes(store.serialize_cdr(msg, SKELETON_TYPE))


def plan_tracks(clips: Sequence[Clip], *, tracks: int = 1, track_id: str | None = None,
                start_time: float = DEFAULT_START_TIME, gap: float = 0.0,
                track_offset: float = 0.0) -> list[tuple[Clip, GroundTruthSegment, int]]:
    """Where each clip goes: (clip, its segment, first-frame stamp in ns), per track, in stream order.

    Track k (0-based) plays the clips rotated by k (so simultaneous tracks show different clips whenever there
    are at least as many clips as tracks) and starts ``k * track_offset`` seconds later.
    """
    if tracks < 1:
        raise UserError(f"--tracks must be at least 1, got {tracks}")
    for option, value in (("--start-time", start_time), ("--gap", gap), ("--track-offset", track_offset)):
        if check_seconds(option, value) >= MAX_STAMP_S:  # finite, not negative, and a stamp a message can hold
            raise UserError(f"{option} must be below {MAX_STAMP_S} s (builtin_interfaces/Time holds int32 seconds), "
                            f"got {value}")
    if track_id is not None and tracks > 1:
        raise UserError("--track-id names the one track; with --tracks N the tracks are person_1..person_N")
    if track_id is not None and not track_id.strip():
        raise UserError("--track-id must not be empty")
    ids = [track_id or "person_1"] if tracks == 1 else [f"person_{k + 1}" for k in range(tracks)]
    plan = []
    for k, tid in enumerate(ids):
        t_ns = _ns(start_time + k * track_offset)
        rot = k % len(clips)
        for clip in list(clips[rot:]) + list(clips[:rot]):
            n, fps = clip.motion.num_frames, float(clip.motion.fps)
            last_ns = t_ns + _ns((n - 1) / fps)
            plan.append((clip, GroundTruthSegment(tid, clip.clip_id, clip_action_label(clip), clip.text, t_ns / 1e9,
                                                  last_ns / 1e9, n, fps), t_ns))
            t_ns += _ns(n / fps) + _ns(gap)
    if (last := max((seg.end for _, seg, _ in plan), default=0.0)) >= MAX_STAMP_S:
        raise UserError(f"the last frame would be stamped {last:.0f} s after the epoch, past the {MAX_STAMP_S} s a "
                        "builtin_interfaces/Time holds (2038-01-19): lower --start-time, --gap or --track-offset")
    return plan


def _check_out(out: Path, overwrite: bool) -> bool:
    """Whether ``out`` is an existing bag folder to replace; UserError when it must not be touched."""
    if not out.exists():
        return False
    if not overwrite:
        raise UserError(f"{out} exists already; choose another --out or pass --overwrite")
    if out.is_dir() and ((out / "metadata.yaml").is_file() or not any(out.iterdir())):
        return True
    raise UserError(f"{out} exists and is not a bag folder (no metadata.yaml); not overwriting it")


def _missing_parents(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, outermost first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders (innermost first) that are still empty."""
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:
            break


def _staging_folder(out: Path) -> Path:
    """A new hidden folder beside ``out`` (same file system, so the finished bag can be renamed into place)."""
    try:
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.converting-", dir=out.parent))
    except OSError as exc:
        raise UserError(f"cannot write into {out.parent}: {exc}") from None


def _move_into_place(new: Path, out: Path, staging: Path) -> None:
    """Rename the finished bag folder ``new`` to ``out``; an existing ``out`` is parked in ``staging`` first
    (``_clean_staging`` puts it back if the second rename does not happen)."""
    if out.exists():
        os.rename(out, staging / _REPLACED)
    os.rename(new, out)


def _clean_staging(staging: Path, out: Path) -> None:
    """Remove the staging folder; an old bag still parked in it (the swap was cut short) goes back to ``out``."""
    parked = staging / _REPLACED
    if parked.exists() and not out.exists():
        try:
            os.rename(parked, out)
        except OSError:
            return  # keep the staging folder: it holds the old bag
    shutil.rmtree(staging, ignore_errors=True)


def _as_arrays(messages: Iterator[tuple[int, int, str, bytes]], store,
               frame_id: str) -> Iterator[tuple[int, int, str, bytes]]:
    """The time-ordered stream with every run of Skeleton messages of one stamp joined into one SkeletonArray
    (ground truth passes through as it comes)."""
    Array, Header = store.types[SKELETON_ARRAY_TYPE], store.types["std_msgs/msg/Header"]
    pending: list = []
    pending_ns = None

    def flush():
        msg = Array(header=Header(stamp=_time(store, pending_ns), frame_id=frame_id), skeletons=list(pending))
        return pending_ns, 0, SKELETON_ARRAY_TOPIC, bytes(store.serialize_cdr(msg, SKELETON_ARRAY_TYPE))

    for t_ns, order, topic, data in messages:
        if topic != SKELETON_TOPIC:
            yield t_ns, order, topic, data
            continue
        if pending and t_ns != pending_ns:
            yield flush()
            pending.clear()
        pending_ns = t_ns
        pending.append(store.deserialize_cdr(data, SKELETON_TYPE))
    if pending:
        yield flush()


def _write_bag(path: Path, storage: str, streams: list, total: int, progress: bool,
               skeleton_array: str | None = None) -> tuple[Counter, int | None, int]:
    """Write the merged message streams as a bag folder ``path``: (messages per topic, first and last stamp).
    ``skeleton_array``: the frame_id of SkeletonArray messages that replace the Skeleton messages (None: none)."""
    from tqdm import tqdm

    store = typestore()
    skeletons = (SKELETON_ARRAY_TOPIC, SKELETON_ARRAY_TYPE) if skeleton_array is not None else (SKELETON_TOPIC,
                                                                                               SKELETON_TYPE)

    def counted(bar) -> Iterator[tuple[int, int, str, bytes]]:  # the bar counts frames, joined or not
        for message in heapq.merge(*streams, key=lambda m: (m[0], m[1])):
            bar.update()
            yield message

    counts: Counter[str] = Counter()
    first_ns, last_ns = None, 0
    writer = Writer(path, version=BAG_VERSION, storage_plugin=StoragePlugin[storage.upper()])
    try:
        writer.open()
        writer.set_custom_data("motion_text.ground_truth", GROUND_TRUTH_FILE)
        conns = {topic: writer.add_connection(topic, msgtype, typestore=store, offered_qos_profiles=[RELIABLE_QOS])
                 for topic, msgtype in (skeletons, (GROUND_TRUTH_TOPIC, ACTION_LABEL_TYPE))}
        with tqdm(total=total, unit="msg", desc=f"writing {path.name}", disable=not progress) as bar:
            merged = counted(bar)
            if skeleton_array is not None:
                merged = _as_arrays(merged, store, skeleton_array)
            for t_ns, _order, topic, data in merged:
                writer.write(conns[topic], t_ns, data)
                counts[topic] += 1
                first_ns = t_ns if first_ns is None else first_ns
                last_ns = t_ns
        writer.close()
    except BaseException:
        try:
            writer.abort()
        except Exception:  # noqa: BLE001 - the first error is the one to report
            pass
        raise
    return counts, first_ns, last_ns


def _write_in_place(out: Path, replace: bool, storage: str, streams, total: int, progress: bool,
                    array_frame_id: str | None, sidecar: dict):
    """Write the bag into a staging folder beside ``out`` and move it into place only when complete, so a failure
    (full disk, permissions) leaves the old bag or nothing; (message counts, first and last stamp in ns)."""
    created = _missing_parents(out.parent)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out.parent}: {exc}") from None
    staging = None
    try:
        staging = _staging_folder(out)
        new = staging / out.name  # the storage file is named after the folder: it must be out's name already
        counts, first_ns, last_ns = _write_bag(new, storage, streams, total, progress, array_frame_id)
        (new / GROUND_TRUTH_FILE).write_text(json.dumps(sidecar, indent=1))
        if not replace and out.exists():
            raise UserError(f"{out} appeared while converting; not overwriting it")
        _move_into_place(new, out, staging)
    except OSError as exc:  # full disk, permissions, ...
        kept = "the old bag is kept" if replace else "nothing was written"
        raise UserError(f"writing {out} failed ({exc}); {kept}") from None
    finally:
        if staging is not None:
            _clean_staging(staging, out)
        if not out.exists():
            _remove_empty(created)
    return counts, first_ns, last_ns


def convert_to_bag(inputs: Sequence[str | Path], out: str | Path, *, storage: str = "mcap",
                   split: str | None = None, ids: Sequence[str] | None = None, limit: int | None = None,
                   gap: float = 0.0, tracks: int = 1, track_id: str | None = None, track_offset: float = 0.0,
                   start_time: float = DEFAULT_START_TIME, frame_id: str = "body", up_axis: str | None = None,
                   overwrite: bool = False, progress: bool = True, skeleton_array: bool = False) -> ConvertResult:
    """Write clips (see ``collect_clips``) as a rosbag2 folder ``out`` with /skeleton (or /skeleton_array) and
    /ground_truth.

    Args:
        inputs: .bvh / .npz files and dataset cache folders.
        out: bag folder to create (must not exist unless ``overwrite`` and it is a bag folder).
        storage: ``"mcap"`` or ``"sqlite3"``.
        split, ids, limit: clip selection in cache folders (see ``collect_clips``).
        gap: seconds between consecutive clips of a track.
        tracks: number of simultaneous tracks (person_1..person_N).
        track_id: the id of the single track (default person_1).
        track_offset: seconds each further track starts later than the previous one.
        start_time: stamp of the first frame, seconds since the epoch.
        frame_id: header.frame_id of every message.
        up_axis: vertical axis of .bvh / .npz inputs (their loaders' default when None).
        overwrite: replace an existing bag folder.
        progress: show a progress bar.
        skeleton_array: one SkeletonArray per stamp on /skeleton_array (all tracks of a frame) instead of one
            Skeleton per track and frame on /skeleton.
    """
    if storage not in STORAGES:
        raise UserError(f"--storage must be one of {', '.join(STORAGES)}, got {storage!r}")
    out = Path(out)
    replace = _check_out(out, overwrite)
    clips = collect_clips(inputs, split=split, ids=ids, limit=limit, up_axis=up_axis)
    plan = plan_tracks(clips, tracks=tracks, track_id=track_id, start_time=start_time, gap=gap,
                       track_offset=track_offset)
    store = typestore()
    streams = [_clip_messages(store, clip, t_ns, seg.track_id, frame_id, 2 * i)
               for i, (clip, seg, t_ns) in enumerate(plan)]
    total = sum(seg.num_frames + 1 for _, seg, _ in plan)
    segments = [seg for _, seg, _ in plan]
    skeleton_topic = SKELETON_ARRAY_TOPIC if skeleton_array else SKELETON_TOPIC
    sidecar = {"version": 1, "topics": {"skeleton": skeleton_topic, "ground_truth": GROUND_TRUTH_TOPIC},
               "start_time": start_time, "gap": gap, "tracks": sorted({s.track_id for s in segments}),
               "segments": [asdict(s) for s in segments]}
    counts, first_ns, last_ns = _write_in_place(out, replace, storage, streams, total, progress,
                                                frame_id if skeleton_array else None, sidecar)
    return ConvertResult(out, storage, segments, dict(counts), (first_ns or 0) / 1e9, last_ns / 1e9)


def read_ground_truth(bag: str | Path) -> list[GroundTruthSegment]:
    """The segments of a converted bag's ``ground_truth.json`` (UserError when the bag has none)."""
    path = Path(bag) / GROUND_TRUTH_FILE
    if not path.is_file():
        raise UserError(f"{bag}: no {GROUND_TRUTH_FILE} (only bags written by `motion-text bag convert` have one)")
    try:
        return [GroundTruthSegment(**s) for s in json.loads(path.read_text())["segments"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: malformed ({exc})") from None
