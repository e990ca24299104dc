"""Output paths the user names (``--out``, ``--json``, ``--save-best``): checked before a command starts its work,
so a long run does not end in a traceback at its last step, and every write failure becomes one ``UserError``.

``check_output_file`` / ``check_output_dir`` refuse a path that cannot be written: a folder where a file is wanted
(or a file where a folder is), a path under a regular file, a folder without write permission. ``writing`` turns
the ``OSError`` of the write itself (a full disk, a file system that refuses it) into one line naming the path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from motion_text_node.errors import UserError


def _named(path: Path, option: str) -> str:
    return f"{option} {path}" if option else str(path)


def _check_folder_above(folder: Path, path: Path, option: str) -> None:
    """UserError (naming ``option`` and ``path``) unless the nearest existing folder at or above ``folder`` is a
    folder this process may write in."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{_named(path, option)}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{_named(path, option)}: no permission to write in {existing}")


def check_output_file(path: str | Path, option: str = "") -> Path:
    """``path`` as a file to (over)write; UserError naming ``option`` when it is a folder, lies under a regular file,
    or may not be written."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{_named(path, option)} is a folder; give a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"{_named(path, option)}: the file exists and is not writable")
    _check_folder_above(path.parent, path, option)
    return path


def check_output_dir(path: str | Path, option: str = "") -> Path:
    """``path`` as a folder to create or write into; UserError naming ``option`` when it is a file, lies under a
    regular file, or may not be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{_named(path, option)} is a file, not a folder")
    _check_folder_above(path, path, option)
    return path


@contextmanager
def writing(path: str | Path, what: str) -> Iterator[None]:
    """Run a write of ``what`` (e.g. "the animation") to ``path``; an OSError becomes one UserError."""
    try:
        yield
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename and str(exc.filename) != str(path) else ""
        raise UserError(f"cannot write {what} {path} ({exc.strerror or exc}{where})") from None
