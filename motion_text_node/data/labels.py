"""Action classes for recognition on CMU-style descriptions, and the prompt templates labels are read through.

CMU has no action labels, only free descriptions; recognition is evaluated on classes derived from them by
keyword rules (first match wins). Clips matching no rule have no class and are left out of recognition.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from motion_text_node.data.clip import Clip

#: (class label, keywords): a description containing any keyword (as a word prefix) gets the label.
CMU_ACTION_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dribble a basketball", ("dribble", "basketball")),
    ("kick a ball", ("kick", "soccer")),
    ("dance", ("dance", "salsa", "pirouette", "jete", "arabesque")),
    ("climb", ("climb", "ladder")),
    ("sit down and stand up", ("sit",)),
    ("drink", ("drink",)),
    ("wash", ("wash",)),
    ("laugh", ("laugh",)),
    ("punch", ("punch", "boxing", "strike")),
    ("sword fight", ("sword",)),
    ("exercise", ("jumping jacks", "squat")),
    ("jump", ("jump", "hop", "leap")),
    ("run", ("run", "jog")),
    ("walk", ("walk", "stride", "navigate")),
    ("wave", ("wave",)),
)

#: Prompt templates averaged when labels are embedded for recognition (and used as training paraphrases).
PROMPT_TEMPLATES: tuple[str, ...] = (
    "{}",
    "a person does this: {}",
    "someone performs the action: {}",
    "a motion of a person: {}",
)


def cmu_action_label(description: str) -> str:
    """The action class of a CMU description, or "" when no rule matches."""
    text = description.lower()
    for label, keywords in CMU_ACTION_RULES:
        if any(re.search(r"\b" + re.escape(k), text) for k in keywords):
            return label
    return ""


def cmu_action_classes() -> list[str]:
    """All CMU action classes, in rule order."""
    return [label for label, _ in CMU_ACTION_RULES]


def prompts(label: str, templates: tuple[str, ...] = PROMPT_TEMPLATES) -> list[str]:
    """The label read through every template."""
    return [t.format(label) for t in templates]


def clip_action_label(clip: Clip, label_set: str = "either") -> str:
    """A clip's action label ("" when it has none) from the ``label_set``: "cmu" (the keyword class of its
    description), "dataset" (its own label), or "either" (its own label, else the keyword class: what bag
    ground truth uses for clips of mixed sources)."""
    if label_set == "cmu":
        return cmu_action_label(clip.text)
    if label_set == "dataset":
        return clip.label
    return clip.label or cmu_action_label(clip.text)
