"""Node hardening (issue 14, findings 3, 4, 15 and 16): start-up mistakes are one error line and exit code 1; run-time
parameter changes are checked against one table per node and refused with a reason or really applied; rejection
reasons in diagnostics are fixed categories; undecodable messages, messages lost in bursts and evicted tracks are
counted, and a flood of fake track ids evicts the stalest tracks instead of locking new people out.
"""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest
from conftest import REPO
from ros_helpers import call_service, service_client, spin_until

from motion_text_node.errors import UserError
from motion_text_node.ros.parameters import (
    RECOGNITION,
    RETRIEVAL,
    STREAM_FIELDS,
    check_changes,
    check_params_file,
    check_value,
    is_topic_name,
    params_files,
    ros_init_error,
)
from motion_text_node.ros.processes import node_command
from motion_text_node.runtime.stream import (
    REJECTION_CATEGORIES,
    REJECTION_EXAMPLE_CHARS,
    Rejections,
    SequenceGaps,
    StreamConfig,
    StreamRecognizer,
    Track,
)
from motion_text_node.skeleton.frame import SkeletonFrame

NAN, INF = float("nan"), float("inf")
#: The most diagnostics values a recognition node may publish with no track: fixed values plus one per category.
MAX_DIAGNOSTIC_VALUES = 12 + len(REJECTION_CATEGORIES) + 1


# --- finding 3 and 4: one table of rules -----------------------------------------------------------------------
def test_every_default_passes_its_rule_and_the_stream_settings_are_parameters() -> None:
    for table in (RECOGNITION, RETRIEVAL):
        for name, spec in table.items():
            assert check_value(name, spec, spec.default) == spec.default, name
            assert spec.description().startswith(spec.doc)
    fields = set(StreamConfig.__dataclass_fields__) - {"min_window_fraction"}
    assert set(STREAM_FIELDS) == fields and fields <= set(RECOGNITION)


BAD_VALUES = [
    (RECOGNITION, "input_type", "bogus", "must be one of skeleton, skeleton_array, pose_array, kinect_markers"),
    (RECOGNITION, "qos_reliability", "bogus", "must be one of best_effort, reliable"),
    (RECOGNITION, "input_topic", "bad//topic", "valid ROS topic name"),
    (RECOGNITION, "input_topic", "9lives", "valid ROS topic name"),
    (RECOGNITION, "top_k", "abc", "must be an integer, got 'abc'"),
    (RECOGNITION, "top_k", 5.0, "must be an integer"),
    (RECOGNITION, "top_k", 0, "between 1 and 1000"),
    (RECOGNITION, "stride_s", NAN, "between 0.01 and 60, got nan"),
    (RECOGNITION, "stride_s", INF, "between 0.01 and 60"),
    (RECOGNITION, "stride_s", True, "must be a number"),
    (RECOGNITION, "smoothing", NAN, "between 0 and 0.99"),
    (RECOGNITION, "smoothing", 2.0, "between 0 and 0.99"),
    (RECOGNITION, "smoothing", 1.0, "between 0 and 0.99"),  # 1 would freeze the scores forever
    (RECOGNITION, "min_score", -1.5, "between -1 and 1"),
    (RECOGNITION, "hysteresis", -0.1, "between 0 and 2"),
    (RECOGNITION, "track_timeout_s", -1.0, "between 0.05 and 3600"),
    (RECOGNITION, "max_tracks", 0, "between 1 and 1000"),
    (RECOGNITION, "qos_depth", -5, "between 1 and 10000"),
    (RECOGNITION, "diagnostics_period_s", 0.0, "between 0.05 and 3600"),
    (RECOGNITION, "autostart", 1, "must be true or false"),
    (RECOGNITION, "labels", "walk", "must be a list of texts (e.g. labels:='[a, b]')"),
    (RECOGNITION, "joint_names", [f"j{i}" for i in range(300)], "at most 256 names"),
    (RECOGNITION, "up_axis", "sideways", "must be one of '', z, y, -y"),
    (RECOGNITION, "skeleton_format", "openpose", "known skeleton format"),
    (RECOGNITION, "track_id", " ", "non-blank text"),
    (RECOGNITION, "threads", -1, "between 0 and 256"),
    (RECOGNITION, "providers", "tpu", "must be one of auto, cpu, cuda"),
    (RECOGNITION, "precision", "fp16", "must be one of auto, fp32, int8"),
    (RECOGNITION, "executor", "multi", "must be one of events, single"),
    (RECOGNITION, "stride_s", None, "has no value"),
    (RETRIEVAL, "max_top_k", 0, "between 1 and 1000"),
    (RETRIEVAL, "diagnostics_period_s", NAN, "between 0.05 and 3600"),
    (RETRIEVAL, "marker_frame_id", "", "must be a frame id"),
    (RETRIEVAL, "publish_best", "yes", "must be true or false"),
]


@pytest.mark.parametrize("table, name, value, message", BAD_VALUES, ids=[f"{b[1]}={b[2]!r}"[:40] for b in BAD_VALUES])
def test_bad_values_are_one_clear_error(table, name, value, message) -> None:
    with pytest.raises(UserError) as info:
        check_value(name, table[name], value)
    text = str(info.value)
    assert message in text and f"'{name}'" in text, text
    assert "\n" not in text and len(text) < 300


def test_an_integer_is_a_number_or_a_text_where_one_is_expected() -> None:
    """Decided: ``stride_s:=1`` is 1.0 and ``track_id:=7`` is "7" (ROS parses both as integers)."""
    value = check_value("stride_s", RECOGNITION["stride_s"], 1)
    assert value == 1.0 and isinstance(value, float)
    assert check_value("track_id", RECOGNITION["track_id"], 7) == "7"
    assert check_value("joint_names", RECOGNITION["joint_names"], None) == [""]  # `joint_names:=[]` has no type
    with pytest.raises(UserError, match="must be an integer"):
        check_value("max_tracks", RECOGNITION["max_tracks"], True)


def test_topic_names_follow_rclpy() -> None:
    """The static rule agrees with what rclpy accepts when it subscribes (expanded for this node in '/')."""
    from rclpy.expand_topic_name import expand_topic_name
    from rclpy.validate_full_topic_name import validate_full_topic_name

    def rclpy_accepts(name: str) -> bool:
        try:
            validate_full_topic_name(expand_topic_name(name, "action_recognition_node", "/"))
        except Exception:  # noqa: BLE001 - any refusal
            return False
        return True

    names = ["skeleton", "/skeleton", "~", "~/x", "a/b_c/D9", "{node}/x", "x_{node}", "_x", "a__b", "", "/", "a/",
             "//a", "a//b", "bad//topic", "9a", "a/9b", "a~", "a b", "a-b", "a.b", "{x", "x}", "{}", "{foo}", "ü",
             "a\n", "~/", "/~", "a" * 200, "a" * 260]
    for name in names:
        assert is_topic_name(name) == rclpy_accepts(name), name


def test_run_time_changes_are_checked_and_gated() -> None:
    assert check_changes(RECOGNITION, {"stride_s": 1, "max_tracks": 3, "use_sim_time": True}, configured=True) \
        == {"stride_s": 1.0, "max_tracks": 3}  # use_sim_time is rclpy's
    for changes, message in (({"smoothing": NAN}, "between 0 and 0.99"),
                             ({"executor": "single"}, "read only at start-up"),
                             ({"autostart": False}, "read only at start-up"),
                             ({"model_dir": "/elsewhere"}, "read at configure"),
                             ({"threads": 2}, "read at configure")):
        with pytest.raises(UserError, match=message):
            check_changes(RECOGNITION, changes, configured=True)
    assert check_changes(RECOGNITION, {"model_dir": "/elsewhere"}, configured=False) == {"model_dir": "/elsewhere"}
    with pytest.raises(UserError, match="read at configure"):
        check_changes(RETRIEVAL, {"precision": "fp32"}, configured=True)


def test_params_files_are_checked_before_rcl_reads_them(tmp_path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "broken.yaml").write_text("node:\n  ros__parameters:\n    stride_s: [1, 2\n")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    (tmp_path / "nul.yaml").write_text("a: 1\x00\n")
    for name, message in (("missing.yaml", "params file not found"), ("folder", "is a folder"),
                          ("binary.yaml", "not a UTF-8 text file"), ("broken.yaml", r"not valid YAML \(line 4"),
                          ("list.yaml", "must map node names to ros__parameters"), ("nul.yaml", "NUL bytes")):
        with pytest.raises(UserError, match=message):
            check_params_file(str(tmp_path / name))
    check_params_file(str(REPO / "config" / "action_recognition.yaml"))
    argv = ["prog", "--params-file", "not-ros", "--ros-args", "-p", "a:=1", "--params-file", "x.yaml", "--", "y"]
    assert params_files(argv) == ["x.yaml"]


def test_rcl_init_errors_are_one_line() -> None:
    class RCLError(RuntimeError):
        pass

    class UnknownROSArgsError(RuntimeError):
        pass

    text = ros_init_error(RCLError("failed to initialize rcl: Couldn't parse parameter override rule: '-p g:='. "
                                   "Error: error not set, at /project/src/rcl/arguments.c:352\nmore"))
    assert text == "Couldn't parse parameter override rule: '-p g:='. Error: error not set"
    assert ros_init_error(UnknownROSArgsError("['--bogus', 'x']")) == "unknown ROS arguments: --bogus x"


# --- findings 15 and 16 without ROS: the stream recognizer ---------------------------------------------------
@pytest.fixture(scope="module")
def runtime(shipped_model):
    from motion_text_node.runtime.engine import MotionTextRuntime

    return MotionTextRuntime(shipped_model, labels="walk, climb, dance", library=None, providers="cpu")


def standing() -> np.ndarray:
    """A (22, 3) pose every joint of which is usable."""
    pos = np.zeros((22, 3), np.float32)
    pos[:, 0] = np.linspace(-0.3, 0.3, 22)
    pos[:, 2] = np.linspace(0, 1.7, 22)
    return pos


def frame(track: str, t: float = 1.0, fmt: str = "smpl22", up: str = "z") -> SkeletonFrame:
    return SkeletonFrame(t, track, fmt, [], standing(), None, up)


def test_a_flood_of_track_ids_evicts_the_stalest_instead_of_locking_people_out(runtime) -> None:
    rec = StreamRecognizer(runtime, StreamConfig(max_tracks=64, track_timeout_s=2.0))
    for i in range(1000):
        rec.add_frame(frame(f"fake{i}"), arrival=i * 0.001)
    rec.add_frame(frame("person"), arrival=1.1)  # well inside the fakes' timeout: used to be refused
    assert "person" in rec.tracks and len(rec.tracks) == 64
    assert rec.events["track_evicted"] == 1001 - 64
    assert "fake999" in rec.tracks and "fake0" not in rec.tracks  # the stalest went first
    rec.add_frame(frame("person", t=1.1), arrival=1.2)
    assert rec.tracks["person"].times == [1.0, 1.1]  # a kept track keeps its buffer


def test_config_changes_apply_at_once_and_a_lower_max_tracks_evicts_the_stalest(runtime) -> None:
    rec = StreamRecognizer(runtime, StreamConfig(max_tracks=64))
    for i in range(10):
        rec.add_frame(frame(f"p{i}"), arrival=float(i))
    rec.update_config(max_tracks=3, stride_s=1.0, smoothing=0.25)
    assert sorted(rec.tracks) == ["p7", "p8", "p9"] and rec.events["track_evicted"] == 7
    assert (rec.config.max_tracks, rec.config.stride_s, rec.config.smoothing) == (3, 1.0, 0.25)


def test_smoothed_scores_recover_from_a_spoiled_state(runtime) -> None:
    """Scores that became NaN (e.g. smoothing=nan, before it was refused) start over from the next window."""
    rec = StreamRecognizer(runtime, StreamConfig(smoothing=0.5, min_score=-1.0))
    tr = Track(smoothed=np.full(3, np.nan))
    res = rec._decide("p", tr, np.array([0.5, 0.1, 0.0]), 0.0, 1.0, 0.0)
    assert np.isfinite(tr.smoothed).all() and math.isfinite(res.score) and res.label == "walk"


def test_rejection_reasons_are_bounded_categories(runtime) -> None:
    rec, rejections = StreamRecognizer(runtime), Rejections()
    bad = [frame("p", up=f"axis{i}") for i in range(3000)] + [frame("p", fmt=f"format{i}") for i in range(3000)]
    for f in bad:
        with pytest.raises(UserError) as info:
            rec.add_frame(f)
        rejections.add(str(info.value))
    assert dict(rejections.counts) == {"unknown up_axis": 3000, "unknown skeleton_format": 3000}
    assert rejections.total == 6000 and "format2999" in rejections.last
    assert len(rejections.last) <= REJECTION_EXAMPLE_CHARS + 60
    assert rejections.add("x" * 10_000) == "other" and len(rejections.last) < 300
    assert rejections.add("inference error: ValueError: bad positions") == "inference error"
    assert rejections.add("no joint name matches a known skeleton (got internal error, x...)") == \
        "joint_names not recognized"  # a user's text cannot pose as one of the node's own errors
    assert rejections.add("unknown skeleton format 'empty skeleton'; known: ...") == "unknown skeleton_format"


def test_sequence_gaps_count_lost_messages_only_where_they_can_be_seen() -> None:
    asked = []

    def one() -> bool:
        asked.append(1)
        return True

    gaps = SequenceGaps()
    assert [gaps.observe(s, one) for s in (1, 2, 3)] == [0, 0, 0] and not asked  # asked only on a gap
    assert gaps.observe(10, one) == 6 and gaps.observe(11, one) == 0
    assert gaps.observe(1, one) == 0 and gaps.observe(5, one) == 3  # a restarted publisher: new baseline
    assert gaps.observe(50, lambda: False) == 0  # two publishers: their numbers interleave, nothing to see
    assert gaps.observe(None, one) == 0 and gaps.observe(0, one) == 0  # an rmw without sequence numbers
    assert gaps.lost == 9


# --- the nodes in-process (own context, callbacks called directly) -------------------------------------------
def set_param(node, name: str, value):
    """Set one parameter through the node's callbacks (as the set_parameters service does); the result."""
    from rclpy.parameter import Parameter

    return node.set_parameters([Parameter(name, value=value)])[0]


@pytest.fixture
def context():
    import rclpy

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        yield ctx
    finally:
        rclpy.try_shutdown(context=ctx)


@pytest.fixture
def recognition(shipped_model, context):
    """A configured ActionRecognitionNode on the CPU (autostart off), stopped and destroyed at the end."""
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    from motion_text_node.ros.action_recognition_node import ActionRecognitionNode

    made = []

    def make(**params):
        overrides = {"model_dir": str(shipped_model), "providers": "cpu", "autostart": False,
                     "labels": ["walk", "jump"], **params}
        node = ActionRecognitionNode(context=context, parameter_overrides=[
            Parameter(k, value=v) for k, v in overrides.items()])
        made.append(node)
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, getattr(node, "startup_error", "")
        return node

    try:
        yield make
    finally:
        for node in made:
            node.stop()
            node.destroy_node()


REFUSED = [("smoothing", NAN, "between 0 and 0.99"), ("smoothing", 2.0, "between 0 and 0.99"),
           ("stride_s", NAN, "between 0.01 and 60"), ("track_timeout_s", -1.0, "between 0.05 and 3600"),
           ("diagnostics_period_s", 0.0, "between 0.05 and 3600"), ("max_tracks", 0, "between 1 and 1000"),
           ("top_k", -3, "between 1 and 1000"), ("input_topic", "bad//topic", "valid ROS topic name"),
           ("input_type", "bogus", "must be one of"), ("up_axis", "sideways", "must be one of"),
           ("executor", "single", "read only at start-up"), ("model_dir", "/elsewhere", "read at configure"),
           ("providers", "cuda", "read at configure")]


def test_node_refuses_bad_run_time_values_and_applies_good_ones(recognition) -> None:
    node = recognition(stride_s=1)  # an integer where a number is expected: 1.0
    assert node.param("stride_s") == 1.0 and node.recognizer.config.stride_s == 1.0
    before = (node.recognizer.config, {name: node.param(name) for name, _, _ in REFUSED})
    for name, value, message in REFUSED:
        result = set_param(node, name, value)
        assert not result.successful and message in result.reason, (name, value, result.reason)
    assert (node.recognizer.config, {name: node.param(name) for name, _, _ in REFUSED}) == before  # nothing changed
    for name, value in (("smoothing", 0.0), ("smoothing", 0.5), ("stride_s", 2), ("max_tracks", 2),
                        ("track_timeout_s", 0.5), ("top_k", 1), ("min_score", -1.0), ("hysteresis", 0.1)):
        result = set_param(node, name, value)
        assert result.successful, (name, result.reason)
        assert getattr(node.recognizer.config, name) == value and node.param(name) == value  # applied for real
    assert isinstance(node.param("stride_s"), float)


def test_node_input_changes_re_subscribe_while_active(recognition) -> None:
    from geometry_msgs.msg import PoseArray
    from rclpy.lifecycle import TransitionCallbackReturn

    node = recognition()
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    assert node._subscription.topic_name == "/skeleton"
    for name, value in (("input_topic", "people/skeleton"), ("input_type", "pose_array"), ("qos_depth", 7),
                        ("qos_reliability", "reliable"), ("diagnostics_period_s", 0.5)):
        result = set_param(node, name, value)
        assert result.successful, (name, result.reason)
    sub, timer = node._io
    assert sub.topic_name == "/people/skeleton" and sub.msg_type is PoseArray and sub.qos_profile.depth == 7
    assert [s.topic_name for s in node.subscriptions if s.raw] == ["/people/skeleton"]  # the old one is gone
    assert timer.timer_period_ns == 500_000_000
    assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS and not node._io


def test_node_counts_undecodable_messages_and_keeps_diagnostics_bounded(recognition) -> None:
    from geometry_msgs.msg import Point
    from motion_text_interfaces.msg import Skeleton
    from rclpy.lifecycle import TransitionCallbackReturn

    from motion_text_node.ros.conversions import fill_skeleton_msg

    node = recognition()
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    node._on_serialized(b"\x00\x01\x00\x00 not a skeleton")
    assert dict(node.rejected.counts) == {"undecodable message": 1} and node.received == 1
    for i in range(3000):
        node._on_skeleton(fill_skeleton_msg(Skeleton(), Point, 1.0, "p", standing(), up_axis=f"axis{i}"))
        node._on_skeleton(fill_skeleton_msg(Skeleton(), Point, 1.0, "p", standing(), skeleton_format=f"f{i}"))
    values = node.diagnostic_values()
    assert values["rejected_total"] == 6001 and values["rejected/unknown up_axis"] == 3000
    assert len(values) <= MAX_DIAGNOSTIC_VALUES, sorted(values)
    assert len(node.throttle.last) <= len(REJECTION_CATEGORIES) + 1  # the warning throttle works again
    assert len(values["rejected_last"]) < 300


def test_node_counts_a_burst_beyond_the_qos_depth(recognition, context) -> None:
    """With the single executor a burst that overflows the subscription's history is counted as lost."""
    import rclpy
    from motion_text_interfaces.msg import Skeleton
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    node = recognition(executor="single", qos_reliability="reliable", qos_depth=5, input_topic="burst_test")
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    sender = rclpy.create_node("burst_sender", context=context)
    executor = SingleThreadedExecutor(context=context)
    try:
        pub = sender.create_publisher(Skeleton, "burst_test", QoSProfile(depth=500,
                                                                         reliability=ReliabilityPolicy.RELIABLE))
        executor.add_node(node)
        assert spin_until(executor, lambda: pub.get_subscription_count() == 1, timeout=20)
        pub.publish(Skeleton(track_id="first"))  # an empty skeleton: rejected at once, but received
        assert spin_until(executor, lambda: node.received == 1, timeout=20)
        for _ in range(100):  # nothing spins meanwhile: the history of 5 overflows
            pub.publish(Skeleton(track_id="burst"))
        assert spin_until(executor, lambda: node.received - 1 + node.gaps.lost >= 100, timeout=20), \
            (node.received, node.gaps.lost)
        assert node.received - 1 + node.gaps.lost == 100 and node.gaps.lost >= 90
        assert node.diagnostic_values()["lost_before_intake"] == node.gaps.lost
    finally:
        executor.shutdown()
        sender.destroy_node()


def test_retrieval_node_refuses_bad_values_and_applies_good_ones(shipped_model, context) -> None:
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    from motion_text_node.ros.motion_retrieval_node import MotionRetrievalNode

    node = MotionRetrievalNode(context=context, parameter_overrides=[
        Parameter("model_dir", value=str(shipped_model)), Parameter("providers", value="cpu"),
        Parameter("autostart", value=False)])
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, getattr(node, "startup_error", "")
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        for name, value, message in (("max_top_k", 0, "between 1 and 1000"), ("marker_frame_id", "", "frame id"),
                                     ("diagnostics_period_s", 0.0, "between 0.05"), ("threads", 4, "configure"),
                                     ("autostart", True, "start-up")):
            result = set_param(node, name, value)
            assert not result.successful and message in result.reason, (name, result.reason)
        assert set_param(node, "max_top_k", 3).successful and node.param("max_top_k") == 3
        assert set_param(node, "diagnostics_period_s", 2).successful  # an integer: 2.0 s
        assert node._diag_timer.timer_period_ns == 2_000_000_000
    finally:
        node.stop()
        node.destroy_node()


# --- real node processes -----------------------------------------------------------------------------------------
def node_args(module: str, *args: str) -> list[str]:
    """The node on CPU, then ``args`` as given (raw ROS arguments, hostile ones included)."""
    return node_command(module, {"providers": "cpu"}, ros_args=args)


START_ERRORS = [
    ("action_recognition_node", ("-p", "input_type:=bogus"), "parameter 'input_type' must be one of"),
    ("action_recognition_node", ("-p", "qos_reliability:=bogus"), "parameter 'qos_reliability' must be one of"),
    ("action_recognition_node", ("-p", "input_topic:=bad//topic"), "valid ROS topic name"),
    ("action_recognition_node", ("-p", "top_k:=abc"), "parameter 'top_k' must be an integer, got 'abc'"),
    ("action_recognition_node", ("-p", "smoothing:=nan"), "parameter 'smoothing' must be between 0 and 0.99"),
    ("action_recognition_node", ("--params-file", "/nonexistent/params.yaml"), "params file not found"),
    ("action_recognition_node", ("--params-file", "BINARY"), "not a UTF-8 text file"),
    ("action_recognition_node", ("--no-such-ros-arg",), "unknown ROS arguments: --no-such-ros-arg"),
    ("motion_retrieval_node", ("-p", "max_top_k:=0"), "parameter 'max_top_k' must be between 1 and 1000"),
]


@pytest.mark.parametrize("module, args, message", START_ERRORS, ids=[" ".join(e[1])[-30:] for e in START_ERRORS])
def test_start_up_mistakes_are_one_error_line_and_exit_code_1(module, args, message, tmp_path) -> None:
    binary = tmp_path / "params.yaml"
    binary.write_bytes(bytes(range(256)) * 8)
    cmd = node_args(module, *[str(binary) if a == "BINARY" else a for a in args])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=REPO)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-500:])
    assert len(lines) == 1 and f"{module}: error: " in lines[0] and message in lines[0], proc.stderr[-800:]
    assert "ready" not in proc.stdout


def test_node_process_takes_an_integer_number_and_refuses_a_nan(shipped_model, ros_node, start_process) -> None:
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import GetParameters, SetParameters

    node, executor = ros_node
    proc = start_process(node_args("action_recognition_node", "-p", f"model_dir:={shipped_model}",
                                   "-p", "stride_s:=1"), ready_line="ready")

    def call(srv_type, service: str, request):
        return call_service(executor, service_client(node, srv_type, f"action_recognition_node/{service}"), request)

    def set_remote(name: str, value: ParameterValue):
        request = SetParameters.Request(parameters=[Parameter(name=name, value=value)])
        return call(SetParameters, "set_parameters", request).results[0]

    nan = set_remote("smoothing", ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=NAN))
    assert not nan.successful and "between 0 and 0.99" in nan.reason, nan.reason
    two = set_remote("stride_s", ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=2))
    assert two.successful, two.reason
    got = call(GetParameters, "get_parameters", GetParameters.Request(names=["smoothing", "stride_s"])).values
    assert (got[0].double_value, got[1].type, got[1].double_value) == (0.5, ParameterType.PARAMETER_DOUBLE, 2.0)
    assert proc.proc.poll() is None, proc.output()  # refusing did not take the node down


def test_the_readme_lists_every_parameter_as_the_tables_check_it() -> None:
    """The README's parameter tables are the nodes' tables (defaults, ranges, when a change applies)."""
    from motion_text_node.ros.parameters import RETRIEVAL, markdown_table

    readme = (REPO / "README.md").read_text()
    for table in (RECOGNITION, RETRIEVAL):
        for row in markdown_table(table).splitlines()[2:]:
            assert row in readme, f"README.md lacks or has an outdated row: {row}"
