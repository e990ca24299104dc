"""`motion-text bench`: latency and scaling tables (printed as Markdown, optionally saved)."""

from __future__ import annotations

import argparse
from pathlib import Path

from motion_text_node.paths import models_dir

SUITES = ("encoders", "library", "intake", "nodes", "fuzz")
EXPERIMENTS = ("retargeting", "captions")  # long (training, or all labelled data): run only when asked for


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``bench``."""
    b = sub.add_parser("bench", help="latency/throughput benchmarks, printed as tables",
                       description="Measure on this machine and print Markdown tables with ratios against a "
                       "baseline measured in the same run: motion/text encoder latency (ONNX Runtime vs PyTorch), "
                       "library search scaling (exact vs IVF index), SkeletonArray intake (wire decoding vs rclpy), "
                       "node end-to-end latency and sustained tracks, "
                       "fuzzing of every input path.")
    b.add_argument("--only", choices=SUITES + EXPERIMENTS, action="append",
                   help="run only these suites (repeatable); 'retargeting' trains two small models (minutes); "
                   "'captions' measures the kinematic caption rules on every labelled clip (benchmarks/captions.md)")
    b.add_argument("--model", type=Path, default=models_dir(), help="model folder")
    b.add_argument("--checkpoint", type=Path, help="torch checkpoint for the PyTorch baseline "
                   "(default: MODEL/../runs/cmu/best.pt when present)")
    b.add_argument("--threads", type=int, default=1, help="inference threads")
    b.add_argument("--library-sizes", default="1000,10000,100000,1000000", help="comma-separated sizes")
    b.add_argument("--fuzz-examples", type=int, default=10_000, help="generated inputs for the fuzz suite")
    b.add_argument("--out", type=Path, help="also write the tables to this Markdown file")
    b.set_defaults(func=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    from motion_text_node.bench.table import machine

    suites = args.only or list(SUITES)
    tables = [f"Measured {machine()}."]
    if "encoders" in suites:
        from motion_text_node.bench.runtime import motion_encoder_table, text_encoder_table

        ckpt = args.checkpoint or (Path(args.model).parent / "runs" / "cmu" / "best.pt")
        tables.append(motion_encoder_table(args.model, args.threads, ckpt if ckpt.is_file() else None))
        print(tables[-1] + "\n", flush=True)
        tables.append(text_encoder_table(args.model, args.threads))
        print(tables[-1] + "\n", flush=True)
    if "library" in suites:
        from motion_text_node.bench.runtime import library_search_table

        sizes = tuple(int(s) for s in args.library_sizes.split(",") if s)
        tables.append(library_search_table(sizes))
        print(tables[-1] + "\n", flush=True)
    if "intake" in suites:
        from motion_text_node.bench.intake import intake_table, stage_table

        tables.append(intake_table(args.model))
        print(tables[-1] + "\n", flush=True)
        tables.append(stage_table(args.model, threads=args.threads))
        print(tables[-1] + "\n", flush=True)
    if "nodes" in suites:
        from motion_text_node.bench.nodes import node_tables

        for t in node_tables(args.model, args.threads):
            tables.append(t)
            print(t + "\n", flush=True)
    if "fuzz" in suites:
        from motion_text_node.bench.fuzz import fuzz_table

        tables.append(fuzz_table(args.fuzz_examples))
        print(tables[-1] + "\n", flush=True)
        from motion_text_node.bench.fuzz_nodes import node_fuzz_table

        tables.append(node_fuzz_table(args.model, max(args.fuzz_examples // 10, 1)))
        print(tables[-1] + "\n", flush=True)
    if "retargeting" in suites:
        from motion_text_node.bench.retargeting import retargeting_table

        tables.append(retargeting_table(Path("runs/retargeting")))
        print(tables[-1] + "\n", flush=True)
    if "captions" in suites:
        from motion_text_node.bench.captions import captions_table

        tables.append(captions_table())
        print(tables[-1] + "\n", flush=True)
    if args.out:
        args.out.write_text("\n\n".join(tables) + "\n")
        print(f"wrote {args.out}")
    return 0
