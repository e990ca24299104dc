"""The files of ``shared/data``: its folders and tables, and archives unpacked once into the writable cache
(shared/ is read-only, e.g. in CI)."""

from __future__ import annotations

import csv
import shutil
import tarfile
from pathlib import Path

from motion_text_node.errors import UserError
from motion_text_node.paths import cache_dir, shared_dir


def unpacked(archive: Path, member: str, wrap: bool = False) -> Path:
    """``<cache>/<member>``, extracted from ``archive`` on first use.

    The archive's top folder is ``member``, or, with ``wrap``, the archive has several top folders and is
    extracted inside ``<cache>/<member>``. A ``.complete`` marker is written after a full extraction, so an
    interrupted one is redone, never trusted.
    """
    out = cache_dir() / member
    marker = out / ".complete"
    if marker.is_file():
        return out
    if not archive.is_file():
        raise UserError(f"{archive}: missing (is the shared data folder complete?)")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        shutil.rmtree(out)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(out if wrap else out.parent, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UserError(f"{archive}: cannot unpack ({exc})") from None
    if not out.is_dir():
        raise UserError(f"{archive}: has no top-level folder {member!r}")
    marker.touch()
    return out


def shared_data_dir(folder: str, must_have: str) -> Path:
    """``shared/data/<folder>``, checked to hold ``must_have`` (UserError saying where it looked)."""
    path = shared_dir() / "data" / folder
    if not (path / must_have).is_file():
        raise UserError(f"{folder} data not found at {path} (no {must_have}; set MOTION_TEXT_SHARED to the shared "
                        "folder)")
    return path


def read_tsv(path: Path) -> list[dict[str, str]]:
    """Rows of a tab-separated table with a header line (UserError when missing or unreadable)."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: cannot read the table ({exc})") from None
