"""Bag hardening (issue 14, findings 12-14): `bag convert --overwrite` keeps the old bag until the new one is
complete; recordings reach the disk as they go and `bag reindex` turns what a kill or a full disk left into a
readable bag; damaged data is counted and reported in one line (exit 2 unless --skip-corrupt), never a traceback.

Bags are made from a synthetic .npz clip (fast, no dataset needed); damage is made by editing bytes of the
.mcap at places found from its structure, so every case is deterministic.
"""

from __future__ import annotations

import errno
import shutil
import signal
import struct
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

from motion_text_node.bag import convert as convert_module
from motion_text_node.bag.convert import DEFAULT_START_TIME, SKELETON_TOPIC, convert_to_bag
from motion_text_node.bag.info import bag_info, open_reader
from motion_text_node.bag.types import SKELETON_TYPE, typestore
from motion_text_node.cli import main
from motion_text_node.errors import UserError

FRAMES = 150  # 5 s at 30 fps: 150 /skeleton + 1 /ground_truth messages
FPS = 30.0


def _write_clip(path: Path, frames: int, seed: int = 0) -> Path:
    from motion_text_node.skeleton.canonical import CANONICAL_JOINTS

    rng = np.random.default_rng(seed)
    positions = rng.normal(scale=0.3, size=(frames, len(CANONICAL_JOINTS), 3)).astype(np.float32)
    np.savez(path, positions=positions, joint_names=np.array(CANONICAL_JOINTS), fps=FPS, up_axis="z",
             text="wave the right hand", label="wave")
    return path


@pytest.fixture(scope="module")
def clip_npz(tmp_path_factory) -> Path:
    return _write_clip(tmp_path_factory.mktemp("clips") / "wave.npz", FRAMES)


@pytest.fixture(scope="module")
def small_bag(clip_npz, tmp_path_factory) -> Path:
    """The clip as an MCAP bag (one chunk)."""
    out = tmp_path_factory.mktemp("bags") / "small"
    convert_to_bag([clip_npz], out, progress=False)
    return out


def _copy(bag: Path, dst: Path) -> Path:
    shutil.copytree(bag, dst)
    return dst


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _count(bag: Path) -> int:
    with Reader(bag) as reader:
        return sum(1 for _ in reader.messages())


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("motion-text bag: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


# -- 12: convert --overwrite keeps the old bag until the new one is complete --------------------------------------


class _FullDiskWriter(Writer):
    """A rosbags Writer whose disk fills after ``limit`` messages (or that is interrupted there)."""

    limit = 40
    error: BaseException = OSError(errno.ENOSPC, "No space left on device")

    def write(self, connection, timestamp, data) -> None:
        if sum(self.counts.values()) >= self.limit:
            raise self.error
        super().write(connection, timestamp, data)


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "ctrl-c"])
def test_overwrite_that_fails_midway_keeps_the_old_bag(clip_npz, tmp_path, monkeypatch, error) -> None:
    out = tmp_path / "bags" / "wave"
    convert_to_bag([clip_npz], out, start_time=100.0, progress=False)
    before = _snapshot(out)
    monkeypatch.setattr(_FullDiskWriter, "error", error)
    monkeypatch.setattr(convert_module, "Writer", _FullDiskWriter)
    expected = UserError if isinstance(error, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as raised:
        convert_to_bag([clip_npz], out, start_time=200.0, overwrite=True, progress=False)
    if expected is UserError:
        assert "No space left on device" in str(raised.value) and "the old bag is kept" in str(raised.value)
    assert _snapshot(out) == before  # byte for byte
    assert [p.name for p in out.parent.iterdir()] == ["wave"]  # no temporary folder left beside it
    assert bag_info(out).message_count == FRAMES + 1 and bag_info(out).start_ns == 100 * 10**9


def test_overwrite_cli_failure_is_one_line_and_success_replaces(clip_npz, tmp_path, monkeypatch, capsys) -> None:
    out = tmp_path / "wave"
    args = ["bag", "convert", str(clip_npz), "--out", str(out), "--no-progress", "--overwrite"]
    assert main(args + ["--start-time", "100"]) == 0
    before = _snapshot(out)
    with monkeypatch.context() as m:
        m.setattr(convert_module, "Writer", _FullDiskWriter)
        assert main(args + ["--start-time", "200"]) == 2
    assert "the old bag is kept" in _one_line_error(capsys)
    assert _snapshot(out) == before
    assert main(args + ["--start-time", "300"]) == 0  # a conversion that completes replaces the bag
    assert bag_info(out).start_ns == 300 * 10**9 and _count(out) == FRAMES + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wave"]


def test_failed_new_conversion_leaves_nothing(clip_npz, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(convert_module, "Writer", _FullDiskWriter)
    with pytest.raises(UserError, match="nothing was written"):
        convert_to_bag([clip_npz], tmp_path / "a" / "b" / "wave", progress=False)
    assert list(tmp_path.iterdir()) == []  # not even the parent folders it created


# -- 13: recordings reach the disk as they go; reindex makes a readable bag of what is there ----------------------


def _metadata(bag: Path) -> dict:
    return yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_reindex_rebuilds_deleted_metadata(clip_npz, tmp_path, capsys, storage) -> None:
    bag = tmp_path / "wave"
    convert_to_bag([clip_npz], bag, storage=storage, progress=False)
    original = _metadata(bag)
    (bag / "metadata.yaml").unlink()
    assert main(["bag", "info", str(bag)]) == 2
    assert f"motion-text bag reindex {bag}" in _one_line_error(capsys)  # says what to do
    assert main(["bag", "reindex", str(bag)]) == 0
    assert f"{FRAMES + 1} messages on 2 topics" in capsys.readouterr().out
    assert _metadata(bag) == original  # the same metadata, custom data and type hashes included
    assert main(["bag", "info", str(bag)]) == 0 and _count(bag) == FRAMES + 1


def _skeleton_payloads(bag: Path) -> list[bytes]:
    with Reader(bag) as reader:
        return [bytes(raw) for conn, _, raw in reader.messages() if conn.topic == SKELETON_TOPIC]


def _recording_snapshots(tmp_path: Path, source: Path, storage: str,
                         batches: list[int]) -> tuple[list[bytes], list[bytes]]:
    """Write ``source``'s frames as a recording would, flushing after each batch but the last; returns the payloads
    and the storage file's bytes at the start and after each batch (what a SIGKILL at that point leaves on disk)."""
    from motion_text_node.bag.recovery import flush_writer

    payloads = _skeleton_payloads(source)
    out = tmp_path / "live"
    writer = Writer(out, version=9, storage_plugin=StoragePlugin[storage.upper()])
    writer.open()
    conn = writer.add_connection(SKELETON_TOPIC, SKELETON_TYPE, typestore=typestore())
    flush_writer(writer)
    file = out / f"live.{'mcap' if storage == 'mcap' else 'db3'}"
    snapshots, written = [file.read_bytes()], 0
    for i, n in enumerate(batches):
        for data in payloads[written:written + n]:
            writer.write(conn, 10**9 + written * 10**6, data)
            written += 1
        if i < len(batches) - 1:
            flush_writer(writer)
        snapshots.append(file.read_bytes())
    writer.abort()  # the process dies: no summary, no metadata.yaml
    return payloads, snapshots


def _bag_from(data: bytes, folder: Path, suffix: str) -> Path:
    folder.mkdir()
    (folder / f"{folder.name}{suffix}").write_bytes(data)
    return folder


def test_killed_mcap_recording_is_recoverable_up_to_the_last_flush(small_bag, tmp_path) -> None:
    from motion_text_node.bag.recovery import reindex_bag

    payloads, snaps = _recording_snapshots(tmp_path, small_bag, "mcap", [60, 50, 30])
    empty, first, second, killed = snaps
    assert len(first) > len(empty) and len(second) > len(first)  # flushed data is in the file at once
    assert killed == second  # the last 30 messages were not flushed yet: a kill loses only those
    cases = {"at the kill": (killed, 110), "cut inside the second flush": (second[:len(first) + 300], 60),
             "before any message": (empty, 0)}
    for name, (data, count) in cases.items():
        bag = _bag_from(data, tmp_path / name.replace(" ", "_"), ".mcap")
        result = reindex_bag(bag)
        assert result.total == count, name
        assert "rewritten from its readable part" in result.files[0].repaired
        info = bag_info(bag)
        assert info.message_count == count and [t.name for t in info.topics] == [SKELETON_TOPIC], name
        with open_reader(bag) as reader:
            assert [bytes(raw) for _, _, raw in reader.messages()] == payloads[:count], name
        if count:
            assert info.start_ns == 10**9 and info.duration_ns == (count - 1) * 10**6


def test_killed_sqlite3_recording_keeps_what_was_committed(small_bag, tmp_path) -> None:
    from motion_text_node.bag.recovery import reindex_bag

    payloads, snaps = _recording_snapshots(tmp_path, small_bag, "sqlite3", [40, 25])
    bag = _bag_from(snaps[-1], tmp_path / "killed", ".db3")
    assert reindex_bag(bag).total == 40
    with open_reader(bag) as reader:
        assert [bytes(raw) for _, _, raw in reader.messages()] == payloads[:40]


def test_recorder_writer_thread_flushes_while_recording(small_bag, tmp_path) -> None:
    """The recorder's writer thread (no ROS needed) puts messages on disk within its flush interval."""
    import threading

    from motion_text_node.bag.record import BagRecorder
    from motion_text_node.bag.recovery import reindex_bag

    payloads = _skeleton_payloads(small_bag)[:80]
    out = tmp_path / "rec"
    recorder = BagRecorder([SKELETON_TOPIC], out, flush_interval=0.2)
    opened = threading.Event()
    plan = {SKELETON_TOPIC: (SKELETON_TYPE, None, [])}
    thread = threading.Thread(target=recorder._write_main, args=(typestore(), plan, opened), daemon=True)
    thread.start()
    assert opened.wait(10) and recorder._writer_error is None
    for i, data in enumerate(payloads):
        recorder._queue.put((SKELETON_TOPIC, 10**9 + i, data))
    deadline, seen = time.monotonic() + 15, -1
    while time.monotonic() < deadline and seen != len(payloads):  # a copy of the live file, as a kill leaves it
        time.sleep(0.1)
        copy = tmp_path / f"copy_{time.monotonic_ns()}"
        copy.mkdir()
        shutil.copy(out / "rec.mcap", copy / f"{copy.name}.mcap")
        seen = reindex_bag(copy).total
    assert seen == len(payloads)
    recorder._queue.put(None)
    thread.join(10)
    assert _metadata(out)["message_count"] == len(payloads)


def test_record_cli_killed_leaves_a_recoverable_bag(tmp_path, start_process, fixture_script) -> None:
    """SIGKILL `motion-text bag record` once everything was received: `bag reindex` recovers every message."""
    from motion_text_node.bag.recovery import reindex_bag

    count = 60
    publisher = start_process(fixture_script("burst_publisher.py", "/hardening_kill", str(count), "100"))
    out = tmp_path / "killed"
    recorder = start_process([sys.executable, "-m", "motion_text_node.cli", "bag", "record", "/hardening_kill",
                              "--out", str(out), "--discovery-timeout", "30", "--flush-interval", "0.2"],
                             ready_line="recording")
    assert publisher.wait_for_line("DONE", timeout=40), publisher.output()
    seen, deadline = -1, time.monotonic() + 20
    while seen != count and time.monotonic() < deadline:  # wait until a copy of the live file holds them all
        time.sleep(0.2)
        copy = tmp_path / f"copy_{time.monotonic_ns()}"
        copy.mkdir()
        shutil.copy(out / "killed.mcap", copy / f"{copy.name}.mcap")
        try:
            seen = reindex_bag(copy).total
        except UserError:
            seen = -1
    recorder.proc.send_signal(signal.SIGKILL)
    recorder.proc.wait(10)
    assert seen == count, recorder.output()
    assert not (out / "metadata.yaml").exists()
    assert reindex_bag(out).total == count
    with open_reader(out) as reader:
        store = typestore()
        ids = [store.deserialize_cdr(raw, c.msgtype).header.frame_id for c, _, raw in reader.messages()]
    assert ids == [str(i) for i in range(count)]


@pytest.mark.parametrize("make, message", [
    (lambda d: None, "no .mcap or .db3 storage files"),
    (lambda d: (d / "x.mcap").write_bytes(b""), "empty (the recording was cut off"),
    (lambda d: (d / "x.mcap").write_bytes(b"garbage, not mcap"), "not an MCAP file"),
    (lambda d: ((d / "a.mcap").write_bytes(b""), (d / "b.db3").write_bytes(b"")), "both .mcap and .db3"),
])
def test_reindex_errors_are_one_line(tmp_path, capsys, make, message) -> None:
    bag = tmp_path / "bag"
    bag.mkdir()
    make(bag)
    assert main(["bag", "reindex", str(bag)]) == 2
    assert message in _one_line_error(capsys)
    assert main(["bag", "reindex", str(tmp_path / "missing")]) == 2
    assert "no such folder" in _one_line_error(capsys)


def test_cli_copy_of_the_flush_interval() -> None:
    from motion_text_node.bag.recovery import FLUSH_INTERVAL
    from motion_text_node.commands import bag as bag_command

    assert bag_command.FLUSH_INTERVAL == FLUSH_INTERVAL


# -- 14: damaged data is counted, reported in one line, and an error unless skipped -------------------------------


def _frame_record(mcap: bytearray, frame: int) -> int:
    """Offset of the CDR data of /skeleton frame ``frame`` (>= 1: frame 0 shares its stamp with the label)."""
    t_ns = int(DEFAULT_START_TIME * 1e9) + int(round(frame / FPS * 1e9))
    pattern = struct.pack("<QQ", t_ns, t_ns)  # log time, publish time
    at = mcap.find(pattern)
    assert at > 0 and mcap.find(pattern, at + 1) < 0
    return at + len(pattern)


def _damaged_copy(bag: Path, dst: Path, edit) -> Path:
    out = _copy(bag, dst)
    path = out / f"{bag.name}.mcap"
    data = bytearray(path.read_bytes())
    edit(data)
    path.write_bytes(bytes(data))
    return out


def _undecodable(data: bytearray, frame: int = 40) -> None:
    at = _frame_record(data, frame)
    data[at:at + 2] = b"\xff\xff"  # CDR encapsulation header


def _dropped_silently(data: bytearray, frame: int = 40) -> None:
    at = _frame_record(data, frame)
    data[at - 22:at - 20] = struct.pack("<H", 0x7777)  # the message's channel id: rosbags skips it without a word


def _checked(bag: Path, **kwargs) -> tuple[int, object]:
    from motion_text_node.bag.integrity import BagDamage, checked_messages

    with open_reader(bag) as reader:
        damage = BagDamage(str(bag), reader.start_time)
        n = sum(1 for _ in checked_messages(reader, reader.connections, damage=damage, store=typestore(), **kwargs))
    return n, damage


def test_undecodable_message_stops_reading_unless_skipped(small_bag, tmp_path) -> None:
    from motion_text_node.bag.integrity import CorruptBagError

    bag = _damaged_copy(small_bag, tmp_path / "small", _undecodable)
    with pytest.raises(CorruptBagError) as raised:
        _checked(bag)
    text = str(raised.value)
    assert "1 undecodable message(s) (/skeleton 1)" in text and "SerdeError" in text and "at 1.333 s" in text
    assert "\n" not in text
    n, damage = _checked(bag, skip_corrupt=True)
    assert n == FRAMES and damage.undecodable == {SKELETON_TOPIC: 1} and damage.skipped == 1
    assert not damage.missing  # the undecodable one was read: nothing else is missing


def test_silently_dropped_message_is_detected(small_bag, tmp_path) -> None:
    from motion_text_node.bag.integrity import CorruptBagError

    bag = _damaged_copy(small_bag, tmp_path / "small", _dropped_silently)
    assert _count(bag) == FRAMES  # rosbags alone: one message fewer, no error
    with pytest.raises(CorruptBagError, match=r"1 message\(s\) listed in the metadata never read \(/skeleton 1\)"):
        _checked(bag)
    n, damage = _checked(bag, skip_corrupt=True)
    assert n == FRAMES and damage.missing == {SKELETON_TOPIC: 1}


def test_unreadable_chunk_is_skipped_and_reading_goes_on(tmp_path) -> None:
    from rosbags.rosbag2.storage_mcap import McapReader

    from motion_text_node.bag.integrity import CorruptBagError

    frames = 4000  # about 2.6 MB: three chunks
    bag = tmp_path / "long"
    convert_to_bag([_write_clip(tmp_path / "long.npz", frames)], bag, progress=False)
    reader = McapReader(bag / "long.mcap")
    reader.open()
    chunks = sorted(reader.chunks, key=lambda c: c.message_start_time)
    reader.close()
    assert len(chunks) == 3
    middle = chunks[1]
    in_middle = sum(middle.channel_count.values())

    def bad_checksum(data: bytearray) -> None:
        at = middle.chunk_start_offset + 1 + 8 + 24  # opcode, length, start, end, size -> uncompressed crc
        data[at:at + 4] = b"\xef\xbe\xad\xde"

    damaged = _damaged_copy(bag, tmp_path / "damaged" / "long", bad_checksum)
    with pytest.raises(CorruptBagError, match="unreadable data .ReaderError: Chunk checksum mismatch"):
        _checked(damaged)
    n, damage = _checked(damaged, skip_corrupt=True)
    assert n == frames + 1 - in_middle  # the chunks before and after it were read
    assert damage.unreadable == 1 and damage.missing == {SKELETON_TOPIC: in_middle}


def test_damaged_summary_is_one_line_and_reindex_repairs_it(small_bag, tmp_path, capsys) -> None:
    def bad_schema_name(data: bytearray) -> None:
        summary_start = struct.unpack_from("<Q", data, len(data) - 8 - 4 - 8 - 8)[0]  # in the footer
        assert data[summary_start] == 0x03  # the summary begins with the schemas
        data[summary_start + 1 + 8 + 2 + 4] = 0xFF  # first byte of the schema name: invalid UTF-8

    bag = _damaged_copy(small_bag, tmp_path / "small", bad_schema_name)
    assert main(["bag", "info", str(bag)]) == 2
    assert "cannot open bag" in _one_line_error(capsys)
    assert main(["bag", "reindex", str(bag)]) == 0
    assert "rewritten from its readable part" in capsys.readouterr().out
    assert bag_info(bag).message_count == FRAMES + 1 and _checked(bag)[0] == FRAMES + 1


@pytest.mark.parametrize("extra", [[], ["--restamp"]], ids=["raw", "restamp"])
def test_play_cli_damaged_bag(small_bag, tmp_path, capsys, extra) -> None:
    bag = _damaged_copy(small_bag, tmp_path / "small", _undecodable)
    args = ["bag", "play", str(bag), "--rate", "25", "--ack-timeout", "0", *extra]
    assert main(args) == 2
    err = _one_line_error(capsys)
    assert "1 undecodable message(s) (/skeleton 1)" in err and "--skip-corrupt" in err
    assert "41 messages were published" in err  # the label and frames 0..39: nothing after the damage
    assert main(args + ["--skip-corrupt"]) == 0
    out = capsys.readouterr().out
    assert f"published {FRAMES} messages" in out
    assert "warning: skipped " in out and "1 undecodable message(s)" in out


def test_play_cli_silently_dropped_message(small_bag, tmp_path, capsys) -> None:
    bag = _damaged_copy(small_bag, tmp_path / "small", _dropped_silently)
    assert main(["bag", "play", str(bag), "--rate", "25", "--ack-timeout", "0"]) == 2
    assert "listed in the metadata never read (/skeleton 1)" in _one_line_error(capsys)


def test_eval_damaged_bag_fails_before_the_model_is_loaded(small_bag, tmp_path, capsys) -> None:
    bag = _damaged_copy(small_bag, tmp_path / "small", _undecodable)
    assert main(["bag", "eval", str(bag), "--offline", "--model", str(tmp_path / "no_model"),
                 "--out", str(tmp_path / "report")]) == 2
    err = _one_line_error(capsys)
    assert "1 undecodable message(s)" in err and "--skip-corrupt" in err
    from motion_text_node.bag.evaluate import read_skeleton_frames
    from motion_text_node.bag.integrity import BagDamage

    damage = BagDamage()
    frames = read_skeleton_frames(bag, skip_corrupt=True, damage=damage)
    assert len(frames) == FRAMES - 1 and damage.undecodable == {SKELETON_TOPIC: 1}
