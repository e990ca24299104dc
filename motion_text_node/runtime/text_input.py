"""Text from users: what counts as an empty text (whitespace and invisible characters only), how a value is shown
in a one-line error, and reading a small text file the user named (labels, params files) with one error line for
every way it can fail.

Shared by labels, retrieval queries and candidate texts, so "\u200b\u200b" is refused everywhere alike.
"""

from __future__ import annotations

import os
import stat
import unicodedata

from motion_text_node.errors import UserError

#: Characters that render as nothing although they are letters or symbols (Hangul fillers, braille blank).
_BLANK_LOOKALIKES = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _invisible(ch: str) -> bool:
    """Whitespace, control or format (zero-width) character, or one that renders blank."""
    return ch.isspace() or ch in _BLANK_LOOKALIKES or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def strip_invisible(text: str) -> str:
    """``text`` without leading and trailing whitespace and invisible characters ("\\u200bwalk\\ufeff" -> "walk")."""
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def is_blank(text: str) -> bool:
    """True when ``text`` is empty or made only of whitespace and invisible characters (e.g. "\\u200b\\u200b")."""
    return not strip_invisible(text)


def shown(text: str, limit: int = 120) -> str:
    """``text`` for a one-line error message: control characters escaped, cut at ``limit`` characters."""
    out = repr(text[:limit])[1:-1]
    return out if len(text) <= limit else f"{out}... ({len(text)} characters)"


def read_text_file(path: str, kind: str, max_bytes: int, encoding: str = "utf-8", limit: int = 120) -> str:
    """The text of the regular file ``path`` of at most ``max_bytes``; UserError (never OSError) naming ``kind``
    ("label file", "params file") for a missing file, a folder, a FIFO or device, a file too large, a bad name,
    an unreadable file or one that is not ``encoding`` text."""
    where = shown(path, limit)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise UserError(f"{kind} {where} is a folder")
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"{kind} {where} is not a regular file")
        if info.st_size > max_bytes:
            raise UserError(f"{kind} {where} has {info.st_size} bytes; at most {max_bytes}")
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise UserError(f"{kind} not found: {where}") from None
    except OSError as exc:  # permission denied, file name too long, ...
        raise UserError(f"cannot read the {kind} {where} ({exc.strerror or exc})") from None
    except ValueError as exc:  # embedded null byte
        raise UserError(f"{kind} {where}: not a valid file name ({exc})") from None
    if len(data) > max_bytes:
        raise UserError(f"{kind} {where} has more than {max_bytes} bytes")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UserError(f"{kind} {where} is not a UTF-8 text file (bad byte at offset {exc.start})") from None
