"""motion_retrieval_node: text commands -> reference motions (retrieve_motion), motions -> texts (describe_motion).

Optionally publishes the best retrieved clip as a MotionClip (``retrieved_motion``) and as a timed stick figure
(visualization_msgs/MarkerArray on ``retrieved_motion_markers``) for RViz. The library is a parameter and can
be reloaded without a restart (change ``library`` or call ``reload_library``). Parameters and their rules are the
table ``ros.parameters.RETRIEVAL``: a bad run-time change is refused with the reason, an accepted one takes effect.

describe_motion (an encoder pass over the whole motion) has its own callback group, so retrieve_motion, reload_library
and the timers keep being served by the node's multi-threaded executor while a description runs; a request motion
longer than ``MAX_MOTION_SECONDS`` is refused before it is resampled.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point
from motion_text_interfaces.msg import MotionClip
from motion_text_interfaces.srv import DescribeMotion, RetrieveMotion
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from std_srvs.srv import Trigger
from visualization_msgs.msg import Marker, MarkerArray

from motion_text_node.errors import UserError
from motion_text_node.ros.common import ManagedNode, diagnostic, model_dir_param, percentile_ms, run
from motion_text_node.ros.conversions import skeleton_msg_to_frame
from motion_text_node.ros.parameters import RETRIEVAL, check_changes
from motion_text_node.runtime.text_input import is_blank, strip_invisible
from motion_text_node.skeleton.adapt import to_canonical
from motion_text_node.skeleton.canonical import CANONICAL_BONES, CANONICAL_JOINTS
from motion_text_node.skeleton.frame import SkeletonFrame
from motion_text_node.skeleton.motion import Motion, check_duration

MAX_TEXT_CHARS = 2000

#: The node's parameters: default, description, valid values, when a change applies (see ros.parameters).
PARAMETERS = RETRIEVAL


def clip_message(clip_id: str, description: str, fps: float, positions: np.ndarray | None, score: float,
                 with_positions: bool = True, source: str = "", licence: str = "") -> MotionClip:
    """A MotionClip of canonical positions (T, 22, 3)."""
    msg = MotionClip(id=clip_id, description=description, fps=float(fps), skeleton_format="smpl22",
                     joint_names=list(CANONICAL_JOINTS), score=float(score), source=source, licence=licence)
    if positions is not None:
        msg.num_frames = int(len(positions))
        if with_positions:
            msg.positions = positions.astype(np.float32).ravel().tolist()
    return msg


def stick_figure(positions: np.ndarray, frame_id: str, stamp, ns: str = "retrieved_motion") -> MarkerArray:
    """One frame (22, 3) as joint spheres + bone lines."""
    joints = Marker(ns=ns, id=0, type=Marker.SPHERE_LIST, action=Marker.ADD)
    bones = Marker(ns=ns, id=1, type=Marker.LINE_LIST, action=Marker.ADD)
    for m, size in ((joints, 0.05), (bones, 0.02)):
        m.header.frame_id, m.header.stamp = frame_id, stamp
        m.scale.x = m.scale.y = m.scale.z = size
        m.color.r, m.color.g, m.color.b, m.color.a = 0.2, 0.5, 0.9, 1.0
        m.pose.orientation.w = 1.0
    points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in positions]
    joints.points = points
    bones.points = [points[i] for a, b in CANONICAL_BONES for i in (a, b)]
    return MarkerArray(markers=[joints, bones])


def motion_from_frames(frames: list[SkeletonFrame]) -> Motion:
    """A canonical motion from Skeleton frames (sorted by stamp; fps from the median stamp step, 30 when the stamps
    do not increase); UserError for mixed joint counts or a motion longer than ``MAX_MOTION_SECONDS``."""
    frames = sorted(frames, key=lambda f: f.stamp)
    if not frames:
        raise UserError("no frames and no motion clip in the request")
    if len({f.positions.shape for f in frames}) != 1:
        raise UserError("frames have different joint counts")
    steps = np.diff(np.array([f.stamp for f in frames], dtype=np.float64))
    fps = 1.0 / float(np.median(steps)) if len(frames) > 1 and np.all(steps > 0) else 30.0
    check_duration(len(frames) / fps, f"the {len(frames)} frames (at {fps:.4g} fps from their stamps)")
    f0 = frames[0]
    conf = np.stack([f.confidences for f in frames]) if f0.confidences is not None else None
    return to_canonical(np.stack([f.positions for f in frames]), fps, f0.joint_names or None,
                        f0.skeleton_format, f0.up_axis or None, conf)


def motion_from_clip(clip: MotionClip) -> Motion:
    """A canonical motion from a MotionClip (z up); UserError for a malformed clip, a frame rate that is not a
    positive number, or a motion longer than ``MAX_MOTION_SECONDS``."""
    if clip.num_frames == 0 or not clip.joint_names:
        raise UserError("no frames and no motion clip in the request")
    n = len(clip.joint_names)
    if len(clip.positions) != clip.num_frames * n * 3:
        raise UserError(f"motion has {len(clip.positions)} values, expected num_frames x joints x 3")
    if not (math.isfinite(clip.fps) and clip.fps > 0):
        raise UserError(f"motion fps must be a positive number, got {clip.fps}")
    check_duration(clip.num_frames / clip.fps, f"the motion ({clip.num_frames} frames at {clip.fps:g} fps)")
    pos = np.asarray(clip.positions, dtype=np.float32).reshape(clip.num_frames, n, 3)
    return to_canonical(pos, clip.fps, list(clip.joint_names), clip.skeleton_format or None, "z")


class MotionRetrievalNode(ManagedNode):
    """Managed node serving retrieve_motion, describe_motion and reload_library."""

    NAME = "motion_retrieval_node"

    def __init__(self, **kwargs) -> None:
        super().__init__(self.NAME, **kwargs)
        self.declare_table(PARAMETERS)  # UserError for a bad start value
        self.runtime = None
        self.library_error = ""
        self.counts: Counter = Counter()
        self.latencies: deque = deque(maxlen=500)
        self._io: list = []
        self._diag_timer = None
        self._playback: tuple[np.ndarray, float, float] | None = None
        self.add_on_set_parameters_callback(self._on_parameters)

    def load(self) -> None:
        from motion_text_node.runtime.engine import MotionTextRuntime

        self.runtime = MotionTextRuntime(model_dir_param(self.param("model_dir")), library=None,
                                         providers=self.param("providers"), threads=int(self.param("threads")),
                                         precision=self.param("precision"))
        self._load_library(self.param("library"))
        if self.runtime.library is None:
            raise UserError(self.library_error or "no motion library")
        self.clip_pub = self.create_lifecycle_publisher(MotionClip, "retrieved_motion", 10)
        self.marker_pub = self.create_lifecycle_publisher(MarkerArray, "retrieved_motion_markers", 10)
        self.diag_pub = self.create_lifecycle_publisher(DiagnosticArray, "diagnostics", 10)

    def _load_library(self, path: str) -> bool:
        try:
            target = path or self.runtime.bundle.library_path
            if target is None:
                raise UserError("the model folder names no motion library; set the 'library' parameter")
            lib = self.runtime.load_library(target)
            self.library_error = ""
            self.get_logger().info(f"library {target}: {len(lib)} motions")
            return True
        except UserError as exc:
            self.library_error = str(exc)
            self.get_logger().error(f"library not loaded: {exc}")
            return False

    def start(self) -> None:
        # describe_motion runs an encoder over a whole motion: in a group of its own (one description at a time),
        # so the other services and timers (the node's default group) keep answering meanwhile.
        self.describe_group = MutuallyExclusiveCallbackGroup()
        self._io = [
            self.create_service(RetrieveMotion, "retrieve_motion", self._on_retrieve),
            self.create_service(DescribeMotion, "describe_motion", self._on_describe,
                                callback_group=self.describe_group),
            self.create_service(Trigger, "reload_library", self._on_reload),
            self.create_timer(1.0 / 30.0, self._play_markers),
        ]
        self._diag_timer = self.create_timer(float(self.param("diagnostics_period_s")), self._publish_diagnostics)

    def stop(self) -> None:
        for entity in self._io:
            (self.destroy_timer if hasattr(entity, "timer_period_ns") else self.destroy_service)(entity)
        self._io = []
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None

    def release(self) -> None:
        for pub in (self.clip_pub, self.marker_pub, self.diag_pub):
            self.destroy_lifecycle_publisher(pub)
        self.runtime = None

    def _on_parameters(self, params) -> SetParametersResult:
        """Check every change against the table first, then apply: a new library is loaded (refused when it cannot
        be), a new diagnostics period re-creates its timer; the others are read per request."""
        try:
            changes = check_changes(PARAMETERS, {p.name: p.value for p in params},
                                    configured=self.runtime is not None)
            if "library" in changes and self.runtime is not None and not self._load_library(changes["library"]):
                return self._refuse(self.library_error)
            if "diagnostics_period_s" in changes and self._diag_timer is not None:
                self.destroy_timer(self._diag_timer)
                self._diag_timer = self.create_timer(changes["diagnostics_period_s"], self._publish_diagnostics)
        except (UserError, ValueError, TypeError) as exc:
            return self._refuse(str(exc))
        except Exception as exc:  # a parameter change must never take the node down
            return self._refuse(f"{type(exc).__name__}: {exc}")
        return SetParametersResult(successful=True)

    def _refuse(self, reason: str) -> SetParametersResult:
        """A refused parameter change: logged, and its reason returned to the caller; the node keeps running."""
        reason = reason.splitlines()[0] if reason else "refused"
        self.get_logger().warning(f"parameter change refused: {reason}")
        return SetParametersResult(successful=False, reason=reason)

    def _check_top_k(self, top_k: int) -> None:
        limit = int(self.param("max_top_k"))
        if not 1 <= top_k <= limit:
            raise UserError(f"top_k must be between 1 and {limit}, got {top_k}")

    def _on_retrieve(self, request: RetrieveMotion.Request, response: RetrieveMotion.Response):
        t0 = time.perf_counter()
        try:
            text = strip_invisible(request.text)
            if not text:
                raise UserError("empty text")
            if len(text) > MAX_TEXT_CHARS:
                raise UserError(f"text longer than {MAX_TEXT_CHARS} characters")
            self._check_top_k(request.top_k)
            if self.runtime is None or self.runtime.library is None:
                raise UserError(f"no motion library loaded ({self.library_error or 'not configured'})")
            lib = self.runtime.library
            hits = self.runtime.retrieve(text, request.top_k)
            response.motions = [clip_message(h.clip_id, h.description, float(lib.fps[h.index]), lib.motion(h.index),
                                             h.score, not request.omit_positions, h.source, h.licence) for h in hits]
            response.success, response.message = True, f"{len(hits)} motions"
            self.counts["retrieve_ok"] += 1
            if hits and self.param("publish_best"):
                best = lib.motion(hits[0].index)
                self.clip_pub.publish(clip_message(hits[0].clip_id, hits[0].description,
                                                   float(lib.fps[hits[0].index]), best, hits[0].score,
                                                   source=hits[0].source, licence=hits[0].licence))
                if best is not None:
                    self._playback = (best, float(lib.fps[hits[0].index]), time.monotonic())
        except UserError as exc:
            response.success, response.message = False, str(exc)
            self.counts["retrieve_refused"] += 1
        except Exception as exc:  # never let a request kill the service
            response.success, response.message = False, f"internal error: {type(exc).__name__}: {exc}"
            self.counts["retrieve_error"] += 1
            self.get_logger().error(response.message)
        self.latencies.append((time.perf_counter() - t0) * 1000.0)
        return response

    def _request_motion(self, request: DescribeMotion.Request) -> Motion:
        """The request's motion: its Skeleton frames when it has any, else its MotionClip."""
        if request.frames:
            return motion_from_frames([skeleton_msg_to_frame(f) for f in request.frames])
        return motion_from_clip(request.motion)

    def _on_describe(self, request: DescribeMotion.Request, response: DescribeMotion.Response):
        t0 = time.perf_counter()
        runtime = self.runtime  # one runtime for the whole request (this callback runs beside the others)
        try:
            self._check_top_k(request.top_k)
            if runtime is None:
                raise UserError("model not loaded")
            candidates = [t for t in request.candidate_texts if not is_blank(t)]
            if any(len(t) > MAX_TEXT_CHARS for t in candidates):
                raise UserError(f"candidate text longer than {MAX_TEXT_CHARS} characters")
            motion = self._request_motion(request)
            texts, scores = runtime.describe(motion, request.top_k, candidates or None)
            response.texts, response.scores = texts, scores
            if request.include_captions:
                from motion_text_node.runtime.engine import motion_captions

                response.captions = motion_captions(motion)
            response.success, response.message = True, f"{len(texts)} texts"
            self.counts["describe_ok"] += 1
        except UserError as exc:
            response.success, response.message = False, str(exc)
            self.counts["describe_refused"] += 1
        except Exception as exc:
            response.success, response.message = False, f"internal error: {type(exc).__name__}: {exc}"
            self.counts["describe_error"] += 1
            self.get_logger().error(response.message)
        self.latencies.append((time.perf_counter() - t0) * 1000.0)
        return response

    def _on_reload(self, request: Trigger.Request, response: Trigger.Response):
        ok = self.runtime is not None and self._load_library(self.param("library"))
        response.success = bool(ok)
        response.message = f"{len(self.runtime.library)} motions" if ok else self.library_error
        return response

    def _play_markers(self) -> None:
        if self._playback is None or not self.param("publish_best"):
            return
        pos, fps, t0 = self._playback
        k = int((time.monotonic() - t0) * fps)
        if k >= len(pos):
            self._playback = None
            return
        self.marker_pub.publish(stick_figure(pos[k], self.param("marker_frame_id"), self.get_clock().now().to_msg()))

    def _publish_diagnostics(self) -> None:
        values = {"library_size": len(self.runtime.library) if self.runtime and self.runtime.library else 0,
                  "latency_ms_p50": f"{percentile_ms(self.latencies, 50):.2f}",
                  "latency_ms_p95": f"{percentile_ms(self.latencies, 95):.2f}", **dict(self.counts)}
        level = 2 if self.library_error else 0
        arr = diagnostic(self.get_name(), "motion_text", level, self.library_error or "ok", values)
        arr.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(arr)


def main(args=None) -> int:
    """Console entry point (``ros2 run motion_text_node motion_retrieval_node``)."""
    return run(MotionRetrievalNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
