""".npz files users hand us (motions, motion libraries, AMASS sequences and body models), opened so that a bad file
is one ``UserError`` naming it, never a traceback and never a huge allocation.

``open_npz`` refuses a file that is not a zip archive (a lone ``.npy`` renamed ``.npz``, text, pickle) before numpy
sees it, and its members are read through ``GuardedNpz.__getitem__``, which reads each member's ``.npy`` header
first: a member that is no ``.npy`` array, holds Python objects (pickle), or claims more bytes than the archive holds
for it (a forged shape such as (10**12, 22, 3)) or than ``MAX_MEMBER_BYTES`` is refused before numpy allocates it.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from motion_text_node.errors import UserError

#: Largest array one member may hold once read (bytes); real motions and libraries are far smaller.
MAX_MEMBER_BYTES = 4 << 30
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members / an empty zip
_NPY_MAGIC = b"\x93NUMPY"
#: What reading a damaged archive or member raises (encrypted members: RuntimeError; unknown compression:
#: NotImplementedError).
_READ_ERRORS = (OSError, ValueError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error)


class GuardedNpz:
    """An open ``.npz`` whose members are checked before they are read (see the module docstring)."""

    def __init__(self, data: np.lib.npyio.NpzFile, path: Path, kind: str, max_bytes: int) -> None:
        self._data, self.path, self.kind, self.max_bytes = data, path, kind, max_bytes
        names = data.zip.namelist()
        self._members = {name.removesuffix(".npy"): name for name in names}
        self.files: list[str] = list(self._members)

    def __contains__(self, key: str) -> bool:
        return key in self._members

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._members:
            raise KeyError(f"{key} is not a file in the archive")
        self._check_header(key)
        try:
            value = self._data[key]
        except _READ_ERRORS as exc:
            raise UserError(f"{self.path}: '{key}' is unreadable in this {self.kind} ({exc})") from None
        if not isinstance(value, np.ndarray):
            raise UserError(f"{self.path}: '{key}' is not a numpy array")
        return value

    def _check_header(self, key: str) -> None:
        """UserError unless member ``key`` is an .npy array numpy can read without pickle and without allocating
        more than the archive holds for it."""
        info = self._data.zip.getinfo(self._members[key])
        try:
            with self._data.zip.open(info) as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                shape, _, dtype = read(f)
                header_bytes = f.tell()
        except _READ_ERRORS as exc:
            raise UserError(f"{self.path}: '{key}' is not a numpy array in this {self.kind} ({exc})") from None
        if dtype.hasobject:
            raise UserError(f"{self.path}: '{key}' holds Python objects (pickled data is not read)")
        claimed = math.prod(shape) * dtype.itemsize
        if claimed > info.file_size - header_bytes:
            raise UserError(f"{self.path}: '{key}' claims shape {shape} ({claimed} bytes) but the file holds "
                            f"{max(0, info.file_size - header_bytes)} bytes for it (corrupt or forged header)")
        if claimed > self.max_bytes:
            raise UserError(f"{self.path}: '{key}' of shape {shape} is {claimed} bytes; at most "
                            f"{self.max_bytes} are read")


@contextmanager
def open_npz(path: str | Path, kind: str = ".npz file", max_bytes: int = MAX_MEMBER_BYTES) -> Iterator[GuardedNpz]:
    """The ``.npz`` at ``path`` opened for guarded reading; UserError "PATH: not a readable KIND (why)" for a
    missing file, a folder, or anything that is not a zip of arrays (``kind`` names what the file should be)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(len(_NPY_MAGIC))
    except IsADirectoryError:
        raise UserError(f"{path}: not a readable {kind} (it is a folder)") from None
    except OSError as exc:
        raise UserError(f"{path}: not a readable {kind} ({exc.strerror or exc})") from None
    if magic.startswith(_NPY_MAGIC):
        raise UserError(f"{path}: not a readable {kind} (it is a single .npy array, not an .npz archive of named "
                        "arrays)")
    if not magic.startswith(_ZIP_MAGIC):
        raise UserError(f"{path}: not a readable {kind} (not a zip archive)")
    try:
        data = np.load(path, allow_pickle=False)
    except _READ_ERRORS as exc:
        raise UserError(f"{path}: not a readable {kind} ({exc})") from None
    with data:
        yield GuardedNpz(data, path, kind, max_bytes)


def write_npz(path: str | Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` as a compressed ``.npz`` at ``path`` that numpy reads as usual, byte for byte the same for
    the same arrays (members in the given order, fixed timestamps: git stores an unchanged file once), through a
    temporary file so that a failed write (full disk, killed process) leaves any earlier file whole. A file that
    already holds exactly these bytes is left untouched."""
    path = Path(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)
    payload = buffer.getvalue()
    if path.is_file() and path.stat().st_size == len(payload) and path.read_bytes() == payload:
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(payload)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
