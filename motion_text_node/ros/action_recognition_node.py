"""action_recognition_node: skeleton streams in, recognized action labels out.

Subscribes to ``skeleton`` (motion_text_interfaces/Skeleton; or geometry_msgs/PoseArray, or the Azure Kinect
body tracker's visualization_msgs/MarkerArray, by the ``input_type`` parameter), publishes ``actions``
(ActionLabel), ``action_text`` (std_msgs/String) and ``diagnostics``. All logic lives in
``runtime.stream.StreamRecognizer``; this node converts messages and schedules inference.
"""

from __future__ import annotations

import threading
from collections import Counter

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseArray
from motion_text_interfaces.msg import ActionLabel, Skeleton
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.parameter import Parameter
from std_msgs.msg import String
from visualization_msgs.msg import MarkerArray

from motion_text_node.errors import UserError
from motion_text_node.ros.common import (
    ManagedNode,
    RateLimitedLog,
    diagnostic,
    model_dir_param,
    percentile_ms,
    qos_profile,
    run,
)
from motion_text_node.ros.conversions import (
    SkeletonFrame,
    sec_to_stamp_fields,
    skeleton_msg_to_frame,
    stamp_to_sec,
)
from motion_text_node.runtime.label_bank import labels_from_file, parse_labels
from motion_text_node.runtime.stream import StreamConfig, StreamRecognizer
from motion_text_node.runtime.text_input import is_blank

KINECT_JOINTS_PER_BODY = 32
#: While no track is due, the inference worker still wakes this often (s) to drop silent tracks.
HOUSEKEEPING_PERIOD_S = 0.1

PARAMETERS: dict[str, tuple[object, str]] = {
    "autostart": (True, "configure and activate at start (false: wait for lifecycle transitions)"),
    "model_dir": ("", "model folder (model.json + ONNX); empty: the shipped models/"),
    "labels": ([""], "action labels to recognize (open vocabulary); empty: labels_file or the model's labels"),
    "labels_file": ("", "text/YAML file of labels (used when 'labels' is empty)"),
    "input_type": ("skeleton", "skeleton | pose_array | kinect_markers"),
    "input_topic": ("skeleton", "topic of the pose stream"),
    "skeleton_format": ("custom", "pose_array: skeleton format of the poses (smpl22, coco17, ...)"),
    "joint_names": ([""], "pose_array: joint name of each pose (custom format)"),
    "up_axis": ("", "pose_array / kinect_markers: z, y or -y (empty: the format's default)"),
    "track_id": ("pose_array", "pose_array: track id of the stream"),
    "stride_s": (0.333, "recognize every this many seconds of new motion per track"),
    "smoothing": (0.5, "EMA weight of previous scores (0 = none)"),
    "min_score": (0.2, "no label below this cosine score"),
    "hysteresis": (0.02, "margin a new label needs over the current one"),
    "top_k": (5, "labels per ActionLabel"),
    "track_timeout_s": (2.0, "drop a track silent this long"),
    "max_tracks": (64, "tracks kept at once"),
    "qos_reliability": ("best_effort", "input QoS: best_effort (sensor data) or reliable"),
    "qos_depth": (50, "input QoS depth"),
    "providers": ("auto", "ONNX Runtime providers: auto, cpu, cuda"),
    "threads": (1, "ONNX Runtime intra-op threads"),
    "precision": ("auto", "motion encoder: auto (int8 on CPU when the model has one), fp32, int8"),
    "executor": ("events", "events (rclpy's EventsExecutor, lowest latency) or single (SingleThreadedExecutor)"),
    "diagnostics_period_s": (1.0, "diagnostics publishing period"),
}


def labels_from_parameters(labels: list[str] | None, labels_file: str | None) -> list[str] | None:
    """The label set that the ``labels`` and ``labels_file`` parameter values name: ``labels`` without its ""
    placeholders when any is left, else the labels of ``labels_file`` (always a file, whatever its name looks
    like), else None (both empty: the model's labels). UserError for a bad value (blank or too many labels, a
    missing or unreadable file, ...); never an OSError."""
    given = [x for x in labels or [] if x != ""]
    if given:
        return parse_labels(given)
    if labels_file and not is_blank(labels_file):
        return labels_from_file(labels_file)
    return None


def reason_key(message: str) -> str:
    """A short, stable diagnostics key for a rejection message ("smpl22 has 22 joints, got 5" -> itself,
    "unknown skeleton format 'x'; known: ..." -> "unknown skeleton format 'x'")."""
    return message.split(";")[0].split(" (")[0][:60]


class ActionRecognitionNode(ManagedNode):
    """Managed node: configure loads the model, activate subscribes and starts the inference worker."""

    def __init__(self, **kwargs) -> None:
        super().__init__("action_recognition_node", **kwargs)
        for name, (default, doc) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=doc))
        self.recognizer: StreamRecognizer | None = None
        self.rejected: Counter = Counter()
        self.received = 0
        self.published = 0
        self.throttle = RateLimitedLog(self.get_logger())
        self._io: list = []
        self.add_on_set_parameters_callback(self._on_parameters)

    def p(self, name: str):
        """A parameter value."""
        return self.get_parameter(name).value

    def _labels(self) -> list[str] | None:
        """The labels the parameters name (None: the model's own); UserError for a bad value."""
        return labels_from_parameters(self.p("labels"), self.p("labels_file"))

    # --- lifecycle -----------------------------------------------------------------------------------------
    def load(self) -> None:
        from motion_text_node.runtime.engine import MotionTextRuntime

        runtime = MotionTextRuntime(model_dir_param(self.p("model_dir")), labels=self._labels(), library=None,
                                    providers=self.p("providers"), threads=int(self.p("threads")),
                                    precision=self.p("precision"))
        self.recognizer = StreamRecognizer(runtime, self._stream_config())
        self.actions_pub = self.create_lifecycle_publisher(ActionLabel, "actions", 100)
        self.text_pub = self.create_lifecycle_publisher(String, "action_text", 100)
        self.diag_pub = self.create_lifecycle_publisher(DiagnosticArray, "diagnostics", 10)
        enc = runtime.motion_encoder
        self.get_logger().info(f"model {runtime.bundle.meta.get('model_version')} ({enc.precision} motion encoder) "
                               f"on {enc.providers[0]}; labels: {', '.join(runtime.labels.labels)}")

    def _stream_config(self) -> StreamConfig:
        return StreamConfig(float(self.p("stride_s")), float(self.p("smoothing")), float(self.p("min_score")),
                            float(self.p("hysteresis")), int(self.p("top_k")), float(self.p("track_timeout_s")),
                            int(self.p("max_tracks")))

    def start(self) -> None:
        qos = qos_profile(self.p("qos_reliability"), self.p("qos_depth"))
        kind = self.p("input_type")
        handlers = {"skeleton": (Skeleton, self._on_skeleton), "pose_array": (PoseArray, self._on_pose_array),
                    "kinect_markers": (MarkerArray, self._on_markers)}
        if kind not in handlers:
            raise ValueError(f"input_type must be one of {', '.join(handlers)}")
        msg_type, cb = handlers[kind]
        # Inference runs in its own thread (ONNX Runtime releases the GIL), so a slow inference never delays
        # message intake, and intake never waits for the executor to schedule a timer.
        intake, slow = MutuallyExclusiveCallbackGroup(), MutuallyExclusiveCallbackGroup()
        self._io = [
            self.create_subscription(msg_type, self.p("input_topic"), cb, qos, callback_group=intake),
            self.create_timer(float(self.p("diagnostics_period_s")), self._publish_diagnostics, callback_group=slow),
        ]
        self._stop_worker = threading.Event()
        self._wake = threading.Event()
        self._infer_lock = threading.Lock()  # one inference at a time: intake (inline) or the worker
        self._worker = threading.Thread(target=self._worker_loop, name="inference", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        if getattr(self, "_worker", None) is not None:
            self._stop_worker.set()
            self._wake.set()
            self._worker.join(5.0)
            self._worker = None
        for entity in self._io:
            (self.destroy_subscription if hasattr(entity, "topic_name") else self.destroy_timer)(entity)
        self._io = []

    def _worker_loop(self) -> None:
        # Woken by intake as soon as a track has a stride of new motion (no polling delay); the timeout only
        # paces housekeeping (dropping silent tracks) while nothing arrives.
        while not self._stop_worker.is_set():
            self._wake.wait(HOUSEKEEPING_PERIOD_S)
            self._wake.clear()
            if self._stop_worker.is_set():
                break
            with self._infer_lock:
                self._infer_safely()

    def _infer_safely(self) -> None:
        try:
            self._infer()
        except Exception as exc:  # keep recognizing; report what went wrong
            self.rejected[f"inference error: {type(exc).__name__}"] += 1
            self.throttle.warn("inference", f"inference failed: {exc}")

    def release(self) -> None:
        for pub in (self.actions_pub, self.text_pub, self.diag_pub):
            self.destroy_lifecycle_publisher(pub)
        self.recognizer = None

    # --- parameters ----------------------------------------------------------------------------------------
    def _on_parameters(self, params: list[Parameter]) -> SetParametersResult:
        names = {p.name for p in params}
        try:
            if names & {"labels", "labels_file"}:
                self._apply_labels({p.name: p.value for p in params})
            if self.recognizer is None:
                return SetParametersResult(successful=True)
            tunable = {"stride_s", "smoothing", "min_score", "hysteresis", "top_k", "track_timeout_s"}
            for p in params:
                if p.name in tunable:
                    setattr(self.recognizer.config, p.name, type(getattr(self.recognizer.config, p.name))(p.value))
        except (UserError, ValueError, TypeError) as exc:
            return self._refuse(str(exc))
        except Exception as exc:  # a parameter change must never take the node down
            return self._refuse(f"{type(exc).__name__}: {exc}")
        return SetParametersResult(successful=True)

    def _apply_labels(self, values: dict[str, object]) -> None:
        """New ``labels`` / ``labels_file`` values: checked (also before configure, so a bad one is refused at
        once) and, once configured, re-embedded; UserError when they are bad or both empty at run time."""
        new_file = values.get("labels_file")
        if isinstance(new_file, str) and not is_blank(new_file):
            labels_from_file(new_file)  # a bad file is refused even while `labels` overrides it
        labels = labels_from_parameters(values.get("labels", self.p("labels")),
                                        values.get("labels_file", self.p("labels_file")))
        if self.recognizer is None:
            return
        if labels is None:
            raise UserError("no labels given (labels and labels_file are both empty)")
        self.recognizer.reset_labels(labels)
        self.get_logger().info(f"labels now: {', '.join(self.recognizer.runtime.labels.labels)}")

    def _refuse(self, reason: str) -> SetParametersResult:
        """A refused parameter change: logged, and its reason returned to the caller; the node keeps running."""
        reason = reason.splitlines()[0] if reason else "refused"
        self.get_logger().warning(f"parameter change refused: {reason}")
        return SetParametersResult(successful=False, reason=reason)

    # --- input ---------------------------------------------------------------------------------------------
    def _add(self, frame: SkeletonFrame) -> None:
        self.received += 1
        try:
            if self.recognizer.add_frame(frame):
                # Idle worker: recognize right here (no thread hand-off on the latency path). Busy worker: let
                # it batch this track with the others once it is done.
                if self._infer_lock.acquire(blocking=False):
                    try:
                        self._infer_safely()
                    finally:
                        self._infer_lock.release()
                else:
                    self._wake.set()
        except UserError as exc:
            reason = reason_key(str(exc))
            self.rejected[reason] += 1
            self.throttle.warn(reason, f"rejected skeleton from track {frame.track_id!r}: {exc}")

    def _reject(self, reason: str) -> None:
        self.received += 1
        self.rejected[reason_key(reason)] += 1
        self.throttle.warn(reason_key(reason), f"rejected message: {reason}")

    def _on_skeleton(self, msg: Skeleton) -> None:
        try:
            frame = skeleton_msg_to_frame(msg)
        except UserError as exc:
            self._reject(str(exc))
            return
        self._add(frame)

    def _on_pose_array(self, msg: PoseArray) -> None:
        import numpy as np

        names = [n for n in self.p("joint_names") or [] if n]
        if not msg.poses:
            self._reject("empty skeleton (no positions)")
            return
        pos = np.array([(p.position.x, p.position.y, p.position.z) for p in msg.poses], dtype=np.float32)
        self._add(SkeletonFrame(stamp_to_sec(msg.header.stamp), self.p("track_id"), self.p("skeleton_format"),
                                names, pos, None, self.p("up_axis"), msg.header.frame_id))

    def _on_markers(self, msg: MarkerArray) -> None:
        import numpy as np

        bodies: dict[int, dict] = {}
        for m in msg.markers:
            body, joint = divmod(int(m.id), 100)
            if joint >= KINECT_JOINTS_PER_BODY:
                continue
            b = bodies.setdefault(body, {"pos": np.full((KINECT_JOINTS_PER_BODY, 3), np.nan, np.float32),
                                         "stamp": stamp_to_sec(m.header.stamp), "frame": m.header.frame_id})
            b["pos"][joint] = (m.pose.position.x, m.pose.position.y, m.pose.position.z)
        if not bodies:
            self._reject("marker array without body joints")
        for body, b in bodies.items():
            self._add(SkeletonFrame(b["stamp"], f"body_{body}", "kinect32", [], b["pos"], None,
                                    self.p("up_axis") or "-y", b["frame"]))

    # --- inference and output ------------------------------------------------------------------------------
    def _infer(self) -> None:
        rec = self.recognizer
        if rec is None:
            return
        rec.drop_silent()
        for r in rec.run_due():
            msg = ActionLabel()
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.header.frame_id = r.frame_id
            msg.track_id, msg.label, msg.score = r.track_id, r.label, r.score
            msg.top_labels, msg.top_scores = r.top_labels, r.top_scores
            msg.window_start.sec, msg.window_start.nanosec = sec_to_stamp_fields(r.window_start)
            msg.window_end.sec, msg.window_end.nanosec = sec_to_stamp_fields(r.window_end)
            self.actions_pub.publish(msg)
            self.text_pub.publish(String(data=f"{r.track_id}: {r.label or '-'} ({r.score:.2f})"))
            self.published += 1

    def _publish_diagnostics(self) -> None:
        rec = self.recognizer
        if rec is None:
            return
        rates = rec.input_rates()
        values = {"received": self.received, "published": self.published, "tracks": len(rates),
                  "inference_ms_p50": f"{percentile_ms(rec.latencies_ms, 50):.2f}",
                  "inference_ms_p95": f"{percentile_ms(rec.latencies_ms, 95):.2f}",
                  "rejected_total": sum(self.rejected.values())}
        values.update({f"rate_hz/{k}": f"{v:.1f}" for k, v in rates.items()})
        values.update({f"rejected/{k}": v for k, v in self.rejected.items()})
        values.update({f"event/{k}": v for k, v in rec.events.items()})
        level = 1 if self.rejected else 0
        msg = f"{len(rates)} tracks, {sum(self.rejected.values())} rejected" if self.rejected else \
            f"{len(rates)} tracks"
        arr = diagnostic(self.get_name(), "motion_text", level, msg, values)
        arr.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(arr)


def main(args=None) -> int:
    """Console entry point (``ros2 run motion_text_node action_recognition_node``)."""
    # Intake and diagnostics on one executor thread (the `executor` parameter); inference has its own worker thread.
    return run(ActionRecognitionNode, args, threads=1)


if __name__ == "__main__":
    raise SystemExit(main())
