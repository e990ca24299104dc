"""Train / val / test assignment without leakage: by subject, by take order, or by a stable hash.

Every rule is deterministic (the same data always gives the same split) and keeps whole captures together.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence


def hash_split(key: str, val_fraction: float = 0.1, test_fraction: float = 0.1) -> str:
    """Deterministic split of a subject (or file) key: the same key always lands in the same split."""
    u = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if u < test_fraction else "val" if u < test_fraction + val_fraction else "train"


def block_splits(takes: Sequence[str], val_fraction: float = 0.1, test_fraction: float = 0.1,
                 min_takes: int = 5) -> dict[str, str]:
    """Takes of one group (one content and style, one task) -> split, by their order.

    The last ``test_fraction`` of the sorted takes is test, the block before it val, the rest train, so takes
    recorded one after the other (most alike) stay on one side. A group of fewer than ``min_takes`` takes is all
    train (too small to hold out).
    """
    ordered = sorted(takes, key=_natural_key)
    n = len(ordered)
    if n < min_takes:
        return dict.fromkeys(ordered, "train")
    n_test = max(1, round(n * test_fraction))
    n_val = max(1, round(n * val_fraction))
    return {t: "test" if i >= n - n_test else "val" if i >= n - n_test - n_val else "train"
            for i, t in enumerate(ordered)}


def _natural_key(text: str) -> tuple:
    """Sort key that orders "take_2" before "take_10"."""
    m = re.match(r"^(.*?)(\d+)$", text)
    return (m.group(1), int(m.group(2)), text) if m else (text, -1, text)
