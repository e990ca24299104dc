"""Replay evaluation: play a converted bag into the live recognition node (a real process over DDS), record
its ActionLabels, and score them against the bag's ground truth; ``offline`` runs the same frames straight
through the runtime (no DDS), so the report shows what transport changes.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motion_text_node.bag.convert import GroundTruthSegment, read_ground_truth
from motion_text_node.bag.info import open_reader
from motion_text_node.bag.integrity import BagDamage, CorruptBagError, checked_messages
from motion_text_node.bag.types import SKELETON_TYPE, ensure_type
from motion_text_node.errors import UserError
from motion_text_node.metrics import recognition_metrics
from motion_text_node.outputs import writing
from motion_text_node.ros.conversions import skeleton_msg_to_frame, stamp_to_sec
from motion_text_node.ros.processes import node_command, start_node, stop_node

SKELETON_TOPIC = "/skeleton"


@dataclass
class Prediction:
    """One ActionLabel as the evaluation sees it (times in bag seconds)."""

    track_id: str
    window_start: float
    window_end: float
    label: str
    top_labels: list[str]
    top_scores: list[float] = field(default_factory=list)  # as published beside top_labels
    received: float = 0.0  # wall time of receipt (online)
    latency_ms: float = float("nan")


def read_skeleton_frames(bag: str | Path, *, skip_corrupt: bool = False, damage: BagDamage | None = None):
    """Every /skeleton message of a bag as ``SkeletonFrame`` (in stamp order per track).

    Damaged data (unreadable, undecodable or malformed messages, messages missing against the metadata) raises
    ``CorruptBagError``, or with ``skip_corrupt`` is left out and counted in ``damage``.
    """
    store = ensure_type(SKELETON_TYPE)
    damage = damage if damage is not None else BagDamage()
    frames = []
    with open_reader(bag) as reader:
        damage.bag, damage.start_ns = str(bag), reader.start_time if reader.message_count else 0
        conns = [c for c in reader.connections if c.topic == SKELETON_TOPIC]
        if not conns:
            raise UserError(f"{bag}: no {SKELETON_TOPIC} topic")
        for conn, t_ns, _, msg in checked_messages(reader, conns, damage=damage, store=store,
                                                   skip_corrupt=skip_corrupt):
            try:
                frames.append(skeleton_msg_to_frame(msg))
            except UserError as exc:  # decodes, but is no usable skeleton
                damage.add_undecodable(conn.topic, t_ns, f"malformed: {exc}")
                if not skip_corrupt:
                    raise CorruptBagError(damage.describe()) from None
    return frames


def truth_at(segments: list[GroundTruthSegment], track: str, t: float) -> str:
    """Ground-truth label of ``track`` at bag time ``t`` ("" outside every segment)."""
    for s in segments:
        if s.track_id == track and s.start - 1e-6 <= t <= s.end + 1e-6:
            return s.label
    return ""


def published_scores(rows: list[tuple[Prediction, str]], classes: list[str],
                     max_k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(N, C + max_k) class scores and (N,) true class indices for ``metrics.recognition_metrics`` from what the
    node published: each prediction's top labels with their scores (their ranks when it published no scores). A
    class it did not publish scores below every published one, and an unpublished true class lowest of all, below
    ``max_k`` extra columns that stand for the node's other labels: an unpublished truth is never credited, at any
    top-k up to ``max_k``."""
    index = {c: i for i, c in enumerate(classes)}
    scores = np.empty((len(rows), len(classes) + max_k))
    truth = np.empty(len(rows), np.int64)
    for n, (p, t) in enumerate(rows):
        values = p.top_scores if len(p.top_scores) == len(p.top_labels) else [-float(r) for r in
                                                                              range(len(p.top_labels))]
        published = {}
        for label, value in zip(p.top_labels, values, strict=True):
            if np.isfinite(value):
                published.setdefault(label, float(value))
        floor = min(published.values(), default=0.0) - 1.0
        scores[n] = floor
        for label, value in published.items():
            scores[n, index[label]] = value
        truth[n] = index[t]
        if t not in published:
            scores[n, truth[n]] = floor - 1.0
    return scores, truth


def score(predictions: list[Prediction], segments: list[GroundTruthSegment]) -> dict:
    """Per-window top-1/top-5 and per-class accuracy (truth at the window's end), detection delay."""
    rows = [(p, truth_at(segments, p.track_id, p.window_end)) for p in predictions]
    rows = [(p, t) for p, t in rows if t]
    out: dict = {"windows": len(rows)}
    if not rows:
        return out
    classes = sorted({t for _, t in rows} | {lab for p, _ in rows for lab in p.top_labels})
    scores, truth = published_scores(rows, classes, max_k=5)
    m = recognition_metrics(scores, truth, ks=(1, 5))  # ties between published scores count as expectations
    out["top1"], out["top5"] = m["top1"], m["top5"]
    out["label_accuracy"] = 100.0 * float(np.mean([p.label == t for p, t in rows]))  # smoothed, hysteresis
    out["per_class"] = {classes[i]: acc for i, acc in m["per_class"].items()}
    out["top1_norm"] = m["top1_norm"]
    delays = []
    for track in {s.track_id for s in segments}:
        segs = sorted((s for s in segments if s.track_id == track), key=lambda s: s.start)
        preds = sorted((p for p in predictions if p.track_id == track), key=lambda p: p.window_end)
        for prev, seg in zip(segs, segs[1:], strict=False):
            if seg.label == prev.label:
                continue
            hit = next((p.window_end for p in preds if seg.start <= p.window_end <= seg.end and p.label == seg.label),
                       None)
            delays.append(np.nan if hit is None else hit - seg.start)
    if delays:
        d = np.array(delays)
        out["label_changes"] = len(d)
        out["detected_changes"] = int(np.isfinite(d).sum())
        out["detection_delay_s_median"] = float(np.nanmedian(d)) if np.isfinite(d).any() else None
    lat = np.array([p.latency_ms for p in predictions if np.isfinite(p.latency_ms)])
    if len(lat):
        out["latency_ms"] = {q: float(np.percentile(lat, int(q[1:]))) for q in ("p50", "p95", "p99")}
    return out


def run_offline(frames, model_dir: Path, labels: list[str] | None, config=None,
                precision: str = "auto") -> list[Prediction]:
    """The same recognition straight through the runtime: frames in stamp order, inference after each."""
    from motion_text_node.runtime.engine import MotionTextRuntime
    from motion_text_node.runtime.stream import StreamRecognizer

    runtime = MotionTextRuntime(model_dir, labels=labels, library=None, providers="cpu", precision=precision)
    rec = StreamRecognizer(runtime, config)
    preds = []
    for f in sorted(frames, key=lambda f: f.stamp):
        rec.add_frame(f, arrival=f.stamp)
        for r in rec.run_due():
            preds.append(Prediction(r.track_id, r.window_start, r.window_end, r.label, r.top_labels,
                                    [float(x) for x in r.top_scores]))
    return preds


class _LabelListener:
    """A listener node on its own context: the /skeleton stamps it saw (wall time of receipt) and the labels the
    recognition node published, as ``Prediction`` with their latency from the skeleton that closed the window."""

    def __init__(self, ctx) -> None:
        import rclpy
        from motion_text_interfaces.msg import ActionLabel, Skeleton
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        self.preds: list[Prediction] = []
        self.seen: dict[tuple[str, float], float] = {}
        self.node = rclpy.create_node("bag_eval_listener", context=ctx)
        self.executor = SingleThreadedExecutor(context=ctx)
        self.executor.add_node(self.node)
        qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
        self.node.create_subscription(Skeleton, SKELETON_TOPIC, self._on_skeleton, qos)
        self.node.create_subscription(ActionLabel, "/actions", self._on_label, qos)

    def _on_skeleton(self, msg) -> None:
        self.seen[(msg.track_id, round(stamp_to_sec(msg.header.stamp), 6))] = time.time()

    def _on_label(self, msg) -> None:
        end = stamp_to_sec(msg.window_end)
        now = time.time()
        sent = self.seen.get((msg.track_id, round(end, 6)))
        self.preds.append(Prediction(msg.track_id, stamp_to_sec(msg.window_start), end, msg.label,
                                     list(msg.top_labels), [float(x) for x in msg.top_scores], now,
                                     (now - sent) * 1000.0 if sent else float("nan")))

    def spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)

    def close(self) -> None:
        self.node.destroy_node()


class _NodeKiller:
    """The fault injector: SIGKILL the running node process and start a new one at once (on its own thread, so
    the listener keeps spinning); records when it died and when the new one was ready."""

    def __init__(self, cmd: list[str], procs: list[subprocess.Popen], startup_timeout: float) -> None:
        self.cmd, self.procs, self.startup_timeout = cmd, procs, startup_timeout
        self.fault: dict = {}
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._kill_and_restart, daemon=True)
        self.thread.start()

    def _kill_and_restart(self) -> None:
        self.procs[0].kill()  # SIGKILL: no clean shutdown
        self.procs[0].wait(10)
        self.fault["killed"] = time.monotonic()
        new, ready = start_node(self.cmd, self.startup_timeout)
        self.fault["restart_to_ready_s"] = ready - self.fault["killed"]
        self.fault["ready_wall"] = time.time()
        self.procs.append(new)

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join(self.startup_timeout)

    def report(self, preds: list[Prediction], kill_at: float) -> dict:
        """The restart's entries of the transport dict ({} when the node was not restarted)."""
        if "ready_wall" not in self.fault:
            return {}
        recv = sorted(p.received for p in preds)
        gaps = np.diff(recv) if len(recv) > 1 else np.array([0.0])
        after = [r for r in recv if r >= self.fault["ready_wall"]]
        return {"node_killed_at_s": round(kill_at, 2), "restart_to_ready_s": round(self.fault["restart_to_ready_s"], 2),
                "largest_label_gap_s": round(float(gaps.max()), 2),
                "ready_to_first_label_s": round(after[0] - self.fault["ready_wall"], 2) if after else None}


def _transport_stats(stats, received: int) -> dict:
    """What the player published against what the listener received, and damaged data skipped."""
    published = stats.total if stats else 0
    transport = {"published": published, "received_by_listener": received,
                 "dropped_before_listener": max(published - received, 0),
                 "max_publish_lateness_ms": 1000.0 * stats.max_lateness if stats else None}
    if stats and stats.damage:
        transport["damaged_skipped"] = stats.damage.skipped
    return transport


def _recognition_command(model_dir: Path, labels: list[str] | None, precision: str,
                         node_args: list[str] | None) -> list[str]:
    """The recognition node as replay runs it: CPU, reliable QoS deep enough for a bag, ``node_args`` last."""
    params: dict[str, object] = {"model_dir": model_dir, "qos_reliability": "reliable", "qos_depth": 200,
                                 "providers": "cpu", "precision": precision}
    if labels:
        params["labels"] = "[" + ",".join(json.dumps(x) for x in labels) + "]"
    return node_command("action_recognition_node", params, ros_args=[a for p in node_args or [] for a in ("-p", p)])


def run_online(bag: Path, model_dir: Path, labels: list[str] | None, rate: float = 1.0,
               node_args: list[str] | None = None, startup_timeout: float = 90.0,
               kill_at: float | None = None, precision: str = "auto",
               skip_corrupt: bool = False) -> tuple[list[Prediction], dict]:
    """Start the recognition node process, play the bag into it, record its labels; (predictions, transport).

    Damaged data in the bag is never published; the player stops at it unless ``skip_corrupt`` (then the
    transport dict counts what was skipped), and a stop raises ``CorruptBagError``.

    With ``kill_at`` (seconds into playback) the node is SIGKILLed then and restarted at once; the transport
    dict then reports the gap in labels and how long after its restart the new node published again.
    """
    import rclpy

    from motion_text_node.bag.play import BagPlayer

    cmd = _recognition_command(model_dir, labels, precision, node_args)
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    procs: list[subprocess.Popen] = []
    try:
        procs.append(start_node(cmd, startup_timeout)[0])
        listener = _LabelListener(ctx)
        killer = _NodeKiller(cmd, procs, startup_timeout)
        player = BagPlayer(bag, rate=rate, topics=[SKELETON_TOPIC], wait_for_subscribers=2, wait_timeout=30,
                           skip_corrupt=skip_corrupt)
        stats_box: dict = {}
        playing = threading.Thread(target=lambda: stats_box.update(stats=player.play()), daemon=True)
        playing.start()
        t_play = time.monotonic()
        while playing.is_alive():
            listener.executor.spin_once(timeout_sec=0.02)
            if kill_at is not None and killer.thread is None and time.monotonic() - t_play >= kill_at:
                killer.start()
        killer.join()
        listener.spin_for(1.5)  # the labels of the last windows
        player.close()
        stats = stats_box.get("stats")
        transport = {**_transport_stats(stats, len(listener.seen)), **killer.report(listener.preds, kill_at or 0.0)}
        error = stats.error if stats else ""
        listener.close()
    finally:
        for proc in procs:
            stop_node(proc)
        rclpy.try_shutdown(context=ctx)
    if error:
        raise CorruptBagError(error)
    return listener.preds, transport


def evaluate_bag(bag: str | Path, model_dir: str | Path, offline_only: bool = False, labels: list[str] | None = None,
                 out_dir: str | Path | None = None, rate: float = 1.0, kill_at: float | None = None,
                 precision: str = "auto", skip_corrupt: bool = False) -> dict:
    """Offline and (unless ``offline_only``) online evaluation of a converted bag; writes the report files.

    Both sides run on CPU with the same motion-encoder ``precision``, so online and offline are comparable.
    The bag is read (and checked) before the model is loaded: damaged data raises ``CorruptBagError`` unless
    ``skip_corrupt``, which leaves it out and reports it under ``"damaged_data"``.
    """
    bag, model_dir = Path(bag), Path(model_dir)
    segments = read_ground_truth(bag)
    gt_labels = sorted({s.label for s in segments if s.label})
    damage = BagDamage()
    try:
        frames = read_skeleton_frames(bag, skip_corrupt=skip_corrupt, damage=damage)
    except CorruptBagError as exc:
        raise CorruptBagError(f"{exc} (--skip-corrupt evaluates without the damaged data)") from None
    if labels is None:
        from motion_text_node.runtime.bundle import load_bundle

        labels = list(dict.fromkeys(load_bundle(model_dir).default_labels + gt_labels))
    report: dict = {"bag": str(bag), "model": str(model_dir), "precision": precision, "labels": labels,
                    "frames": len(frames),
                    "segments": len(segments), "tracks": sorted({s.track_id for s in segments})}
    if damage:
        report["damaged_data"] = {"summary": damage.describe(), **damage.as_dict()}
    offline = run_offline(frames, model_dir, labels, precision=precision)
    report["offline"] = score(offline, segments)
    online = []
    if not offline_only:
        online, transport = run_online(bag, model_dir, labels, rate, kill_at=kill_at, precision=precision,
                                       skip_corrupt=skip_corrupt)
        report["online"] = {**score(online, segments), "transport": transport}
    if out_dir is not None:
        write_report(report, Path(out_dir), segments, online or offline)
    return report


def format_report(report: dict) -> str:
    """Markdown: online vs offline side by side."""
    modes = [m for m in ("online", "offline") if m in report]
    lines = [f"# Bag evaluation: {Path(report['bag']).name}", "",
             f"{report['frames']} skeleton frames, {report['segments']} ground-truth segments, tracks "
             f"{', '.join(report['tracks'])}; {len(report['labels'])} labels.", "",
             "| metric | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]

    def cell(mode: str, key: str) -> str:
        v = report[mode].get(key)
        return "n/a" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v)

    for key, name in (("windows", "windows scored"), ("top1", "top-1 %"), ("top5", "top-5 %"),
                      ("top1_norm", "top-1-norm %"), ("label_accuracy", "smoothed label = truth %"),
                      ("label_changes", "label changes"), ("detected_changes", "changes detected"),
                      ("detection_delay_s_median", "detection delay, median s")):
        lines.append(f"| {name} | " + " | ".join(cell(m, key) for m in modes) + " |")
    if "online" in report:
        o = report["online"]
        lat = o.get("latency_ms", {})
        lines += ["", "Online transport: " + ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                                                  for k, v in o["transport"].items()),
                  "End-to-end latency (skeleton received -> ActionLabel received), ms: "
                  + (", ".join(f"{k} {v:.1f}" for k, v in lat.items()) if lat else "n/a")]
    lines += ["", "Per class top-1 % (" + modes[-1] + "): " + ", ".join(
        f"{k} {v:.0f}" for k, v in report[modes[-1]].get("per_class", {}).items())]
    if "damaged_data" in report:
        lines += ["", f"Warning: evaluated without {report['damaged_data']['summary']}"]
    return "\n".join(lines) + "\n"


def write_report(report: dict, out: Path, segments: list[GroundTruthSegment], preds: list[Prediction]) -> None:
    """report.json, report.md and timeline.png (true vs predicted label over time, first track)."""
    from motion_text_node.viz.plots import plot_timeline

    with writing(out, "the report"):
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(report, indent=1))
        (out / "report.md").write_text(format_report(report))
    track = report["tracks"][0] if report["tracks"] else ""
    mine = sorted((p for p in preds if p.track_id == track), key=lambda p: p.window_end)
    if mine:
        t0 = min(s.start for s in segments)
        plot_timeline([p.window_end - t0 for p in mine], [truth_at(segments, track, p.window_end) for p in mine],
                      [p.top_labels[0] for p in mine], out / "timeline.png",
                      title=f"{Path(report['bag']).name}, track {track}: truth vs top-1")

