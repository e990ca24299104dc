"""Reading bags that may be damaged: every message checked, damaged data counted and reported in one line.

A few flipped bytes in an MCAP file can make rosbags raise part-way (ReaderError, OverflowError, ...), leave a
message that does not decode (SerdeError, UnicodeDecodeError), or drop messages without a word (a damaged
channel id, stamp or index entry). ``checked_messages`` turns each of these into a count in a ``BagDamage``:
an undecodable message is skipped; a storage failure ends the pass, or, where the MCAP chunk index shows where
the next readable data starts, skips the chunk that failed; a pass over the whole bag compares the messages
read per topic with the counts the bag's metadata lists. Unless told to skip damaged data, the first problem
raises ``CorruptBagError`` (a UserError: one line and exit code 2 from the CLI).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from motion_text_node.errors import UserError


class CorruptBagError(UserError):
    """A bag holds data that cannot be read or decoded, and skipping it was not asked for."""


def describe_exception(exc: BaseException) -> str:
    """``Type: first line of its message`` (at most 200 characters): an exception fit for a one-line report."""
    lines = str(exc).strip().splitlines()
    text = lines[0][:200] if lines else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _per_topic(counts: Counter[str]) -> str:
    return ", ".join(f"{topic} {n}" for topic, n in sorted(counts.items()))


@dataclass
class BagDamage:
    """Damaged data met while reading a bag (summed over every pass)."""

    bag: str = ""
    start_ns: int = 0  # the bag's first stamp: problem times are given relative to it
    undecodable: Counter[str] = field(default_factory=Counter)  # per topic: read but did not decode (skipped)
    missing: Counter[str] = field(default_factory=Counter)  # per topic: listed in the metadata, never read
    unexpected: Counter[str] = field(default_factory=Counter)  # per topic: read more often than listed
    unreadable: int = 0  # storage failures (each ends the pass or skips a chunk)
    first: str = ""  # the first problem, in words, with its bag time

    def __bool__(self) -> bool:
        return bool(self.undecodable or self.missing or self.unexpected or self.unreadable)

    @property
    def skipped(self) -> int:
        """Messages that were not delivered: undecodable plus never read."""
        return sum(self.undecodable.values()) + sum(self.missing.values())

    def note(self, what: str, t_ns: int | None = None) -> None:
        """Remember the first problem (``t_ns``: the stamp where it was met, when known)."""
        if not self.first:
            self.first = what + (f" at {(t_ns - self.start_ns) / 1e9:.3f} s" if t_ns is not None else "")

    def add_undecodable(self, topic: str, t_ns: int, reason: str) -> None:
        """Count one message of ``topic`` that was read but cannot be used."""
        self.undecodable[topic] += 1
        self.note(f"{topic} message undecodable ({reason})", t_ns)

    def describe(self) -> str:
        """The damage in one line."""
        parts = []
        if self.undecodable:
            parts.append(f"{sum(self.undecodable.values())} undecodable message(s) ({_per_topic(self.undecodable)})")
        if self.unreadable:
            parts.append(f"{self.unreadable} unreadable stretch(es) of the file")
        if self.missing:
            parts.append(f"{sum(self.missing.values())} message(s) listed in the metadata never read "
                         f"({_per_topic(self.missing)})")
        if self.unexpected:
            parts.append(f"{sum(self.unexpected.values())} message(s) more than the metadata lists "
                         f"({_per_topic(self.unexpected)})")
        where = f"{self.bag}: " if self.bag else ""
        return f"{where}damaged data: {', '.join(parts) or 'none'}" + (f"; first: {self.first}" if self.first else "")

    def as_dict(self) -> dict:
        """The counts, for JSON reports."""
        return {"undecodable": dict(self.undecodable), "missing": dict(self.missing),
                "unexpected": dict(self.unexpected), "unreadable": self.unreadable, "skipped": self.skipped,
                "first": self.first}


def _chunks(reader) -> list:
    """The MCAP chunk index entries of an open rosbags ``Reader`` (empty for sqlite3 or unindexed files)."""
    storage = getattr(reader, "storage", None)
    storages = getattr(storage, "storages", None) or [storage]
    return [c for s in storages for c in (getattr(s, "chunks", None) or [])]


def resume_point(reader, read_from: int | None, last_ns: int | None) -> int | None:
    """Where reading can go on after a storage failure: just past the MCAP chunk that failed; None when unknown.

    rosbags decodes a whole chunk when the time order reaches its first stamp, so the chunk that failed is the
    earliest-starting one after the last message read (``last_ns``) among those reaching ``read_from``.
    """
    pending = [c for c in _chunks(reader)
               if (read_from is None or c.message_end_time >= read_from)
               and (last_ns is None or c.message_start_time > last_ns)]
    if not pending:
        return None
    failed = min(pending, key=lambda c: (c.message_start_time, c.chunk_start_offset))
    return failed.message_end_time + 1


def checked_messages(reader, connections: Collection, *, damage: BagDamage, start: int | None = None,
                     store=None, skip_corrupt: bool = False) -> Iterator[tuple]:
    """The messages of ``connections`` from an open rosbags ``Reader``, checked, in time order.

    Yields ``(connection, stamp ns, CDR bytes, message)``: messages of a type registered in the rosbags ``store``
    are decoded (``message`` is the decoded object; None for other types, passed on unchecked). A message that
    does not decode is skipped; a storage failure ends the pass unless the chunk index shows where to go on (see
    ``resume_point``); a pass from the bag's start compares the messages read per topic with the metadata's
    counts at its end. Every problem is counted in ``damage``; unless ``skip_corrupt``, the first one raises
    ``CorruptBagError`` (its message is ``damage.describe()``).
    """
    conns = list(connections)
    whole = start is None or start <= reader.start_time
    expected: Counter[str] = Counter()
    for conn in conns:
        expected[conn.topic] += conn.msgcount
    read: Counter[str] = Counter()
    decodable = set(getattr(store, "fielddefs", {})) if store is not None else set()
    read_from, last_ns = start, None
    while True:
        try:
            for conn, t_ns, raw in reader.messages(connections=conns, start=read_from):
                last_ns = t_ns
                read[conn.topic] += 1
                msg = None
                if conn.msgtype in decodable:
                    try:
                        msg = store.deserialize_cdr(raw, conn.msgtype)
                    except Exception as exc:  # noqa: BLE001 - SerdeError, UnicodeDecodeError, struct.error, ...
                        damage.add_undecodable(conn.topic, t_ns, describe_exception(exc))
                        if not skip_corrupt:
                            raise CorruptBagError(damage.describe()) from None
                        continue
                yield conn, t_ns, raw, msg
        except CorruptBagError:
            raise
        except Exception as exc:  # noqa: BLE001 - rosbags raises ReaderError, OverflowError, TypeError on damage
            damage.unreadable += 1
            damage.note(f"unreadable data ({describe_exception(exc)})", last_ns)
            if not skip_corrupt:
                raise CorruptBagError(damage.describe()) from None
            resume = resume_point(reader, read_from, last_ns)
            if resume is not None and (read_from is None or resume > read_from):
                read_from = resume
                continue
        break
    if whole:
        _compare_counts(expected, read, damage)
        if (damage.missing or damage.unexpected) and not skip_corrupt:
            raise CorruptBagError(damage.describe())


def _compare_counts(expected: Counter[str], read: Counter[str], damage: BagDamage) -> None:
    """Count the messages per topic a whole pass read fewer or more often than the metadata lists."""
    for topic in sorted(set(expected) | set(read)):
        diff = expected[topic] - read[topic]
        if diff > 0:
            damage.missing[topic] += diff
            damage.note(f"{diff} {topic} message(s) listed in the metadata were never read")
        elif diff < 0:
            damage.unexpected[topic] += -diff
            damage.note(f"{-diff} more {topic} message(s) read than the metadata lists")
