"""`motion-text caption`: describe any motion file in words from its joints, window by window."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from motion_text_node.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``caption``."""
    p = sub.add_parser("caption", help="describe a motion in words from its joints (sides, directions, posture)",
                       description="Kinematic captions: rule-based facts (walk backward, turn left 90, raise the "
                       "right hand, crouch, ...) and sentences for every window of a motion, computed from the "
                       "joint positions alone (no model). Sides are the body's own left and right. Rules and "
                       "their thresholds: motion_text_node/captions/rules.py; measured precision: "
                       "benchmarks/captions.md.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("path", help="a .bvh or .npz motion file (any supported skeleton), or a clip id with --data")
    p.add_argument("--data", type=Path, help="dataset cache folder holding the clip id")
    p.add_argument("--window-s", type=float, default=2.0, help="window length, seconds")
    p.add_argument("--stride-s", type=float, default=1.0, help="window step, seconds")
    p.add_argument("--sentences", type=int, default=1, help="sentences per window")
    p.add_argument("--all-rules", action="store_true", help="also the rules that are off by default (below 90 %% "
                   "precision on labelled data)")
    p.add_argument("--seed", type=int, default=0, help="seed for the sentence wording")
    p.add_argument("--up-axis", default=None, help="vertical axis of a .bvh file (y, z, -y; default y)")
    p.add_argument("--json", action="store_true", help="print JSON: windows with facts and sentences")
    p.set_defaults(func=run_caption)


def run_caption(args: argparse.Namespace) -> int:
    from motion_text_node.captions import RULES, caption_motion, caption_sentences
    from motion_text_node.data.files import load_any_clip

    for name, value, lo in (("--window-s", args.window_s, 0.2), ("--stride-s", args.stride_s, 0.05)):
        if not (lo <= value <= 600.0):  # also rejects NaN
            raise UserError(f"{name} must be between {lo} and 600 seconds, got {value}")
    if not 0 <= args.sentences <= 10:
        raise UserError(f"--sentences must be between 0 and 10, got {args.sentences}")
    clip = load_any_clip(args.path, args.data, args.up_axis)
    enabled = set(RULES) if args.all_rules else None
    rng = random.Random(args.seed)
    windows = []
    for start, end, facts in caption_motion(clip.motion, window_s=args.window_s, stride_s=args.stride_s,
                                            enabled=enabled):
        windows.append({"start_s": round(start, 3), "end_s": round(end, 3),
                        "facts": [{"name": f.name, "phrase": f.phrase, "side": f.side,
                                   "salience": round(float(f.salience), 3)} for f in facts],
                        "sentences": caption_sentences(facts, rng, n=args.sentences) if args.sentences else []})
    if args.json:
        print(json.dumps({"path": args.path, "duration_s": round(clip.motion.duration, 3), "windows": windows},
                         indent=1))
        return 0
    print(f"{args.path}: {clip.motion.duration:.1f} s, {len(windows)} windows of {args.window_s:g} s")
    for w in windows:
        facts = ", ".join(f["phrase"] for f in w["facts"]) or "-"
        said = f"  | {w['sentences'][0]}" if w["sentences"] else ""
        print(f"  {w['start_s']:6.1f}-{w['end_s']:6.1f} s  {facts}{said}")
    return 0
