"""Rule-based captions of canonical motion: short facts ("raise the left hand", "turn left") and sentences.

Numpy only. Each fact comes from one explainable rule over joint positions (thresholds in ``rules.RULES``);
``describe_window`` finds the facts of one window, ``caption_motion`` / ``caption_windows_batch`` those of every
window of whole clips (vectorized over time), ``caption_sentences`` turns facts into varied sentences.
"""

from motion_text_node.captions.describe import (
    benchmark,
    caption_motion,
    caption_windows_batch,
    describe_window,
    describe_windows,
)
from motion_text_node.captions.facts import Fact, mirror_fact_name, mirror_side
from motion_text_node.captions.rules import DEFAULT_ENABLED, RULES, Rule
from motion_text_node.captions.sentences import caption_sentences, sentence

__all__ = [
    "DEFAULT_ENABLED",
    "RULES",
    "Fact",
    "Rule",
    "benchmark",
    "caption_motion",
    "caption_sentences",
    "caption_windows_batch",
    "describe_window",
    "describe_windows",
    "mirror_fact_name",
    "mirror_side",
    "sentence",
]
