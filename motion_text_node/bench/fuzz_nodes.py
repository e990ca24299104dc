"""Fuzzing the nodes themselves (hypothesis): random parameter sets against a configured, active recognition node
and random service requests against the retrieval node, in-process (each in its own rclpy Context, callbacks
called as the parameter and service servers call them).

A parameter set is either applied whole (every value then reads back as set, coerced) or refused whole with a
reason (nothing of it changed); a service request is answered with ``success`` and a message. Anything else is a
crash: an exception, a half-applied set, a request left without an answer. After every input the node must still
work: the recognition node recognizes a short walk, the retrieval node answers a plain request.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path

from hypothesis import strategies as st

from motion_text_node.errors import UserError
from motion_text_node.ros.parameters import RECOGNITION, RETRIEVAL, coerce

#: Parameters left out of the random sets: what would point the node at other files or hardware (each has its
#: own tests), and autostart/executor (start-up only, refused at run time: covered by the node tests).
FIXED = {"model_dir", "providers", "threads", "precision", "library", "labels_file", "autostart", "executor"}

HOSTILE = st.one_of(
    st.booleans(), st.integers(-2**63, 2**63 - 1), st.sampled_from([0, 1, -1, 10**9]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([math.nan, math.inf, -0.0, 1e-300]),
    st.text(max_size=40), st.sampled_from(["", " ", "\x00", "a" * 5000, "/", "//x", "~/x", "{node}", "\u200b"]),
    st.lists(st.text(max_size=20), max_size=8), st.lists(st.sampled_from(["", "walk", "\u200b", "a" * 300]),
                                                         max_size=4))


def _plausible(name: str, default: object):
    """Values a user might really send for ``name``: near the default's type and range, some of them valid."""
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, (int, float)):
        return st.one_of(st.integers(-5, 2000), st.floats(-5.0, 100.0))
    if isinstance(default, list):
        return st.lists(st.sampled_from(["walk", "wave with the left hand", "sit down", "jump", ""]), max_size=5)
    choices = {"input_type": ["skeleton", "skeleton_array", "pose_array", "kinect_markers"],
               "output_mode": ["labels", "array", "both"], "up_axis": ["", "z", "y", "-y", "Y "],
               "qos_reliability": ["best_effort", "reliable"], "skeleton_format": ["custom", "smpl22", "coco17",
                                                                                   "zed34", "KINECT32"],
               "input_topic": ["skeleton", "people/skeleton", "~/in"], "track_id": ["p1", "person 2"]}
    return st.sampled_from(choices.get(name, [str(default), "x"]))


@st.composite
def parameter_sets(draw, table: dict):
    """1-4 (name, value) changes of the table's run-time parameters, hostile or plausible values."""
    names = sorted(set(table) - FIXED)
    out = []
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(names))
        plausible = _plausible(name, table[name].default)
        out.append((name, draw(st.one_of(HOSTILE, plausible, plausible))))
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and float(a) == float(b))


def apply_parameter_set(node, table: dict, changes: list[tuple[str, object]]) -> None:
    """Set ``changes`` atomically as the set_parameters_atomically service does; UserError (a rejection) when the
    node refuses them, AssertionError (a crash) when it applied part of a refused set or something else than set."""
    from rclpy.exceptions import ParameterException
    from rclpy.parameter import Parameter

    before = {name: node.param(name) for name, _ in changes}
    try:
        params = [Parameter(name, value=value) for name, value in changes]
    except (TypeError, ValueError) as exc:  # no ROS parameter type holds it (a list of mixed types, ...)
        raise UserError(f"not a parameter value: {exc}") from None
    try:
        result = node.set_parameters_atomically(params)
    except ParameterException as exc:  # rclpy's own type checks; the service answers these as a refusal
        result = None
        reason = str(exc)
    else:
        reason = result.reason
    after = {name: node.param(name) for name, _ in changes}
    if result is None or not result.successful:
        assert all(_same(before[n], after[n]) for n in before), f"refused set changed {before} -> {after}"
        raise UserError(f"refused: {reason.splitlines()[0] if reason else '?'}")
    final = dict(changes)  # the last value of a name repeated in the set wins
    for name, value in final.items():
        expected = coerce(name, table[name], value)  # integers widen to numbers and texts
        assert _same(after[name], expected), f"{name}: set {value!r}, reads {after[name]!r}"


@contextmanager
def fuzzed_nodes(model_dir: str | Path):
    """A configured, active recognition node and a configured retrieval node (with the model's library) in one
    own Context; stopped and destroyed at the end."""
    import rclpy
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    from motion_text_node.ros.action_recognition_node import ActionRecognitionNode
    from motion_text_node.ros.motion_retrieval_node import MotionRetrievalNode

    context = rclpy.Context()
    rclpy.init(context=context)
    made = []
    try:
        rec = ActionRecognitionNode(context=context, parameter_overrides=[
            Parameter("model_dir", value=str(model_dir)), Parameter("providers", value="cpu"),
            Parameter("autostart", value=False), Parameter("labels", value=["walk", "wave", "sit down"])])
        made.append(rec)
        ret = MotionRetrievalNode(context=context, parameter_overrides=[
            Parameter("model_dir", value=str(model_dir)), Parameter("providers", value="cpu"),
            Parameter("autostart", value=False)])
        made.append(ret)
        for node, steps in ((rec, ("configure", "activate")), (ret, ("configure", "activate"))):
            for step in steps:
                assert getattr(node, f"trigger_{step}")() == TransitionCallbackReturn.SUCCESS, \
                    getattr(node, "startup_error", step)
        yield rec, ret
    finally:
        for node in made:
            node.stop()
            node.destroy_node()
        rclpy.try_shutdown(context=context)


def recognition_still_works(node) -> None:
    """A second of a synthetic walk through the node's intake: it must come out as labels."""
    from motion_text_node.bench.nodes import _synthetic_walk
    from motion_text_node.skeleton.frame import SkeletonFrame

    rec = node.recognizer
    assert rec is not None, "the recognizer is gone"
    published = node.published
    track = f"health_{published}"
    t0 = 1000.0 + published
    walk = _synthetic_walk(45)
    for k, pose in enumerate(walk):
        node._add([SkeletonFrame(t0 + k / 30.0, track, "smpl22", [], pose, None, "z")])
    node.label_switcher.wait(60)
    for _ in range(3):  # the worker may hold the inference lock; give it three rounds
        if node.published > published:
            break
        node._recognize_due()
    assert node.published > published, "no label for a second of walking"


def request_fields(draw) -> dict:
    """A RetrieveMotion request's fields, hostile or plausible."""
    text = draw(st.one_of(st.text(max_size=60), st.sampled_from(["", " ", "\u200b", "wave with the left hand",
                                                                 "x" * 3000, "walk\x00"])))
    top_k = draw(st.one_of(st.integers(-3, 60), st.sampled_from([0, 2**31 - 1, -2**31])))
    return {"text": text, "top_k": top_k, "omit_positions": draw(st.booleans())}


@st.composite
def retrieve_requests(draw):
    return request_fields(draw)


@st.composite
def describe_requests(draw):
    """DescribeMotion requests: frames of any joint count/format/stamps (NaN, duplicates, backwards), candidates."""
    if draw(st.booleans()):  # a plausible request: a walk at some rate, maybe a few candidates
        n = draw(st.integers(2, 60))
        rate = draw(st.sampled_from([10.0, 15.0, 30.0, 120.0]))
        return {"frames": [(22, 0.0, k / rate, "smpl22") for k in range(n)], "top_k": draw(st.integers(1, 5)),
                "candidates": draw(st.lists(st.sampled_from(["walk", "wave", "sit down"]), max_size=3)),
                "captions": draw(st.booleans())}
    frames = []
    for k in range(draw(st.integers(0, 12))):
        n = draw(st.sampled_from([0, 3, 22, 22, 33, 300]))
        value = draw(st.one_of(st.floats(-2, 2), st.sampled_from([math.nan, math.inf, 1e9])))
        stamp = draw(st.one_of(st.just(k / 30.0), st.floats(-1, 5, allow_nan=False), st.just(0.0)))
        frames.append((n, value, stamp, draw(st.sampled_from(["smpl22", "custom", "coco17", "bogus", ""]))))
    candidates = draw(st.lists(st.one_of(st.text(max_size=30), st.sampled_from(["", "x" * 3000, "walk"])),
                               max_size=4))
    return {"frames": frames, "top_k": draw(st.integers(-2, 60)), "candidates": candidates,
            "captions": draw(st.booleans())}


def _answer(callback, request, response) -> None:
    """One service call; UserError when it is refused (success false), AssertionError for no proper answer."""
    out = callback(request, response)
    assert out is response and isinstance(out.message, str), "no response"
    assert not out.message.startswith("internal error"), out.message
    if not out.success:
        raise UserError(out.message or "refused without a message")


def retrieve_call(node, fields: dict) -> None:
    from motion_text_interfaces.srv import RetrieveMotion

    _answer(node._on_retrieve, RetrieveMotion.Request(**fields), RetrieveMotion.Response())


def describe_call(node, fields: dict) -> None:
    import numpy as np
    from geometry_msgs.msg import Point
    from motion_text_interfaces.msg import Skeleton
    from motion_text_interfaces.srv import DescribeMotion

    from motion_text_node.bench.nodes import _synthetic_walk
    from motion_text_node.ros.conversions import fill_skeleton_msg

    walk = _synthetic_walk(60)
    frames = []
    for k, (n, value, stamp, fmt) in enumerate(fields["frames"]):
        pos = np.full((n, 3), value) if n != 22 else walk[k % len(walk)] + (0.0 if np.isfinite(value) else value)
        frames.append(fill_skeleton_msg(Skeleton(), Point, stamp, "t", pos, skeleton_format=fmt))
    request = DescribeMotion.Request(frames=frames, top_k=fields["top_k"], candidate_texts=fields["candidates"],
                                     include_captions=fields["captions"])
    _answer(node._on_describe, request, DescribeMotion.Response())


def node_fuzz_counts(model_dir: str | Path, examples: int, seed: int = 0) -> dict[str, dict]:
    """Run ``examples`` generated inputs through each node path; accepted / rejected / crashed counts, and
    whether the nodes still worked afterwards."""
    from motion_text_node.bench.fuzz import run_target

    out = {}
    with fuzzed_nodes(model_dir) as (rec, ret):
        paths = {
            "recognition node parameter sets": (parameter_sets(RECOGNITION),
                                                lambda v: apply_parameter_set(rec, RECOGNITION, v),
                                                lambda: recognition_still_works(rec)),
            "retrieval node parameter sets": (parameter_sets(RETRIEVAL),
                                              lambda v: apply_parameter_set(ret, RETRIEVAL, v),
                                              lambda: retrieve_call(ret, {"text": "walk", "top_k": 1,
                                                                          "omit_positions": True})),
            "retrieve_motion requests": (retrieve_requests(), lambda v: retrieve_call(ret, v), None),
            "describe_motion requests": (describe_requests(), lambda v: describe_call(ret, v), None),
        }
        for name, (strategy, target, health) in paths.items():
            counts, reasons, crashes = run_target(strategy, target, examples)
            alive = True
            try:
                if health is not None:
                    health()
            except Exception as exc:  # noqa: BLE001 - a node that stopped working is what this reports
                alive = False
                crashes.append(f"after the run: {type(exc).__name__}: {exc}"[:300])
            out[name] = {**counts, "distinct_reasons": len(reasons), "crash_examples": crashes, "still_works": alive}
    return out


def node_fuzz_table(model_dir: str | Path, examples: int = 1000) -> str:
    """The node fuzzing table of the benchmark."""
    from motion_text_node.bench.table import render

    res = node_fuzz_counts(model_dir, examples)
    rows = [[name, r.get("inputs", 0), r.get("accepted", 0), r.get("rejected", 0), r.get("crashed", 0),
             r["distinct_reasons"], "yes" if r["still_works"] else "NO"] for name, r in res.items()]
    text = render(f"Node fuzzing ({examples} generated parameter sets / requests per path, in-process nodes; a "
                  "rejection is a refused set or success=false with a reason)",
                  ["node path", "inputs", "accepted", "rejected", "crashed", "distinct reasons",
                   "node still works after"], rows)
    crashes = [f"- {name}: {c}" for name, r in res.items() for c in r["crash_examples"]]
    return text + ("\n\nCrashes:\n" + "\n".join(crashes) if crashes else "")
