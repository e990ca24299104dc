"""`motion-text bag`: make bags from motion clips; inspect, play and record rosbag2 files (no `ros2` CLI)."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from motion_text_node.errors import UserError

#: Same value as motion_text_node.bag.convert.DEFAULT_START_TIME (not imported: `--help` stays fast).
DEFAULT_START_TIME = 1_700_000_000.0
#: Same value as motion_text_node.bag.recovery.FLUSH_INTERVAL.
FLUSH_INTERVAL = 1.0
SKIP_CORRUPT_HELP = ("skip damaged data (unreadable or undecodable messages), report it and exit 0; without it "
                     "the first damaged data is an error (exit 2)")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except unset (None) and off (False) ones."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or action.default == argparse.SUPPRESS \
                or action.required:
            return action.help or ""
        return super()._get_help_string(action)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``bag convert|info|play|record|reindex|eval``."""
    p = sub.add_parser("bag", help="make bags from motion clips; inspect, play and record rosbag2 files",
                       description="rosbag2 tools built on rosbags (MCAP or sqlite3 storage): turn motion clips into "
                       "a bag that replays like a live skeleton tracker with ground truth, show what a bag holds, "
                       "play it on the ROS 2 graph, record topics.")
    bsub = p.add_subparsers(dest="bag_command", metavar="ACTION", required=True)
    _add_convert(bsub)
    _add_info(bsub)
    _add_play(bsub)
    _add_record(bsub)
    _add_reindex(bsub)
    _add_eval(bsub)


def _add_convert(bsub: argparse._SubParsersAction) -> None:
    c = bsub.add_parser(
        "convert", help="write motion clips as a bag of Skeleton messages with ground-truth labels",
        formatter_class=_Formatter,
        description="Write motion clips as a rosbag2 folder: /skeleton (motion_text_interfaces/msg/Skeleton, "
        "canonical smpl22 joints, metres, z up, one message per frame at the clip's fps) and /ground_truth "
        "(motion_text_interfaces/msg/ActionLabel, one per clip at its first frame, window = the clip's span). "
        "Clips are concatenated into one continuous stream per track; ground_truth.json in the bag folder lists "
        "the segments (start, end, label, text, clip_id).")
    c.add_argument("inputs", nargs="+", metavar="INPUT",
                   help=".bvh / .npz files and dataset cache folders (all their clips, or --split / --ids)")
    c.add_argument("--out", required=True, type=Path, help="bag folder to create")
    c.add_argument("--storage", default="mcap", choices=["mcap", "sqlite3"], help="rosbag2 storage plugin")
    c.add_argument("--split", choices=["train", "val", "test"], help="cache inputs: only clips of this split")
    c.add_argument("--ids", help="cache inputs: only these clip ids, comma-separated, in this order (e.g. 14_37,12_01)")
    c.add_argument("--limit", type=int, help="at most this many clips")
    c.add_argument("--gap", type=float, default=0.0, help="seconds without messages between consecutive clips")
    c.add_argument("--tracks", type=int, default=1,
                   help="simultaneous tracks person_1..person_N (track k plays the clips rotated by k)")
    c.add_argument("--track-offset", type=float, default=0.0, help="seconds each further track starts later")
    c.add_argument("--track-id", help="track id of the single track (default person_1)")
    c.add_argument("--start-time", type=float, default=DEFAULT_START_TIME,
                   help="stamp of the first frame, seconds since the epoch (fixed, so bags are reproducible)")
    c.add_argument("--frame-id", default="body", help="header.frame_id of the messages")
    c.add_argument("--skeleton-array", action="store_true",
                   help="write /skeleton_array (SkeletonArray: every track's frame of one stamp in one message, as "
                        "a multi-person body tracker publishes) instead of /skeleton; the recognition node takes "
                        "it with input_type:=skeleton_array (bag eval replays /skeleton bags only)")
    c.add_argument("--up-axis", choices=["y", "z", "-y"], help="vertical axis of .bvh / .npz inputs")
    c.add_argument("--overwrite", action="store_true",
                   help="replace OUT when it is an existing bag folder (only once the new bag is complete)")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.set_defaults(func=run_convert)


def _add_info(bsub: argparse._SubParsersAction) -> None:
    i = bsub.add_parser("info", help="files, storage, duration, topics and counts of a bag",
                        description="Show what a rosbag2 folder holds, like `ros2 bag info`.")
    i.add_argument("bag", type=Path, help="bag folder (with metadata.yaml)")
    i.set_defaults(func=run_info)


def _add_play(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser(
        "play", help="publish a bag's messages at their recorded timing",
        formatter_class=_Formatter,
        description="Publish a bag's messages with rclpy at their recorded timing (reliable QoS), like "
        "`ros2 bag play`. Ctrl-C stops and prints what was published.")
    p.add_argument("bag", type=Path, help="bag folder (with metadata.yaml)")
    p.add_argument("--rate", type=float, default=1.0, help="playback speed factor")
    p.add_argument("--loop", action="store_true", help="start over at the end until stopped")
    p.add_argument("--start-offset", type=float, default=0.0, help="skip the first seconds of the bag")
    p.add_argument("--remap", nargs="+", action="extend", metavar="OLD:=NEW",
                   help="publish topic OLD as NEW (repeatable)")
    p.add_argument("--topics", nargs="+", metavar="TOPIC", help="play only these topics (default: all)")
    p.add_argument("--restamp", action="store_true",
                   help="map every message time (header.stamp, label windows) onto the current clock, "
                   "so live nodes see current times")
    p.add_argument("--clock", action="store_true", help="also publish /clock with the playback time")
    p.add_argument("--clock-hz", type=float, default=100.0, help="with --clock: /clock messages per second")
    p.add_argument("--qos-depth", type=int, default=100, help="KEEP_LAST depth of the reliable publishers")
    p.add_argument("--wait-for-subscribers", type=int, default=0, metavar="N",
                   help="first wait until some played topic has N subscribers")
    p.add_argument("--wait-timeout", type=float, default=30.0,
                   help="seconds --wait-for-subscribers waits before giving up (error)")
    p.add_argument("--ack-timeout", type=float, default=5.0,
                   help="at the end, seconds to wait for reliable subscribers to acknowledge every message "
                        "(like ros2 bag play --wait-for-all-acked; 0 = do not wait)")
    p.add_argument("--skip-corrupt", action="store_true", help=SKIP_CORRUPT_HELP)
    p.set_defaults(func=run_play)


def _add_record(bsub: argparse._SubParsersAction) -> None:
    r = bsub.add_parser(
        "record", help="record topics into a bag",
        formatter_class=_Formatter,
        description="Record topics of the ROS 2 graph into a new bag folder, like `ros2 bag record`. Types "
        "are discovered from the graph (the topics must appear within --discovery-timeout); messages are "
        "written as received (CDR) with receive timestamps and put on disk within --flush-interval. Stops on "
        "Ctrl-C / SIGTERM, --duration or --max-messages, then writes metadata.yaml; after a kill or a full disk, "
        "`motion-text bag reindex OUT` makes what reached the disk a readable bag.")
    r.add_argument("topics", nargs="+", metavar="TOPIC", help="topics to record")
    r.add_argument("--out", required=True, type=Path, help="bag folder to create")
    r.add_argument("--storage", default="mcap", choices=["mcap", "sqlite3"], help="rosbag2 storage plugin")
    r.add_argument("--duration", type=float, help="stop after this many seconds")
    r.add_argument("--max-messages", type=int, help="stop after this many messages (all topics together)")
    r.add_argument("--discovery-timeout", type=float, default=10.0,
                   help="seconds to wait for the topics to appear on the graph")
    r.add_argument("--qos-depth", type=int, default=1000, help="KEEP_LAST depth of the subscriptions")
    r.add_argument("--flush-interval", type=float, default=FLUSH_INTERVAL,
                   help="seconds after which written messages are on disk at the latest (what a kill can lose)")
    r.set_defaults(func=run_record)


def _add_reindex(bsub: argparse._SubParsersAction) -> None:
    r = bsub.add_parser(
        "reindex", help="rebuild a bag's metadata.yaml from its .mcap / .db3 files",
        description="Rebuild metadata.yaml of a bag folder from the .mcap or .db3 files in it, like "
        "`ros2 bag reindex`: for a recording that was killed or stopped by a full disk, or a bag whose "
        "metadata.yaml was lost. An MCAP file without its end (or with a damaged index) is rewritten from the "
        "records that can still be read. Not for a bag that is still being recorded.")
    r.add_argument("bag", type=Path, help="bag folder")
    r.set_defaults(func=run_reindex)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt meanwhile, so play/record stop cleanly (bag closed, stats printed)."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_convert(args: argparse.Namespace) -> int:
    from motion_text_node.bag.convert import convert_to_bag

    ids = [i.strip() for i in args.ids.split(",") if i.strip()] if args.ids is not None else None
    if ids is not None and not ids:
        raise UserError("--ids is empty: give comma-separated clip ids, e.g. --ids 14_37,12_01")
    result = convert_to_bag(
        args.inputs, args.out, storage=args.storage, split=args.split, ids=ids, limit=args.limit, gap=args.gap,
        tracks=args.tracks, track_id=args.track_id, track_offset=args.track_offset,
        start_time=args.start_time, frame_id=args.frame_id,
        up_axis=args.up_axis, overwrite=args.overwrite, progress=not args.no_progress,
        skeleton_array=args.skeleton_array)
    counts = ", ".join(f"{topic}: {n}" for topic, n in result.counts.items())
    tracks = len({s.track_id for s in result.segments})
    print(f"wrote {result.path} ({result.storage}): {len(result.segments)} clip segments on {tracks} "
          f"track{'s' if tracks != 1 else ''}, {result.duration:.2f} s, {counts}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from motion_text_node.bag.info import bag_info, format_bag_info

    print(format_bag_info(bag_info(args.bag)))
    return 0


def run_play(args: argparse.Namespace) -> int:
    from motion_text_node.bag.play import BagPlayer, format_play_stats, parse_remaps

    remap = parse_remaps(args.remap)
    with _sigterm_as_interrupt():
        with BagPlayer(args.bag, rate=args.rate, loop=args.loop, start_offset=args.start_offset, remap=remap,
                       topics=args.topics, restamp=args.restamp, clock=args.clock, clock_hz=args.clock_hz,
                       qos_depth=args.qos_depth, wait_for_subscribers=args.wait_for_subscribers,
                       wait_timeout=args.wait_timeout, ack_timeout=args.ack_timeout,
                       skip_corrupt=args.skip_corrupt) as player:
            outs = ", ".join(f"{t} -> {o}" if t != o else t for t, o in player.output_topics.items())
            print(f"playing {args.bag} at {args.rate:g}x: {outs}", flush=True)
            stats = player.play()
    print(format_play_stats(stats))
    if stats.error:
        raise UserError(stats.error)
    return 0


def run_record(args: argparse.Namespace) -> int:
    from motion_text_node.bag.record import BagRecorder, check_seconds, format_record_stats

    if args.max_messages is not None and args.max_messages < 1:
        raise UserError(f"--max-messages must be at least 1, got {args.max_messages}")
    check_seconds("--duration", args.duration, positive=True)  # before any waiting (BagRecorder checks the others)
    recorder = BagRecorder(args.topics, args.out, storage=args.storage, qos_depth=args.qos_depth,
                           discovery_timeout=args.discovery_timeout, flush_interval=args.flush_interval)
    with _sigterm_as_interrupt():
        try:
            recorder.start()
        except KeyboardInterrupt:
            print("interrupted before recording started; no bag written")
            return 130
        print(f"recording {', '.join(recorder.topics)} to {args.out} (Ctrl-C stops)", flush=True)
        stats = recorder.spin(duration=args.duration, max_messages=args.max_messages)
    print(format_record_stats(stats))
    return 0


def run_reindex(args: argparse.Namespace) -> int:
    from motion_text_node.bag.recovery import format_reindex, reindex_bag

    print(format_reindex(reindex_bag(args.bag)))
    return 0


def _add_eval(bsub: argparse._SubParsersAction) -> None:
    e = bsub.add_parser(
        "eval", help="replay a converted bag through the live recognition node and score it",
        description="Start action_recognition_node (a real process), play BAG's /skeleton into it, record its "
        "ActionLabels and score them against the bag's ground truth: per-window top-1/top-5, per-class accuracy, "
        "detection delay after a label change, end-to-end latency, dropped messages. The same frames also run "
        "straight through the runtime (offline), so the report shows what transport changes.")
    e.add_argument("bag", type=Path, help="bag written by `motion-text bag convert`")
    e.add_argument("--model", type=Path, default=None, help="model folder (default: the shipped models/)")
    e.add_argument("--labels", help="labels (comma list or file); default: the model's labels + the bag's")
    e.add_argument("--offline", action="store_true", help="offline evaluation only (no node, no DDS)")
    e.add_argument("--rate", type=float, default=1.0, help="playback speed factor")
    e.add_argument("--kill-at", type=float, help="fault test: SIGKILL the node this many seconds into playback "
                   "and restart it; the report shows the gap")
    e.add_argument("--precision", default="auto", choices=["auto", "fp32", "int8"],
                   help="motion encoder: auto (int8 when the model has one), fp32, int8")
    e.add_argument("--skip-corrupt", action="store_true", help=SKIP_CORRUPT_HELP)
    e.add_argument("--json", type=Path, help="also write the JSON report here")
    e.add_argument("--out", type=Path, default=Path("reports/bag_eval"), help="report folder (report.md, "
                   "report.json, timeline.png)")
    e.set_defaults(func=_run_eval)


def _run_eval(args: argparse.Namespace) -> int:
    import json

    from motion_text_node.bag.evaluate import evaluate_bag, format_report
    from motion_text_node.outputs import check_output_dir, check_output_file, writing
    from motion_text_node.paths import models_dir
    from motion_text_node.runtime.label_bank import parse_labels

    check_output_dir(args.out, "--out")  # both before the evaluation runs
    if args.json:
        check_output_file(args.json, "--json")
    labels = parse_labels(args.labels) if args.labels else None
    report = evaluate_bag(args.bag, args.model or models_dir(), offline_only=args.offline, labels=labels,
                          out_dir=args.out, rate=args.rate, kill_at=args.kill_at, precision=args.precision,
                          skip_corrupt=args.skip_corrupt)
    print(format_report(report))
    if args.json:
        with writing(args.json, "the JSON report"):
            args.json.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}/report.md, report.json, timeline.png")
    return 0
