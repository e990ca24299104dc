"""`motion-text library | recognize | retrieve`: what runs on an exported ONNX model folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from motion_text_node.errors import UserError
from motion_text_node.outputs import check_output_file, writing
from motion_text_node.paths import models_dir


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``library build|info``, ``recognize``, ``retrieve``."""
    lib = sub.add_parser("library", help="build or inspect a motion library for retrieval")
    lsub = lib.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    b = lsub.add_parser("build", help="embed the clips of a dataset cache (or .bvh/.npz files) into a library",
                        description="Embed reference motions with the model's motion encoder and store ids, "
                        "descriptions, canonical positions and embeddings in one .npz that loads fast.")
    b.add_argument("--data", required=True, nargs="+", help="dataset cache folder, or .bvh/.npz files")
    b.add_argument("--model", type=Path, default=models_dir(), help="model folder")
    b.add_argument("--split", help="only this split of the cache (default: all clips)")
    b.add_argument("--out", type=Path, help="library file ending in .npz (default: MODEL/motion_library.npz, and "
                   "model.json names it)")
    b.add_argument("--no-motion", action="store_true", help="store embeddings only (no positions)")
    b.add_argument("--motion-seconds", type=float, default=None, metavar="S",
                   help="store at most S seconds of each clip's positions, from its middle (the embedding still "
                   "covers the whole clip); keeps a library of hours of motion small")
    b.set_defaults(func=run_library_build)
    i = lsub.add_parser("info", help="entries of a library")
    i.add_argument("library", type=Path)
    i.set_defaults(func=run_library_info)

    r = sub.add_parser("recognize", help="recognize actions in a motion file (ONNX runtime only)",
                       description="Per-window and whole-clip action labels of a .bvh or joint-position .npz "
                       "file (any supported skeleton, y-up or z-up), by nearest label text.")
    r.add_argument("path", help=".bvh or .npz motion file")
    r.add_argument("--model", type=Path, default=models_dir(), help="model folder")
    r.add_argument("--labels", help="labels: comma-separated list or a text/YAML file (open vocabulary)")
    r.add_argument("--top-k", type=int, default=5)
    r.add_argument("--up-axis", help="vertical axis of the file (default: y for .bvh, the file's own for .npz)")
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.add_argument("--providers", default="auto", choices=["auto", "cpu", "cuda"])
    r.add_argument("--precision", default="auto", choices=["auto", "fp32", "int8"],
                   help="motion encoder: auto (int8 on CPU when the model has one), fp32, int8")
    r.set_defaults(func=run_recognize)

    q = sub.add_parser("retrieve", help="find library motions for a text command (ONNX runtime only)",
                       description="Text-to-motion retrieval: the library motions closest to TEXT.")
    q.add_argument("text", help='e.g. "wave with the left hand"')
    q.add_argument("--model", type=Path, default=models_dir(), help="model folder")
    q.add_argument("--library", type=Path, help="library file (default: the model folder's)")
    q.add_argument("--top-k", type=int, default=5)
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.add_argument("--save-best", type=Path, help="render the best motion to this .gif")
    q.add_argument("--providers", default="auto", choices=["auto", "cpu", "cuda"])
    q.set_defaults(func=run_retrieve)


def _clips_from(inputs: list[str], split: str | None):
    from motion_text_node.data.cache import DatasetCache
    from motion_text_node.data.files import load_any_clip

    clips = []
    for item in inputs:
        if Path(item).is_dir():
            clips += DatasetCache(item).clips(split)
        else:
            clips.append(load_any_clip(item, None))
    return clips


def library_out(out: Path | None, model: Path) -> Path:
    """The file ``library build`` writes: ``out``, or the model folder's ``motion_library.npz``. UserError (before
    any work) for a name numpy would change (it appends ``.npz`` to any other name) or a folder."""
    if out is None:
        return Path(model) / "motion_library.npz"
    if not out.name.endswith(".npz"):
        raise UserError(f"--out {out}: a library file name must end in .npz (numpy would write {out.name}.npz)")
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name ending in .npz")
    return check_output_file(out, "--out")


def run_library_build(args: argparse.Namespace) -> int:
    from motion_text_node.runtime.engine import MotionTextRuntime, build_library

    out = library_out(args.out, args.model)
    rt = MotionTextRuntime(args.model, library=None, precision="fp32")  # offline: the reference encoder
    if args.motion_seconds is not None and not args.motion_seconds > 0:
        raise UserError("--motion-seconds must be positive")
    lib = build_library(rt, _clips_from(args.data, args.split), store_motion=not args.no_motion,
                        motion_seconds=args.motion_seconds)
    with writing(out, "the motion library"):
        out = lib.save(out)
    if args.out is None:  # the model folder's default library
        from motion_text_node.runtime.bundle import set_default_library

        with writing(Path(args.model) / "model.json", "the model description"):
            set_default_library(args.model, out)
    print(f"wrote {out}: {len(lib)} motions ({_by_source(lib)})")
    return 0


def _by_source(lib) -> str:
    """'cmu 173 (CMU-mocap), bandai 3076 (CC-BY-NC-4.0)': entries per source with its licence."""
    from collections import Counter

    counts = Counter(zip(lib.sources, lib.licences, strict=True))
    return ", ".join(f"{src or 'unknown source'} {n}" + (f" ({lic})" if lic else "")
                     for (src, lic), n in sorted(counts.items()))


def run_library_info(args: argparse.Namespace) -> int:
    from motion_text_node.runtime.library import MotionLibrary

    lib = MotionLibrary.load(args.library)
    print(f"{args.library}: {len(lib)} motions, embeddings {lib.embeddings.shape[1]}-d, model {lib.model_version}"
          f"; {_by_source(lib)}")
    for i, (cid, desc) in enumerate(zip(lib.ids, lib.descriptions, strict=True)):
        m = lib.motion(i)
        print(f"  {cid:<16} {'' if m is None else f'{len(m) / lib.fps[i]:6.1f}s'}  {desc}")
    return 0


def run_recognize(args: argparse.Namespace) -> int:
    from motion_text_node.data.files import load_any_clip
    from motion_text_node.runtime.engine import MotionTextRuntime
    from motion_text_node.runtime.label_bank import parse_labels

    labels = None if args.labels is None else parse_labels(args.labels)  # --labels "" is an error, not the default
    rt = MotionTextRuntime(args.model, labels=labels, library=None, providers=args.providers,
                           precision=args.precision)
    clip = load_any_clip(args.path, None, args.up_axis)
    result = rt.recognize(clip.motion, args.top_k)
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
        return 0
    print(f"{args.path}: {clip.motion.duration:.1f} s, {len(result.windows)} windows of "
          f"{rt.norm.window_frames / rt.norm.fps:.1f} s")
    for w in result.windows:
        best = ", ".join(f"{lab} {s:.2f}" for lab, s in zip(w.top_labels[:3], w.top_scores[:3], strict=True))
        print(f"  {w.start_s:6.1f}-{w.end_s:6.1f} s  {best}")
    print("whole clip: " + ", ".join(f"{lab} {s:.2f}" for lab, s in zip(result.top_labels, result.top_scores,
                                                                      strict=True)))
    return 0


def run_retrieve(args: argparse.Namespace) -> int:
    from motion_text_node.errors import UserError
    from motion_text_node.runtime.engine import MotionTextRuntime

    if args.save_best:
        check_output_file(args.save_best, "--save-best")  # before the model is loaded
    rt = MotionTextRuntime(args.model, library=args.library or "default", providers=args.providers)
    if rt.library is None:
        raise UserError(f"{args.model}: no motion library (build one with `motion-text library build`)")
    hits = rt.retrieve(args.text, args.top_k)
    if args.json:
        print(json.dumps([{"id": h.clip_id, "description": h.description, "score": h.score, "source": h.source,
                           "licence": h.licence} for h in hits],
                         indent=1))
    else:
        for rank, h in enumerate(hits, 1):
            origin = f"  [{h.source}, {h.licence}]" if h.source else ""
            print(f"{rank:2d}. {h.clip_id:<14} {h.score:6.3f}  {h.description}{origin}")
    if args.save_best and hits:
        from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
        from motion_text_node.skeleton.motion import Motion
        from motion_text_node.viz.skeleton_anim import render_motion

        pos = rt.library.motion(hits[0].index)
        if pos is None:
            raise UserError("the library stores no motions to render (built with --no-motion)")
        render_motion(Motion(pos, CANONICAL_JOINTS, float(rt.library.fps[hits[0].index])), args.save_best,
                      title=f"{args.text} -> {hits[0].clip_id}: {hits[0].description}"[:80])
        print(f"wrote {args.save_best}")
    return 0
