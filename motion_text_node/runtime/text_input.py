"""What counts as an empty text: whitespace and invisible (zero-width, format, blank-looking) characters only.

Shared by labels, retrieval queries and candidate texts, so "\u200b\u200b" is refused everywhere alike.
"""

from __future__ import annotations

import unicodedata

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
