"""Near misses of a captioned window: facts it looks close to on a skeleton but did not show.

Used as hard negative texts in training: a window whose caption says "raise the left hand" should sit closer to
that than to "wave the left hand" or "raise both hands". Two kinds, never a plain left/right swap (that is
``augment.side_negatives``):

- the same rule with another number of hands or feet: one side instead of both, both instead of one;
- a rule that looks alike (``CONFUSABLE_RULES``: raise / wave, walk / run) on the same side and direction.

A near miss is left out when the window has a fact that makes it partly true: the rule itself with that side, or
for a look-alike rule any of its facts on an overlapping side ("both" overlaps "left" and "right").
"""

from __future__ import annotations

from collections.abc import Iterable

from motion_text_node.captions.facts import Fact
from motion_text_node.captions.rules import FIXED_PHRASES, RULES

#: Rules whose facts are easily mistaken for each other's.
CONFUSABLE_RULES: dict[str, tuple[str, ...]] = {
    "raise_hand": ("wave",),
    "wave": ("raise_hand",),
    "walk": ("run",),
    "run": ("walk",),
}

_OTHER_COUNT = {"left": ("both",), "right": ("both",), "both": ("left", "right")}
_DECLARED = frozenset(name for rule in RULES.values() for name in rule.facts)  # every fact id a rule can give


def _overlaps(a: str | None, b: str | None) -> bool:
    return a == b or ("both" in (a, b) and None not in (a, b))


def near_miss_names(facts: Iterable[Fact]) -> list[str]:
    """Fact ids a window with ``facts`` comes close to but did not show (sorted, no repeats)."""
    facts = list(facts)
    present = {f.name for f in facts}
    shown = {(f.rule, f.side) for f in facts}
    out: set[str] = set()
    for f in facts:
        suffix = f.name[len(f.rule):]  # "_left", "_forward", "" ...
        if f.side in _OTHER_COUNT and f.name.endswith(f"_{f.side}"):
            base = f.name[: -len(f.side)]
            out.update(base + s for s in _OTHER_COUNT[f.side] if (f.rule, s) not in shown)
        for other in CONFUSABLE_RULES.get(f.rule, ()):
            if not any(r == other and _overlaps(s, f.side) for r, s in shown):
                out.add(other + suffix)
    return sorted((out - present) & _DECLARED)


def near_miss_phrases(facts: Iterable[Fact]) -> list[str]:
    """Label-like phrases of ``near_miss_names(facts)`` ("wave the left hand", "raise both hands")."""
    return [FIXED_PHRASES[n] for n in near_miss_names(facts) if n in FIXED_PHRASES]
