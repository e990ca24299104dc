"""What a rosbag2 folder holds, like ``ros2 bag info``: files, storage, duration, topics with types and counts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from motion_text_node.bag.integrity import describe_exception
from motion_text_node.errors import UserError


@dataclass
class TopicSummary:
    """One topic of a bag."""

    name: str
    msgtype: str
    count: int
    serialization_format: str = "cdr"
    type_hash: str = ""


@dataclass
class BagInfo:
    """A bag's metadata (times in nanoseconds since the epoch, like rosbag2's metadata.yaml)."""

    path: Path
    version: int
    storage: str
    files: list[str]
    size_bytes: int
    start_ns: int
    duration_ns: int
    message_count: int
    topics: list[TopicSummary] = field(default_factory=list)
    ros_distro: str = ""
    compression: str = ""
    custom_data: dict[str, str] = field(default_factory=dict)
    ground_truth_segments: int | None = None

    @property
    def end_ns(self) -> int:
        """Stamp of the last message."""
        return self.start_ns + self.duration_ns

    @property
    def duration(self) -> float:
        """Seconds from the first to the last message."""
        return self.duration_ns / 1e9


def read_metadata(bag: str | Path) -> dict:
    """The ``rosbag2_bagfile_information`` mapping of ``bag/metadata.yaml`` (UserError when it is not a bag)."""
    import yaml

    path = Path(bag)
    if not path.exists():
        raise UserError(f"{path}: no such bag")
    if path.is_dir() and not (path / "metadata.yaml").is_file() and (stored := _storage_file_names(path)):
        raise UserError(f"{path}: no metadata.yaml, but it holds {', '.join(stored)} (a recording that was cut "
                        f"off?): `motion-text bag reindex {path}` rebuilds it")
    if not path.is_dir() or not (path / "metadata.yaml").is_file():
        raise UserError(f"{path}: not a rosbag2 folder (no metadata.yaml)")
    try:
        meta = yaml.safe_load((path / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise UserError(f"{path}/metadata.yaml: unreadable ({str(exc).splitlines()[0][:200]})") from None
    if not isinstance(meta, dict):
        raise UserError(f"{path}/metadata.yaml: no rosbag2_bagfile_information mapping")
    return meta


def _storage_file_names(path: Path) -> list[str]:
    """Names of the .mcap / .db3 files directly in a folder (at most three)."""
    try:
        return sorted(p.name for p in path.iterdir() if p.suffix in (".mcap", ".db3") and p.is_file())[:3]
    except OSError:
        return []


@contextmanager
def open_reader(bag: str | Path) -> Iterator:
    """``with open_reader(bag) as reader``: an opened rosbags ``Reader`` of a rosbag2 folder; UserError on bad bags."""
    from rosbags.rosbag2 import Reader
    from rosbags.rosbag2.errors import ReaderError

    read_metadata(bag)
    try:
        reader = Reader(Path(bag))
        reader.open()
    except (ReaderError, OSError) as exc:
        raise UserError(f"{bag}: cannot open bag ({describe_exception(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - damaged files also raise UnicodeDecodeError, struct.error, ...
        raise UserError(f"{bag}: cannot open bag, its files look damaged ({describe_exception(exc)}); "
                        f"`motion-text bag reindex {bag}` rewrites what can be read") from None
    try:
        yield reader
    finally:
        reader.close()


def bag_info(bag: str | Path) -> BagInfo:
    """Metadata of a rosbag2 folder, checked by opening it with rosbags."""
    from motion_text_node.bag.convert import GROUND_TRUTH_FILE, read_ground_truth

    path = Path(bag)
    meta = read_metadata(path)
    try:
        with open_reader(path) as reader:
            topics = [TopicSummary(c.topic, c.msgtype, c.msgcount, c.ext.serialization_format, c.digest or "")
                      for c in reader.connections]
            count = reader.message_count
            start_ns = reader.start_time if count else 0
            duration_ns = (reader.end_time - 1 - reader.start_time) if count else 0
    except (KeyError, AttributeError, TypeError) as exc:
        raise UserError(f"{path}: malformed bag metadata ({exc})") from None
    files = [Path(f).name for f in meta.get("relative_file_paths", [])]
    size = sum((path / f).stat().st_size for f in files if (path / f).is_file())
    segments = len(read_ground_truth(path)) if (path / GROUND_TRUTH_FILE).is_file() else None
    compression = "/".join(x for x in (meta.get("compression_format"), meta.get("compression_mode")) if x)
    return BagInfo(path, int(meta.get("version", 0)), str(meta.get("storage_identifier", "")), files, size, start_ns,
                   duration_ns, count, topics, str(meta.get("ros_distro") or ""), compression,
                   dict(meta.get("custom_data") or {}), segments)


def _format_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # unreachable


def _format_stamp(t_ns: int) -> str:
    sec, nsec = divmod(t_ns, 1_000_000_000)
    return f"{time.strftime('%b %d %Y %H:%M:%S', time.gmtime(sec))}.{nsec:09d} UTC ({sec}.{nsec:09d})"


def format_bag_info(info: BagInfo) -> str:
    """The info as text laid out like ``ros2 bag info``."""
    rows = [
        ("Files", ", ".join(info.files)),
        ("Bag size", _format_size(info.size_bytes)),
        ("Storage id", info.storage),
        ("Version", str(info.version)),
        ("ROS Distro", info.ros_distro or "-"),
        ("Duration", f"{info.duration:.9f}s"),
        ("Start", _format_stamp(info.start_ns) if info.message_count else "-"),
        ("End", _format_stamp(info.end_ns) if info.message_count else "-"),
        ("Messages", str(info.message_count)),
    ]
    if info.compression:
        rows.append(("Compression", info.compression))
    if info.ground_truth_segments is not None:
        rows.append(("Ground truth", f"{info.ground_truth_segments} segments (ground_truth.json)"))
    width = 19
    lines = [f"{name + ':':<{width}}{value}" for name, value in rows]
    topic_lines = [f"Topic: {t.name} | Type: {t.msgtype} | Count: {t.count} | Serialization Format: "
                   f"{t.serialization_format}" for t in info.topics]
    lines.append(f"{'Topic information:':<{width}}" + (f"\n{' ' * width}".join(topic_lines) or "-"))
    return "\n".join(lines)
