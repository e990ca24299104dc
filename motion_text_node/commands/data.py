"""`motion-text data`: build a dataset cache, show what it holds, render a clip."""

from __future__ import annotations

import argparse
from pathlib import Path

from motion_text_node.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``data build|info|show``."""
    p = sub.add_parser("data", help="build dataset caches, inspect them, render clips",
                       description="Preprocess motion data into a compact cache, inspect it, render clips.")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    b = dsub.add_parser("build", help="preprocess a source into a dataset cache",
                        description="Preprocess a source once into a cache folder (canonical SMPL-22 joints, "
                        "metres, z up, fixed fps) with texts, labels, subjects and a subject split.",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    b.add_argument("--source", required=True, metavar="SOURCE",
                   help="all (every source in the shared folder, merged), one of " + ", ".join(source_names())
                   + " (or several, comma-separated); bvh-dir / npz-dir: a folder of files (--path); "
                   "amass-babel: AMASS npz files (--path) with BABEL labels (--babel-dir, --body-model-dir)")
    b.add_argument("--out", required=True, type=Path, help="cache folder to write")
    b.add_argument("--path", type=Path, help="input folder (bvh-dir, npz-dir) or AMASS root (amass-babel)")
    b.add_argument("--fps", type=float, default=30.0, help="frame rate of the cached motions")
    b.add_argument("--bandai-limit", type=int, default=None, metavar="N",
                   help="bandai: only N files, evenly spread (a quick subset)")
    b.add_argument("--include-uninformative", action="store_true",
                   help="cmu: keep trials whose description says nothing ('clean', 'Unknown')")
    b.add_argument("--up-axis", default="y", choices=["y", "z", "-y"], help="bvh-dir: vertical axis of the files")
    b.add_argument("--babel-dir", type=Path, help="amass-babel: folder with BABEL train.json / val.json")
    b.add_argument("--body-model-dir", type=Path, help="amass-babel: SMPL-H body models (male/female/neutral)")
    b.add_argument("--babel-subset", default="babel60", choices=["babel60", "babel120", "all"],
                   help="amass-babel: action classes to keep")
    b.add_argument("--label-map", type=Path, help="amass-babel: action_label_2_idx.json of the subset")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=run_build)

    i = dsub.add_parser("info", help="summary of a dataset cache")
    i.add_argument("cache", type=Path, help="cache folder")
    i.add_argument("--list", action="store_true", help="also list every clip with its split and text")
    i.set_defaults(func=run_info)

    s = dsub.add_parser("show", help="render a clip as a stick-figure animation (.gif or .mp4)",
                        description="Render a clip so a person can see what it contains. CLIP is a clip id "
                        "of the cache given with --data, or a .bvh / .npz file.")
    s.add_argument("clip", help="clip id (with --data) or a .bvh / .npz file")
    s.add_argument("--data", type=Path, help="dataset cache folder holding the clip id")
    s.add_argument("--out", required=True, type=Path, help="output .gif or .mp4")
    s.add_argument("--max-seconds", type=float, default=20.0, help="render at most this many seconds")
    s.add_argument("--up-axis", default=None, help="vertical axis of a .bvh/.npz file (default: y for bvh)")
    s.set_defaults(func=run_show)


def source_names() -> list[str]:
    """Names ``--source`` accepts besides ``all`` and the folder sources."""
    from motion_text_node.data.sources import SOURCES

    return list(SOURCES)


def run_build(args: argparse.Namespace) -> int:
    from motion_text_node.data.build import FOLDER_SOURCES, build_cache
    from motion_text_node.data.cache import format_summary
    from motion_text_node.outputs import check_output_dir

    check_output_dir(args.out, "--out")  # before the sources are read
    options: dict = {}
    if args.source not in FOLDER_SOURCES:
        options["informative_only"] = not args.include_uninformative
        if args.bandai_limit is not None:
            if args.bandai_limit < 1:
                raise UserError("--bandai-limit must be at least 1")
            options["limit"] = args.bandai_limit
    elif args.source == "bvh-dir":
        options["up_axis"] = args.up_axis
    elif args.source == "amass-babel":
        options.update(babel_dir=args.babel_dir, body_model_dir=args.body_model_dir, subset=args.babel_subset,
                       label_map=args.label_map)
    summary = build_cache(args.source, args.out, fps=args.fps, path=args.path, progress=not args.no_progress,
                          **options)
    print(f"wrote {args.out}")
    print(format_summary(summary))
    return 0


def run_info(args: argparse.Namespace) -> int:
    from motion_text_node.data.cache import DatasetCache, format_summary
    from motion_text_node.data.sources import is_non_commercial

    cache = DatasetCache(args.cache)
    meta = cache.meta
    try:  # the summary and sources of index.json are read only here
        summary = format_summary(meta["summary"])
        sources = [(name, info["licence"], info["attribution"]) for name, info in meta.get("sources", {}).items()]
    except (KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"{args.cache}: corrupt dataset cache (index.json meta: no readable summary or sources, "
                        f"{type(exc).__name__}: {exc})") from None
    print(f"{args.cache}: source {meta.get('source')}, {meta.get('fps')} fps, built {meta.get('created')}")
    print(summary)
    for name, licence, attribution in sources:
        nc = " (NON-COMMERCIAL: a model trained on it is too)" if is_non_commercial(licence) else ""
        print(f"{name}: licence {licence}{nc}; {attribution}")
    if meta.get("acknowledgement"):
        print(f"\n{meta['acknowledgement']}")
    if args.list:
        for e in cache.entries:
            print(f"{e['id']:<40} {e.get('source', ''):<15} {e['split']:<5} {e['length'] / e['fps']:6.1f}s  "
                  f"{(e['texts'] or [''])[0]}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from motion_text_node.data.files import load_any_clip
    from motion_text_node.outputs import check_output_file
    from motion_text_node.viz.skeleton_anim import render_motion

    check_output_file(args.out, "--out")
    clip = load_any_clip(args.clip, args.data, args.up_axis)
    title = f"{clip.clip_id}: {clip.text}" if clip.text else clip.clip_id
    out = render_motion(clip.motion, args.out, title=title[:80], max_seconds=args.max_seconds)
    print(f"wrote {out}")
    return 0
