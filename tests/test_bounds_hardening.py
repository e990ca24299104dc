"""Bounds hardening (issue 14, findings 5, 6 and part of 11): a motion whose frame rate or time stamps make a few
frames last hours is refused before it is resampled (no millions of frames); describe_motion runs beside the other
services of the retrieval node; `bag record` refuses durations and timeouts that are not finite or are negative;
`library build --out` writes (and prints) the file it names; a node warns once when another of its name is on the
graph.

The new names are imported inside the tests, so that against the code before these fixes every test fails on its
own (instead of the whole module failing to import).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from bvh_text import two_joint_bvh
from conftest import REPO
from ros_helpers import spin_until

from motion_text_node.cli import main
from motion_text_node.errors import UserError
from motion_text_node.ros.service_calls import call_with_resend
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
from motion_text_node.skeleton.motion import Motion
from motion_text_node.skeleton.resample import resample_motion, resample_times

NAN, INF = float("nan"), float("inf")


def standing(frames: int = 1) -> np.ndarray:
    """(frames, 22, 3) canonical poses every joint of which is usable."""
    pos = np.zeros((22, 3), np.float32)
    pos[:, 0] = np.linspace(-0.3, 0.3, 22)
    pos[:, 2] = np.linspace(0, 1.7, 22)
    return np.repeat(pos[None], frames, axis=0)


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and len(text) < 400, text
    return text


# --- 5: resource bombs, at the plain-function level (no ROS) ---------------------------------------------------
def test_limits_are_named_and_far_above_real_motions() -> None:
    from motion_text_node.skeleton.motion import MAX_MOTION_SECONDS
    from motion_text_node.skeleton.resample import MAX_RESAMPLED_FRAMES

    assert MAX_MOTION_SECONDS == 600.0  # 10 minutes; the longest clip of every dataset here lasts 63 s
    assert MAX_RESAMPLED_FRAMES >= MAX_MOTION_SECONDS * 120  # 10 minutes at a 120 Hz capture rate still fit


def test_frame_count_is_checked_before_allocating() -> None:
    from motion_text_node.skeleton.resample import MAX_RESAMPLED_FRAMES, resampled_frame_count

    assert resampled_frame_count(0.0, 30.0) == 1
    assert resampled_frame_count(1.0, 30.0) == 31
    assert resampled_frame_count(-5.0, 30.0) == 1  # a start after the last frame: one frame, as before
    assert resampled_frame_count(599.0, 30.0) == 17971  # just under 10 minutes at the model rate
    for span, fps, message in ((601.0, 30.0, "MAX_MOTION_SECONDS"), (INF, 30.0, "MAX_MOTION_SECONDS"),
                               (NAN, 30.0, "MAX_MOTION_SECONDS"), (1.0, 1e6, "MAX_RESAMPLED_FRAMES"),
                               (1.0, 1e308, "MAX_RESAMPLED_FRAMES"), (1.0, 0.0, "positive"), (1.0, NAN, "positive")):
        with pytest.raises(UserError) as info:
            resampled_frame_count(span, fps)
        assert message in one_line(info.value), (span, fps, str(info.value))
    with pytest.raises(UserError, match=f"limit of {MAX_RESAMPLED_FRAMES}"):
        resampled_frame_count(1.0, float(MAX_RESAMPLED_FRAMES))


def test_resampling_a_bomb_is_refused_quickly() -> None:
    """10 frames 1e4 s apart and a clip at fps 1e-3 used to become millions of frames. One joint keeps the code before
    the fix cheap enough to show it (it allocates instead of refusing)."""
    pos = np.zeros((10, 1, 3), np.float32)
    t0 = time.perf_counter()
    with pytest.raises(UserError) as info:
        resample_times(pos, np.arange(10) * 1e4, 30.0)
    assert "limit of 600 s (MAX_MOTION_SECONDS" in one_line(info.value)
    with pytest.raises(UserError, match="MAX_MOTION_SECONDS"):
        resample_motion(Motion(pos, ("pelvis",), 1e-3), 30.0)
    with pytest.raises(UserError, match="MAX_RESAMPLED_FRAMES"):
        resample_times(pos[:2], np.array([0.0, 1.0]), 1e6)  # a sane motion, an absurd target rate
    assert time.perf_counter() - t0 < 1.0


def test_real_motions_still_resample() -> None:
    pos = np.random.default_rng(0).normal(size=(120 * 60, 2, 3)).astype(np.float32)  # one minute at 120 Hz
    out = resample_motion(Motion(pos, ("a", "b"), 120.0), 30.0)
    assert out.num_frames == 30 * 60 and np.allclose(out.positions[1], pos[4], atol=1e-6)
    long = Motion(np.zeros((30 * 590, 1, 3), np.float32), ("a",), 30.0)  # almost 10 minutes, already at 30 fps
    assert resample_motion(long, 30.0) is long


def test_npz_with_a_tiny_fps_is_refused_at_load(tmp_path) -> None:
    from motion_text_node.data.files import load_any_clip

    path = tmp_path / "bomb.npz"
    np.savez(path, positions=standing(10), joint_names=np.array(CANONICAL_JOINTS), fps=np.float32(1e-3))
    with pytest.raises(UserError) as info:
        load_any_clip(str(path))
    text = one_line(info.value)
    assert text.startswith(f"{path}: 10 frames at 0.001 fps lasts 1e+04 s") and "MAX_MOTION_SECONDS" in text, text
    np.savez(path, positions=standing(10), joint_names=np.array(CANONICAL_JOINTS), fps=np.float32(30.0))
    assert load_any_clip(str(path)).motion.num_frames == 10


def write_bvh(path: Path, frames: int, frame_time: float) -> Path:
    path.write_text(two_joint_bvh(frames, frame_time))
    return path


@pytest.mark.parametrize("frame_time", [100, 1000])
def test_bvh_with_a_long_frame_time_is_refused_at_load(frame_time, tmp_path) -> None:
    from motion_text_node.data.bvh import load_bvh
    from motion_text_node.data.files import load_any_clip

    path = write_bvh(tmp_path / "bomb.bvh", 10, frame_time)
    with pytest.raises(UserError) as info:
        load_any_clip(str(path))
    text = one_line(info.value)
    assert text.startswith(f"{path}: 10 frames at ") and "MAX_MOTION_SECONDS" in text, text
    assert load_bvh(write_bvh(tmp_path / "ok.bvh", 10, 0.0333333)).num_frames == 10
    assert load_bvh(path, fps=30.0).num_frames == 10  # a frame rate given by the caller decides


def test_describe_request_motions_are_bounded() -> None:
    """What the retrieval node makes of a request: Skeleton frames 1e4 s apart or a MotionClip at fps 1e-3 are
    refused, a sane clip still converts."""
    from motion_text_interfaces.msg import MotionClip

    from motion_text_node.ros.motion_retrieval_node import motion_from_clip, motion_from_frames
    from motion_text_node.skeleton.frame import SkeletonFrame

    pose = standing()[0]
    frames = [SkeletonFrame(1e4 * k, "q", "smpl22", [], pose, None, "z") for k in range(10)]
    with pytest.raises(UserError, match="the 10 frames .*MAX_MOTION_SECONDS"):
        motion_from_frames(frames)
    assert motion_from_frames([SkeletonFrame(k / 30, "q", "smpl22", [], pose, None, "z")
                               for k in range(10)]).num_frames == 10

    def clip(fps: float, frames: int = 10) -> MotionClip:
        return MotionClip(id="q", fps=fps, skeleton_format="smpl22", joint_names=list(CANONICAL_JOINTS),
                          num_frames=frames, positions=standing(frames).ravel().tolist())

    for fps, message in ((1e-3, "MAX_MOTION_SECONDS"), (NAN, "positive number"), (INF, "positive number"),
                         (0.0, "positive number")):
        with pytest.raises(UserError) as info:
            motion_from_clip(clip(fps))
        assert message in one_line(info.value), (fps, str(info.value))
    assert motion_from_clip(clip(30.0)).fps == 30.0


# --- 5: the retrieval node, in-process, spun as its main() spins it -------------------------------------------
@pytest.fixture(scope="module")
def served(shipped_model):
    """A configured, active MotionRetrievalNode spun by the executor its ``main`` uses (multi-threaded, in a thread of
    its own), and a client node with its own executor on the test's thread."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    from motion_text_node.ros.common import make_executor
    from motion_text_node.ros.motion_retrieval_node import MotionRetrievalNode

    context = rclpy.Context()
    rclpy.init(context=context)
    node = MotionRetrievalNode(context=context, parameter_overrides=[
        Parameter("model_dir", value=str(shipped_model)), Parameter("providers", value="cpu"),
        Parameter("autostart", value=False), Parameter("publish_best", value=False)])
    client = rclpy.create_node("bounds_client", context=context)
    server_executor = make_executor("single", 3, context)  # what run() makes for the retrieval node (threads=3)
    client_executor = SingleThreadedExecutor(context=context)
    client_executor.add_node(client)
    stop = threading.Event()
    spinner = None
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, getattr(node, "startup_error", "")
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        server_executor.add_node(node)

        def spin() -> None:
            while not stop.is_set():
                server_executor.spin_once(timeout_sec=0.05)

        spinner = threading.Thread(target=spin, daemon=True)
        spinner.start()
        yield node, client, client_executor
    finally:
        stop.set()
        if spinner is not None:
            spinner.join(10)
        server_executor.shutdown(timeout_sec=5)
        client_executor.shutdown(timeout_sec=5)
        node.stop()
        node.destroy_node()
        client.destroy_node()
        rclpy.try_shutdown(context=context)


def ask(served, srv_type, name: str, request, timeout: float = 20.0):
    """Send a request; (response or None, seconds until answered or until ``timeout``)."""
    _, client, executor = served
    cli = client.create_client(srv_type, name)
    assert cli.wait_for_service(timeout_sec=20), f"{name} never appeared"
    t0 = time.monotonic()
    response = call_with_resend(executor, cli, request, timeout=timeout)
    return response, time.monotonic() - t0


def small_clip(fps: float = 30.0, frames: int = 60):
    from motion_text_interfaces.msg import MotionClip

    return MotionClip(id="q", fps=fps, skeleton_format="smpl22", joint_names=list(CANONICAL_JOINTS),
                      num_frames=frames, positions=standing(frames).ravel().tolist())


def test_a_bomb_describe_is_refused_quickly_and_the_node_keeps_answering(served) -> None:
    from geometry_msgs.msg import Point
    from motion_text_interfaces.msg import Skeleton
    from motion_text_interfaces.srv import DescribeMotion, RetrieveMotion

    from motion_text_node.ros.conversions import fill_skeleton_msg

    frames = [fill_skeleton_msg(Skeleton(), Point, 100.0 + 1e4 * k, "q", standing()[0]) for k in range(10)]
    for request in (DescribeMotion.Request(motion=small_clip(fps=1e-3, frames=10), top_k=2),
                    DescribeMotion.Request(frames=frames, top_k=2)):
        res, seconds = ask(served, DescribeMotion, "describe_motion", request)
        assert res is not None, "describe_motion did not answer a bomb within 20 s"
        assert not res.success and "MAX_MOTION_SECONDS" in res.message, res.message
        assert seconds < 10.0, seconds  # refused before resampling, not after 30-90 s of it
    res, _ = ask(served, RetrieveMotion, "retrieve_motion", RetrieveMotion.Request(text="walk", top_k=1))
    assert res is not None and res.success, res
    res, _ = ask(served, DescribeMotion, "describe_motion", DescribeMotion.Request(
        motion=small_clip(), top_k=1, candidate_texts=["stand still", "dance salsa"]))
    assert res is not None and res.success and len(res.texts) == 1, res


def test_retrieve_answers_while_a_describe_runs(served) -> None:
    """describe_motion has a callback group of its own: with it blocked, retrieve_motion still answers."""
    from motion_text_interfaces.srv import DescribeMotion, RetrieveMotion

    node, _, executor = served
    started, release = threading.Event(), threading.Event()
    describe = node.runtime.describe

    def slow(motion, top_k, candidates=None):
        started.set()
        release.wait(30)
        return ["slow"], [1.0]

    node.runtime.describe = slow
    try:
        _, client, _ = served
        describing = client.create_client(DescribeMotion, "describe_motion")
        assert describing.wait_for_service(timeout_sec=20)
        slow_future = describing.call_async(DescribeMotion.Request(motion=small_clip(), top_k=1))
        assert spin_until(executor, started.is_set, timeout=20), "the describe request never started"
        res, _ = ask(served, RetrieveMotion, "retrieve_motion", RetrieveMotion.Request(text="walk", top_k=1),
                     timeout=15.0)
        assert res is not None, "retrieve_motion waited for describe_motion"
        assert res.success and not slow_future.done()
        release.set()
        executor.spin_until_future_complete(slow_future, timeout_sec=20)
        assert slow_future.done() and list(slow_future.result().texts) == ["slow"]
    finally:
        release.set()
        node.runtime.describe = describe
    assert node.describe_group is not node.default_callback_group


# --- 6: bag record refuses durations and timeouts that are not finite or are negative -------------------------
@pytest.mark.parametrize("option, value", [("discovery_timeout", NAN), ("discovery_timeout", INF),
                                           ("discovery_timeout", -1.0), ("flush_interval", INF),
                                           ("flush_interval", NAN), ("flush_interval", 0.0)])
def test_recorder_refuses_bad_seconds(option, value, tmp_path) -> None:
    from motion_text_node.bag.record import BagRecorder

    with pytest.raises(UserError) as info:
        BagRecorder(["/x"], tmp_path / "bag", **{option: value})
    text = one_line(info.value)
    assert f"--{option.replace('_', '-')} must be a finite number of seconds" in text and f"got {value}" in text
    assert not (tmp_path / "bag").exists()
    BagRecorder(["/x"], tmp_path / "bag", discovery_timeout=0.0)  # looks once; not an error


def test_check_seconds() -> None:
    from motion_text_node.bag.record import check_seconds

    assert check_seconds("--duration", None) is None
    assert check_seconds("--duration", 3) == 3.0 and check_seconds("--discovery-timeout", 0.0) == 0.0
    for value, positive in ((NAN, False), (INF, False), (-INF, False), (-0.5, False), (0.0, True), (True, False)):
        with pytest.raises(UserError, match="--duration must be a finite number of seconds"):
            check_seconds("--duration", value, positive=positive)


@pytest.mark.parametrize("args, message", [(["--duration", "inf"], "--duration must be a finite number"),
                                           (["--duration", "nan"], "--duration must be a finite number"),
                                           (["--duration", "-5"], "--duration must be a finite number"),
                                           (["--discovery-timeout", "-1"], "--discovery-timeout must be"),
                                           (["--flush-interval", "inf"], "--flush-interval must be")])
def test_record_cli_bad_seconds_are_one_line(args, message, tmp_path, capsys) -> None:
    argv = ["bag", "record", "/bounds_never_published", "--out", str(tmp_path / "r"), *args]
    if "--discovery-timeout" not in args:
        argv += ["--discovery-timeout", "0.3"]  # the code before the fix fails fast too
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("motion-text bag: error: ") and message in err and "\n" not in err, err
    assert not (tmp_path / "r").exists()


def test_record_cli_nan_discovery_timeout_does_not_wait_forever(tmp_path) -> None:
    """A real process: the code before the fix never returned (nan compares false with every deadline)."""
    try:
        proc = subprocess.run([sys.executable, "-m", "motion_text_node.cli", "bag", "record", "/bounds_never",
                               "--out", str(tmp_path / "r"), "--discovery-timeout", "nan"],
                              capture_output=True, text=True, timeout=60, cwd=REPO)
    except subprocess.TimeoutExpired:
        pytest.fail("bag record --discovery-timeout nan was still waiting after 60 s")
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "--discovery-timeout must be a finite number of seconds, at least 0, got nan" in lines[0]


# --- 11: library build --out is the file written -----------------------------------------------------------------
def clip_npz(path: Path) -> Path:
    np.savez(path, positions=standing(60), joint_names=np.array(CANONICAL_JOINTS), fps=np.float32(30.0),
             text=np.array("a person stands still"))
    return path


def test_library_out_without_npz_is_refused_before_any_work(shipped_model, tmp_path, capsys) -> None:
    clip = clip_npz(tmp_path / "clip.npz")
    (tmp_path / "folder.npz").mkdir()
    for out, message in ((tmp_path / "mylib", "must end in .npz (numpy would write mylib.npz)"),
                         (tmp_path / "lib.NPZ", "numpy would write lib.NPZ.npz"),
                         (tmp_path / "folder.npz", "is a folder")):
        t0 = time.monotonic()
        rc = main(["library", "build", "--data", str(clip), "--model", str(shipped_model), "--out", str(out)])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and err.startswith("motion-text library: error: --out ") and message in err, err
        assert "\n" not in err and time.monotonic() - t0 < 5.0  # refused before the model is loaded
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.npz", "folder.npz"]  # nothing written


def test_library_build_prints_the_file_it_wrote(shipped_model, tmp_path, capsys) -> None:
    from motion_text_node.commands.runtime import library_out
    from motion_text_node.runtime.library import MotionLibrary

    assert library_out(None, shipped_model) == shipped_model / "motion_library.npz"
    out = tmp_path / "sub" / "mylib.npz"
    assert main(["library", "build", "--data", str(clip_npz(tmp_path / "clip.npz")), "--model", str(shipped_model),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed.startswith(f"wrote {out}: 1 motions"), printed
    assert len(MotionLibrary.load(out)) == 1 and not (tmp_path / "sub" / "mylib.npz.npz").exists()


# --- 11: two nodes of one fully qualified name -------------------------------------------------------------------
def test_namesakes_counts_other_nodes_of_the_same_fully_qualified_name() -> None:
    from motion_text_node.ros.common import fully_qualified, namesakes

    me = ("motion_retrieval_node", "/")
    assert fully_qualified(*me) == "/motion_retrieval_node"
    assert fully_qualified("n", "/robot1") == "/robot1/n" and fully_qualified("n", "/robot1/") == "/robot1/n"
    assert namesakes([me], *me) == 0  # the node itself
    assert namesakes([me, me], *me) == 1
    assert namesakes([me, me, me, ("other", "/")], *me) == 2
    assert namesakes([me, ("motion_retrieval_node", "/robot1")], *me) == 0  # another namespace: another name
    assert namesakes([("motion_retrieval_node", "/robot1")] * 2, "motion_retrieval_node", "/robot1") == 1
    assert namesakes([], *me) == 0  # not yet listed


class FakeNode:
    """What NamesakeWatch uses of a node, over a graph the test controls."""

    def __init__(self, graph: list[tuple[str, str]]) -> None:
        self.graph, self.queries, self.warnings = graph, 0, []

    def get_node_names_and_namespaces(self):
        self.queries += 1
        return list(self.graph)

    def get_name(self) -> str:
        return "motion_retrieval_node"

    def get_namespace(self) -> str:
        return "/"

    def get_logger(self):
        return self

    def warning(self, message: str) -> None:
        self.warnings.append(message)


def test_namesake_watch_warns_once_and_stops_looking() -> None:
    from motion_text_node.ros.common import NamesakeWatch

    now = [0.0]
    me = ("motion_retrieval_node", "/")
    node = FakeNode([me])
    watch = NamesakeWatch(node, within=10.0, period=0.5, clock=lambda: now[0])
    assert not watch.poll() and node.queries == 1
    assert not watch.poll() and node.queries == 1  # not due yet
    now[0] = 1.0
    node.graph.append(me)  # the other one is discovered
    assert watch.poll() and len(node.warnings) == 1
    assert "another node named /motion_retrieval_node is already on the graph" in node.warnings[0]
    assert "\n" not in node.warnings[0] and "__node:=" in node.warnings[0]
    for t in (2.0, 3.0, 50.0):
        now[0] = t
        assert not watch.poll()
    assert len(node.warnings) == 1 and node.queries == 2  # once, and no more graph queries after it

    alone = FakeNode([me])
    watch = NamesakeWatch(alone, within=2.0, period=0.5, clock=lambda: now[0])
    for _ in range(20):
        now[0] += 0.5
        watch.poll()
    assert watch.done and alone.queries <= 6 and not alone.warnings  # the watch is bounded


def test_namesake_on_a_real_graph_is_found() -> None:
    """Two nodes of one name in two contexts (two DDS participants, as two processes): a bounded wait for discovery."""
    import rclpy

    from motion_text_node.ros.common import NamesakeWatch

    name = f"bounds_namesake_{REPO.name}_{time.time_ns() % 10**9}"
    contexts, nodes = [], []
    try:
        for _ in range(2):
            ctx = rclpy.Context()
            rclpy.init(context=ctx)
            contexts.append(ctx)
            nodes.append(rclpy.create_node(name, context=ctx))
        watch = NamesakeWatch(nodes[1], within=20.0, period=0.1)
        deadline = time.monotonic() + 25.0
        while not watch.done and time.monotonic() < deadline:
            watch.poll()
            time.sleep(0.05)
        assert watch.warning and f"/{name} is already on the graph" in watch.warning
        nodes.append(rclpy.create_node(f"{name}_alone", context=contexts[0]))
        assert not NamesakeWatch(nodes[-1], within=0.0).poll()  # a name of its own: one look, no warning
    finally:
        for node in nodes:
            node.destroy_node()
        for ctx in contexts:
            rclpy.try_shutdown(context=ctx)
