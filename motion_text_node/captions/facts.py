"""The ``Fact``: one thing a rule found in a motion window, with a label-like phrase and sentence variants."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Values of ``Fact.side``.
SIDES: tuple[str | None, ...] = ("left", "right", "both", None)

_SWAP_SIDE = {"left": "right", "right": "left"}


@dataclass(frozen=True)
class Fact:
    """A fact about a motion window, found by one rule of ``rules.RULES``.

    Attributes:
        name: fact id, the rule id plus its variant and side (``"raise_hand_left"``, ``"walk_backward"``,
            ``"turn_left_90"``).
        rule: the ``RULES`` key that produced it (``"raise_hand"``, ``"walk"``, ``"turn"``).
        phrase: short label-like phrase ("raise the left hand", "walk backward", "turn left").
        side: the body's own side the fact is about, "left" / "right" / "both", or None when it has none.
            Turns and circles count counter-clockwise (seen from above) as "left".
        salience: how noticeable the fact is (about 0..1); sentences put the most salient facts first.
        start_s: first second of the window (from the window start) where the rule's condition held.
        end_s: last second of the window where it held.
        variants: base-form descriptions for sentences ("raise their left hand above their head"); the first
            is the default.
        amount: a magnitude where it makes sense (degrees for turns, count for jumps and steps), else None.
    """

    name: str
    rule: str
    phrase: str
    side: str | None
    salience: float
    start_s: float | None = None
    end_s: float | None = None
    variants: tuple[str, ...] = field(default=())
    amount: float | None = None

    def descriptions(self) -> tuple[str, ...]:
        """Base-form descriptions to pick from (``variants``, or the phrase when there are none)."""
        return self.variants or (self.phrase,)


def mirror_fact_name(name: str) -> str:
    """The fact id of the left/right mirror image (``raise_hand_left`` <-> ``raise_hand_right``)."""
    parts = name.split("_")
    return "_".join(_SWAP_SIDE.get(p, p) for p in parts)


def mirror_side(side: str | None) -> str | None:
    """The side after left/right mirroring ("both" and None stay)."""
    return _SWAP_SIDE.get(side, side) if side else side
