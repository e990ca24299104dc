"""`motion-text demo`: the README's main job, real held-out motion replayed through the live nodes."""

from __future__ import annotations

import argparse
from pathlib import Path

from motion_text_node.paths import models_dir


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``demo``: the README's main job."""
    d = sub.add_parser("demo", help="replay real held-out motion through the live nodes; retrieval answers",
                       description="Play the shipped sample bag (held-out CMU test subjects) through a live "
                       "action_recognition_node, score its labels against ground truth (online over DDS and "
                       "offline), then ask motion_retrieval_node for motions matching text commands.")
    d.add_argument("--model", type=Path, default=models_dir(), help="model folder")
    d.add_argument("--bag", type=Path, help="bag to replay (default: the shipped sample)")
    d.add_argument("--rate", type=float, default=2.0, help="playback speed factor")
    d.add_argument("--out", type=Path, help="report folder (default: reports/demo)")
    d.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from motion_text_node.demo import SAMPLE_BAG, run_demo

    return run_demo(args.model, args.bag or SAMPLE_BAG, args.out, args.rate)
