"""Skeleton and SkeletonArray straight from their serialized (CDR) bytes into numpy, without building a Python
object per joint.

rclpy's ``deserialize_message`` makes one ``geometry_msgs/Point`` object per joint: for a crowd of 240 people in
one SkeletonArray that is 5,280 objects per camera frame (about 60 ms here, more than a 30 Hz frame lasts), and
reading them back into an array costs as much again. The positions of a Skeleton are a contiguous run of float64
triplets in the message's bytes, so they can be viewed as an (n, 3) array directly.

The layout is ROS 2's XCDR1 little-endian encoding (what rmw_fastrtps and rmw_cyclonedds write): a 4-byte
encapsulation header, then the fields in order, each primitive aligned to its size counted from the end of that
header; strings and sequences are a uint32 length followed by the items. Anything this decoder does not accept
(big-endian data, a length that runs past the end, text that is not UTF-8) raises ``WireFormatError``; the node
then decodes the message with rclpy as before, so the answer to a malformed message never changes, only the time
a well-formed one takes.

The objects returned have the attributes of the rclpy messages that ``ros.conversions`` reads (``header.stamp.sec``,
``positions`` ...), with ``positions`` an (n, 3) float64 array and ``confidences`` a float32 array.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

#: Encapsulation header of XCDR1 little-endian data (the only kind decoded here).
CDR_LE = b"\x00\x01"
_U32 = struct.Struct("<I")
_TIME = struct.Struct("<iI")


class WireFormatError(ValueError):
    """Bytes this decoder does not accept (decode them with rclpy instead)."""


@dataclass(slots=True)
class WireTime:
    sec: int = 0
    nanosec: int = 0


@dataclass(slots=True)
class WireHeader:
    stamp: WireTime = field(default_factory=WireTime)
    frame_id: str = ""


@dataclass(slots=True)
class WireSkeleton:
    """A decoded Skeleton: the message's fields, positions as an (n, 3) array."""

    header: WireHeader
    track_id: str
    skeleton_format: str
    joint_names: list[str]
    positions: np.ndarray
    confidences: np.ndarray
    up_axis: str


@dataclass(slots=True)
class WireSkeletonArray:
    """A decoded SkeletonArray."""

    header: WireHeader
    skeletons: list[WireSkeleton]


class _Reader:
    """Sequential reads over CDR bytes, aligned from the end of the encapsulation header (written out by hand: this
    runs for every person of every frame)."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 4 or data[:2] != CDR_LE:
            raise WireFormatError("not little-endian CDR")
        self.data = data
        self.pos = 4

    def u32(self) -> int:
        pos = self.pos + (-self.pos) % 4  # 4-aligned from the end of the 4-byte header is 4-aligned from 0
        if pos + 4 > len(self.data):
            raise WireFormatError("truncated")
        self.pos = pos + 4
        return _U32.unpack_from(self.data, pos)[0]

    def string(self) -> str:
        n = self.u32()
        if n == 0:
            return ""
        start, data = self.pos, self.data
        if start + n > len(data):
            raise WireFormatError("truncated")
        if data[start + n - 1] != 0:
            raise WireFormatError("string without its terminating NUL")
        self.pos = start + n
        try:
            return data[start:start + n - 1].decode("utf-8")
        except UnicodeDecodeError:
            raise WireFormatError("string is not UTF-8") from None

    def strings(self) -> list[str]:
        n = self.u32()
        if n == 0:
            return []
        if n * 4 > len(self.data) - self.pos:  # each string takes at least its length word
            raise WireFormatError("truncated")
        return [self.string() for _ in range(n)]

    def array(self, dtype: str, itemsize: int, per_item: int) -> np.ndarray:
        n = self.u32()
        if n == 0:  # an empty sequence is not aligned for its items
            return np.zeros(0, dtype)
        start = self.pos + (4 - self.pos) % itemsize  # aligned from the end of the 4-byte header
        if start + n * per_item * itemsize > len(self.data):
            raise WireFormatError("truncated")
        self.pos = start + n * per_item * itemsize
        return np.frombuffer(self.data, dtype, n * per_item, start)

    def header(self) -> WireHeader:
        pos = self.pos + (-self.pos) % 4
        if pos + 8 > len(self.data):
            raise WireFormatError("truncated")
        sec, nanosec = _TIME.unpack_from(self.data, pos)
        self.pos = pos + 8
        return WireHeader(WireTime(sec, nanosec), self.string())

    def skeleton(self) -> WireSkeleton:
        header, track_id, fmt, names = self.header(), self.string(), self.string(), self.strings()
        positions = self.array("<f8", 8, 3).reshape(-1, 3)
        return WireSkeleton(header, track_id, fmt, names, positions, self.array("<f4", 4, 1), self.string())


def decode_skeleton(data: bytes) -> WireSkeleton:
    """A serialized ``motion_text_interfaces/Skeleton``; WireFormatError for bytes not decoded here."""
    return _Reader(bytes(data)).skeleton()


def decode_skeleton_array(data: bytes) -> WireSkeletonArray:
    """A serialized ``motion_text_interfaces/SkeletonArray``; WireFormatError for bytes not decoded here."""
    reader = _Reader(bytes(data))
    header = reader.header()
    n = reader.u32()
    if n * 32 > len(reader.data) - reader.pos:  # a Skeleton takes at least 32 bytes
        raise WireFormatError("truncated")
    return WireSkeletonArray(header, [reader.skeleton() for _ in range(n)])
