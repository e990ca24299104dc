"""Left/right mirroring of motions and of the words that describe them (data augmentation, laterality tests)."""

from __future__ import annotations

import re

import numpy as np

from motion_text_node.skeleton.canonical import MIRROR_INDEX
from motion_text_node.skeleton.motion import Motion

#: Word pairs swapped by ``mirror_text`` (both directions), longest first so compounds win.
MIRROR_WORDS: tuple[tuple[str, str], ...] = (
    ("counterclockwise", "clockwise"),
    ("counter-clockwise", "clockwise"),
    ("anticlockwise", "clockwise"),
    ("left-handed", "right-handed"),
    ("lefthanded", "righthanded"),
    ("leftward", "rightward"),
    ("leftwards", "rightwards"),
    ("left", "right"),
)

_SWAP: dict[str, str] = {}
for _a, _b in MIRROR_WORDS:
    _SWAP.setdefault(_a, _b)
    _SWAP.setdefault(_b, _a)
_PATTERN = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(_SWAP, key=len, reverse=True)) + r")\b",
                      re.IGNORECASE)


def _match_case(word: str, like: str) -> str:
    if like.isupper():
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def mirror_text(text: str) -> str:
    """Swap side words (left/right, clockwise/counterclockwise, ...) keeping their case."""
    return _PATTERN.sub(lambda m: _match_case(_SWAP[m.group(0).lower()], m.group(0)), text)


def side_words(text: str) -> tuple[str, ...]:
    """The side words of ``text`` in order, lower case ("wave the Left hand, then turn right" -> ("left",
    "right")): two texts that differ here name different sides however close their wording."""
    return tuple(m.group(0).lower() for m in _PATTERN.finditer(text))


def has_side_words(text: str) -> bool:
    """True when mirroring changes the text (it names a side or a turning direction)."""
    return _PATTERN.search(text) is not None


def mirror_positions(positions: np.ndarray) -> np.ndarray:
    """Reflect canonical (..., 22, 3) z-up positions across the x-z plane and swap left/right joints."""
    out = positions[..., list(MIRROR_INDEX), :].copy()
    out[..., 1] *= -1.0
    return out


def mirror_motion(motion: Motion) -> Motion:
    """The mirrored canonical motion (validity swapped with the joints)."""
    valid = None if motion.valid is None else motion.valid[:, list(MIRROR_INDEX)]
    return Motion(mirror_positions(motion.positions), motion.joint_names, motion.fps, valid)
