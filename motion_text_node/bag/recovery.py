"""Recordings that survive a crash: put written data on disk as it goes, and rebuild a bag's index afterwards.

* ``flush_writer`` moves everything a rosbags ``Writer`` holds in memory into its storage file (MCAP: rosbags keeps
  up to 1 MiB in an unwritten chunk, the first one with the schemas and channels; sqlite3: one open transaction),
  so a process killed or stopped by a full disk loses only what came after the last flush.
* ``reindex_bag`` (``motion-text bag reindex``, like ``ros2 bag reindex``) writes a bag folder's metadata.yaml from
  the .mcap / .db3 files in it. An MCAP file without its end (no summary and footer: the writer never closed it)
  or with a damaged index is rewritten from the records that can still be read, in file order, stopping at the
  first truncated or malformed one, so rosbags (and ``bag info`` / ``bag play``) can open it again.
"""

from __future__ import annotations

import mmap
import os
import shutil
import sqlite3
import struct
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rosbags.interfaces import Connection, ConnectionExtRosbag2, MessageDefinition, MessageDefinitionFormat
from rosbags.rosbag2.enums import CompressionMode
from rosbags.rosbag2.metadata import dump_qos_v9, parse_qos
from rosbags.rosbag2.storage_mcap import McapReader, McapWriter, decompress
from rosbags.rosbag2.storage_sqlite3 import Sqlite3Reader, Sqlite3Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from motion_text_node.bag.integrity import describe_exception
from motion_text_node.errors import UserError

#: Default seconds between flushes of a recording: at most about this much is lost when the recorder is killed.
FLUSH_INTERVAL = 1.0
#: rosbag2 metadata version written (as ``motion_text_node.bag.convert.BAG_VERSION``).
BAG_VERSION = 9
STORAGE_SUFFIXES = {".mcap": "mcap", ".db3": "sqlite3"}

_MAGIC = b"\x89MCAP0\r\n"
_OP_FOOTER, _OP_SCHEMA, _OP_CHANNEL, _OP_MESSAGE, _OP_CHUNK = 0x02, 0x03, 0x04, 0x05, 0x06
_OP_METADATA, _OP_DATA_END, _OP_LAST = 0x0C, 0x0F, 0x0F
_FORMATS = {"ros2msg": MessageDefinitionFormat.MSG, "ros2idl": MessageDefinitionFormat.IDL}


# -- writing as we go ----------------------------------------------------------------------------------------


def flush_writer(writer) -> None:
    """Put every message a rosbags ``Writer`` was given into its storage file now (call from the writing thread).

    MCAP: the pending chunk is closed into the file (before the first message, the schema and channel records
    are written on their own) and the file is flushed; sqlite3: the open transaction is committed. What is in
    the file then survives the process (``reindex_bag`` makes it a readable bag again). No-op when not open.
    """
    storage = getattr(writer, "storage", None)
    if isinstance(storage, McapWriter):
        chunk = storage.chunk
        if chunk.msgs:
            storage.close_chunk()
        elif chunk.bio.tell():  # schema / channel records only: valid outside a chunk too
            storage.bio.write(chunk.bio.getvalue())
            chunk.bio.seek(0)
            chunk.bio.truncate()
        storage.bio.flush()
    elif isinstance(storage, Sqlite3Writer):
        storage.conn.commit()


# -- reading damaged MCAP files ------------------------------------------------------------------------------


class _Damaged(ValueError):
    """A record that is cut off or malformed."""


@dataclass
class _Record:
    """One MCAP record: opcode and where its body lies in the buffer."""

    op: int
    start: int  # offset of the opcode byte
    body: int
    end: int


def _records(buf, pos: int, end: int) -> Iterator[_Record]:
    """Records of ``buf[pos:end]`` in order; ``_Damaged`` at the first one that is cut off or has no valid opcode."""
    while pos < end:
        if pos + 9 > end:
            raise _Damaged(f"record cut off at offset {pos}")
        op = buf[pos]
        (length,) = struct.unpack_from("<Q", buf, pos + 1)
        if not 1 <= op <= _OP_LAST:
            raise _Damaged(f"invalid record opcode {op:#04x} at offset {pos}")
        if length > end - pos - 9:
            raise _Damaged(f"record at offset {pos} cut off ({length} bytes announced, {end - pos - 9} left)")
        yield _Record(op, pos, pos + 9, pos + 9 + length)
        pos += 9 + length


class _Fields:
    """Little-endian MCAP fields read from ``buf[pos:end]`` (``_Damaged`` when one runs past ``end``)."""

    def __init__(self, buf, pos: int, end: int) -> None:
        self.buf, self.pos, self.end = buf, pos, end

    def _take(self, size: int) -> int:
        start = self.pos
        if size < 0 or start + size > self.end:
            raise _Damaged(f"field runs past its record at offset {start}")
        self.pos += size
        return start

    def uint(self, size: int) -> int:
        """An unsigned integer of ``size`` bytes (2, 4 or 8)."""
        return int.from_bytes(self.buf[self._take(size):self.pos], "little")

    def raw(self, size_bytes: int = 4) -> bytes:
        """A byte string prefixed by its length (``size_bytes`` long)."""
        size = self.uint(size_bytes)
        return bytes(self.buf[self._take(size):self.pos])

    def text(self) -> str:
        """A UTF-8 string prefixed by its uint32 length."""
        return self.raw().decode()

    def rest(self) -> bytes:
        """Everything up to the end of the record."""
        return bytes(self.buf[self._take(self.end - self.pos):self.end])


def _string_map(data: bytes) -> dict[str, str]:
    """An MCAP ``Map<string, string>`` body (without its uint32 byte length)."""
    fields = _Fields(data, 0, len(data))
    out = {}
    while fields.pos < fields.end:
        key = fields.text()
        out[key] = fields.text()
    return out


@dataclass
class _Salvage:
    """What could be read from a damaged MCAP file."""

    messages: Counter[str] = field(default_factory=Counter)  # per topic
    dropped_messages: int = 0  # messages of a channel whose schema or channel record was lost
    damaged_records: int = 0  # records with a valid frame but unreadable content (skipped)
    damaged_chunks: int = 0  # chunks that could not be decompressed or whose records are cut off
    stop_offset: int = 0  # where the readable part ends
    reason: str = ""  # why reading stopped there


class _McapRewriter:
    """Writes the records salvaged from one MCAP file into a new one through rosbags' MCAP storage writer."""

    def __init__(self, folder: Path) -> None:
        self.writer = McapWriter(folder, CompressionMode.NONE)
        self.schemas: dict[int, tuple[str, str, str]] = {}  # id -> name, encoding, data
        self.connections: dict[int, Connection] = {}  # channel id -> connection written
        self.added_types: set[str] = set()
        self.result = _Salvage()

    def _schema(self, fields: _Fields) -> None:
        schema_id = fields.uint(2)
        name, encoding = fields.text(), fields.text()
        self.schemas[schema_id] = (name, encoding, fields.raw().decode())

    def _channel(self, fields: _Fields) -> None:
        """A channel becomes a connection when its schema is known and it is new."""
        channel_id, schema_id = fields.uint(2), fields.uint(2)
        topic, encoding = fields.text(), fields.text()
        metadata = _string_map(fields.raw())
        if channel_id in self.connections or schema_id not in self.schemas:
            return
        msgtype, schema_encoding, msgdef = self.schemas[schema_id]
        qos_text = metadata.get("offered_qos_profiles", "")
        try:
            qos = parse_qos(qos_text) if qos_text else []
        except Exception:  # noqa: BLE001 - a damaged QoS string loses only the QoS
            qos, qos_text = [], ""
        conn = Connection(channel_id, topic, msgtype,
                          MessageDefinition(_FORMATS.get(schema_encoding, MessageDefinitionFormat.MSG), msgdef), "",
                          0, ConnectionExtRosbag2(encoding, qos), None)
        if msgtype not in self.added_types:
            self.writer.add_msgtype(conn)
            self.added_types.add(msgtype)
        self.writer.add_connection(conn, qos_text)
        self.connections[channel_id] = conn

    def _message(self, fields: _Fields) -> None:
        """A message is written when its channel is known."""
        channel_id = fields.uint(2)
        fields.uint(4)  # sequence
        log_time = fields.uint(8)
        fields.uint(8)  # publish time
        data = fields.rest()
        conn = self.connections.get(channel_id)
        if conn is None:
            self.result.dropped_messages += 1
            return
        self.writer.write(conn, log_time, data)
        self.result.messages[conn.topic] += 1

    def _chunk(self, buf, rec: _Record) -> None:
        """A chunk's records are salvaged up to the first cut-off one; a damaged chunk is counted."""
        fields = _Fields(buf, rec.body, rec.end)
        fields.uint(8), fields.uint(8)  # message start / end time
        size, crc = fields.uint(8), fields.uint(4)
        compression = fields.text()
        compressed = fields.raw(8)
        try:
            data = decompress(compressed, compression, size, crc)
        except Exception:  # noqa: BLE001 - ReaderError, zstd / lz4 errors: the chunk is lost
            self.result.damaged_chunks += 1
            return
        try:
            self._read(data, 0, len(data), top_level=False)
        except _Damaged:
            self.result.damaged_chunks += 1

    def _read(self, buf, pos: int, end: int, *, top_level: bool) -> None:
        """Salvage the records of ``buf[pos:end]``; ``_Damaged`` when a record is cut off or has a bad opcode.

        At the top level, ``result.stop_offset`` follows the end of the last record read.
        """
        handlers = {_OP_SCHEMA: self._schema, _OP_CHANNEL: self._channel, _OP_MESSAGE: self._message}
        for rec in _records(buf, pos, end):
            if top_level and rec.op in (_OP_FOOTER, _OP_DATA_END):
                self.result.stop_offset = rec.start
                return
            try:
                if rec.op == _OP_CHUNK and top_level:
                    self._chunk(buf, rec)
                elif rec.op in handlers:
                    handlers[rec.op](_Fields(buf, rec.body, rec.end))
            except (_Damaged, UnicodeDecodeError):  # framed, but its content is unreadable: skip it
                self.result.damaged_records += 1
            if top_level:
                self.result.stop_offset = rec.end
        if top_level:
            self.result.reason = "the file ends without its summary and footer: the writer never closed it"

    def salvage(self, buf, size: int) -> _Salvage:
        """Read ``buf`` (a whole MCAP file of ``size`` bytes) from its start; the writer is left open."""
        if size < len(_MAGIC) or bytes(buf[:len(_MAGIC)]) != _MAGIC:
            raise _Damaged("not an MCAP file (no magic bytes at its start)")
        self.result.stop_offset = len(_MAGIC)
        try:
            self._read(buf, len(_MAGIC), size, top_level=True)
        except _Damaged as exc:
            self.result.reason = f"{exc}; {size - self.result.stop_offset} bytes after it are lost"
        return self.result


def _salvage_mcap(path: Path) -> _Salvage:
    """Rewrite a damaged MCAP file from the records that can be read; the original is replaced on success."""
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{path}: empty (the recording was cut off before anything reached the disk); "
                        "nothing to recover")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{path.stem}.reindex-", dir=path.parent))
    except OSError as exc:
        raise UserError(f"cannot rewrite {path} ({exc}); it was left as it was") from None
    try:
        folder = staging / path.stem  # rosbags names the file after its folder: FOLDER/FOLDER.mcap
        folder.mkdir()
        rewriter = _McapRewriter(folder)
        with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            try:
                result = rewriter.salvage(buf, size)
            except _Damaged as exc:
                raise UserError(f"{path}: {exc}; nothing to recover") from None
        if not rewriter.connections:
            raise UserError(f"{path}: no readable schema and channel records (the file is cut off or damaged "
                            "before its first complete chunk); nothing to recover")
        writer = rewriter.writer
        count = sum(result.messages.values())
        conns = [c._replace(msgcount=writer.channel_stats.get(c.id, 0)) for c in rewriter.connections.values()]
        index = FileIndex(path.name, conns, writer.message_start_time if count else 0,
                          writer.message_end_time if count else 0, count)
        writer.close(BAG_VERSION, yaml.safe_dump(build_metadata([index], "mcap"), sort_keys=False).strip())
        os.replace(writer.path, path)
        return result
    except OSError as exc:
        raise UserError(f"cannot rewrite {path} ({exc}); it was left as it was") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _describe_salvage(result: _Salvage) -> str:
    """What a rewrite kept and lost, in a few words."""
    text = "rewritten from its readable part"
    text += f" ({result.reason})" if result.reason else " (its summary was unreadable)"
    lost = [f"{n} {what}" for n, what in ((result.damaged_chunks, "damaged chunk(s)"),
                                          (result.damaged_records, "damaged record(s)"),
                                          (result.dropped_messages, "message(s) without a channel")) if n]
    return text + (f"; left out {', '.join(lost)}" if lost else "")


# -- reindex -------------------------------------------------------------------------------------------------


@dataclass
class FileIndex:
    """What one storage file of a bag holds."""

    name: str
    connections: list[Connection]
    start_ns: int  # first message stamp (0 when empty)
    end_ns: int  # last message stamp
    message_count: int
    repaired: str = ""  # what was done to make it readable ("" when it was readable as it was)


@dataclass
class ReindexResult:
    """What ``reindex_bag`` wrote."""

    path: Path
    storage: str
    files: list[FileIndex]
    counts: dict[str, int]  # messages per topic

    @property
    def total(self) -> int:
        """Messages in the bag."""
        return sum(self.counts.values())


def _open_storage(path: Path, storage: str):
    """An opened rosbags storage reader of one file; ReaderError (or another exception) when it is damaged."""
    reader = McapReader(path) if storage == "mcap" else Sqlite3Reader(path)
    reader.open()
    return reader


def _recover_sqlite(path: Path) -> None:
    """Let SQLite roll back the transaction a killed writer left open (a hot journal), then check the file."""
    try:
        conn = sqlite3.connect(path)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise UserError(f"{path}: damaged sqlite3 database ({exc})") from None
    if not ok or ok[0] != "ok":
        raise UserError(f"{path}: damaged sqlite3 database (quick_check: {ok[0] if ok else 'no answer'})")


def _index_file(path: Path, storage: str) -> FileIndex:
    """Open one storage file (repairing an MCAP file that cannot be opened) and describe it."""
    repaired = ""
    if storage == "sqlite3":
        _recover_sqlite(path)
    try:
        reader = _open_storage(path, storage)
    except Exception as exc:  # noqa: BLE001 - rosbags raises ReaderError, struct / unicode errors on damage
        if storage != "mcap":
            raise UserError(f"{path}: cannot read it ({describe_exception(exc)})") from None
        repaired = _describe_salvage(_salvage_mcap(path))
        try:
            reader = _open_storage(path, storage)
        except Exception as exc2:  # noqa: BLE001
            raise UserError(f"{path}: still unreadable after the rewrite ({describe_exception(exc2)})") from None
    try:
        meta = reader.metadata
        count = meta.message_count
        conns = list(reader.connections)
        return FileIndex(path.name, conns, meta.start_time if count else 0, meta.end_time - 1 if count else 0,
                         count, repaired)
    finally:
        reader.close()


def _type_hash(conn: Connection) -> str:
    """RIHS01 hash of a connection's type from the definition stored with it ("" when it cannot be computed)."""
    if conn.digest:
        return conn.digest
    if conn.msgdef.format != MessageDefinitionFormat.MSG or not conn.msgdef.data:
        return ""
    try:
        store = get_typestore(Stores.EMPTY)
        store.register(get_types_from_msg(conn.msgdef.data, conn.msgtype))
        return store.hash_rihs01(conn.msgtype)
    except Exception:  # noqa: BLE001 - an unparsable definition only loses the hash
        return ""


def _previous_metadata(bag: Path) -> dict:
    """The bag's current metadata.yaml mapping, or {} when there is none or it cannot be read."""
    try:
        meta = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError):
        return {}
    return meta if isinstance(meta, dict) else {}


def build_metadata(files: list[FileIndex], storage: str, *, custom_data: dict | None = None,
                   ros_distro: str = "rosbags") -> dict:
    """The ``rosbag2_bagfile_information`` mapping (version 9) of a bag made of ``files``."""
    topics: dict[tuple[str, str, str], dict] = {}
    for f in files:
        for conn in f.connections:
            fmt = conn.ext.serialization_format if isinstance(conn.ext, ConnectionExtRosbag2) else "cdr"
            entry = topics.setdefault((conn.topic, conn.msgtype, fmt), {
                "topic_metadata": {
                    "name": conn.topic, "type": conn.msgtype, "serialization_format": fmt,
                    "offered_qos_profiles": dump_qos_v9(list(getattr(conn.ext, "offered_qos_profiles", []))),
                    "type_description_hash": _type_hash(conn)},
                "message_count": 0})
            entry["message_count"] += conn.msgcount
    filled = [f for f in files if f.message_count]
    start = min((f.start_ns for f in filled), default=0)
    end = max((f.end_ns for f in filled), default=0)
    return {
        "version": BAG_VERSION,
        "storage_identifier": storage,
        "relative_file_paths": [f.name for f in files],
        "duration": {"nanoseconds": end - start},
        "starting_time": {"nanoseconds_since_epoch": start},
        "message_count": sum(f.message_count for f in files),
        "topics_with_message_count": list(topics.values()),
        "compression_format": "",
        "compression_mode": "",
        "files": [{"path": f.name, "starting_time": {"nanoseconds_since_epoch": f.start_ns},
                   "duration": {"nanoseconds": f.end_ns - f.start_ns}, "message_count": f.message_count}
                  for f in files],
        "custom_data": custom_data or None,
        "ros_distro": ros_distro,
    }


def storage_files(bag: Path) -> tuple[str, list[Path]]:
    """The storage plugin and the storage files (.mcap or .db3) of a bag folder; UserError when there are none."""
    found = sorted(p for p in bag.iterdir() if p.is_file() and p.suffix in STORAGE_SUFFIXES)
    kinds = {STORAGE_SUFFIXES[p.suffix] for p in found}
    if not found:
        raise UserError(f"{bag}: no .mcap or .db3 storage files to index")
    if len(kinds) > 1:
        raise UserError(f"{bag}: holds both .mcap and .db3 files ({', '.join(p.name for p in found)}); "
                        "move one kind elsewhere")
    return kinds.pop(), found


def reindex_bag(bag: str | Path) -> ReindexResult:
    """Rebuild ``bag/metadata.yaml`` from the .mcap or .db3 files in the folder, like ``ros2 bag reindex``.

    MCAP files that cannot be opened (cut off by a kill or a full disk, or with a damaged index) are first
    rewritten from the records that can still be read (see the module docstring). custom_data and ros_distro are
    kept from the old metadata.yaml when it is readable, else taken from the metadata stored in the files.
    Do not run it on a bag that is still being recorded.
    """
    path = Path(bag)
    if not path.exists():
        raise UserError(f"{path}: no such folder")
    if not path.is_dir():
        raise UserError(f"{path}: not a folder (give the bag folder that holds the .mcap / .db3 files)")
    storage, paths = storage_files(path)
    previous = _previous_metadata(path) or _embedded_metadata(paths[0], storage)  # before a rewrite drops it
    custom, distro = previous.get("custom_data"), previous.get("ros_distro")
    files = [_index_file(p, storage) for p in paths]
    meta = build_metadata(files, storage, custom_data=custom if isinstance(custom, dict) else None,
                          ros_distro=str(distro or "rosbags"))
    text = yaml.safe_dump({"rosbag2_bagfile_information": meta}, sort_keys=False, default_flow_style=False)
    tmp = path / "metadata.yaml.tmp"
    try:
        tmp.write_text(text)
        os.replace(tmp, path / "metadata.yaml")
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write {path / 'metadata.yaml'}: {exc}") from None
    counts: Counter[str] = Counter()
    for entry in meta["topics_with_message_count"]:
        counts[entry["topic_metadata"]["name"]] += entry["message_count"]
    return ReindexResult(path, storage, files, dict(counts))


def _embedded_metadata(path: Path, storage: str) -> dict:
    """rosbag2's metadata stored inside a storage file by a writer that closed it ({} when there is none)."""
    text = ""
    try:
        if storage == "sqlite3":
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                row = conn.execute("SELECT metadata FROM metadata ORDER BY id DESC LIMIT 1").fetchone()
            finally:
                conn.close()
            text = row[0] if row else ""
        else:
            with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                for rec in _records(buf, len(_MAGIC), len(buf)):
                    if rec.op == _OP_METADATA:
                        fields = _Fields(buf, rec.body, rec.end)
                        if fields.text() == "rosbag2":
                            text = _string_map(fields.raw()).get("serialized_metadata", "")
                            break
        meta = yaml.safe_load(text) if text else {}
    except (OSError, ValueError, sqlite3.Error, yaml.YAMLError):
        return {}
    return meta if isinstance(meta, dict) else {}


def format_reindex(result: ReindexResult) -> str:
    """What ``reindex_bag`` did, for the CLI."""
    lines = [f"  {f.name}: {f.message_count} messages" + (f"; {f.repaired}" if f.repaired else "")
             for f in result.files]
    lines += [f"  {topic}: {count} messages" for topic, count in result.counts.items()]
    lines.append(f"wrote {result.path / 'metadata.yaml'} ({result.storage}): {result.total} messages on "
                 f"{len(result.counts)} topic{'s' if len(result.counts) != 1 else ''}")
    return "\n".join(lines)
