"""`motion-text train` and `motion-text evaluate`."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``train`` and ``evaluate``."""
    t = sub.add_parser(
        "train", help="train the contrastive model (or the GCN baseline) from a YAML config",
        description="Train from a YAML config (configs/cmu.yaml is the shipped model). Runs on CPU (bf16 where "
        "available) or CUDA; launch with torchrun for multi-GPU DDP. Writes config.yaml, log.csv, "
        "training_curves.png, best.pt and last.pt into --out.")
    t.add_argument("--config", required=True, type=Path, help="YAML config (may 'inherit:' another)")
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set optim.epochs=5 (repeatable)")
    t.add_argument("--out", required=True, type=Path, help="run folder")
    t.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=run_train)

    e = sub.add_parser(
        "evaluate", help="retrieval, recognition, laterality and baseline report of trained models",
        description="Evaluate trained checkpoints on a split: retrieval (TMR protocols: all, strict, batches of "
        "32, unseen texts), action recognition (top-1/top-5/top-1-norm), laterality; with --baseline, the "
        "supervised GCN classifier on the same windows. Several --model give mean ± std over seeds.")
    e.add_argument("--model", required=True, action="append", help="checkpoint file or run folder (repeatable)")
    e.add_argument("--data", help="dataset cache (default: the one the model was trained on)")
    e.add_argument("--split", default="test", help="split to evaluate")
    e.add_argument("--baseline", help="classifier checkpoint (optim.task=classifier) to compare against")
    e.add_argument("--out", required=True, type=Path, help="report folder (report.json, report.md, plots)")
    e.add_argument("--source", dest="sources", action="append", default=[], metavar="NAME",
                   help="also recognize this source's clips with its own labels (repeatable): zero-shot on all "
                   "its clips when the model never saw it (leave-one-source-out), else its held-out split; with "
                   "laterality on its side-named clips")
    e.add_argument("--robustness", action="store_true", help="with --source: also 15 joints, upper body, 15 fps, "
                   "jitter and a tilted camera")
    e.add_argument("--limit", type=int, default=None, help="with --source: at most N clips per source, evenly "
                   "spread (quicker)")
    e.set_defaults(func=run_evaluate)


def run_train(args: argparse.Namespace) -> int:
    from motion_text_node.outputs import check_output_dir, writing
    from motion_text_node.train.config import load_config
    from motion_text_node.train.trainer import Trainer

    check_output_dir(args.out, "--out")
    config = load_config(args.config, args.overrides)
    with writing(args.out, "the run folder"):  # the trainer writes into it; a folder that cannot be made is one line
        args.out.mkdir(parents=True, exist_ok=True)
    row = Trainer(config, args.out, resume=args.resume, progress=not args.no_progress).run()
    print(f"done: {args.out}/best.pt (last epoch: {row})")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from motion_text_node.train.evaluate import evaluate, format_report

    report = evaluate(args.model, split=args.split, out_dir=args.out, data=args.data, baseline=args.baseline,
                      sources=args.sources, robust=args.robustness, limit=args.limit)
    print(format_report(report))
    print(f"wrote {args.out}/report.json, report.md and plots")
    return 0
