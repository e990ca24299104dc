"""action_recognition_node: skeleton streams in, recognized action labels out.

Subscribes to ``skeleton`` (motion_text_interfaces/Skeleton; or SkeletonArray, every person of a camera frame in
one message; or geometry_msgs/PoseArray, or the Azure Kinect body tracker's visualization_msgs/MarkerArray, by the
``input_type`` parameter), publishes ``actions`` (ActionLabel per track) and/or ``action_array``
(ActionLabelArray per inference round) by ``output_mode``, ``action_text`` (std_msgs/String, unless the
``action_text`` parameter turns it off) and ``diagnostics``.
The windows due at once (all people of a frame) go through the motion encoder as one batch of at most
``max_batch``. All logic lives in
``runtime.stream.StreamRecognizer``; this node converts messages and schedules inference. Its parameters and their
rules are the table ``ros.parameters.RECOGNITION``: a bad start value ends the process with one error line, a bad
run-time change is refused with the reason, and an accepted one takes effect (input changes re-subscribe).

Input is taken as serialized bytes and decoded here, so a message that cannot be decoded is counted (rmw would drop
it silently); Skeleton and SkeletonArray are read straight into arrays (``ros.skeleton_wire``). With the
``single`` executor, messages lost before intake are counted from sequence-number gaps.
"""

from __future__ import annotations

import threading

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseArray
from motion_text_interfaces.msg import ActionLabel, ActionLabelArray, Skeleton, SkeletonArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.parameter import Parameter
from rclpy.serialization import deserialize_message
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
    fill_label_msg,
    kinect_markers_to_frames,
    pose_array_to_frame,
    skeleton_array_to_frames,
    skeleton_msg_to_frame,
)
from motion_text_node.ros.parameters import IO, RECOGNITION, STREAM_FIELDS, check_changes
from motion_text_node.ros.skeleton_wire import WireFormatError, decode_skeleton, decode_skeleton_array
from motion_text_node.runtime.label_bank import LabelSwitcher, labels_from_file, parse_labels
from motion_text_node.runtime.stream import Rejections, SequenceGaps, StreamConfig, StreamRecognizer
from motion_text_node.runtime.text_input import is_blank, shown
from motion_text_node.skeleton.frame import SkeletonFrame

#: While no track is due, the inference worker still wakes this often (s) to drop silent tracks.
HOUSEKEEPING_PERIOD_S = 0.1

#: The node's parameters: default, description, valid values, when a change applies (see ros.parameters).
PARAMETERS = RECOGNITION
#: Longest track id shown in diagnostics keys and log lines.
SHOWN_TRACK_CHARS = 64
#: Input types read from their bytes by ros.skeleton_wire instead of rclpy (no Python object per joint).
WIRE_DECODERS = {Skeleton: decode_skeleton, SkeletonArray: decode_skeleton_array}


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


class ActionRecognitionNode(ManagedNode):
    """Managed node: configure loads the model, activate subscribes and starts the inference worker."""

    NAME = "action_recognition_node"

    def __init__(self, **kwargs) -> None:
        super().__init__(self.NAME, **kwargs)
        self.declare_table(PARAMETERS)  # UserError for a bad start value
        self.recognizer: StreamRecognizer | None = None
        self.rejected = Rejections()
        self.gaps = SequenceGaps()
        self.received = 0
        self.published = 0
        self.throttle = RateLimitedLog(self.get_logger())
        self._io: list = []
        self._subscription = None
        self.add_on_set_parameters_callback(self._on_parameters)

    def _labels(self) -> list[str] | None:
        """The labels the parameters name (None: the model's own); UserError for a bad value."""
        return labels_from_parameters(self.param("labels"), self.param("labels_file"))

    # --- lifecycle -----------------------------------------------------------------------------------------
    def load(self) -> None:
        from motion_text_node.runtime.engine import MotionTextRuntime

        runtime = MotionTextRuntime(model_dir_param(self.param("model_dir")), labels=self._labels(), library=None,
                                    providers=self.param("providers"), threads=int(self.param("threads")),
                                    precision=self.param("precision"))
        self.recognizer = StreamRecognizer(runtime, self._stream_config())
        self.label_switcher = LabelSwitcher(self.recognizer.reset_labels, self._labels_installed)
        self.actions_pub = self.create_lifecycle_publisher(ActionLabel, "actions", 100)
        self.text_pub = self.create_lifecycle_publisher(String, "action_text", 100)
        self.array_pub = self.create_lifecycle_publisher(ActionLabelArray, "action_array", 100)
        self.diag_pub = self.create_lifecycle_publisher(DiagnosticArray, "diagnostics", 10)
        enc = runtime.motion_encoder
        self.get_logger().info(f"model {runtime.bundle.meta.get('model_version')} ({enc.precision} motion encoder) "
                               f"on {enc.providers[0]}; labels: {', '.join(runtime.labels.labels)}")

    def _stream_config(self) -> StreamConfig:
        return StreamConfig(**{name: self.param(name) for name in STREAM_FIELDS})

    def _create_io(self, values: dict[str, object]) -> list:
        """The input subscription and the diagnostics timer for parameter ``values`` (overriding the current ones).

        The subscription takes serialized messages and decodes them in ``_on_serialized``, so one that cannot be
        decoded is counted; with the ``single`` executor it also gets the message info (sequence numbers: lost
        messages are counted). rclpy's EventsExecutor cannot pass message info.
        """
        def value(name: str):
            return values[name] if name in values else self.param(name)

        handlers = {"skeleton": (Skeleton, self._on_skeleton), "skeleton_array": (SkeletonArray,
                                                                                 self._on_skeleton_array),
                    "pose_array": (PoseArray, self._on_pose_array), "kinect_markers": (MarkerArray, self._on_markers)}
        self._msg_type, self._handler = handlers[value("input_type")]
        self.gaps.last = None  # a new subscription: a new sequence baseline
        qos = qos_profile(value("qos_reliability"), value("qos_depth"))
        intake = self._on_serialized_with_info if self.param("executor") == "single" else self._on_serialized
        # Inference runs in its own thread (ONNX Runtime releases the GIL), so a slow inference never delays
        # message intake, and intake never waits for the executor to schedule a timer.
        self._subscription = self.create_subscription(self._msg_type, value("input_topic"), intake, qos,
                                                      callback_group=self._intake_group, raw=True)
        try:
            timer = self.create_timer(float(value("diagnostics_period_s")), self._publish_diagnostics,
                                      callback_group=self._slow_group)
        except Exception:
            self.destroy_subscription(self._subscription)
            raise
        return [self._subscription, timer]

    def _destroy_io(self) -> None:
        for entity in self._io:
            (self.destroy_subscription if hasattr(entity, "topic_name") else self.destroy_timer)(entity)
        self._io = []
        self._subscription = None

    def _restart_io(self, values: dict[str, object]) -> None:
        """Re-create subscription and timer with new ``values``; the old ones come back if that fails."""
        self._destroy_io()
        try:
            self._io = self._create_io(values)
        except Exception:
            self._io = self._create_io({})
            raise

    def start(self) -> None:
        self._intake_group, self._slow_group = MutuallyExclusiveCallbackGroup(), MutuallyExclusiveCallbackGroup()
        self._io = self._create_io({})
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
        self._destroy_io()

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
            category = self.rejected.add(f"inference error: {type(exc).__name__}: {exc}")
            self.throttle.warn(category, f"inference failed: {shown(str(exc), 200)}")

    def release(self) -> None:
        self.label_switcher.wait(10.0)  # a label set still embedding lands in this recognizer, not a new one
        for pub in (self.actions_pub, self.text_pub, self.array_pub, self.diag_pub):
            self.destroy_lifecycle_publisher(pub)
        self.recognizer = None

    # --- parameters ----------------------------------------------------------------------------------------
    def _on_parameters(self, params: list[Parameter]) -> SetParametersResult:
        """Check every change against the table first (nothing applied when one is refused), then apply: labels
        re-embedded, recognizer settings at once, input changes by re-subscribing while active."""
        try:
            changes = check_changes(PARAMETERS, {p.name: p.value for p in params},
                                    configured=self.recognizer is not None)
            if changes.keys() & {"labels", "labels_file"}:
                self._apply_labels(changes)
            stream = {k: v for k, v in changes.items() if k in STREAM_FIELDS}
            if stream and self.recognizer is not None:
                self.recognizer.update_config(**stream)
            io = {k: v for k, v in changes.items() if PARAMETERS[k].applies == IO}
            if io and self._io:
                self._restart_io(io)
                self.get_logger().info(f"input now: {self._subscription.topic_name} ({self.param('input_type')})")
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
        labels = labels_from_parameters(values.get("labels", self.param("labels")),
                                        values.get("labels_file", self.param("labels_file")))
        if self.recognizer is None:
            return
        if labels is None:
            raise UserError("no labels given (labels and labels_file are both empty)")
        # Embedded off the parameter/intake thread; recognition keeps the current labels until they are ready.
        self.label_switcher.request(labels)
        self.get_logger().info(f"embedding {len(labels)} new labels; the current ones stay until they are ready")

    def _labels_installed(self, labels: list[str], error: str | None) -> None:
        if error is not None:
            category = self.rejected.add(f"internal error embedding labels: {error}")
            self.throttle.warn(category, f"new labels not installed, the old ones stay: {shown(error, 200)}")
        else:
            self.get_logger().info(f"labels now: {shown(', '.join(labels), 400)}")

    def _refuse(self, reason: str) -> SetParametersResult:
        """A refused parameter change: logged, and its reason returned to the caller; the node keeps running."""
        reason = reason.splitlines()[0] if reason else "refused"
        self.get_logger().warning(f"parameter change refused: {reason}")
        return SetParametersResult(successful=False, reason=reason)

    # --- input ---------------------------------------------------------------------------------------------
    def _on_serialized(self, data: bytes) -> None:
        """A serialized input message: decoded and handed on; one that cannot be decoded is counted. Skeletons
        are read straight into arrays (``ros.skeleton_wire``); bytes that decoder does not take go to rclpy."""
        msg = None
        fast = WIRE_DECODERS.get(self._msg_type)
        if fast is not None:
            try:
                msg = fast(data)
            except WireFormatError:
                pass
        if msg is None:
            try:
                msg = deserialize_message(data, self._msg_type)
            except Exception as exc:  # rmw's error for malformed CDR (would otherwise vanish unseen)
                self._reject(f"undecodable message ({type(exc).__name__}, {len(data)} bytes)")
                return
        try:
            self._handler(msg)
        except Exception as exc:  # noqa: BLE001 - no message may take the node down
            self._reject(f"internal error handling a message: {type(exc).__name__}: {exc}")

    def _on_serialized_with_info(self, data: bytes, info: dict) -> None:
        """As ``_on_serialized``, first counting the messages lost just before this one (sequence gaps)."""
        self.gaps.observe(info.get("publication_sequence_number") if isinstance(info, dict) else None,
                          self._single_publisher)
        self._on_serialized(data)

    def _single_publisher(self) -> bool:
        sub = self._subscription
        return sub is not None and sub.get_publisher_count() == 1

    def _add(self, frames: list[SkeletonFrame]) -> None:
        """The frames of one message in, together (one canonicalization per skeleton layout); those that cannot
        be used are counted; recognized at once when a track is due."""
        self.received += len(frames)
        due, rejected = self.recognizer.add_frames(frames)
        for frame, reason in rejected:
            category = self.rejected.add(reason)
            self.throttle.warn(category, f"rejected skeleton from track '{shown(frame.track_id, SHOWN_TRACK_CHARS)}'"
                                         f": {shown(reason, 200)}")
        if due:
            self._recognize_due()

    def _recognize_due(self) -> None:
        """Idle worker: recognize right here (no thread hand-off on the latency path). Busy worker: let it batch
        these tracks with the others once it is done."""
        if self._infer_lock.acquire(blocking=False):
            try:
                self._infer_safely()
            finally:
                self._infer_lock.release()
        else:
            self._wake.set()

    def _reject(self, reason: str) -> None:
        """Count a message that never became a frame (its reason under a fixed category)."""
        self.received += 1
        category = self.rejected.add(reason)
        self.throttle.warn(category, f"rejected message: {shown(reason, 200)}")

    def _on_skeleton(self, msg: Skeleton) -> None:
        try:
            frame = skeleton_msg_to_frame(msg)
        except UserError as exc:
            self._reject(str(exc))
            return
        self._add([frame])

    def _on_skeleton_array(self, msg: SkeletonArray) -> None:
        """Every person of one camera frame: all buffered first, then the due ones recognized in one round."""
        try:
            frames, rejected = skeleton_array_to_frames(msg)
        except UserError as exc:
            self._reject(str(exc))
            return
        for reason in rejected:
            self._reject(reason)
        self._add(frames)

    def _on_pose_array(self, msg: PoseArray) -> None:
        try:
            frame = pose_array_to_frame(msg, self.param("track_id"), self.param("skeleton_format"),
                                        list(self.param("joint_names") or []), self.param("up_axis"))
        except UserError as exc:
            self._reject(str(exc))
            return
        self._add([frame])

    def _on_markers(self, msg: MarkerArray) -> None:
        try:
            frames = kinect_markers_to_frames(msg, self.param("up_axis"))
        except UserError as exc:
            self._reject(str(exc))
            return
        self._add(frames)

    # --- inference and output ------------------------------------------------------------------------------
    def _infer(self) -> None:
        rec = self.recognizer
        if rec is None:
            return
        rec.drop_silent()
        # Rounds of at most max_batch windows until no track is due; each track is due once per stride, so this
        # ends after about tracks / max_batch rounds even while frames keep arriving.
        for _ in range(len(rec.tracks) // max(rec.config.max_batch, 1) + 2):
            results = rec.run_due()
            if not results:
                break
            self._publish_round(results)

    def _publish_round(self, results: list) -> None:
        """One round's labels, as ``output_mode`` says: per track on actions, as one array on action_array."""
        mode = self.param("output_mode")
        stamp = self.get_clock().now().to_msg()
        msgs = [fill_label_msg(ActionLabel(), r, stamp) for r in results]
        if mode in ("labels", "both"):
            for msg in msgs:
                self.actions_pub.publish(msg)
        if mode in ("array", "both"):
            arr = ActionLabelArray(labels=msgs)
            arr.header.stamp, arr.header.frame_id = stamp, msgs[0].header.frame_id
            self.array_pub.publish(arr)
        if self.param("action_text"):
            for r in results:
                self.text_pub.publish(String(data=f"{r.track_id}: {r.label or '-'} ({r.score:.2f})"))
        self.published += len(results)

    def diagnostic_values(self) -> dict[str, object]:
        """The diagnostics key/values: bounded whatever the input (fixed rejection categories, one track's rate
        per kept track, the last rejection as a cut example)."""
        rec = self.recognizer
        rates = rec.input_rates() if rec is not None else {}
        values = {"received": self.received, "published": self.published, "tracks": len(rates),
                  "inference_ms_p50": f"{percentile_ms(rec.latencies_ms, 50) if rec else 0.0:.2f}",
                  "inference_ms_p95": f"{percentile_ms(rec.latencies_ms, 95) if rec else 0.0:.2f}",
                  "rejected_total": self.rejected.total,
                  "labels": len(rec.runtime.labels.labels) if rec is not None else 0,
                  "labels_pending": bool(rec is not None and self.label_switcher.pending),
                  "lost_before_intake": self.gaps.lost if self.param("executor") == "single" else "not observable "
                                        "(executor events)"}
        values.update({f"rate_hz/{shown(k, SHOWN_TRACK_CHARS)}": f"{v:.1f}" for k, v in rates.items()})
        values.update({f"rejected/{k}": v for k, v in sorted(self.rejected.counts.items())})
        if self.rejected:
            values["rejected_last"] = self.rejected.last
        if rec is not None:
            values.update({f"event/{k}": v for k, v in rec.events.items()})
            values.update({f"stage_ms_p50/{k}": f"{percentile_ms(v, 50):.2f}" for k, v in rec.stage_ms.items()})
        return values

    def _publish_diagnostics(self) -> None:
        if self.recognizer is None:
            return
        values = self.diagnostic_values()
        tracks = values["tracks"]
        level = 1 if self.rejected else 0
        msg = f"{tracks} tracks, {self.rejected.total} rejected" if self.rejected else f"{tracks} tracks"
        arr = diagnostic(self.get_name(), "motion_text", level, msg, values)
        arr.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(arr)


def main(args=None) -> int:
    """Console entry point (``ros2 run motion_text_node action_recognition_node``)."""
    # Intake and diagnostics on one executor thread (the `executor` parameter); inference has its own worker thread.
    return run(ActionRecognitionNode, args, threads=1)


if __name__ == "__main__":
    raise SystemExit(main())
