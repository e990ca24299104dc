"""`motion-text export`: a trained checkpoint to an ONNX model folder (parity-checked)."""

from __future__ import annotations

import argparse
from pathlib import Path

from motion_text_node.paths import models_dir


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``export``."""
    x = sub.add_parser("export", help="export a trained checkpoint to an ONNX model folder (parity-checked)",
                       description="Export the motion and text encoders to ONNX (dynamic batch and time), check "
                       "torch/ONNX Runtime parity at T=2,30,60,150,300, and write model.json with everything the "
                       "runtime needs (normalization, skeleton, fps, window, prompts, labels, version).")
    x.add_argument("--checkpoint", required=True, help="checkpoint file or run folder (best.pt)")
    x.add_argument("--out", type=Path, default=models_dir(), help="model folder to write")
    x.add_argument("--labels", help="default recognition labels (comma list or file); default: CMU action classes")
    x.add_argument("--text-weights", default="fp16", choices=["fp16", "int8", "fp32"],
                   help="text encoder weights: fp16 (46 MB, default), int8 (23 MB, lossy), fp32 (90 MB)")
    x.add_argument("--no-int8-motion", action="store_true",
                   help="do not add the int8 motion encoder (by default it is added when it agrees with float32 "
                        "on real windows; the runtime prefers it on CPU)")
    x.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from motion_text_node.export.onnx_export import export_model
    from motion_text_node.runtime.label_bank import parse_labels

    labels = parse_labels(args.labels) if args.labels else None
    export_model(args.checkpoint, args.out, labels=labels, text_weights=args.text_weights,
                 int8_motion=not args.no_int8_motion)
    print(f"wrote {args.out}/model.json and the ONNX files, tokenizer.json")
    return 0
